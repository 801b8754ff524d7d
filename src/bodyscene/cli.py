"""The `bodyscene` command: parse options, call one stage function, print. No logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bodyscene.errors import BodySceneError

app = typer.Typer(
    help="Body/scene action recognition: stimuli, baseline vs DomainNet, human comparison.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML file, or a packaged config by name: demo, paper")
]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="override a config value: --set train.epochs=3")]


def _config(config: Path | None, sets: list[str] | None, extra: dict | None = None):
    from bodyscene.config import load_config, merge, parse_overrides

    overrides = parse_overrides(sets or [])
    if extra:
        overrides = merge(overrides, extra)
    return load_config(config, overrides)


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/synth"),
    classes: Annotated[int | None, typer.Option(help="number of action classes")] = None,
    frames: Annotated[int | None, typer.Option(help="frames per clip")] = None,
    size: Annotated[int | None, typer.Option(help="frame size in pixels")] = None,
    train_clips: Annotated[int | None, typer.Option(help="training clips per class")] = None,
    test_clips: Annotated[int | None, typer.Option(help="test clips per class")] = None,
    scene_correlation: Annotated[float | None, typer.Option(help="P(train clip shows its class's scene)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Generate the embedded body/scene benchmark: videos, person masks, split lists."""

    extra = _drop_none(
        dict(
            classes=classes,
            frames=frames,
            size=size,
            train_clips=train_clips,
            test_clips=test_clips,
            scene_correlation=scene_correlation,
            seed=seed,
        )
    )
    cfg = _config(config, set_, {"synth": extra})
    from bodyscene.data.synth import generate

    summary = generate(cfg.synth, out)
    console.print(f"[green]wrote[/] {summary['clips']} clips of {cfg.synth.classes} classes to {out}")


@app.command()
def prepare(
    data: Annotated[Path, typer.Option(help="data folder (e.g. written by `bodyscene synth`)")],
    out: Annotated[Path, typer.Option(help="stimulus-set folder to write")],
    segmenter: Annotated[
        str | None, typer.Option(help="mediapipe (offline default), yolo (--weights), ground-truth, auto")
    ] = None,
    layout: Annotated[str | None, typer.Option(help="data layout: list, haa500 or folders")] = None,
    classes: Annotated[str | None, typer.Option(help="comma-separated subset of classes")] = None,
    weights: Annotated[Path | None, typer.Option(help="YOLOv8-seg .pt file for --segmenter yolo")] = None,
    split_file: Annotated[Path | None, typer.Option(help="folders layout: CSV path,split")] = None,
    every: Annotated[int | None, typer.Option(help="sample every k-th frame (instead of N evenly)")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    shard: Annotated[str | None, typer.Option(help="i/n: do the i-th of n parts of the clip list")] = None,
    frames_per_clip: Annotated[int | None, typer.Option(help="frames sampled per training clip")] = None,
    eval_frames_per_clip: Annotated[int | None, typer.Option(help="frames per val/test clip")] = None,
    dilation: Annotated[float | None, typer.Option(help="mask scale about its centroid (paper: 1.2)")] = None,
    inpaint: Annotated[str | None, typer.Option(help="telea or ns")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Make original / body-only / background-only frames and a manifest."""

    extra = _drop_none(
        dict(
            segmenter=segmenter,
            frames_per_clip=frames_per_clip,
            eval_frames_per_clip=eval_frames_per_clip,
            dilation=dilation,
            inpaint=inpaint,
            layout=layout,
            classes=[c.strip() for c in classes.split(",") if c.strip()] if classes else None,
            weights=str(weights) if weights else None,
            split_file=str(split_file) if split_file else None,
            every_k=every,
        )
    )
    cfg = _config(config, set_, {"prepare": extra})
    from bodyscene.stimuli.make import prepare as run_prepare

    summary = run_prepare(data, out, cfg.prepare, workers=workers, shard=shard)
    if not summary.get("complete", True):
        console.print(f"[yellow]shard {shard} done[/]; {summary['pending_clips']} clips wait for other shards")
        return
    console.print(f"[green]wrote[/] {summary['stimuli']} stimuli to {out} (skipped {summary['skipped']})")
    console.print(f"quality: {summary['quality_line']}; contact sheet: {out / 'contact_sheet.png'}")
    if summary["errors"]:
        console.print(f"[yellow]{summary['errors']} videos could not be decoded[/]: see {out / 'errors.csv'}")


@app.command()
def train(
    stimuli: Annotated[Path, typer.Option(help="stimulus set written by `bodyscene prepare`")],
    model: Annotated[str, typer.Option(help="baseline or domainnet")],
    run: Annotated[Path, typer.Option(help="run folder; the model goes to RUN/<name>/")],
    name: Annotated[str | None, typer.Option(help="model folder name (default: the model kind)")] = None,
    backbone: Annotated[str | None, typer.Option(help="resnet18, resnet50, ...")] = None,
    condition: Annotated[str | None, typer.Option(help="baseline's training condition")] = None,
    epochs: Annotated[int | None, typer.Option(help="training epochs")] = None,
    batch_size: Annotated[int | None, typer.Option(help="batch size")] = None,
    lr: Annotated[float | None, typer.Option(help="learning rate")] = None,
    image_size: Annotated[int | None, typer.Option(help="input size in pixels")] = None,
    pretrained: Annotated[Path | None, typer.Option(help="local torchvision weights file")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    resume: Annotated[bool, typer.Option(help="continue from RUN/<name>/checkpoints/last.ckpt")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train a baseline or DomainNet with Lightning (checkpoints every epoch, --resume)."""

    extra = {
        "model": _drop_none(dict(kind=model, backbone=backbone, condition=condition, pretrained=pretrained)),
        "train": _drop_none(dict(epochs=epochs, batch_size=batch_size, lr=lr, image_size=image_size, seed=seed)),
    }
    cfg = _config(config, set_, extra)
    from bodyscene.train.run import train_model

    out = train_model(stimuli, run, cfg.model, cfg.train, name=name, resume=resume)
    console.print(f"[green]trained[/] {cfg.model.kind} -> {out}")


@app.command()
def evaluate(
    run: Annotated[Path, typer.Option(help="run folder holding one folder per trained model")],
    stimuli: Annotated[Path | None, typer.Option(help="stimulus set (default: the one each model trained on)")] = None,
    split: Annotated[str, typer.Option(help="split to evaluate")] = "test",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Accuracy of every model in RUN on original / body / background, with CIs."""

    cfg = _config(config, set_)
    from bodyscene.evaluate import evaluate_run, format_table

    results = evaluate_run(run, cfg.evaluate, stimuli=stimuli, split=split)
    Console().print(format_table(results))


@app.command()
def report(run: Annotated[Path, typer.Option(help="run folder with results.json")]) -> None:
    """Write RUN/report.html: one self-contained page (figures embedded, opens offline)."""
    from bodyscene.report.html import write_report

    path = write_report(run)
    console.print(f"[green]wrote[/] {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="run folder")] = Path("runs/demo"),
    seed: Annotated[int | None, typer.Option(help="seed for data, training and evaluation")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """synth -> prepare -> train baseline + DomainNet -> evaluate -> report, on the embedded benchmark."""
    cfg = _config(config or Path("demo"), set_)
    from bodyscene.demo import run_demo
    from bodyscene.evaluate import format_table

    results = run_demo(out, cfg, seed=seed)
    Console().print(format_table(results))


def main() -> None:
    try:
        app()
    except BodySceneError as e:
        console.print(f"[red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]; rerun the same command to resume")
        sys.exit(130)
