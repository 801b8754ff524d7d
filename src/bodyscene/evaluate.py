"""The `evaluate` stage: every model in a run on original / body-only / background-only test frames.

Writes RUN/scores.npz (the logits of every model, head and condition; schema.py), RUN/results.json (per model and
condition: accuracy, 95% bootstrap CI, n, per-class accuracy, confusion matrix; each stream of a multi-stream
model alone under `streams`; frame and clip unit under `units` when test clips have several frames),
RUN/results.csv, RUN/predictions.csv (one row per model, head, condition, stimulus) and RUN/accuracy.png.
How logits become answers is readout.py's. A stimulus set with swap stimuli (prepare.swap) adds the cue-conflict
readout (analysis.swap_rates) under `models.<M>.swap`: body_rate, scene_rate, other_rate, body_bias with its 95% CI (over
clips), n; each stream of a multi-stream model under `models.<M>.swap.streams`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.table import Table

from bodyscene.analysis import bootstrap_ci, swap_outcomes, swap_rates
from bodyscene.config import EvaluateConfig
from bodyscene.errors import BodySceneError
from bodyscene.files import read_json, write_csv, write_json
from bodyscene.readout import Scores, answer, clip_logits, manifest_digest, softmax_max
from bodyscene.schema import (
    COMBINED,
    CONDITIONS,
    PREDICTION_COLUMNS,
    RESULT_COLUMNS,
    SCORES_FILE,
    SWAP_CONDITION,
    UNITS,
)
from bodyscene.stimuli.frontend import model_inputs
from bodyscene.train.checkpoint import load_checkpoint_file
from bodyscene.train.datamodule import StimulusDataModule
from bodyscene.train.module import ActionModule
from bodyscene.train.store import choose_store


def accuracy_ci(correct: np.ndarray, cfg: EvaluateConfig, groups: list[str] | None = None) -> list[float]:
    """analysis.bootstrap_ci of the accuracy (over clips with `groups`); where it is undefined (bootstrap: 0, or one
    unit) the CI is the point [accuracy, accuracy], so results.json always holds numbers."""
    low, high = bootstrap_ci(correct, n_boot=cfg.bootstrap, seed=cfg.seed, groups=groups)
    if math.isnan(low):
        return [float(np.mean(correct))] * 2 if len(correct) else [math.nan, math.nan]
    return [low, high]


def load_trained(model_dir: Path, which: str = "best") -> ActionModule:
    """A trained model from its checkpoint, read with torch.load(weights_only=True) (no pickled code runs)."""
    ckpt = model_dir / "checkpoints" / f"{which}.ckpt"
    if not ckpt.is_file():
        ckpt = model_dir / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        raise BodySceneError(f"{model_dir}: no checkpoint; train it with `bodyscene train --run {model_dir.parent}`")
    state = load_checkpoint_file(ckpt)  # torch.load(weights_only=True); one-line error if unsafe or unreadable
    try:
        hp = state["hyper_parameters"]
        hp["model"] = {**hp["model"], "pretrained": None}  # the weights come from the checkpoint
        module = ActionModule(hp["model"], hp["train"], hp["classes"])
        module.load_state_dict(state["state_dict"])
    except BodySceneError:
        raise
    except Exception as e:  # noqa: BLE001 - a checkpoint that does not load is one user-facing error
        detail = (str(e).strip().splitlines() or [""])[0][:200]  # torch's messages span lines; keep the first
        raise BodySceneError(
            f"{ckpt}: not a bodyscene checkpoint ({type(e).__name__}: {detail}); retrain the model"
        ) from e
    return module.eval()


@torch.no_grad()
def predict_logits(module: ActionModule, loader) -> dict[str, np.ndarray]:
    """Every head's logits (`combined` and, for a multi-stream model, each stream's) for every item, in order."""
    heads: dict[str, list[np.ndarray]] = {}
    device = next(module.parameters()).device
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        batch = module.on_after_batch_transfer(batch, 0)
        for head, logits in module(batch).items():
            heads.setdefault(head, []).append(logits.float().cpu().numpy())
    return {head: np.concatenate(parts) for head, parts in heads.items()}


def drop_absent(
    module: ActionModule, heads: dict[str, np.ndarray], condition: str, model: str, sound: bool = True
) -> np.ndarray:
    """`absent_stream: drop`: fuse only the streams whose input the condition has (no black frame counted).

    A body-only stimulus gives DomainNet's background stream a black frame; with `drop` the fused answer is the
    body stream's logits alone (summed fusion) or its weighted logits (learned weights). Concatenated features
    have no per-stream share to drop. With the sound off (`evaluate.sound: false`) an audio stream is absent too.
    """
    kind = module.model_cfg.kind
    present = [name for name, column in model_inputs(kind, condition, sound).items() if column is not None]
    streams = list(module.net.inputs)
    if len(streams) < 2 or present == streams:
        return heads[COMBINED]
    fusion = getattr(module.net, "fusion", "sum")
    if fusion == "concat":
        raise BodySceneError(
            f"{model}: evaluate.absent_stream 'drop' needs summed or weighted fusion, not concat; "
            "use --set evaluate.absent_stream=black"
        )
    weights = dict.fromkeys(streams, 1.0)
    if fusion == "weighted":
        weights = dict(zip(streams, module.net.stream_weights.detach().cpu().tolist(), strict=True))
    return sum(weights[name] * heads[name] for name in present)


def model_dirs(run: Path) -> list[Path]:
    dirs = sorted(p.parent for p in Path(run).glob("*/model.json"))
    if not dirs:
        raise BodySceneError(f"{run}: no trained models (RUN/<model>/model.json); run `bodyscene train --run {run}`")
    return dirs


def accuracy_section(
    logits: np.ndarray, labels: np.ndarray, clip_ids: list[str], unit: str, cfg: EvaluateConfig
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Accuracy, 95% CI and n of one head on one condition at one unit; the items' answers and labels.

    Frame unit: each frame's argmax; the CI resamples clips when clips have several frames. Clip unit: the argmax
    of the mean logits over each clip's frames; the CI resamples clips.
    """
    groups = clip_ids if len(set(clip_ids)) < len(clip_ids) else None
    if unit == "clip":
        clips, logits = clip_logits(logits, clip_ids)
        first = {c: i for i, c in reversed(list(enumerate(clip_ids)))}  # each clip's first frame
        labels = labels[[first[c] for c in clips]]
        groups = None
    pred = answer(logits)
    correct = (pred == labels).astype(float)
    section = {
        "accuracy": float(correct.mean()),
        "ci95": accuracy_ci(correct, cfg, groups),
        "n": len(correct),
    }
    return section, pred, labels


def condition_section(
    logits: np.ndarray, labels: np.ndarray, clip_ids: list[str], classes: list[str], cfg: EvaluateConfig
) -> dict[str, Any]:
    """The fused answer's section: accuracy at the configured unit, per-class accuracy and the confusion matrix."""
    section, pred, labels = accuracy_section(logits, labels, clip_ids, cfg.unit, cfg)
    correct = pred == labels
    confusion = np.zeros((len(classes), len(classes)), dtype=int)
    np.add.at(confusion, (labels, pred), 1)
    section["n_clips"] = len(set(clip_ids))
    section["per_class"] = {
        c: float(correct[labels == i].mean()) if (labels == i).any() else None for i, c in enumerate(classes)
    }
    section["confusion"] = confusion.tolist()
    return section


def swap_section(
    logits: np.ndarray, body: np.ndarray, scene: np.ndarray, clip_ids: list[str], cfg: EvaluateConfig
) -> tuple[dict[str, Any], np.ndarray]:
    """Body bias of one head on the swap stimuli at the configured unit (analysis.swap_rates); the answers per item.

    The CIs resample clips (a cluster bootstrap, as for accuracy): body_bias's is the ratio over the decided
    answers of the resampled clips; body_rate's and scene_rate's are over all answers.
    """
    groups = np.asarray(clip_ids) if len(set(clip_ids)) < len(clip_ids) else None
    if cfg.unit == "clip":  # (swaps are paired per clip, so a clip has one scene action)
        clips, logits = clip_logits(logits, clip_ids)
        first = {c: i for i, c in reversed(list(enumerate(clip_ids)))}
        rows = [first[c] for c in clips]
        body, scene, groups = body[rows], scene[rows], None
    pred = answer(logits)
    section: dict[str, Any] = swap_rates(pred, body, scene)
    is_body, is_scene = swap_outcomes(pred, body, scene)
    decided = (is_body + is_scene) > 0
    section["ci95"] = (
        accuracy_ci(is_body[decided], cfg, None if groups is None else groups[decided])
        if decided.any()
        else [None, None]
    )
    section["ci95_body_rate"] = accuracy_ci(is_body, cfg, groups)
    section["ci95_scene_rate"] = accuracy_ci(is_scene, cfg, groups)
    section["per_class"] = {  # body bias per body action (model-vs-human's per-category shape bias)
        int(c): swap_rates(pred[body == c], body[body == c], scene[body == c])["body_bias"] for c in np.unique(body)
    }
    return section, pred


def evaluate_swaps(
    module: ActionModule, data: StimulusDataModule, split: str, cfg: EvaluateConfig, name: str
) -> tuple[dict[str, Any], dict[str, np.ndarray], list[dict[str, Any]], list[dict[str, str]], np.ndarray]:
    """(results.json `swap` section, each head's logits on the swaps, predictions.csv rows, the swap rows, each
    swap's scene label) of one model."""
    rows = data.swap_rows(split)
    classes = data.classes
    body = np.array([int(r["label"]) for r in rows])
    unknown = sorted({r["swap_background_label"] for r in rows} - set(classes))
    if unknown:
        raise BodySceneError(
            f"{data.stimuli.root / 'manifest.csv'}: swap_background_label {unknown[0]!r} is not a class"
        )
    scene = np.array([classes.index(r["swap_background_label"]) for r in rows])
    clip_ids = [r["clip_id"] for r in rows]
    heads = predict_logits(module, data.swap_loader(split))
    if cfg.absent_stream == "drop":
        heads[COMBINED] = drop_absent(module, heads, SWAP_CONDITION, name, cfg.sound)

    def named(sec: dict[str, Any]) -> dict[str, Any]:
        return {**sec, "per_class": {classes[c]: v for c, v in sec["per_class"].items()}}

    section = named(swap_section(heads[COMBINED], body, scene, clip_ids, cfg)[0])
    streams = {h: named(swap_section(v, body, scene, clip_ids, cfg)[0]) for h, v in heads.items() if h != COMBINED}
    if streams:
        section["streams"] = streams
    section["n_clips"] = len(set(clip_ids))
    predictions = []
    for head, values in heads.items():
        pred = answer(values)
        conf = softmax_max(values, pred)
        predictions += [
            {
                "model": name, "head": head, "condition": SWAP_CONDITION, "stimulus_id": r["stimulus_id"],
                "clip_id": r["clip_id"], "label": classes[y], "predicted": classes[p], "confidence": round(float(c), 5),
            }
            for r, y, p, c in zip(rows, body, pred, conf, strict=True)
        ]  # fmt: skip
    return section, heads, predictions, rows, scene


def test_store(store: str, n_frames: int, size: int) -> str:
    """Where evaluate reads test frames: each is read once per condition, so `auto` never builds shards: the
    cache when it fits (the three columns of the split), else straight from the files."""
    if store != "auto":
        return store
    return "cache" if choose_store("auto", n_frames, 3, size) == "cache" else "files"


def evaluate_model(
    model_dir: Path, cfg: EvaluateConfig, stimuli: Path | None, split: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """(results.json section, predictions.csv rows, what the scores file needs) of one trained model:
    load it and its test data -> every condition, stream and unit -> the swap stimuli, if the set has them."""
    info = read_json(model_dir / "model.json")
    module = load_trained(model_dir, cfg.checkpoint)
    data, rows = _test_data(model_dir, info, module, cfg, stimuli, split)
    labels = np.array([int(r["label"]) for r in rows])
    clip_ids = [r["clip_id"] for r in rows]
    name = model_dir.name
    section, logits, predictions = _condition_sections(module, data, split, rows, labels, cfg, name)
    swap_scene = None
    if data.swap_rows(split):  # the cue-conflict readout; the scores file holds nan for stimuli without a swap
        section["swap"], swap_heads, swap_predictions, swaps, scene = evaluate_swaps(module, data, split, cfg, name)
        predictions += swap_predictions
        where = {sid: i for i, sid in enumerate(r["stimulus_id"] for r in rows)}
        at = [where[r["stimulus_id"]] for r in swaps]
        for head, values in swap_heads.items():
            full = np.full((len(rows), values.shape[1]), np.nan, np.float32)
            full[at] = values
            logits[(name, head, SWAP_CONDITION)] = full
        swap_scene = np.full(len(rows), -1, np.int64)
        swap_scene[at] = scene
    table = {
        "stimulus_ids": [r["stimulus_id"] for r in rows],
        "clip_ids": clip_ids,
        "labels": labels,
        "root": data.stimuli.root,
        "logits": logits,
        "swap_scene": swap_scene,
    }
    return {"info": info, **section}, predictions, table


def _test_data(
    model_dir: Path, info: dict[str, Any], module: Any, cfg: EvaluateConfig, stimuli: Path | None, split: str
) -> tuple[StimulusDataModule, list[dict[str, str]]]:
    """The data module a trained model is evaluated on (its own stimulus set unless another is given) and the
    split's manifest rows; the classes must be those it was trained on."""
    data = StimulusDataModule(
        stimuli or info["stimuli"],
        kind=info["kind"],
        image_size=info["image_size"],
        batch_size=cfg.batch_size,
        resize=info.get("resize", "squash"),
        sound=cfg.sound,
    )
    data.store = test_store(cfg.store, len(data.stimuli.split(split)), info["image_size"])
    if data.classes != module.classes:
        raise BodySceneError(f"{data.stimuli.root}: its classes differ from those {model_dir.name} was trained on")
    rows = data.stimuli.split(split)
    if not rows:
        raise BodySceneError(f"{data.stimuli.root}: the {split} split is empty; prepare a set with {split} clips")
    return data, rows


def _condition_sections(
    module: Any,
    data: StimulusDataModule,
    split: str,
    rows: list[dict[str, str]],
    labels: np.ndarray,
    cfg: EvaluateConfig,
    name: str,
) -> tuple[dict[str, Any], dict[tuple[str, str, str], np.ndarray], list[dict[str, Any]]]:
    """Per condition: the combined answer's accuracy section, each stream's, both units when test clips have
    several frames; plus every head's logits and prediction rows."""
    classes, clip_ids = data.classes, [r["clip_id"] for r in rows]
    several = len(set(clip_ids)) < len(clip_ids)  # several frames per test clip: report both units
    section: dict[str, Any] = {}
    streams: dict[str, dict[str, Any]] = {}
    units: dict[str, dict[str, Any]] = {u: {} for u in UNITS}
    logits: dict[tuple[str, str, str], np.ndarray] = {}
    predictions: list[dict[str, Any]] = []
    for condition in CONDITIONS:
        heads = predict_logits(module, data.loader(split, condition))
        if cfg.absent_stream == "drop":
            heads[COMBINED] = drop_absent(module, heads, condition, name, cfg.sound)
        section[condition] = condition_section(heads[COMBINED], labels, clip_ids, classes, cfg)
        if several:  # the configured unit is already in section[condition]; only the other one is new work
            for unit in UNITS:
                units[unit][condition] = (
                    {k: section[condition][k] for k in ("accuracy", "ci95", "n")}
                    if unit == cfg.unit
                    else accuracy_section(heads[COMBINED], labels, clip_ids, unit, cfg)[0]
                )
        for head, values in heads.items():
            logits[(name, head, condition)] = values
            if head != COMBINED:
                streams.setdefault(head, {})[condition] = accuracy_section(values, labels, clip_ids, cfg.unit, cfg)[0]
            predictions += _prediction_rows(name, head, condition, rows, labels, values, classes)
    if streams:
        section["streams"] = streams
    if several:
        section["units"] = units
    return section, logits, predictions


def _prediction_rows(
    name: str,
    head: str,
    condition: str,
    rows: list[dict[str, str]],
    labels: np.ndarray,
    values: np.ndarray,
    classes: list[str],
) -> list[dict[str, Any]]:
    """predictions.csv rows of one head on one condition: the argmax and its softmax confidence per stimulus."""
    pred = answer(values)
    conf = softmax_max(values, pred)
    return [
        {
            "model": name,
            "head": head,
            "condition": condition,
            "stimulus_id": r["stimulus_id"],
            "clip_id": r["clip_id"],
            "label": classes[y],
            "predicted": classes[p],
            "confidence": round(float(c), 5),
        }
        for r, y, p, c in zip(rows, labels, pred, conf, strict=True)
    ]


def evaluate_run(
    run: str | Path,
    cfg: EvaluateConfig,
    stimuli: str | Path | None = None,
    split: str = "test",
    out: Path | None = None,
):
    """`out` (default RUN) receives the results: experiments evaluate one run's models on several stimulus sets."""
    run = Path(run)
    out = Path(out) if out is not None else run
    results: dict[str, Any] = {"models": {}}
    predictions: list[dict[str, Any]] = []
    scores: Scores | None = None
    for model_dir in model_dirs(run):
        result, preds, table = evaluate_model(model_dir, cfg, Path(stimuli) if stimuli else None, split)
        info = result.pop("info")
        results["models"][model_dir.name] = result
        results.setdefault("classes", len(info["classes"]))
        results.setdefault("class_names", info["classes"])
        results.setdefault("stimuli", str(stimuli or info["stimuli"]))
        predictions += preds
        if scores is None:
            scores = Scores(
                table["stimulus_ids"], table["clip_ids"], info["classes"], table["labels"],
                manifest_digest(table["root"]),
            )  # fmt: skip
        elif scores.stimulus_ids != table["stimulus_ids"]:
            raise BodySceneError(
                f"{model_dir}: evaluated on other stimuli than the run's first model; "
                "pass --stimuli so every model is evaluated on one set"
            )
        scores.logits.update(table["logits"])
        if table["swap_scene"] is not None:
            scores.swap_scene = table["swap_scene"]
    assert scores is not None
    results["chance"] = 1.0 / results["classes"]
    results["split"] = split
    results["unit"] = cfg.unit
    results["absent_stream"] = cfg.absent_stream
    results["sound"] = cfg.sound
    results["checkpoint"] = cfg.checkpoint
    results["frames_per_clip"] = round(scores.frames_per_clip, 3)
    over = "clips" if cfg.unit == "clip" or scores.frames_per_clip > 1 else "stimuli"
    results["bootstrap"] = {"resamples": cfg.bootstrap, "seed": cfg.seed, "method": f"percentile, over {over}"}
    order = ("classes", "chance", "models", "class_names", "split", "unit", "absent_stream", "sound", "checkpoint")
    order += ("frames_per_clip", "stimuli", "bootstrap")
    results = {k: results[k] for k in order}
    write_json(out / "results.json", results)
    scores.save(out / SCORES_FILE)
    write_csv(out / "predictions.csv", predictions, PREDICTION_COLUMNS)
    write_csv(out / "results.csv", result_rows(results), RESULT_COLUMNS)
    from bodyscene.report.figures import draw_results

    draw_results(out)  # accuracy.png, drawn from the results.json just written
    return results


def result_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """results.csv: one row per model x head x unit x condition."""
    rows = []
    unit = results.get("unit", "frame")
    for model, sec in results["models"].items():
        sections = [(COMBINED, unit, c, sec[c]) for c in CONDITIONS]
        sections += [(h, unit, c, s) for h, by in sec.get("streams", {}).items() for c, s in by.items()]
        sections += [(COMBINED, u, c, s) for u, by in sec.get("units", {}).items() if u != unit for c, s in by.items()]
        for head, u, condition, r in sections:
            rows.append(
                {
                    "model": model,
                    "head": head,
                    "unit": u,
                    "condition": condition,
                    "accuracy": round(r["accuracy"], 4),
                    "ci_low": round(r["ci95"][0], 4),
                    "ci_high": round(r["ci95"][1], 4),
                    "n": r["n"],
                    "chance": round(results["chance"], 4),
                }
            )
    return rows


def format_table(results: dict[str, Any]) -> Table:
    unit = results.get("unit", "frame")
    title = f"accuracy on the {results.get('split', 'test')} split, per {unit} (chance {results['chance']:.1%})"
    table = Table(title=title)
    table.add_column("model")
    for condition in CONDITIONS:
        table.add_column(condition, justify="right")
    for model, sec in results["models"].items():
        lines = [(model, sec)] + [(f"  {model} {h} stream", by) for h, by in sec.get("streams", {}).items()]
        for label, by in lines:
            cells = [f"{by[c]['accuracy']:.1%} [{by[c]['ci95'][0]:.0%}, {by[c]['ci95'][1]:.0%}]" for c in CONDITIONS]
            table.add_row(label, *cells)
    return table


def format_swap_table(results: dict[str, Any]) -> Table | None:
    """The cue-conflict readout per model and stream; None when no model was evaluated on swap stimuli."""
    lines = []
    for model, sec in results["models"].items():
        if "swap" in sec:
            lines += [(model, sec["swap"])] + [
                (f"  {model} {h} stream", by) for h, by in sec["swap"].get("streams", {}).items()
            ]
    if not lines:
        return None
    table = Table(title="swap stimuli: body bias = body / (body + scene) answers")
    for column in ("model", "body bias", "body", "scene", "other", "n"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for label, by in lines:
        ci = by["ci95"]
        bias = "-" if by["body_bias"] is None else f"{by['body_bias']:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"
        table.add_row(
            label, bias, f"{by['body_rate']:.1%}", f"{by['scene_rate']:.1%}", f"{by['other_rate']:.1%}", str(by["n"])
        )
    return table
