"""The CLI: every command listed, and bad input gets one line naming the thing and the fix, exit status 2."""

import subprocess
import sys
from pathlib import Path

import pytest

from bodyscene.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_help_lists_every_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bodyscene", "--help"])
    with pytest.raises(SystemExit):
        main()
    out = capsys.readouterr().out
    commands = ("synth", "prepare", "train", "evaluate", "report", "figures", "demo", "human-study", "serve-study",
                "collect", "simulate-humans", "compare", "export", "experiment", "config")  # fmt: skip
    old_names = ("human-experiment", "serve-experiment")  # kept until 0.3
    for command in (*commands, *old_names):
        assert f" {command} " in out, command


@pytest.mark.parametrize(
    "args,expected",
    [
        (["prepare", "--data", "/nonexistent/data", "--out", "{tmp}/s"], "/nonexistent/data: data folder not found"),
        (["prepare", "--data", "{data}", "--out", "{tmp}/s", "--segmenter", "sam"], "unknown segmenter 'sam'"),
        (["train", "--stimuli", "{stim}", "--model", "resnet", "--run", "{tmp}/r"], "--model 'resnet': 'kind'"),
        (["train", "--stimuli", "{stim}", "--model", "baseline", "--run", "{tmp}/r", "--backbone", "vgg"], "vgg"),
        (["train", "--stimuli", "{tmp}/none", "--model", "baseline", "--run", "{tmp}/r"], "manifest.csv: not found"),
        (
            ["train", "--stimuli", "{stim}", "--model", "baseline", "--run", "{tmp}/r", "--condition", "scene"],
            "condition",
        ),
        (["synth", "--out", "{tmp}/x", "--set", "synth.clases=3"], "unknown key 'synth.clases'"),
        (["evaluate", "--run", "{tmp}/empty"], "no trained models"),
        (
            ["train", "--stimuli", "{stim}", "--model", "baseline", "--run", "{tmp}/r", "-c", "{tmp}/bad.yaml"],
            "malformed YAML",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_thing_and_the_fix(
    run_cli, monkeypatch, capsys, tmp_path, tiny_data, tiny_stimuli, args, expected
):
    (tmp_path / "bad.yaml").write_text("train: [epochs: 3\n")
    (tmp_path / "empty").mkdir()
    fill = {"tmp": str(tmp_path), "data": str(tiny_data), "stim": str(tiny_stimuli)}
    code, err = run_cli(*[a.format(**fill) for a in args])
    assert code == 2
    assert expected in err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_the_installed_entry_point_exits_2_without_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bodyscene", "evaluate", "--run", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert proc.returncode == 2
    assert "no trained models" in proc.stderr and "Traceback" not in proc.stderr
