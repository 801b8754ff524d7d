"""The `bodyscene` command: parse options, call one stage function, print. No logic lives here."""

from __future__ import annotations

import os
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


def _count_or_all(value: str | None) -> int | str | None:
    """--frames-per-clip 3 or all (the config validates the value)."""
    return int(value) if value is not None and value.strip().isdigit() else value


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
    audio: Annotated[
        bool, typer.Option("--audio", help="also a soundtrack per clip (class sounds + ambience)")
    ] = False,
    audio_correlation: Annotated[float | None, typer.Option(help="P(train clip makes its class's sound)")] = None,
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
            audio=audio or None,  # (absent: the config's value)
            audio_correlation=audio_correlation,
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
        str | None,
        typer.Option(help="mediapipe (offline default), yolo (--weights), motion (no weights), ground-truth, auto"),
    ] = None,
    layout: Annotated[str | None, typer.Option(help="data layout: list, haa500 or folders")] = None,
    classes: Annotated[str | None, typer.Option(help="comma-separated subset of classes")] = None,
    weights: Annotated[Path | None, typer.Option(help="YOLOv8-seg .pt file for --segmenter yolo")] = None,
    split_file: Annotated[Path | None, typer.Option(help="folders layout: CSV path,split")] = None,
    every: Annotated[int | None, typer.Option(help="sample every k-th frame (instead of N evenly)")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    shard: Annotated[str | None, typer.Option(help="i/n: do the i-th of n parts of the clip list")] = None,
    frames_per_clip: Annotated[str | None, typer.Option(help="frames sampled per training clip, or all")] = None,
    eval_frames_per_clip: Annotated[str | None, typer.Option(help="frames per val/test clip, or all")] = None,
    dilation: Annotated[float | None, typer.Option(help="mask scale about its centroid (paper: 1.2)")] = None,
    inpaint: Annotated[
        str | None,
        typer.Option(help="telea, ns, temporal (from the clip's other frames) or none (hole left black: a control)"),
    ] = None,
    mask_scope: Annotated[str | None, typer.Option(help="frame, or clip: one mask per clip (the union)")] = None,
    inflate: Annotated[str | None, typer.Option(help="scale (the paper's 1.2x) or blur (the prototype's)")] = None,
    audio: Annotated[
        bool, typer.Option("--audio", help="also a log-mel spectrogram of each clip's sound (prepare.mel)")
    ] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Make original / body-only / background-only frames and a manifest."""

    extra = _drop_none(
        dict(
            segmenter=segmenter,
            frames_per_clip=_count_or_all(frames_per_clip),
            eval_frames_per_clip=_count_or_all(eval_frames_per_clip),
            dilation=dilation,
            inpaint=inpaint,
            mask_scope=mask_scope,
            inflate=inflate,
            layout=layout,
            classes=[c.strip() for c in classes.split(",") if c.strip()] if classes else None,
            weights=str(weights) if weights else None,
            split_file=str(split_file) if split_file else None,
            every_k=every,
            audio=audio or None,  # (absent: the config's value)
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
    if "audio" in summary:
        heard = summary["audio"]
        console.print(f"audio: {heard['clips']} clips with sound, {heard['silent_clips']} without (see skipped.csv)")
    if summary.get("fallbacks"):
        console.print(f"[yellow]{summary['fallbacks']} clips could not be made as asked[/]: see {out / 'errors.csv'}")


@app.command()
def train(
    stimuli: Annotated[Path, typer.Option(help="stimulus set written by `bodyscene prepare`")],
    model: Annotated[str, typer.Option(help="baseline or domainnet")],
    run: Annotated[
        # --run-dir: under torchrun, whose parser takes `--run` for an abbreviation of its own --run-path
        Path, typer.Option("--run", "--run-dir", help="run folder; the model goes to RUN/<name>/")
    ],
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
    overwrite: Annotated[bool, typer.Option(help="delete RUN/<name>'s checkpoints and start again")] = False,
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

    out = train_model(stimuli, run, cfg.model, cfg.train, name=name, resume=resume, overwrite=overwrite)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one line from rank 0
        console.print(f"[green]trained[/] {cfg.model.kind} -> {out}")


@app.command()
def evaluate(
    run: Annotated[Path, typer.Option(help="run folder holding one folder per trained model")],
    stimuli: Annotated[Path | None, typer.Option(help="stimulus set (default: the one each model trained on)")] = None,
    split: Annotated[str, typer.Option(help="split to evaluate")] = "test",
    unit: Annotated[
        str | None, typer.Option(help="frame (each frame's argmax) or clip (argmax of a clip's mean logits)")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Accuracy of every model and stream in RUN on original / body / background, with CIs; RUN/scores.npz."""

    cfg = _config(config, set_, {"evaluate": _drop_none({"unit": unit})})
    from bodyscene.evaluate import evaluate_run, format_swap_table, format_table

    results = evaluate_run(run, cfg.evaluate, stimuli=stimuli, split=split)
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
    cfg = _config(config or Path("demo"), set_)
    from bodyscene.demo import run_demo
    from bodyscene.evaluate import format_table

    results = run_demo(out, cfg, seed=seed)
    Console().print(format_table(results))


# --- human experiment in a browser (humans/experiment.py, server.py, collect.py) ---


@app.command("human-experiment")
def human_experiment(
    stimuli: Annotated[Path, typer.Option(help="stimulus set written by `bodyscene prepare`")],
    out: Annotated[Path, typer.Option(help="experiment folder to write")],
    design: Annotated[
        str, typer.Option("--design", "--participants-design", help="latin (clip once per person) or full")
    ] = "latin",
    participants: Annotated[int, typer.Option(help="trial lists for participants 1..N")] = 30,
    split: Annotated[str, typer.Option(help="manifest split the trials come from")] = "test",
    choices: Annotated[
        str | None, typer.Option(help="options per trial: N (true action + N-1 seeded foils) or all (default 5)")
    ] = None,
    classes: Annotated[str | None, typer.Option(help="comma-separated class subset (default: all)")] = None,
    time_limit_ms: Annotated[int | None, typer.Option(help="hide the image after this many ms")] = None,
    practice: Annotated[int, typer.Option(help="practice trials with feedback")] = 3,
    attention_checks: Annotated[int, typer.Option(help="'please click X' trials per participant")] = 2,
    clips_per_class: Annotated[int | None, typer.Option(help="use at most this many clips per class")] = None,
    image_height: Annotated[int, typer.Option(help="displayed image height in pixels")] = 320,
    consent: Annotated[Path | None, typer.Option(help="HTML file replacing the generic consent text")] = None,
    seed: Annotated[int, typer.Option(help="design seed (each participant's seed derives from it)")] = 0,
    unit: Annotated[str, typer.Option(help="clip: a trial plays a whole test clip (the paper's); frame: a still")] = (
        "clip"
    ),
    clip_min_frames: Annotated[int, typer.Option(help="refuse clips with fewer sampled frames")] = 4,
    clip_fps: Annotated[float, typer.Option(help="frames per second of the encoded clips")] = 8.0,
    clip_loop: Annotated[bool, typer.Option(help="loop each clip until the answer (default: play once)")] = False,
    clip_max_ms: Annotated[int | None, typer.Option(help="stop and hide a clip after this many ms")] = None,
    answer_ends_clip: Annotated[
        bool, typer.Option(help="answers may come during the clip (--no-answer-ends-clip: buttons wait for its end)")
    ] = True,
    swap_trials: Annotated[
        bool, typer.Option("--swap-trials", help="also a cue-conflict trial per frame with a swap (prepare.swap)")
    ] = False,
) -> None:
    """Write a self-contained jsPsych experiment (counterbalanced conditions) for human observers."""
    from bodyscene.config import validate
    from bodyscene.humans.experiment import ExperimentConfig, build_experiment

    if consent is not None and not consent.is_file():
        raise BodySceneError(f"{consent}: consent file not found; pass an HTML file to --consent")
    settings = dict(
        design=design,
        participants=participants,
        split=split,
        choices=_count_or_all(choices),
        time_limit_ms=time_limit_ms,
        practice=practice,
        attention_checks=attention_checks,
        clips_per_class=clips_per_class,
        image_height=image_height,
        seed=seed,
        unit=unit,
        clip_min_frames=clip_min_frames,
        clip_fps=clip_fps,
        clip_loop=clip_loop,
        clip_max_ms=clip_max_ms,
        answer_ends_clip=answer_ends_clip,
        classes=[c.strip() for c in classes.split(",") if c.strip()] if classes else None,
        consent_html=consent.read_text(encoding="utf-8") if consent else None,
        swap_trials=swap_trials,
    )
    cfg = validate(ExperimentConfig, settings, "command line")
    s = build_experiment(stimuli, out, cfg)
    console.print(
        f"[green]wrote[/] {out}: {s['participants']} participants x {s['trials']} trials "
        f"(+{s['practice']} practice), {s['images']} images, {s['videos']} clips, {s['skipped']} stimuli skipped; "
        f"run `bodyscene serve-experiment {out}`",
        soft_wrap=True,
    )


@app.command("serve-experiment")
def serve_experiment(
    folder: Annotated[Path, typer.Argument(help="folder written by `bodyscene human-experiment`")],
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on (0.0.0.0: whole network)")] = "127.0.0.1",
    public_url: Annotated[str | None, typer.Option(help="URL participants open (behind a proxy)")] = None,
    allowed_host: Annotated[list[str] | None, typer.Option(help="extra Host name accepted (repeatable)")] = None,
    pid_param: Annotated[str, typer.Option(help="URL parameter with the platform's participant id")] = ("PROLIFIC_PID"),
    completion_url: Annotated[str | None, typer.Option(help="where the page sends participants at the end")] = None,
) -> None:
    """Serve the experiment; links in FOLDER/private/links.csv; data land in FOLDER/responses/."""
    from bodyscene.humans.server import serve

    serve(folder, host, port, public_url, tuple(allowed_host or ()), pid_param, completion_url)


@app.command()
def collect(
    folder: Annotated[Path, typer.Argument(help="experiment folder with responses/")],
    out: Annotated[Path | None, typer.Option(help="merged CSV (default: FOLDER-responses.csv, beside FOLDER)")] = None,
    choices_from_design: Annotated[
        bool, typer.Option(help="CSVs without a choices column: take each trial's options from design.json")
    ] = False,
) -> None:
    """Merge FOLDER/responses/*.csv into one humans CSV, skipping (and listing) malformed files."""
    from bodyscene.humans.collect import collect as run_collect

    s = run_collect(folder, out, choices_from_design=choices_from_design)
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
    accuracy: Annotated[str, typer.Option(help="target accuracy per condition")] = (
        "original=0.8,body=0.85,background=0.55"
    ),
    participants: Annotated[int, typer.Option(help="simulated participants (sim01, sim02, ...)")] = 28,
    agreement: Annotated[float, typer.Option(help="P(a trial copies the model's correctness), 0..1")] = 0.0,
    run: Annotated[Path | None, typer.Option(help="run with predictions.csv (for --agreement)")] = None,
    model: Annotated[str, typer.Option(help="model whose errors simulated participants share")] = "domainnet",
    design: Annotated[str, typer.Option(help="counterbalanced (one condition per clip) or full")] = "counterbalanced",
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    choices: Annotated[
        str | None, typer.Option(help="options per trial: N (true action + N-1 seeded foils) or all (default 5)")
    ] = None,
    unit: Annotated[str, typer.Option(help="frame (a trial per test frame) or clip (a trial per test clip)")] = "frame",
) -> None:
    """Write responses of simulated participants (for tests, demos and power analysis; never as data)."""
    from bodyscene.humans.simulate import parse_accuracy, simulate_responses

    info = simulate_responses(
        stimuli, out, parse_accuracy(accuracy), participants=participants, agreement=agreement,
        run=run, model=model, design=design, seed=seed, choices=_count_or_all(choices), unit=unit,
    )  # fmt: skip
    console.print(f"[green]wrote[/] {info['trials']} simulated trials ({participants} participants) to {out}")


@app.command()
def compare(
    humans: Annotated[Path, typer.Option(help="human responses CSV")],
    run: Annotated[Path, typer.Option(help="run folder with scores.npz (from bodyscene evaluate)")],
    stimuli: Annotated[Path | None, typer.Option(help="stimulus set (default: results.json's)")] = None,
    out: Annotated[Path | None, typer.Option(help="comparison JSON (default RUN/comparison.json)")] = None,
    bootstrap: Annotated[int, typer.Option(help="bootstrap resamples for the 95% CIs")] = 1000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    head: Annotated[
        str, typer.Option(help="the output that answers: combined (the model's answer), body or background stream")
    ] = "combined",
    min_attention: Annotated[
        float | None,
        typer.Option(
            help="exclude participants who passed a smaller share of attention checks "
            "(default compare.min_attention = 1.0: all must be passed)"
        ),
    ] = None,
    undefined_kappa: Annotated[
        str | None, typer.Option(help="kappa with expected agreement 1: drop (default) or one (model-vs-human)")
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Humans beside every model in RUN, models asked as humans were (same options, same clip or frame)."""
    from rich.table import Table

    from bodyscene.config import CONDITIONS
    from bodyscene.humans.compare import compare as run_compare

    extra = _drop_none({"min_attention": min_attention, "undefined_kappa": undefined_kappa})
    cfg = _config(config, set_, {"compare": extra} if extra else None).compare
    result = run_compare(
        humans, run, stimuli=stimuli, out=out, n_boot=bootstrap, seed=seed, head=head,
        min_attention=cfg.min_attention, undefined_kappa=cfg.undefined_kappa,
    )  # fmt: skip

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    def fmt_p(v: float | None) -> str:
        return "-" if v is None else f"{v:.2g}"

    table = Table()
    for column in ("observer", *CONDITIONS, "error consistency", "observed cons.", "pattern r", "sq. acc. diff"):
        table.add_column(column)
    hh = fmt(result["human_consistency"]["error_consistency"]) + " (h-h)"
    table.add_row("chance", *(fmt(result["humans"][c]["chance"]) for c in CONDITIONS), "", "", "", "")
    table.add_row("humans", *(fmt(result["humans"][c]["accuracy"]) for c in CONDITIONS), hh, "", "", "")
    for name, sec in result["models"].items():
        accs = [fmt(sec[c]["accuracy"]) for c in CONDITIONS]
        ec, oc = fmt(sec["error_consistency"]["mean"]), fmt(sec["observed_consistency"]["mean"])
        sq = fmt(sec["squared_accuracy_difference"]["mean"])
        table.add_row(name, *accs, ec, oc, fmt(sec["pattern_correlation"]), sq)
    Console().print(table)
    likeness = Table(title="more human-like? per-participant differences a - b, paired over participants")
    for column in ("metric", "a - b", "mean [95% CI]", "p", "p Holm", "closer"):
        likeness.add_column(column)
    for rows in result["statistics"]["human_likeness"].values():
        for r in rows:
            ci = ", ".join(fmt(x) for x in r["ci95"])
            likeness.add_row(r["metric"], f"{r['a']} - {r['b']}", f"{fmt(r['mean_difference'])} [{ci}]",
                             fmt_p(r["p"]), fmt_p(r["p_holm"]), r["closer"] or "neither")  # fmt: skip
    Console().print(likeness)
    ex = result["exclusions"]
    for e in ex["excluded"]:
        console.print(f"[yellow]excluded[/] participant {e['participant']}: {e['reason']}", highlight=False)
    console.print(f"[green]wrote[/] {out or run / 'comparison.json'} ({ex['participants_after']} of "
                  f"{ex['participants_before']} participants kept)", soft_wrap=True)  # fmt: skip


@app.command()
def export(
    run: Annotated[Path, typer.Option(help="run folder with scores.npz (from bodyscene evaluate)")],
    out: Annotated[Path, typer.Option(help="folder for the raw-data CSVs (model-vs-human's raw-data/<name>/)")],
    format_: Annotated[str, typer.Option("--format", help="model-vs-human")] = "model-vs-human",
    humans: Annotated[Path | None, typer.Option(help="human responses CSV to export beside the models")] = None,
    stimuli: Annotated[Path | None, typer.Option(help="stimulus set (default: results.json's)")] = None,
    name: Annotated[str, typer.Option(help="experiment name in the file names (no '_')")] = "bodyscene",
    head: Annotated[str, typer.Option(help="the output that answers (combined, body, background)")] = "combined",
) -> None:
    """Write humans and models as bethgelab/model-vs-human raw-data CSVs (one file per observer)."""
    from bodyscene.humans.export import FORMATS, export_model_vs_human
    from bodyscene.readout import check_name

    check_name("--format", format_, FORMATS, "the raw-data CSVs of bethgelab/model-vs-human")
    info = export_model_vs_human(run, out, humans=humans, stimuli=stimuli, experiment=name, head=head)
    console.print(f"[green]wrote[/] {len(info['files'])} raw-data files ({len(info['participants'])} participants, "
                  f"{len(info['models'])} models) to {out}", soft_wrap=True)  # fmt: skip


@app.command()
def experiment(
    name: Annotated[
        str, typer.Argument(help="paper-table, loss-ablation, seg-noise, fusion, backbone, flow, leak, ..., audio")
    ],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="experiment YAML (default: configs/experiments/NAME.yaml)")
    ] = None,
    seeds: Annotated[int | None, typer.Option(help="number of seeds (default: the config's)")] = None,
    out: Annotated[Path | None, typer.Option(help="output folder (default runs/NAME)")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="change a setting: --set train.epochs=3 (run config), --set params.levels=[0,0.2]"),
    ] = None,
) -> None:
    """Run one of the paper's open questions: RUN/table.csv (mean, 95% CI over seeds), a figure, the run folders."""
    from rich.table import Table

    from bodyscene.config import parse_overrides
    from bodyscene.experiments import run_experiment

    rows = run_experiment(name, config, seeds=seeds, out=out, overrides=parse_overrides(set_ or []))
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
    from bodyscene.config import dump_config

    sys.stdout.write(dump_config(_config(config, set_)))


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
