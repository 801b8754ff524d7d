"""Untrusted files cannot run code: checkpoints and weights load with weights_only=True, configs with safe_load.

tests/test_models.py already covers a malicious pretrained-weights file; here: a trained-model checkpoint given to
`bodyscene evaluate`, a last.ckpt given to `bodyscene train --resume` (which Lightning would otherwise read), and a
config file carrying a Python tag.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch

from bodyscene.errors import BodySceneError
from bodyscene.train.checkpoint import AtomicCheckpointIO

SRC = Path(__file__).resolve().parents[1] / "src"


class Exploit:
    """Unpickling this runs `touch <marker>`: the file appearing means the loader executed the payload."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def evil_checkpoint(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # a real torch zip file, shaped like a Lightning checkpoint, with the payload inside the state dict
    torch.save({"epoch": 0, "state_dict": {"net.fc.weight": Exploit(marker)}, "hyper_parameters": {}}, path)
    return path


def test_the_payload_really_runs_under_an_unsafe_load(tmp_path):
    """Guards the tests below: without weights_only=True this file does execute its code."""
    marker = tmp_path / "pwned"
    path = evil_checkpoint(tmp_path / "x.ckpt", marker)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_every_torch_load_in_the_package_uses_weights_only_true_and_nothing_unpickles():
    loads, unsafe = [], []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func, where = ast.unparse(node.func), f"{path.relative_to(SRC)}:{node.lineno}"
            if func == "torch.load":
                kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
                loads.append(where)
                if kw.get("weights_only") != "True":
                    unsafe.append(where)
            elif func in ("pickle.load", "pickle.loads", "yaml.load", "yaml.unsafe_load", "yaml.full_load"):
                unsafe.append(where)
    assert len(loads) >= 2, loads  # models/backbones.py (weights), train/checkpoint.py (checkpoints, resume)
    assert unsafe == []


def test_evaluate_refuses_a_malicious_checkpoint_without_running_it(
    run_cli, tmp_path, monkeypatch, capsys, tiny_stimuli
):
    marker = tmp_path / "pwned"
    model_dir = tmp_path / "run" / "baseline"
    ckpt = evil_checkpoint(model_dir / "checkpoints" / "best.ckpt", marker)
    info = {"name": "baseline", "kind": "baseline", "classes": ["wave", "jump", "squat", "kick"]}
    (model_dir / "model.json").write_text(json.dumps({**info, "stimuli": str(tiny_stimuli), "image_size": 32}))
    code, err = run_cli("evaluate", "--run", tmp_path / "run")
    assert code == 2 and not marker.exists()
    assert err.startswith(f"error: {ckpt}: not a safe, readable checkpoint") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_resume_refuses_a_malicious_last_checkpoint_without_running_it(
    run_cli, tmp_path, monkeypatch, capsys, tiny_stimuli
):
    marker = tmp_path / "pwned"
    last = evil_checkpoint(tmp_path / "run" / "baseline" / "checkpoints" / "last.ckpt", marker)
    args = ["train", "--stimuli", tiny_stimuli, "--model", "baseline", "--run", tmp_path / "run", "--resume"]
    code, err = run_cli(*args, "--backbone", "resnet18", "--image-size", "32")
    assert code == 2 and not marker.exists()
    assert f"{last}: not a safe, readable checkpoint" in err and "--overwrite" in err
    assert len(err.strip().splitlines()) == 1


def test_lightnings_loader_is_replaced_by_a_weights_only_one(tmp_path):
    """trainer.fit(ckpt_path=...) reads through the CheckpointIO plugin; ours ignores weights_only=False."""
    marker = tmp_path / "pwned"
    path = evil_checkpoint(tmp_path / "last.ckpt", marker)
    with pytest.raises(BodySceneError, match="not a safe, readable checkpoint"):
        AtomicCheckpointIO().load_checkpoint(path, weights_only=False)
    assert not marker.exists()
    good = tmp_path / "good.ckpt"
    AtomicCheckpointIO().save_checkpoint({"epoch": 3, "state_dict": {"w": torch.ones(2)}}, good)
    assert AtomicCheckpointIO().load_checkpoint(good)["epoch"] == 3
    assert (good.stat().st_mode & 0o777) == 0o666 & ~_umask()
    assert not list(tmp_path.glob(".*.tmp"))


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_yaml_config_with_a_python_tag_is_refused_and_not_executed(run_cli, tmp_path, monkeypatch, capsys):
    marker = tmp_path / "pwned"
    config = tmp_path / "evil.yaml"
    config.write_text(f'synth: !!python/object/apply:os.system ["touch {marker}"]\n')
    code, err = run_cli("synth", "--out", tmp_path / "s", "--config", config)
    assert code == 2 and not marker.exists()
    assert f"{config}: malformed YAML at line 1" in err
