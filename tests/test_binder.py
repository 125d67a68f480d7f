"""Binder: the configuration repo2docker reads, the launch buttons, and a Binder-like environment.

The slow part (e2e, `make test-all`) uses the fresh virtual environment that the Makefile builds
from .binder/requirements.txt alone, as repo2docker does (`pip install -r .binder/requirements.txt`
from the repository root, then `.binder/postBuild`): it runs every notebook in it and starts
JupyterLab from it to check that .md files open as notebooks. A notebook that needs a package the
Binder file lacks fails here.
"""

import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import jupytext
import pytest
import yaml

from tests.helpers import ROOT

BINDER = ROOT / ".binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
JUPYTEXT_VIEWER = "Jupytext Notebook"  # the document widget jupytext's JupyterLab extension adds

# Run by the Binder environment's own Python. Every code cell runs, skip-execution ones included: in
# Binder the reader runs them (the site build skips them, e.g. the planner's sliders). jupyter_client's
# blocking client, not nbclient: nbclient's asyncio poll of the shell socket misses the execute reply
# now and then after an ipywidgets `interact` cell and then waits out the whole cell timeout before
# going on (jupyter/nbclient#312; seen here as the planner's sliders cell taking 300 s). The blocking
# client polls the socket's state and does not miss it.
RUN_NOTEBOOKS = """
import sys
from pathlib import Path

import jupytext
from jupyter_client.manager import start_new_kernel

# Proves the kernel runs in this environment, not in the build's .venv.
FIRST_CELL = f"import sys; assert sys.prefix == {sys.prefix!r}, sys.prefix"

for path in map(Path, sys.argv[1:]):
    cells = [cell.source for cell in jupytext.read(path).cells if cell.cell_type == "code"]
    kernel, client = start_new_kernel(kernel_name="python3", cwd=str(path.parent),
                                      extra_arguments=["--InteractiveShell.colors=nocolor"])
    try:
        for index, source in enumerate([FIRST_CELL, *cells]):
            reply = client.execute_interactive(source, timeout=300, output_hook=lambda message: None)
            if reply["content"]["status"] != "ok":
                content = reply["content"]
                sys.exit(f"{path.name}, code cell {index}: {content.get('ename')}: {content.get('evalue')}\\n"
                         + "\\n".join(content.get("traceback", [])))
    finally:
        client.stop_channels()
        kernel.shutdown_kernel(now=True)
    print("ran", path.name, flush=True)
"""


def requirements() -> list[str]:
    """Requirement lines of .binder/requirements.txt, comments and blank lines left out."""
    lines = [line.split("#")[0].strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    return [line for line in lines if line]


def constraints() -> dict[str, str]:
    """constraints.txt as {normalised name: version}."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_requirements_take_the_build_pins_from_one_constraints_file():
    lines = requirements()
    assert "-c ../constraints.txt" in lines  # pip reads it relative to .binder/requirements.txt
    assert "-e ." in lines  # this repository's ftguide, installed from the repository root
    names = [line for line in lines if not line.startswith("-")]
    for needed in ["jupyterlab", "jupytext", "jupyterlab-myst", "ipykernel", "pandas", "matplotlib",
                   "frictionless", "myst-nb"]:
        assert needed in names, f"{needed} missing from .binder/requirements.txt"
    # No version typed here, and every package pinned there: one place for each version.
    assert all(re.fullmatch(r"[a-z0-9-]+", name) for name in names), names
    pinned = constraints()
    assert [name for name in names if name not in pinned] == []


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


# Made by `make test-all` (the Makefile's $(BINDER_VENV) target), so no test needs the network.
BINDER_VENV = Path(os.environ.get("FTGUIDE_BINDER_VENV", ROOT / "_build" / "binder-venv"))


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory):
    """The fresh venv that `make test-all` made from .binder/requirements.txt alone, then postBuild,
    as repo2docker does; with a home of its own."""
    if not (BINDER_VENV / ".installed").exists():
        pytest.fail(f"no Binder environment at {BINDER_VENV}: run `make test-all`, which makes it")
    home = tmp_path_factory.mktemp("binder-home")
    return BINDER_VENV, isolated_env(BINDER_VENV, home)


@pytest.mark.e2e
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


@pytest.mark.e2e
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
