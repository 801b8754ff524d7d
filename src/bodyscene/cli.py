"""The `bodyscene` command: parse options, call one stage function, print. No logic lives here.

Which config section a command reads, which function runs it, and which config key each flag sets are declared
once, in the stage table (`commands.STAGES`); every command below resolves its config through it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bodyscene.commands import STAGES, option
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


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("runs/synth"),
    classes: Annotated[int | None, option("synth", "classes")] = None,
    seed: Annotated[int | None, option("synth", "seed")] = None,
    frames: Annotated[int | None, option("synth", "frames")] = None,
    size: Annotated[int | None, option("synth", "size")] = None,
    train_clips: Annotated[int | None, option("synth", "train_clips")] = None,
    test_clips: Annotated[int | None, option("synth", "test_clips")] = None,
    scene_correlation: Annotated[float | None, option("synth", "scene_correlation")] = None,
    audio: Annotated[bool | None, option("synth", "audio")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Generate the embedded body/scene benchmark: videos, person masks, split lists."""
    stage = STAGES["synth"]
    cfg = stage.settings(locals())
    summary = stage.run()(cfg, out)
    console.print(f"[green]wrote[/] {summary['clips']} clips of {cfg.classes} classes to {out}")


@app.command()
def prepare(
    data: Annotated[Path, typer.Option(help="data folder (e.g. written by `bodyscene synth`)")],
    out: Annotated[Path, typer.Option(help="stimulus-set folder to write")],
    segmenter: Annotated[str | None, option("prepare", "segmenter")] = None,
    layout: Annotated[str | None, option("prepare", "layout")] = None,
    classes: Annotated[str | None, option("prepare", "classes")] = None,
    weights: Annotated[Path | None, option("prepare", "weights")] = None,
    split_file: Annotated[Path | None, option("prepare", "split_file")] = None,
    frames_per_clip: Annotated[str | None, option("prepare", "frames_per_clip")] = None,
    eval_frames_per_clip: Annotated[str | None, option("prepare", "eval_frames_per_clip")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    shard: Annotated[str | None, typer.Option(help="i/n: do the i-th of n parts of the clip list")] = None,
    every: Annotated[int | None, option("prepare", "every")] = None,
    dilation: Annotated[float | None, option("prepare", "dilation")] = None,
    inpaint: Annotated[str | None, option("prepare", "inpaint")] = None,
    mask_scope: Annotated[str | None, option("prepare", "mask_scope")] = None,
    inflate: Annotated[str | None, option("prepare", "inflate")] = None,
    audio: Annotated[bool | None, option("prepare", "audio")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Make original / body-only / background-only frames and a manifest."""
    stage = STAGES["prepare"]
    summary = stage.run()(data, out, stage.settings(locals()), workers=workers, shard=shard)
    if not summary.get("complete", True):
        console.print(f"[yellow]shard {shard} done[/]; {summary['pending_clips']} clips wait for other shards")
        return
    console.print(f"[green]wrote[/] {summary['stimuli']} stimuli to {out} (skipped {summary['skipped']})")
    console.print(f"quality: {summary['quality_line']}; contact sheet: {out / 'contact_sheet.png'}")
    if summary["errors"]:
        console.print(f"[yellow]{summary['errors']} videos could not be decoded[/]: see {out / 'errors.csv'}")
    if "audio" in summary:
        heard = summary["audio"]
        console.print(f"audio: {heard['clips']} clips with sound, {heard['silent_clips']} without (see skipped.csv)")
    if summary.get("fallbacks"):
        console.print(f"[yellow]{summary['fallbacks']} clips could not be made as asked[/]: see {out / 'errors.csv'}")


@app.command()
def train(
    stimuli: Annotated[Path, typer.Option(help="stimulus set written by `bodyscene prepare`")],
    model: Annotated[
        str,
        typer.Option(
            help="the kind to train (baseline, domainnet, ...): the first of that kind "
            "in the config's `models`, else the first entry with this kind"
        ),
    ],  # fmt: skip
    run: Annotated[
        # --run-dir: under torchrun, whose parser takes `--run` for an abbreviation of its own --run-path
        Path, typer.Option("--run", "--run-dir", help="run folder; the model goes to RUN/<name>/")
    ],
    name: Annotated[str | None, typer.Option(help="model folder name (default: the model kind)")] = None,
    backbone: Annotated[str | None, option("train", "backbone")] = None,
    condition: Annotated[str | None, option("train", "condition")] = None,
    pretrained: Annotated[Path | None, option("train", "pretrained")] = None,
    epochs: Annotated[int | None, option("train", "epochs")] = None,
    seed: Annotated[int | None, option("train", "seed")] = None,
    resume: Annotated[bool, typer.Option(help="continue from RUN/<name>/checkpoints/last.ckpt")] = False,
    overwrite: Annotated[bool, typer.Option(help="delete RUN/<name>'s checkpoints and start again")] = False,
    batch_size: Annotated[int | None, option("train", "batch_size")] = None,
    lr: Annotated[float | None, option("train", "lr")] = None,
    image_size: Annotated[int | None, option("train", "image_size")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train a baseline or DomainNet with Lightning (checkpoints every epoch, --resume)."""
    stage = STAGES["train"]
    cfg = stage.settings(locals())
    model_cfg = cfg.model_for(model)
    out = stage.run()(stimuli, run, model_cfg, cfg.train, name=name, resume=resume, overwrite=overwrite)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0
        console.print(f"[green]trained[/] {model_cfg.kind} -> {out}")


@app.command()
def evaluate(
    run: Annotated[Path, typer.Option(help="run folder holding one folder per trained model")],
    stimuli: Annotated[Path | None, typer.Option(help="stimulus set (default: the one each model trained on)")] = None,
    split: Annotated[str, typer.Option(help="split to evaluate")] = "test",
    unit: Annotated[str | None, option("evaluate", "unit")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Accuracy of every model and stream in RUN on original / body / background, with CIs; RUN/scores.npz."""
    from bodyscene.evaluate import format_swap_table, format_table

    stage = STAGES["evaluate"]
    results = stage.run()(run, stage.settings(locals()), stimuli=stimuli, split=split)
    Console().print(format_table(results))
    swap = format_swap_table(results)
    if swap is not None:
        Console().print(swap)


@app.command()
def report(run: Annotated[Path, typer.Option(help="run folder with results.json")]) -> None:
    """Write RUN/report.html: one self-contained page (figures embedded, opens offline)."""
    from bodyscene.report.html import write_report

    path = write_report(run)
    console.print(f"[green]wrote[/] {path}")


@app.command()
def figures(folder: Annotated[Path, typer.Option("--run", help="run or experiment folder")]) -> None:
    """Redraw the folder's figures from the files its stages wrote (results.json, comparison.json, table.csv)."""
    from bodyscene.report.redraw import redraw

    for path in redraw(folder):
        console.print(f"[green]wrote[/] {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="run folder")] = Path("runs/demo"),
    seed: Annotated[int | None, typer.Option(help="seed for data, training and evaluation")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """synth -> prepare -> train baseline + DomainNet -> evaluate -> report, on the embedded benchmark."""
    from bodyscene.evaluate import format_table

    stage = STAGES["demo"]
    results = stage.run()(out, stage.settings(locals()), seed=seed)
    Console().print(format_table(results))


# --- the human study in a browser (humans/study.py, server.py, collect.py); not the ablations of `experiment` ---


def human_study(
    stimuli: Annotated[Path, typer.Option(help="stimulus set written by `bodyscene prepare`")],
    out: Annotated[Path, typer.Option(help="study folder to write")],
    participants: Annotated[int | None, option("human-study", "participants")] = None,
    unit: Annotated[str | None, option("human-study", "unit")] = None,
    design: Annotated[str | None, option("human-study", "design", "--design", "--participants-design")] = None,
    choices: Annotated[str | None, option("human-study", "choices")] = None,
    seed: Annotated[int | None, option("human-study", "seed")] = None,
    swap_trials: Annotated[bool | None, option("human-study", "swap_trials")] = None,
    consent: Annotated[Path | None, option("human-study", "consent")] = None,
    split: Annotated[str | None, option("human-study", "split")] = None,
    classes: Annotated[str | None, option("human-study", "classes")] = None,
    time_limit_ms: Annotated[int | None, option("human-study", "time_limit_ms")] = None,
    practice: Annotated[int | None, option("human-study", "practice")] = None,
    attention_checks: Annotated[int | None, option("human-study", "attention_checks")] = None,
    clips_per_class: Annotated[int | None, option("human-study", "clips_per_class")] = None,
    image_height: Annotated[int | None, option("human-study", "image_height")] = None,
    clip_min_frames: Annotated[int | None, option("human-study", "clip_min_frames")] = None,
    clip_fps: Annotated[float | None, option("human-study", "clip_fps")] = None,
    clip_loop: Annotated[bool | None, option("human-study", "clip_loop")] = None,
    clip_max_ms: Annotated[int | None, option("human-study", "clip_max_ms")] = None,
    answer_ends_clip: Annotated[bool | None, option("human-study", "answer_ends_clip")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Write a self-contained jsPsych study (counterbalanced conditions) for human observers."""
    stage = STAGES["human-study"]
    s = stage.run()(stimuli, out, stage.settings(locals()))
    console.print(
        f"[green]wrote[/] {out}: {s['participants']} participants x {s['trials']} trials "
        f"(+{s['practice']} practice), {s['images']} images, {s['videos']} clips, {s['skipped']} stimuli skipped; "
        f"run `bodyscene serve-study {out}`",
        soft_wrap=True,
    )


app.command("human-study")(human_study)
app.command("human-experiment", help="Old name of `human-study` (kept until 0.3).", hidden=False)(human_study)


def serve_study(
    folder: Annotated[Path, typer.Argument(help="folder written by `bodyscene human-study`")],
    port: Annotated[int | None, option("serve-study", "port")] = None,
    host: Annotated[str | None, option("serve-study", "host")] = None,
    public_url: Annotated[str | None, option("serve-study", "public_url")] = None,
    allowed_host: Annotated[list[str] | None, option("serve-study", "allowed_host")] = None,
    pid_param: Annotated[str | None, option("serve-study", "pid_param")] = None,
    completion_url: Annotated[str | None, option("serve-study", "completion_url")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Serve the study; links in FOLDER/private/links.csv; data land in FOLDER/responses/."""
    stage = STAGES["serve-study"]
    cfg = stage.settings(locals())
    stage.run()(folder, cfg.host, cfg.port, cfg.public_url, tuple(cfg.allowed_hosts), cfg.pid_param, cfg.completion_url)


app.command("serve-study")(serve_study)
app.command("serve-experiment", help="Old name of `serve-study` (kept until 0.3).")(serve_study)


@app.command()
def collect(
    folder: Annotated[Path, typer.Argument(help="study folder with responses/")],
    out: Annotated[Path | None, typer.Option(help="merged CSV (default: FOLDER-responses.csv, beside FOLDER)")] = None,
    choices_from_design: Annotated[bool | None, option("collect", "choices_from_design")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Merge FOLDER/responses/*.csv into one humans CSV, skipping (and listing) malformed files."""
    stage = STAGES["collect"]
    cfg = stage.settings(locals())
    s = stage.run()(folder, out, choices_from_design=cfg.choices_from_design)
    for name, reason in s["skipped"]:
        console.print(f"[yellow]skipped[/] {name}: {reason}", highlight=False, soft_wrap=True)
    console.print(
        f"[green]wrote[/] {s['out']}: {s['rows']} trials (+{s['checks']} attention checks, {s['practice']} practice) "
        f"from {s['participants']} participants "
        f"({len(s['skipped'])} of {s['files']} files skipped; {s['incomplete']} incomplete records in "
        "responses/incomplete/ not merged)",
        soft_wrap=True,
    )


@app.command("simulate-humans")
def simulate_humans(
    stimuli: Annotated[Path, typer.Option(help="stimulus set (its test split is shown)")],
    out: Annotated[Path, typer.Option(help="responses CSV to write (+ OUT.json marking it simulated)")],
    run: Annotated[Path | None, typer.Option(help="run with scores.npz (for --agreement)")] = None,
    accuracy: Annotated[str | None, option("simulate-humans", "accuracy")] = None,
    participants: Annotated[int | None, option("simulate-humans", "participants")] = None,
    agreement: Annotated[float | None, option("simulate-humans", "agreement")] = None,
    model: Annotated[str | None, option("simulate-humans", "model")] = None,
    seed: Annotated[int | None, option("simulate-humans", "seed")] = None,
    design: Annotated[str | None, option("simulate-humans", "design")] = None,
    choices: Annotated[str | None, option("simulate-humans", "choices")] = None,
    unit: Annotated[str | None, option("simulate-humans", "unit")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Write responses of simulated participants (for tests, demos and power analysis; never as data)."""
    stage = STAGES["simulate-humans"]
    cfg = stage.settings(locals())
    info = stage.run()(stimuli, out, cfg, run=run)
    console.print(f"[green]wrote[/] {info['trials']} simulated trials ({cfg.participants} participants) to {out}")


@app.command()
def compare(
    humans: Annotated[Path, typer.Option(help="human responses CSV")],
    run: Annotated[Path, typer.Option(help="run folder with scores.npz (from bodyscene evaluate)")],
    stimuli: Annotated[Path | None, typer.Option(help="stimulus set (default: results.json's)")] = None,
    out: Annotated[Path | None, typer.Option(help="comparison JSON (default RUN/comparison.json)")] = None,
    head: Annotated[str | None, option("compare", "head")] = None,
    bootstrap: Annotated[int | None, option("compare", "bootstrap")] = None,
    seed: Annotated[int | None, option("compare", "seed")] = None,
    min_attention: Annotated[float | None, option("compare", "min_attention")] = None,
    undefined_kappa: Annotated[str | None, option("compare", "undefined_kappa")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Humans beside every model in RUN, models asked as humans were (same options, same clip or frame)."""
    from bodyscene.humans.compare import format_comparison

    stage = STAGES["compare"]
    cfg = stage.settings(locals())
    result = stage.run()(
        humans, run, stimuli=stimuli, out=out, n_boot=cfg.bootstrap, seed=cfg.seed, head=cfg.head,
        min_attention=cfg.min_attention, undefined_kappa=cfg.undefined_kappa,
    )  # fmt: skip
    for table in format_comparison(result):
        Console().print(table)
    ex = result["exclusions"]
    for e in ex["excluded"]:
        console.print(f"[yellow]excluded[/] participant {e['participant']}: {e['reason']}", highlight=False)
    console.print(f"[green]wrote[/] {out or run / 'comparison.json'} ({ex['participants_after']} of "
                  f"{ex['participants_before']} participants kept)", soft_wrap=True)  # fmt: skip


@app.command()
def export(
    run: Annotated[Path, typer.Option(help="run folder with scores.npz (from bodyscene evaluate)")],
    out: Annotated[Path, typer.Option(help="folder for the raw-data CSVs (model-vs-human's raw-data/<name>/)")],
    humans: Annotated[Path | None, typer.Option(help="human responses CSV to export beside the models")] = None,
    stimuli: Annotated[Path | None, typer.Option(help="stimulus set (default: results.json's)")] = None,
    format_: Annotated[str | None, option("export", "format_", "--format")] = None,
    name: Annotated[str | None, option("export", "name")] = None,
    head: Annotated[str | None, option("export", "head")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Write humans and models as bethgelab/model-vs-human raw-data CSVs (one file per observer)."""
    stage = STAGES["export"]
    cfg = stage.settings(locals())
    info = stage.run()(run, out, humans=humans, stimuli=stimuli, experiment=cfg.name, head=cfg.head)
    console.print(f"[green]wrote[/] {len(info['files'])} raw-data files ({len(info['participants'])} participants, "
                  f"{len(info['models'])} models) to {out}", soft_wrap=True)  # fmt: skip


@app.command()
def experiment(
    name: Annotated[
        str,
        typer.Argument(
            help="paper-table, loss-ablation, seg-noise, fusion, backbone, flow, leak, segregation, cue-conflict or audio"
        ),
    ],  # fmt: skip
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="experiment YAML (default: configs/experiments/NAME.yaml)")
    ] = None,
    seeds: Annotated[int | None, option("experiment", "seeds")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default runs/NAME)")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="change a setting: --set train.epochs=3 (run config), --set params.levels=[0,0.2]"),
    ] = None,
) -> None:
    """Run one of the paper's open questions (model ablations, not the human study): RUN/table.csv (mean, 95% CI
    over seeds), a figure, the run folders."""
    from rich.table import Table

    stage = STAGES["experiment"]
    rows = stage.run()(name, config, out=out, overrides=stage.overrides(locals()))
    table = Table(title=f"{name}: mean over seeds [95% CI]")
    columns = [c for c in rows[0] if c not in ("ci95_low", "ci95_high", "per_seed")] if rows else []
    for column in columns:
        table.add_column(column)
    for r in rows:
        ci = f" [{r['ci95_low']}, {r['ci95_high']}]" if r["ci95_low"] != "" else ""
        table.add_row(*(f"{r[c]}{ci}" if c == "mean" else str(r[c]) for c in columns))
    Console().print(table)
    console.print(f"[green]wrote[/] {out or Path('runs') / name}/table.csv")


# --- the config itself (config.py): what a command would run with, and a schema for editors ---

config_app = typer.Typer(help="Print the resolved config, or export its JSON schema.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the config as a command would resolve it (defaults < --config < --set), as YAML on stdout."""
    from bodyscene.config import dump_config, load_config, parse_overrides

    sys.stdout.write(dump_config(load_config(config, parse_overrides(set_ or []))))


@config_app.command("schema")
def config_schema(
    out: Annotated[Path, typer.Option(help="JSON schema file to write (point your editor's YAML support at it)")],
) -> None:
    """Write the JSON schema of the run config (every section, key, type, default and description)."""
    from bodyscene.config import json_schema
    from bodyscene.files import write_json

    console.print(f"[green]wrote[/] {write_json(out, json_schema())}", highlight=False, soft_wrap=True)


def main() -> None:
    try:
        app()
    except BodySceneError as e:
        console.print(f"[red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]; rerun the same command to resume")
        sys.exit(130)
    except OSError as e:  # a path we could not read or write that no stage turned into a BodySceneError
        where = e.filename or "a file"
        console.print(f"[red]error:[/] {where}: {e.strerror or e}; check the path, its permissions and free space",
                      highlight=False, soft_wrap=True)  # fmt: skip
        sys.exit(2)
