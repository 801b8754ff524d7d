"""fusion: DomainNet's summed logits vs learned per-stream weights vs concatenated features + MLP
(models/fusion.py), every variant with the isolated losses kept; accuracy and calibration per condition.

Calibration is the expected calibration error (analysis.expected_calibration_error, Guo et al. 2017): test items
binned by confidence into 15 equal-width bins, ECE = sum_b (n_b / n) |accuracy_b - mean confidence_b|.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from bodyscene.analysis import expected_calibration_error
from bodyscene.config import StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records, domainnet_template
from bodyscene.files import read_csv

KEYS: tuple[str, ...] = ("fusion",)


class Params(StrictModel):
    variants: list[Literal["sum", "weighted", "concat"]] = Field(["sum", "weighted", "concat"])


def ece_records(predictions: list[dict[str, str]], model: str, **keys: Any) -> list[dict[str, Any]]:
    records = []
    for condition in ("original", "body", "background"):
        rows = [
            r
            for r in predictions
            if r["model"] == model and r["condition"] == condition and r.get("head", "combined") == "combined"
        ]
        conf = np.array([float(r["confidence"]) for r in rows])
        correct = np.array([r["label"] == r["predicted"] for r in rows], dtype=float)
        value = expected_calibration_error(conf, correct)
        records.append({**keys, "model": "domainnet", "condition": condition, "metric": "ece", "value": value})
    return records


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    template = domainnet_template(ws.cfg)
    models = {f"domainnet-{v}": template.model_copy(update={"fusion": v}) for v in params.variants}
    run = ws.train(ws.stimuli(), "fusion", models)
    results = ws.evaluate(run)
    predictions = read_csv(run / "predictions.csv")
    records = []
    for v in params.variants:
        one = {"models": {"domainnet": results["models"][f"domainnet-{v}"]}}
        records += accuracy_records(one, streams=True, fusion=v)
        records += ece_records(predictions, f"domainnet-{v}", fusion=v)
    return records
