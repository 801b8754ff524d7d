"""The stage table (commands.STAGES): every command reads --config and --set, and each flag is exactly the
`--set` key the table declares for it (same resolved config), old names included."""

from __future__ import annotations

import sys

import pytest
import typer.main
import yaml

from bodyscene.cli import app, main
from bodyscene.commands import STAGES, Stage
from bodyscene.config import load_config, load_yaml, merge
from bodyscene.experiments.runner import load_experiment

# What each command needs before its config is read (paths that need not exist: nothing runs).
REQUIRED = {
    "synth": [],
    "prepare": ["--data", "D", "--out", "O"],
    "train": ["--stimuli", "S", "--model", "domainnet", "--run", "R"],
    "evaluate": ["--run", "R"],
    "demo": [],
    "human-study": ["--stimuli", "S", "--out", "O"],
    "human-experiment": ["--stimuli", "S", "--out", "O"],
    "serve-study": ["FOLDER"],
    "serve-experiment": ["FOLDER"],
    "collect": ["FOLDER"],
    "simulate-humans": ["--stimuli", "S", "--out", "O"],
    "compare": ["--humans", "H", "--run", "R"],
    "export": ["--run", "R", "--out", "O"],
    "experiment": ["paper-table"],
}
CONSENT = "<p>you agree</p>"
# flag parameter -> (its command-line words, the same value as YAML for --set). A flag added to STAGES without an
# example here fails test_every_flag_has_an_example, so each flag is tested.
EXAMPLES = {
    "synth": {
        "classes": (["--classes", "4"], "4"),
        "seed": (["--seed", "7"], "7"),
        "frames": (["--frames", "3"], "3"),
        "size": (["--size", "48"], "48"),
        "train_clips": (["--train-clips", "2"], "2"),
        "test_clips": (["--test-clips", "2"], "2"),
        "scene_correlation": (["--scene-correlation", "0.5"], "0.5"),
        "audio": (["--audio"], "true"),
    },
    "prepare": {
        "segmenter": (["--segmenter", "motion"], "motion"),
        "layout": (["--layout", "folders"], "folders"),
        "classes": (["--classes", "wave, jump"], "[wave, jump]"),
        "weights": (["--weights", "/w/yolo.pt"], "/w/yolo.pt"),
        "split_file": (["--split-file", "/w/split.csv"], "/w/split.csv"),
        "frames_per_clip": (["--frames-per-clip", "all"], "all"),
        "eval_frames_per_clip": (["--eval-frames-per-clip", "3"], "3"),
        "every": (["--every", "2"], "2"),
        "dilation": (["--dilation", "1.5"], "1.5"),
        "inpaint": (["--inpaint", "none"], "none"),
        "mask_scope": (["--mask-scope", "clip"], "clip"),
        "inflate": (["--inflate", "blur"], "blur"),
        "audio": (["--audio"], "true"),
    },
    "train": {
        "backbone": (["--backbone", "resnet18"], "resnet18"),
        "condition": (["--condition", "body"], "body"),
        "pretrained": (["--pretrained", "/w/r50.pth"], "/w/r50.pth"),
        "epochs": (["--epochs", "3"], "3"),
        "seed": (["--seed", "5"], "5"),
        "batch_size": (["--batch-size", "8"], "8"),
        "lr": (["--lr", "0.5"], "0.5"),
        "image_size": (["--image-size", "32"], "32"),
    },
    "evaluate": {"unit": (["--unit", "clip"], "clip")},
    "human-study": {
        "participants": (["--participants", "4"], "4"),
        "unit": (["--unit", "frame"], "frame"),
        "design": (["--design", "full"], "full"),
        "choices": (["--choices", "all"], "all"),
        "seed": (["--seed", "3"], "3"),
        "swap_trials": (["--swap-trials"], "true"),
        "consent": (["--consent", "{consent}"], CONSENT),
        "split": (["--split", "val"], "val"),
        "classes": (["--classes", "wave,jump"], "[wave, jump]"),
        "time_limit_ms": (["--time-limit-ms", "900"], "900"),
        "practice": (["--practice", "0"], "0"),
        "attention_checks": (["--attention-checks", "1"], "1"),
        "clips_per_class": (["--clips-per-class", "2"], "2"),
        "image_height": (["--image-height", "200"], "200"),
        "clip_min_frames": (["--clip-min-frames", "2"], "2"),
        "clip_fps": (["--clip-fps", "12"], "12.0"),
        "clip_loop": (["--clip-loop"], "true"),
        "clip_max_ms": (["--clip-max-ms", "3000"], "3000"),
        "answer_ends_clip": (["--no-answer-ends-clip"], "false"),
    },
    "serve-study": {
        "port": (["--port", "9000"], "9000"),
        "host": (["--host", "0.0.0.0"], "0.0.0.0"),
        "public_url": (["--public-url", "https://lab.example.org/s"], "https://lab.example.org/s"),
        "allowed_host": (["--allowed-host", "a.example.org"], "[a.example.org]"),
        "pid_param": (["--pid-param", "PID"], "PID"),
        "completion_url": (["--completion-url", "https://x.example.org"], "https://x.example.org"),
    },
    "collect": {"choices_from_design": (["--choices-from-design"], "true")},
    "simulate-humans": {
        "accuracy": (
            ["--accuracy", "original=0.5,body=0.6,background=0.7"],
            "{original: 0.5, body: 0.6, background: 0.7}",
        ),
        "participants": (["--participants", "3"], "3"),
        "agreement": (["--agreement", "0.2"], "0.2"),
        "model": (["--model", "baseline"], "baseline"),
        "seed": (["--seed", "9"], "9"),
        "design": (["--design", "full"], "full"),
        "choices": (["--choices", "2"], "2"),
        "unit": (["--unit", "clip"], "clip"),
    },
    "compare": {
        "head": (["--head", "body"], "body"),
        "bootstrap": (["--bootstrap", "0"], "0"),
        "seed": (["--seed", "2"], "2"),
        "min_attention": (["--min-attention", "0.5"], "0.5"),
        "undefined_kappa": (["--undefined-kappa", "one"], "one"),
    },
    "export": {
        "format_": (["--format", "model-vs-human"], "model-vs-human"),
        "name": (["--name", "mine"], "mine"),
        "head": (["--head", "background"], "background"),
    },
    "experiment": {"seeds": (["--seeds", "2"], "2")},  # paper-table.yaml has 3
}
SAME_AS = {"human-experiment": "human-study", "serve-experiment": "serve-study"}
ONLY_THE_DEFAULT = {("export", "format_")}  # one format exists: the flag can only repeat the default


class _Resolved(Exception):
    """Raised with the resolved config instead of running the stage."""


@pytest.fixture
def resolve(monkeypatch, capsys, tmp_path):
    """resolve(*args) -> what the command would run with: its RunConfig, or (experiment) its ExperimentConfig."""
    (tmp_path / "consent.html").write_text(CONSENT)

    def config(self: Stage, options):
        raise _Resolved(real_config(self, options))

    def overrides(self: Stage, options):
        if self is not STAGES["experiment"]:
            return real_overrides(self, options)
        raise _Resolved(load_experiment("paper-table", options.get("config"), real_overrides(self, options))[0])

    real_config, real_overrides = Stage.config, Stage.overrides
    monkeypatch.setattr(Stage, "config", config)
    monkeypatch.setattr(Stage, "overrides", overrides)

    def run(*args: str):
        words = [str(a).replace("{consent}", str(tmp_path / "consent.html")) for a in args]
        monkeypatch.setattr(sys, "argv", ["bodyscene", *words])
        with pytest.raises(_Resolved) as got:
            main()
        capsys.readouterr()
        return got.value.args[0]

    return run


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(name for name in group.commands if name not in ("report", "figures", "config"))


def test_the_table_holds_every_command_with_settings():
    assert _commands() == sorted(STAGES), "a command with settings must be in commands.STAGES (and vice versa)"


def test_every_flag_has_an_example():
    for command, stage in STAGES.items():
        assert set(EXAMPLES.get(SAME_AS.get(command, command), {})) == set(stage.flags), command


@pytest.mark.parametrize("command", sorted(STAGES))
def test_every_command_reads_config_and_set(resolve, tmp_path, command):
    stage = STAGES[command]
    # the first flag whose key a YAML file can hold (`models.{model}.x` names a list entry by kind: --set only)
    examples = EXAMPLES.get(SAME_AS.get(command, command), {})
    key, value = next(
        (
            (stage.flags[p].key, v)
            for p, (_, v) in examples.items()
            if "{" not in stage.flags[p].key and (command, p) not in ONLY_THE_DEFAULT
        ),  # fmt: skip
        ("train.epochs", "2"),  # a command without flags (demo) reads the whole config
    )
    default = resolve(command, *REQUIRED[command])
    via_set = resolve(command, *REQUIRED[command], "--set", f"{key}={value}")
    assert via_set != default, f"{command} --set {key}={value} changed nothing"
    nested: dict = yaml.safe_load(value)
    for part in reversed(key.split(".")):
        nested = {part: nested}
    path = tmp_path / "c.yaml"
    # a command that starts from a packaged config (demo; experiment: its own YAML) gets that file plus the change
    base = "experiments/paper-table" if command == "experiment" else stage.default_config
    nested = merge(load_yaml(base), nested) if base else nested
    path.write_text(yaml.safe_dump(nested))
    assert resolve(command, *REQUIRED[command], "--config", path) == via_set


@pytest.mark.parametrize(
    "command,param",
    [(c, p) for c in sorted(STAGES) for p in STAGES[c].flags],
)
def test_a_flag_and_its_set_key_resolve_the_same(resolve, command, param):
    words, value = EXAMPLES[SAME_AS.get(command, command)][param]
    key = STAGES[command].flags[param].key.format(model="domainnet")
    by_flag = resolve(command, *REQUIRED[command], *words)
    assert by_flag == resolve(command, *REQUIRED[command], "--set", f"{key}={value}")
    if (command, param) not in ONLY_THE_DEFAULT:
        assert by_flag != resolve(command, *REQUIRED[command]), f"{command} {words} changed nothing"


def test_a_flag_wins_over_set_and_set_over_the_file(resolve, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("prepare: {every_k: 5, dilation: 1.5, inpaint: ns}\n")
    args = ["--data", "D", "--out", "O", "--config", path, "--set", "prepare.every_k=3", "--set", "prepare.dilation=2"]
    cfg = resolve("prepare", *args, "--every", "2").prepare
    assert (cfg.every_k, cfg.dilation, cfg.inpaint) == (2, 2.0, "ns")


def test_old_flags_are_marked_in_the_help_as_set_keys():
    aliases = [(c, p, f) for c, s in STAGES.items() for p, f in s.flags.items() if f.alias]
    assert aliases, "the table marks the old long flags as aliases"
    for _, _, flag in aliases:
        assert "old flag" in flag.option().help and flag.key in flag.option().help
    everyday = [f for s in STAGES.values() for f in s.flags.values() if not f.alias]
    assert all("old flag" not in f.option().help for f in everyday)


def test_the_demo_starts_from_the_demo_config(resolve):
    assert resolve("demo") == load_config("demo")


def test_each_stage_names_a_config_section_and_an_importable_function():
    from bodyscene.config import RunConfig

    for command, stage in STAGES.items():
        assert stage.section is None or stage.section in RunConfig.model_fields, command
        assert callable(stage.run()), command
