"""The stage table behind the `bodyscene` command: for each command, its config section, its stage function, and
the flags that set config keys (one declared mapping per flag; cli.py holds no per-command assignment code).

Every command in `STAGES` reads its settings one way: defaults < `--config FILE` (or a packaged name) < `--set
KEY=VALUE` < its flags, each flag being a short name for one `--set` key. Flags marked `alias` are the old long
options, kept for one release (until bodyscene 0.3) and documented as `--set` keys in their help; the rest are
paths and a few everyday options. `report` and `figures` take only the folder they read and have no settings.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from bodyscene.errors import BodySceneError

ALIAS_UNTIL = "0.3"


def count_or_all(value: str) -> int | str:
    """--frames-per-clip 3 or all (the config validates the value)."""
    return int(value) if value.strip().isdigit() else value


def comma_list(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def read_consent(path: Path) -> str:
    if not Path(path).is_file():
        raise BodySceneError(f"{path}: consent file not found; pass an HTML file to --consent")
    return Path(path).read_text(encoding="utf-8")


def accuracy(spec: str) -> dict[str, float]:
    from bodyscene.humans.simulate import parse_accuracy

    return parse_accuracy(spec)


@dataclass(frozen=True)
class Flag:
    """A command-line option that sets one config key. `key` is dotted from the top of the run config and may
    name another option's value in braces (`models.{model}.backbone`: the entry of the kind `--model` chose)."""

    key: str
    help: str
    convert: Callable[[Any], Any] | None = None
    alias: bool = False  # an old flag kept for one release: the same as --set KEY=VALUE

    def option(self, *names: str) -> Any:
        """The typer option for this flag; its help names the config key it sets."""
        note = f"[--set {self.key}]" if not self.alias else f"(old flag, until {ALIAS_UNTIL}: --set {self.key}=...)"
        return typer.Option(*names, help=f"{self.help} {note}")


@dataclass(frozen=True)
class Stage:
    """A command: the config section it reads (None: the whole run config), its stage function
    ("module:function", imported when the command runs), its flags, and the config it starts from."""

    section: str | None
    function: str
    flags: dict[str, Flag] = field(default_factory=dict)
    default_config: str | None = None  # a packaged config used when --config is not given

    def run(self) -> Callable[..., Any]:
        module, _, name = self.function.partition(":")
        return getattr(importlib.import_module(module), name)

    def overrides(self, options: dict[str, Any]) -> dict[str, Any]:
        """The command line as config changes: --set pairs, then each flag that was given over them."""
        from bodyscene.config import merge, parse_overrides

        out = parse_overrides(options.get("set_") or [])
        for param, flag in self.flags.items():
            value = options.get(param)
            if value is None:
                continue
            *path, last = flag.key.format(**options).split(".")
            change: dict[str, Any] = {last: flag.convert(value) if flag.convert else value}
            for part in reversed(path):
                change = {part: change}
            out = merge(out, change)
        return out

    def config(self, options: dict[str, Any]):
        """The resolved run config of one call, from the command's locals() (config, set_ and the flags)."""
        from bodyscene.config import load_config

        return load_config(options.get("config") or self.default_config, self.overrides(options))

    def settings(self, options: dict[str, Any]):
        """What the stage function takes: the command's section of the resolved config (the whole config when
        the command reads several sections)."""
        cfg = self.config(options)
        return getattr(cfg, self.section) if self.section else cfg


def _flags(section: str, **flags: Flag) -> dict[str, Flag]:
    """Flags whose key is relative to the section (`every_k` -> `prepare.every_k`) unless it is dotted already."""
    return {
        p: Flag(f.key if "." in f.key else f"{section}.{f.key}", f.help, f.convert, f.alias) for p, f in flags.items()
    }


STAGES: dict[str, Stage] = {
    "synth": Stage(
        "synth",
        "bodyscene.data.synth:generate",
        _flags(
            "synth",
            classes=Flag("classes", "number of action classes"),
            seed=Flag("seed", "random seed"),
            frames=Flag("frames", "frames per clip", alias=True),
            size=Flag("size", "frame size in pixels", alias=True),
            train_clips=Flag("train_clips", "training clips per class", alias=True),
            test_clips=Flag("test_clips", "test clips per class", alias=True),
            scene_correlation=Flag("scene_correlation", "P(train clip shows its class's scene)", alias=True),
            audio=Flag("audio", "also a soundtrack per clip (class sounds + scene ambience)"),
        ),
    ),
    "prepare": Stage(
        "prepare",
        "bodyscene.stimuli.make:prepare",
        _flags(
            "prepare",
            segmenter=Flag(
                "segmenter", "mediapipe (offline default), yolo (--weights), motion (no weights), ground-truth, auto"
            ),
            layout=Flag("layout", "data layout: list, haa500 or folders"),
            classes=Flag("classes", "comma-separated subset of classes", comma_list),
            weights=Flag("weights", "YOLOv8-seg .pt file for --segmenter yolo", str),
            split_file=Flag("split_file", "folders layout: CSV path,split", str),
            frames_per_clip=Flag("frames_per_clip", "frames sampled per training clip, or all", count_or_all),
            eval_frames_per_clip=Flag("eval_frames_per_clip", "frames per val/test clip, or all", count_or_all),
            every=Flag("every_k", "sample every k-th frame (instead of N evenly)", alias=True),
            dilation=Flag("dilation", "mask scale about its centroid (paper: 1.2)", alias=True),
            inpaint=Flag("inpaint", "telea, ns, temporal or none (hole left black: a control)", alias=True),
            mask_scope=Flag("mask_scope", "frame, or clip: one mask per clip (the union)", alias=True),
            inflate=Flag("inflate", "scale (the paper's 1.2x) or blur (the prototype's)", alias=True),
            audio=Flag("audio", "also a log-mel spectrogram of each clip's sound (prepare.mel)"),
        ),
    ),
    "train": Stage(
        None,  # the models entry `--model` picks and the train section
        "bodyscene.train.run:train_model",
        {
            "backbone": Flag("models.{model}.backbone", "resnet18, resnet50, ..."),
            "condition": Flag("models.{model}.condition", "baseline's training condition"),
            "pretrained": Flag("models.{model}.pretrained", "local torchvision weights file", str),
            "epochs": Flag("train.epochs", "training epochs"),
            "seed": Flag("train.seed", "random seed"),
            "batch_size": Flag("train.batch_size", "batch size", alias=True),
            "lr": Flag("train.lr", "learning rate", alias=True),
            "image_size": Flag("train.image_size", "input size in pixels", alias=True),
        },
    ),
    "evaluate": Stage(
        "evaluate",
        "bodyscene.evaluate:evaluate_run",
        _flags("evaluate", unit=Flag("unit", "frame (each frame's argmax) or clip (argmax of a clip's mean logits)")),
    ),
    "demo": Stage(None, "bodyscene.demo:run_demo", default_config="demo"),
    "human-study": Stage(
        "study",
        "bodyscene.humans.study:build_study",
        _flags(
            "study",
            participants=Flag("participants", "trial lists for participants 1..N"),
            unit=Flag("unit", "clip: a trial plays a whole test clip (the paper's); frame: a still"),
            design=Flag("design", "latin (clip once per person) or full"),
            choices=Flag("choices", "options per trial: N (true action + N-1 seeded foils) or all", count_or_all),
            seed=Flag("seed", "design seed (each participant's seed derives from it)"),
            swap_trials=Flag("swap_trials", "also a cue-conflict trial per frame with a swap (prepare.swap)"),
            consent=Flag("consent_html", "HTML file replacing the generic consent text", read_consent),
            split=Flag("split", "manifest split the trials come from", alias=True),
            classes=Flag("classes", "comma-separated class subset", comma_list, alias=True),
            time_limit_ms=Flag("time_limit_ms", "hide the image after this many ms", alias=True),
            practice=Flag("practice", "practice trials with feedback", alias=True),
            attention_checks=Flag("attention_checks", "'please click X' trials per participant", alias=True),
            clips_per_class=Flag("clips_per_class", "use at most this many clips per class", alias=True),
            image_height=Flag("image_height", "displayed image height in pixels", alias=True),
            clip_min_frames=Flag("clip_min_frames", "refuse clips with fewer sampled frames", alias=True),
            clip_fps=Flag("clip_fps", "frames per second of the encoded clips", alias=True),
            clip_loop=Flag("clip_loop", "loop each clip until the answer", alias=True),
            clip_max_ms=Flag("clip_max_ms", "stop and hide a clip after this many ms", alias=True),
            answer_ends_clip=Flag("answer_ends_clip", "answers may come during the clip", alias=True),
        ),
    ),
    "serve-study": Stage(
        "serve",
        "bodyscene.humans.server:serve",
        _flags(
            "serve",
            port=Flag("port", "TCP port"),
            host=Flag("host", "address to listen on (0.0.0.0: whole network)"),
            public_url=Flag("public_url", "URL participants open (behind a proxy)"),
            allowed_host=Flag("allowed_hosts", "extra Host name accepted (repeatable)"),
            pid_param=Flag("pid_param", "URL parameter with the platform's participant id", alias=True),
            completion_url=Flag("completion_url", "where the page sends participants at the end", alias=True),
        ),
    ),
    "collect": Stage(
        "collect",
        "bodyscene.humans.collect:collect",
        _flags(
            "collect",
            choices_from_design=Flag(
                "choices_from_design", "CSVs without a choices column: take each trial's options from design.json"
            ),
        ),
    ),
    "simulate-humans": Stage(
        "simulate",
        "bodyscene.humans.simulate:simulate_responses",
        _flags(
            "simulate",
            accuracy=Flag("accuracy", "target accuracy per condition: original=0.8,body=0.85,...", accuracy),
            participants=Flag("participants", "simulated participants (sim01, sim02, ...)"),
            agreement=Flag("agreement", "P(a trial copies the model's correctness), 0..1"),
            model=Flag("model", "model whose errors simulated participants share"),
            seed=Flag("seed", "random seed"),
            design=Flag("design", "counterbalanced (one condition per clip) or full", alias=True),
            choices=Flag("choices", "options per trial: N or all", count_or_all, alias=True),
            unit=Flag("unit", "frame (a trial per test frame) or clip (a trial per test clip)", alias=True),
        ),
    ),
    "compare": Stage(
        "compare",
        "bodyscene.humans.compare:compare",
        _flags(
            "compare",
            head=Flag("head", "the output that answers: combined (the model's answer), body or background stream"),
            bootstrap=Flag("bootstrap", "bootstrap resamples for the 95% CIs"),
            seed=Flag("seed", "bootstrap seed"),
            min_attention=Flag("min_attention", "exclude participants who passed a smaller share of attention checks"),
            undefined_kappa=Flag("undefined_kappa", "kappa with expected agreement 1: drop or one", alias=True),
        ),
    ),
    "export": Stage(
        "export",
        "bodyscene.humans.export:export_model_vs_human",
        _flags(
            "export",
            format_=Flag("format", "model-vs-human"),
            name=Flag("name", "experiment name in the file names (no '_')"),
            head=Flag("head", "the output that answers (combined, body, background)"),
        ),
    ),
    "experiment": Stage(
        None,  # reads configs/experiments/NAME.yaml (experiments/runner.py: load_experiment), not a run config
        "bodyscene.experiments:run_experiment",
        {"seeds": Flag("seeds", "number of seeds (default: the config's)")},
    ),
}
# Old names (until 0.3) of `human-study` and `serve-study`: the same table entries.
STAGES["human-experiment"] = STAGES["human-study"]
STAGES["serve-experiment"] = STAGES["serve-study"]


def option(command: str, param: str, *names: str) -> Any:
    """The typer option of a command's flag, declared once in STAGES."""
    return STAGES[command].flags[param].option(*names)
