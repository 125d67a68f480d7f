#!/usr/bin/env bash
# `make site` after validation: build the book into $BUILD/stage and publish it as $BUILD/html,
# one `make site` at a time per checkout. Run by the Makefile as
#   BUILD=_build JB=.venv/bin/jb INPUTS_HASH=<hash of data/, ftguide/, _ext/> bash tools/site.sh
#
# $BUILD/html is a symlink to a complete copy of the site ($BUILD/site.XXXXXX), published by
# renaming a new symlink over it (one rename(2)), so a reader, or a build killed mid-swap, always
# finds a whole site. The copy it replaced stays, named by $BUILD/html.previous, for readers still
# loading its pages, until the next publish removes it. A publish removes nothing else: its own
# copy if it fails before the swap, and the copy named by html.previous; never by pattern.
set -euo pipefail
: "${BUILD:?}" "${JB:?}" "${INPUTS_HASH:?}"
stage=$BUILD/stage

# The lock: the stage, the copies and the two symlinks are changed only by its holder. A second
# `make site` waits here until the first has published (or failed). flock(2) locks are released
# when the holder exits, however it exits, so a killed build leaves no stale lock.
command -v flock >/dev/null || { echo "make site needs flock (util-linux)" >&2; exit 1; }
mkdir -p "$BUILD"
exec 9>"$BUILD/make-site.lock"
if ! flock --nonblock 9; then
  echo "Another make site is running in this checkout: waiting for it to finish ($BUILD/make-site.lock)"
  flock 9
fi

# The execution cache does not track data/, ftguide/ or _ext/: when INPUTS_HASH (their hash, see
# the Makefile) changes, the stage is dropped so no page keeps an old figure.
if [ -d "$stage" ] && [ "$(cat "$stage/inputs.sha" 2>/dev/null)" != "$INPUTS_HASH" ]; then
  echo "data/ or ftguide/ changed since the last build: clearing the execution cache"; rm -rf "$stage"
fi
all=; [ -d "$stage" ] || all=--all  # no stage (a clean clone): the gate build, every page
echo "$JB build . --path-output $stage -n -W --keep-going $all"
# 9>&-: a process the build leaves behind (a kernel) must not keep holding the lock. jb's closing
# banner names the stage, not the published site: it is left out, so one path is printed (by make).
"$JB" build . --path-output "$stage" -n -W --keep-going $all 9>&- | sed '/Finished generating HTML for book/,/=====/d' 
echo "$INPUTS_HASH" > "$stage/inputs.sha"

# Publish: a new copy of the built site, then the swap.
site=
trap '[ -z "$site" ] || rm -rf "$site"' EXIT  # until the swap: a failed or interrupted copy goes
trap 'exit 130' INT TERM HUP
site=$(mktemp -d "$BUILD/site.XXXXXX")
chmod 755 "$site"
cp -a "$stage/_build/html/." "$site/"
replaced=$(readlink "$BUILD/html" 2>/dev/null || true)
retired=$(readlink "$BUILD/html.previous" 2>/dev/null || true)
if [ -d "$BUILD/html" ] && [ ! -L "$BUILD/html" ]; then  # a site from before the symlinks
  replaced=site.directory; mv -T "$BUILD/html" "$BUILD/$replaced"
fi
ln -sfn "$(basename "$site")" "$BUILD/html.next"
mv -T "$BUILD/html.next" "$BUILD/html"
trap - EXIT

# Keep the copy just replaced for readers mid-visit; remove the one kept by the publish before.
if [ -n "$replaced" ]; then
  ln -sfn "$replaced" "$BUILD/html.next"
  mv -T "$BUILD/html.next" "$BUILD/html.previous"
else
  rm -f "$BUILD/html.previous"
fi
case "$retired" in
  site.*/*|"$replaced"|"$(basename "$site")") ;;
  site.*) rm -rf "${BUILD:?}/$retired" ;;
esac
