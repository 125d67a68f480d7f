"""Binder: the configuration repo2docker reads, the launch buttons, and a Binder-like environment.

The slow part (about 1.5 min) builds a fresh virtual environment from .binder/requirements.txt
alone, as repo2docker does (`pip install -r .binder/requirements.txt` from the repository root,
then `.binder/postBuild`), runs every notebook in it, and starts JupyterLab from it to check that
.md files open as notebooks. A notebook that needs a package the Binder file lacks fails here.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jupytext
import pytest
import yaml

from tests.conftest import ROOT

BINDER = ROOT / ".binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
JUPYTEXT_VIEWER = "Jupytext Notebook"  # the document widget jupytext's JupyterLab extension adds

# Run by the Binder environment's own Python. Every cell runs, skip-execution ones included: in
# Binder the reader runs them (the site build skips them, e.g. the planner's sliders).
RUN_NOTEBOOKS = """
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

for path in map(Path, sys.argv[1:]):
    notebook = jupytext.read(path)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if "skip-execution" in tags:
            tags.remove("skip-execution")
    # Proves the kernel runs in this environment, not in the build's .venv.
    notebook.cells.insert(0, nbformat.v4.new_code_cell(f"import sys; assert sys.prefix == {sys.prefix!r}, sys.prefix"))
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    print("ran", path.name, flush=True)
"""


def requirements() -> dict[str, str]:
    """Requirement lines of .binder/requirements.txt as {name: version}; '-e .' as {'-e': '.'}."""
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-e "):
            pins["-e"] = line[3:].strip()
        elif line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_requirements_hold_the_notebook_runtime_pinned_like_the_build():
    pins = requirements()
    assert pins.pop("-e") == "."  # this repository's ftguide, installed from the repository root
    for needed in ["jupyterlab", "jupytext", "jupyterlab-myst", "ipykernel", "pandas", "matplotlib",
                   "frictionless", "myst-nb"]:
        assert needed in pins, f"{needed} missing from .binder/requirements.txt"
    assert all(re.fullmatch(r"\d+(\.\d+)*(\.post\d+)?", version) for version in pins.values()), pins
    # Where the build pins the same package, Binder must use the same version, or a reader could
    # get numbers or figures that differ from the site.
    build = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        build[name.strip().lower().replace("_", "-")] = version.strip()
    differing = {name: (version, build[name]) for name, version in pins.items()
                 if name in build and build[name] != version}
    assert differing == {}


def test_runtime_is_a_python_the_pins_support():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match, runtime
    assert int(match.group(1)) >= 11  # pandas 3 needs Python 3.11 or newer


def test_settings_override_opens_markdown_as_notebooks():
    overrides = json.loads((BINDER / "overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == JUPYTEXT_VIEWER


def test_post_build_installs_the_override():
    script = BINDER / "postBuild"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert "share/jupyter/lab/settings" in text and "overrides.json" in text


def test_every_notebook_page_has_a_binder_launch_button(built_site):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = config["repository"]
    owner_repo = repository["url"].removeprefix("https://github.com/")
    binderhub = config["launch_buttons"]["binderhub_url"]
    assert NOTEBOOKS
    for notebook in NOTEBOOKS:
        link = (f'href="{binderhub}/v2/gh/{owner_repo}/{repository["branch"]}'
                f'?urlpath=lab/tree/notebooks/{notebook.name}"')
        page = (built_site / "notebooks" / f"{notebook.stem}.html").read_text()
        assert link in page, f"no Binder launch button on {notebook.stem}.html"


def isolated_env(venv: Path, home: Path) -> dict[str, str]:
    """The environment's own PATH, and a home of its own, so no user setting leaks in."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV", "SOURCE_DATE_EPOCH"))}
    env.update(
        PATH=f"{venv / 'bin'}:{os.environ['PATH']}", HOME=str(home),
        JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
    )
    return env


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """A fresh venv from .binder/requirements.txt alone, then postBuild, as repo2docker does."""
    base = tmp_path_factory.mktemp("binder")
    venv, home = base / "venv", base / "home"
    home.mkdir()
    env = isolated_env(venv, home)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                              "-r", ".binder/requirements.txt"],
                             cwd=ROOT, env=env, capture_output=True, text=True)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    post_build = subprocess.run([".binder/postBuild"], cwd=ROOT, capture_output=True, text=True,
                                env=dict(env, NB_PYTHON_PREFIX=str(venv)))
    assert post_build.returncode == 0, post_build.stderr
    return venv, env


def test_binder_environment_runs_every_notebook(binder_env, tmp_path):
    venv, env = binder_env
    runner = tmp_path / "run_notebooks.py"
    runner.write_text(RUN_NOTEBOOKS)
    result = subprocess.run([str(venv / "bin" / "python"), str(runner), *map(str, NOTEBOOKS)],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-6000:]
    assert result.stdout.split() == [word for nb in NOTEBOOKS for word in ("ran", nb.name)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def jupyterlab(binder_env, tmp_path):
    """JupyterLab from the Binder environment, serving the repository on a loopback port."""
    venv, env = binder_env
    port, token = free_port(), "binder-test"
    log = (tmp_path / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        [str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get_json(f"{base}/api/status", token)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, \
                    (tmp_path / "jupyterlab.log").read_text()[-3000:]
                time.sleep(0.5)
        yield base, token
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_jupyterlab_opens_the_md_notebooks_as_notebooks(binder_env, jupyterlab):
    venv, _ = binder_env
    base, token = jupyterlab
    # postBuild's override reached JupyterLab: double-clicking a .md opens the Jupytext viewer.
    settings = get_json(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin", token)
    assert settings["schema"]["properties"]["defaultViewers"]["default"]["markdown"] == JUPYTEXT_VIEWER
    # That viewer exists: jupytext's JupyterLab extension registers it under this name.
    extensions = venv / "share" / "jupyter" / "labextensions"
    bundle = "".join(path.read_text() for path in (extensions / "jupyterlab-jupytext").rglob("*.js"))
    assert f'"{JUPYTEXT_VIEWER}"' in bundle
    assert (extensions / "jupyterlab-myst" / "package.json").exists()
    # Jupytext's contents manager serves each .md as a notebook with all its cells.
    for notebook in NOTEBOOKS:
        model = get_json(f"{base}/api/contents/notebooks/{notebook.name}?type=notebook", token)
        assert model["type"] == "notebook"
        assert len(model["content"]["cells"]) == len(jupytext.read(notebook).cells)
