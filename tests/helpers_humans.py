"""Tiny fake stimulus set + run folder for the human-comparison and report tests (no training needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bodyscene.config import CONDITIONS
from bodyscene.files import write_csv, write_json
from helpers_stimuli import write_stimulus_set

CLASSES = ["jump", "run", "wave"]
# Exact per-condition accuracies of the two fake models on the test items.
MODEL_ACCURACY = {
    "domainnet": {"original": 0.7, "body": 0.8, "background": 0.4},
    "baseline": {"original": 0.8, "body": 0.3, "background": 0.6},
}


def make_stimuli(root: Path, test_clips: int = 10, images: bool = False, size: int = 64) -> Path:
    """STIM/ with manifest.csv + classes.txt: `test_clips` test clips per class, one train clip per class."""
    rng = np.random.default_rng(0)

    def noise(key: str, row: dict, i: int) -> np.ndarray | None:
        return rng.integers(0, 255, (size, size, 3), dtype=np.uint8) if images else None

    return write_stimulus_set(root / "stim", CLASSES, [("train", 1), ("test", test_clips)], image=noise)


def make_run(root: Path, stim: Path, seed: int = 1) -> Path:
    """RUN/ with predictions.csv of two models at MODEL_ACCURACY, results.json, config + model.json each."""
    run = root / "run"
    run.mkdir(parents=True, exist_ok=True)
    manifest = (stim / "manifest.csv").read_text().splitlines()[1:]
    test = [line.split(",") for line in manifest if line.split(",")[4] == "test"]
    rng = np.random.default_rng(seed)
    rows, results = (
        [],
        {"classes": len(CLASSES), "chance": 1 / len(CLASSES), "split": "test", "stimuli": str(stim)},
    )
    results["models"] = {}
    results["bootstrap"] = {"resamples": 1000, "seed": 0, "method": "percentile, over stimuli"}
    for model, accs in MODEL_ACCURACY.items():
        results["models"][model] = {}
        for cond in CONDITIONS:
            k = round(accs[cond] * len(test))
            right = set(rng.permutation(len(test))[:k].tolist())
            for i, r in enumerate(test):
                label = r[2]
                wrong = [c for c in CLASSES if c != label]
                pred = label if i in right else wrong[int(rng.integers(len(wrong)))]
                rows.append(dict(model=model, condition=cond, stimulus_id=r[0], label=label, predicted=pred,
                                 confidence=0.9))  # fmt: skip
            results["models"][model][cond] = {
                "accuracy": k / len(test), "ci95": [k / len(test) - 0.1, k / len(test) + 0.1], "n": len(test),
                "per_class": {c: 0.5 for c in CLASSES},
            }  # fmt: skip
        (run / model).mkdir(exist_ok=True)
        (run / model / "config.yaml").write_text(f"model:\n  kind: {model}\n  backbone: resnet18\n")
        write_json(run / model / "model.json", {"kind": model, "backbone": "resnet18", "classes": CLASSES,
                                                "stimuli": str(stim)})  # fmt: skip
    write_csv(run / "predictions.csv", rows, ["model", "condition", "stimulus_id", "label", "predicted",
                                              "confidence"])  # fmt: skip
    write_json(run / "results.json", results)
    write_scores(run, stim, rows)
    return run


def write_scores(run: Path, stim: Path, predictions: list[dict], seed: int = 0) -> Path:
    """RUN/scores.npz whose all-class argmax is each prediction: logit 4 on the predicted class, the other
    classes ordered at random below 1 (so a restricted argmax without the predicted class is the best other)."""
    from bodyscene.files import read_csv
    from bodyscene.readout import Scores, manifest_digest

    manifest = [r for r in read_csv(stim / "manifest.csv") if r["split"] == "test"]
    classes = (stim / "classes.txt").read_text().split()
    row = {r["stimulus_id"]: i for i, r in enumerate(manifest)}
    scores = Scores(
        [r["stimulus_id"] for r in manifest], [r["clip_id"] for r in manifest], classes,
        np.array([int(r["label"]) for r in manifest]), manifest_digest(stim),
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    for p in predictions:
        key = (p["model"], p.get("head", "combined"), p["condition"])
        logits = scores.logits.setdefault(key, rng.random((len(manifest), len(classes))).astype(np.float32))
        logits[row[p["stimulus_id"]], classes.index(p["predicted"])] = 4.0
    return scores.save(run / "scores.npz")
