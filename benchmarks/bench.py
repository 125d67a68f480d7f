"""Timings and page weights on the current machine: `make bench` (a report, not a test).

Prints the fresh set-up time (a new virtual environment from requirements.txt; pip's download
cache may be warm), the clean build time, the no-change rebuild time, each notebook's execution
time on its own, and the bytes of each page with its images, each against the project's target.
`--skip-setup` leaves out the set-up, the slowest step.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import yaml
from bs4 import BeautifulSoup
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
JB = Path(sys.executable).parent / "jb"
PAGE_LIMIT_BYTES = 1_000_000
REBUILD_LIMIT_S = 5.0
BUILD_OVER_EXECUTION_LIMIT = 1.5


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


def page_bytes(html_root: Path) -> dict[str, tuple[int, int]]:
    """HTML bytes and image bytes of each page (images linked with <img>; inline SVG is HTML)."""
    sizes = {}
    for name in toc_pages():
        page = html_root / f"{name}.html"
        soup = BeautifulSoup(page.read_text(), "html.parser")
        images = {(page.parent / img["src"]).resolve() for img in soup.find_all("img", src=True)
                  if "://" not in img["src"] and not img["src"].startswith("data:")}
        sizes[f"{name}.html"] = (page.stat().st_size, sum(path.stat().st_size for path in images))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-setup", action="store_true", help="leave out the fresh set-up timing")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ftguide-bench-") as folder:
        folder = Path(folder)
        if not args.skip_setup:
            print(f"fresh set-up (venv + pip install -r requirements.txt): {fresh_setup_seconds(folder):6.1f} s")
        build = [str(JB), "build", str(ROOT), "--path-output", str(folder / "site"), "-n", "-W", "--keep-going"]
        clean = timed(build + ["--all"])
        rebuild = timed(build)
        executions = notebook_seconds()
        sizes = page_bytes(folder / "site" / "_build" / "html")

    executing = sum(executions.values())
    print(f"clean build:           {clean:6.1f} s  ({clean / executing:.2f}x executing all notebooks; "
          f"target <= {BUILD_OVER_EXECUTION_LIMIT}x)")
    print(f"no-change rebuild:     {rebuild:6.1f} s  (target < {REBUILD_LIMIT_S:.0f} s)")
    print("notebook execution, each on its own:")
    for name, seconds in executions.items():
        print(f"  {name:40s} {seconds:6.1f} s")
    print(f"  {'all notebooks':40s} {executing:6.1f} s")
    print("page bytes (HTML + images; theme assets are shared and cached, not counted):")
    for name, (html, images) in sizes.items():
        print(f"  {name:40s} {html + images:>10,} B  (HTML {html:,}, images {images:,})")
    heaviest = max(html + images for html, images in sizes.values())
    print(f"  heaviest page {heaviest:,} B (target < {PAGE_LIMIT_BYTES:,} B)")


if __name__ == "__main__":
    main()
