#!/usr/bin/env bash
# The hash of what the notebooks read besides their own text, which the execution cache does not
# track: data/, the package, the extensions and the pinned requirements; and the site's own static
# files, which Sphinx copies only in a build that rewrites a page (with nothing out of date it stops
# before copying them, so an edited stylesheet alone would never reach the site). `make site` drops
# its execution cache when it changes; the gate build in the tests reuses that cache only while it holds.
set -euo pipefail
cd "$(dirname "$0")/.."
cat data/* ftguide/*.py ftguide/*/*.py _ext/*.py _ext/planner/* _static/* requirements.txt | sha256sum | cut -c1-16
