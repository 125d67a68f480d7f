"""`make lab`: JupyterLab from .venv, opening the .md notebooks as Jupytext notebooks, as Binder does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

SETTINGS = Path("share/jupyter/lab/settings/overrides.json")


def make(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args],
                          capture_output=True, text=True)


def test_lab_installs_the_binder_overrides_once(tmp_path):
    venv = tmp_path / "venv"
    target = venv / SETTINGS
    first = make(f"VENV={venv}", str(target))
    assert first.returncode == 0, first.stderr
    overrides = json.loads(target.read_text())
    assert overrides == json.loads((ROOT / ".binder" / "overrides.json").read_text())
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["markdown"] == "Jupytext Notebook"
    again = make(f"VENV={venv}", str(target))
    assert "is up to date" in again.stdout and "cp " not in again.stdout  # a file target: idempotent


def test_lab_starts_jupyterlab_from_the_venv_after_the_overrides(tmp_path):
    """`make lab` in a virtual environment whose jupyter only notes how it was started, and whether
    the overrides were in place by then."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / ".installed").touch()  # set up already: newer than requirements.txt and pyproject.toml
    jupyter = venv / "bin" / "jupyter"
    jupyter.write_text(f'#!/bin/sh\n[ -f "{venv / SETTINGS}" ] && echo "$PWD: $*" > "{tmp_path / "started"}"\n')
    jupyter.chmod(0o755)
    result = make(f"VENV={venv}", "lab")
    assert result.returncode == 0, result.stdout + result.stderr
    as_root = " --allow-root" if os.geteuid() == 0 else ""  # JupyterLab refuses root without it
    assert (tmp_path / "started").read_text() == f"{ROOT}: lab notebooks{as_root}\n"


@pytest.mark.e2e  # runs JupyterLab's command line (seconds), like the Binder environment's tests
def test_jupyterlab_reads_settings_where_make_lab_puts_them():
    """JupyterLab reads overrides.json from <application directory>/settings; in .venv that is
    .venv/share/jupyter/lab, the folder make lab writes to."""
    venv = Path(sys.prefix)
    result = subprocess.run([str(venv / "bin" / "jupyter"), "lab", "path"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    application = next(line.split(":", 1)[1].strip() for line in result.stdout.splitlines()
                       if line.startswith("Application directory"))
    assert Path(application) / "settings" / "overrides.json" == venv / SETTINGS
