"""Timings and page weights on the current machine: `make bench` (a report, not a test).

Prints the fresh set-up time (a new virtual environment from requirements.txt; pip's download
cache may be warm), the clean build time, the no-change rebuild time, each notebook's execution
time on its own; then, for the site root, every page in _toc.yml and the search page, what a phone
downloads when the built site is served as GitHub Pages serves it (text gzip-compressed, under the
path of `html: baseurl`): bytes transferred and uncompressed, against the budget, and, where
Lighthouse 12 is installed (an npm package, never a dependency of the build or the tests), its
mobile scores. `--skip-setup` leaves out the set-up, the slowest step; `--pages-only` builds once
and reports the pages only; `--html DIR` reports the pages of a site already built in DIR.
"""

import argparse
import functools
import gzip
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jupytext
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
JB = Path(sys.executable).parent / "jb"
REBUILD_LIMIT_S = 5.0
BUILD_OVER_EXECUTION_LIMIT = 1.5
# Issue 16: every page light enough for a phone on a slow connection.
PAGE_LIMIT_BYTES = 400_000
LIGHTHOUSE_TARGETS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 0.95, "seo": 0.95}
CHROMIUM = "/usr/bin/chromium"
# The browser tests' flags: headless, no sandbox as root, none of the browser's own traffic.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
LIGHTHOUSE_INSTALL = "npm install --prefix /tmp/lh lighthouse@12"
# GitHub Pages compresses text; images such as PNG and fonts such as WOFF2 are compressed already.
COMPRESSED_TYPES = ("text/", "application/javascript", "application/json", "application/xml",
                    "image/svg+xml")


def timed(command: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT, **kwargs)
    return time.perf_counter() - start


def fresh_setup_seconds(folder: Path) -> float:
    venv = folder / "venv"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, cwd=ROOT)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
                   check=True, cwd=ROOT, capture_output=True)  # pip's notes are noise here
    return time.perf_counter() - start


def notebook_seconds() -> dict[str, float]:
    """Each notebook executed alone, from its own folder as in the build."""
    times = {}
    for path in sorted((ROOT / "notebooks").glob("*.md")):
        notebook = jupytext.read(path)
        start = time.perf_counter()
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        times[path.name] = time.perf_counter() - start
    return times


def toc_pages() -> list[str]:
    def files(entry):
        if isinstance(entry, dict):
            return ([entry["file"]] if "file" in entry else []) + [
                name for value in entry.values() if isinstance(value, (list, dict)) for name in files(value)]
        if isinstance(entry, list):
            return [name for item in entry for name in files(item)]
        return []

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + files({key: value for key, value in toc.items() if key != "root"})


def measured_pages() -> list[str]:
    return ["index.html"] + [f"{name}.html" for name in toc_pages()] + ["search.html"]


def published_path() -> str:
    """'/REPOSITORY/' for https://OWNER.github.io/REPOSITORY/ (html: baseurl in _config.yml)."""
    baseurl = yaml.safe_load((ROOT / "_config.yml").read_text())["html"]["baseurl"]
    return urlsplit(baseurl).path.rstrip("/") + "/"


class PagesHandler(http.server.SimpleHTTPRequestHandler):
    """The built site as GitHub Pages serves it: under its published path, text gzip-compressed,
    404.html for a missing file. Appends (path, bytes uncompressed, bytes sent) to `sent`."""

    protocol_version = "HTTP/1.1"

    def __init__(self, *args, root: Path, prefix: str, sent: list, **kwargs):
        self.root, self.prefix, self.sent = root, prefix, sent
        super().__init__(*args, directory=str(root), **kwargs)

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = unquote(urlsplit(self.path).path)
        if path + "/" == self.prefix:
            self.respond(301, b"", "text/html", path, location=self.prefix)
        elif (file := self.file_for(path)) is not None:
            self.respond(200, file.read_bytes(), self.guess_type(str(file)), path)
        else:
            self.respond(404, (self.root / "404.html").read_bytes(), "text/html", path)

    def file_for(self, path: str) -> Path | None:
        if not path.startswith(self.prefix):
            return None
        file = (self.root / path[len(self.prefix):]).resolve()
        if file.is_dir():
            file = file / "index.html"
        return file if file.is_file() and self.root in file.parents else None

    def respond(self, status: int, body: bytes, content_type: str, path: str, location: str = ""):
        raw = len(body)
        self.send_response(status)
        self.send_header("Content-Type", content_type + ("; charset=utf-8" if content_type == "text/html" else ""))
        if content_type.startswith(COMPRESSED_TYPES) and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=6, mtime=0)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")  # as GitHub Pages
        if location:
            self.send_header("Location", location)
        self.end_headers()
        try:
            self.wfile.write(body)
        except ConnectionError:  # the browser gave up on this request (a prefetch, a closed tab)
            return
        self.sent.append((path, raw, len(body)))


def serve(html_root: Path, sent: list) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(PagesHandler, root=html_root.resolve(), prefix=published_path(), sent=sent)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def transferred(base_url: str, sent: list) -> dict[str, tuple[int, int, int]]:
    """(bytes sent, bytes uncompressed, requests) of each page loaded with an empty cache at phone
    width in Chromium, with everything it fetches until the network is idle."""
    from playwright.sync_api import sync_playwright

    weights = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for page_path in measured_pages():
            context = browser.new_context(viewport=PHONE)
            sent.clear()
            page = context.new_page()
            page.goto(base_url + page_path, wait_until="load")
            page.wait_for_load_state("networkidle")
            context.close()
            weights[page_path] = (sum(s[2] for s in sent), sum(s[1] for s in sent), len(sent))
        browser.close()
    return weights


def lighthouse_command() -> str | None:
    candidates = [os.environ.get("LIGHTHOUSE"), shutil.which("lighthouse"), "/tmp/lh/node_modules/.bin/lighthouse"]
    return next((c for c in candidates if c and Path(c).exists()), None)


def lighthouse(command: str, url: str) -> dict:
    """Lighthouse's default (mobile) run of one page: the four category scores and the metrics."""
    result = subprocess.run(
        [command, url, "--output=json", "--output-path=stdout", "--quiet",
         f"--chrome-flags={' '.join(CHROMIUM_ARGS)}",
         "--only-categories=performance,accessibility,best-practices,seo"],
        capture_output=True, text=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1:] or ["failed"]}
    report = json.loads(result.stdout)
    audits = report["audits"]
    scores = {name: category["score"] for name, category in report["categories"].items()}
    return {
        "scores": scores,
        "fcp": audits["first-contentful-paint"]["numericValue"] / 1000,
        "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "tbt": audits["total-blocking-time"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "bytes": audits["total-byte-weight"]["numericValue"],
        "console": [item.get("description", "") for item in
                    (audits["errors-in-console"].get("details") or {}).get("items", [])],
        "failed": sorted(name for name, audit in audits.items()
                         if audit.get("score") is not None and audit["score"] < 0.9
                         and audit.get("scoreDisplayMode") in ("binary", "metricSavings", "numeric")),
    }


def report_pages(html_root: Path) -> None:
    sent = []
    server = serve(html_root, sent)
    base_url = f"http://127.0.0.1:{server.server_port}{published_path()}"
    try:
        weights = transferred(base_url, sent)
        print(f"page weight at phone width, served as GitHub Pages serves it ({base_url}; "
              f"target <= {PAGE_LIMIT_BYTES:,} B transferred):")
        for page_path, (gzipped, raw, requests) in weights.items():
            print(f"  {page_path:36s} {gzipped:>10,} B transferred  {raw:>10,} B uncompressed  {requests:3d} requests")
        print(f"  heaviest page {max(w[0] for w in weights.values()):,} B transferred")
        command = lighthouse_command()
        if command is None:
            print(f"Lighthouse is not installed; for its scores: {LIGHTHOUSE_INSTALL} "
                  "(or set LIGHTHOUSE to its path)")
            return
        version = subprocess.run([command, "--version"], capture_output=True, text=True).stdout.strip()
        targets = ", ".join(f"{name} >= {value}" for name, value in LIGHTHOUSE_TARGETS.items())
        print(f"Lighthouse {version}, mobile preset (simulated throttling), targets {targets}:")
        print(f"  {'page':36s} perf  a11y  b.p.   seo   FCP s  LCP s  TBT ms    CLS   bytes")
        for page_path in measured_pages():
            run = lighthouse(command, base_url + page_path)
            if "error" in run:
                print(f"  {page_path:36s} Lighthouse failed: {run['error']}")
                continue
            s = run["scores"]
            print(f"  {page_path:36s} {s['performance']:.2f}  {s['accessibility']:.2f}  "
                  f"{s['best-practices']:.2f}  {s['seo']:.2f}  {run['fcp']:6.2f} {run['lcp']:6.2f} "
                  f"{run['tbt']:7.0f} {run['cls']:6.3f} {run['bytes']:>8,.0f}")
            if run["console"]:
                print(f"  {'':36s} console errors: {run['console']}")
            if run["failed"]:
                print(f"  {'':36s} failing audits: {', '.join(run['failed'])}")
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-setup", action="store_true", help="leave out the fresh set-up timing")
    parser.add_argument("--pages-only", action="store_true", help="build once, report page weights and scores only")
    parser.add_argument("--html", type=Path, help="report the pages of the site already built in this folder")
    args = parser.parse_args()

    if args.html:
        report_pages(args.html)
        return
    with tempfile.TemporaryDirectory(prefix="ftguide-bench-") as folder:
        folder = Path(folder)
        build = [str(JB), "build", str(ROOT), "--path-output", str(folder / "site"), "-n", "-W", "--keep-going"]
        if args.pages_only:
            timed(build + ["--all"])
            report_pages(folder / "site" / "_build" / "html")
            return
        if not args.skip_setup:
            print(f"fresh set-up (venv + pip install -r requirements.txt): {fresh_setup_seconds(folder):6.1f} s")
        clean = timed(build + ["--all"])
        rebuild = timed(build)
        executions = notebook_seconds()
        executing = sum(executions.values())
        print(f"clean build:           {clean:6.1f} s  ({clean / executing:.2f}x executing all notebooks; "
              f"target <= {BUILD_OVER_EXECUTION_LIMIT}x)")
        print(f"no-change rebuild:     {rebuild:6.1f} s  (target < {REBUILD_LIMIT_S:.0f} s)")
        print("notebook execution, each on its own:")
        for name, seconds in executions.items():
            print(f"  {name:40s} {seconds:6.1f} s")
        print(f"  {'all notebooks':40s} {executing:6.1f} s")
        report_pages(folder / "site" / "_build" / "html")


if __name__ == "__main__":
    main()
