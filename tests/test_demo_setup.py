"""How the demo shares the cores, and the Makefile's choice of Python (bad input: an unsupported version)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bodyscene.demo import parallel_workers

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "setting,models,cores,expected",
    [("auto", 2, 2, 2), ("auto", 2, 1, 1), ("auto", 2, 16, 2), (1, 2, 16, 1), (4, 2, 16, 2), ("auto", 3, 2, 2)],
)
def test_parallel_models_never_exceeds_the_models_or_the_cores(setting, models, cores, expected):
    assert parallel_workers(setting, models, cores) == expected


def fake_python(tmp_path: Path, version: str) -> Path:
    """An executable that answers the Makefile's version question as Python `version` would."""
    path = tmp_path / f"python{version}"
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("version", ["3.9", "3.13"])
def test_make_refuses_an_unsupported_python_naming_the_versions_it_accepts(tmp_path, version):
    done = subprocess.run(
        ["make", "-s", "python-check", f"PYTHON={fake_python(tmp_path, version)}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert f"is Python {version}; bodyscene needs Python 3.10 3.11 3.12" in done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_accepts_a_supported_python(tmp_path):
    done = subprocess.run(["make", "-s", "python-check", f"PYTHON={fake_python(tmp_path, '3.12')}"], cwd=ROOT)
    assert done.returncode == 0
