"""The `evaluate` stage: every model in a run on original / body-only / background-only test frames.

Writes RUN/results.json (accuracy, 95% bootstrap CI, n, per-class accuracy, confusion matrix per model and
condition), RUN/results.csv, RUN/predictions.csv and the grouped bar chart RUN/accuracy.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.table import Table

from bodyscene.config import CONDITIONS, EvaluateConfig
from bodyscene.errors import BodySceneError
from bodyscene.files import read_json, write_csv, write_json
from bodyscene.train.checkpoint import load_checkpoint_file
from bodyscene.train.datamodule import StimulusDataModule
from bodyscene.train.module import ActionModule

PREDICTION_COLUMNS = ("model", "condition", "stimulus_id", "label", "predicted", "confidence")
RESULT_COLUMNS = ("model", "condition", "accuracy", "ci_low", "ci_high", "n", "chance")


def bootstrap_ci(correct: np.ndarray, resamples: int, seed: int, level: float = 0.95) -> list[float]:
    """Percentile bootstrap CI of the mean of 0/1 outcomes, resampling stimuli with replacement."""
    if len(correct) == 0:
        return [float("nan"), float("nan")]
    if resamples == 0:
        return [float(correct.mean())] * 2
    rng = np.random.default_rng(seed)
    means = correct[rng.integers(0, len(correct), size=(resamples, len(correct)))].mean(axis=1)
    alpha = (1 - level) / 2
    return [float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))]


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
def predict(module: ActionModule, loader) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class and its softmax probability for every item of the loader, in order."""
    preds, confs = [], []
    device = next(module.parameters()).device
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        batch = module.on_after_batch_transfer(batch, 0)
        probs = module(batch)["combined"].softmax(1)
        conf, pred = probs.max(1)
        preds.append(pred.cpu().numpy())
        confs.append(conf.cpu().numpy())
    return np.concatenate(preds), np.concatenate(confs)


def model_dirs(run: Path) -> list[Path]:
    dirs = sorted(p.parent for p in Path(run).glob("*/model.json"))
    if not dirs:
        raise BodySceneError(f"{run}: no trained models (RUN/<model>/model.json); run `bodyscene train --run {run}`")
    return dirs


def evaluate_model(
    model_dir: Path, cfg: EvaluateConfig, stimuli: Path | None, split: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    info = read_json(model_dir / "model.json")
    module = load_trained(model_dir, cfg.checkpoint)
    data = StimulusDataModule(
        stimuli or info["stimuli"],
        kind=info["kind"],
        image_size=info["image_size"],
        batch_size=cfg.batch_size,
        resize=info.get("resize", "squash"),
    )
    classes = data.classes
    if classes != module.classes:
        raise BodySceneError(f"{data.stimuli.root}: its classes differ from those {model_dir.name} was trained on")
    rows = data.stimuli.split(split)
    if not rows:
        raise BodySceneError(f"{data.stimuli.root}: the {split} split is empty; prepare a set with {split} clips")
    labels = np.array([int(r["label"]) for r in rows])
    per_condition, predictions = {}, []
    for condition in CONDITIONS:
        pred, conf = predict(module, data.loader(split, condition))
        correct = (pred == labels).astype(float)
        confusion = np.zeros((len(classes), len(classes)), dtype=int)
        np.add.at(confusion, (labels, pred), 1)
        per_class = {
            c: float(correct[labels == i].mean()) if (labels == i).any() else None for i, c in enumerate(classes)
        }
        per_condition[condition] = {
            "accuracy": float(correct.mean()),
            "ci95": bootstrap_ci(correct, cfg.bootstrap, cfg.seed),
            "n": len(correct),
            "per_class": per_class,
            "confusion": confusion.tolist(),
        }
        predictions += [
            {
                "model": model_dir.name,
                "condition": condition,
                "stimulus_id": r["stimulus_id"],
                "label": classes[y],
                "predicted": classes[p],
                "confidence": round(float(c), 5),
            }
            for r, y, p, c in zip(rows, labels, pred, conf, strict=True)
        ]
    return {"info": info, **per_condition}, predictions


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
    for model_dir in model_dirs(run):
        result, preds = evaluate_model(model_dir, cfg, Path(stimuli) if stimuli else None, split)
        info = result.pop("info")
        results["models"][model_dir.name] = result
        results.setdefault("classes", len(info["classes"]))
        results.setdefault("class_names", info["classes"])
        results.setdefault("stimuli", str(stimuli or info["stimuli"]))
        predictions += preds
    results["chance"] = 1.0 / results["classes"]
    results["split"] = split
    results["bootstrap"] = {"resamples": cfg.bootstrap, "seed": cfg.seed, "method": "percentile, over stimuli"}
    results = {k: results[k] for k in ("classes", "chance", "models", "class_names", "split", "stimuli", "bootstrap")}
    write_json(out / "results.json", results)
    write_csv(out / "predictions.csv", predictions, PREDICTION_COLUMNS)
    write_csv(out / "results.csv", result_rows(results), RESULT_COLUMNS)
    from bodyscene.report.figures import plot_accuracy

    plot_accuracy(results, out / "accuracy.png")
    return results


def result_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "model": model,
            "condition": condition,
            "accuracy": round(r["accuracy"], 4),
            "ci_low": round(r["ci95"][0], 4),
            "ci_high": round(r["ci95"][1], 4),
            "n": r["n"],
            "chance": round(results["chance"], 4),
        }
        for model, conditions in results["models"].items()
        for condition, r in conditions.items()
    ]


def format_table(results: dict[str, Any]) -> Table:
    table = Table(title=f"accuracy on the {results.get('split', 'test')} split (chance {results['chance']:.1%})")
    table.add_column("model")
    for condition in CONDITIONS:
        table.add_column(condition, justify="right")
    for model, conditions in results["models"].items():
        cells = []
        for c in CONDITIONS:
            r = conditions[c]
            cells.append(f"{r['accuracy']:.1%} [{r['ci95'][0]:.0%}, {r['ci95'][1]:.0%}]")
        table.add_row(model, *cells)
    return table
