"""seg-noise: how much do the results depend on a perfect segmentation?

Person masks are corrupted before stimuli are made (stimuli/noise.py: erode / dilate the boundary, flip pixels in a
band around it, or drop the mask of a share of frames) at each level, applied to the training data (train + val),
the test data, or both. One noisy stimulus set per (kind, level) serves all three: models trained on it and tested
on the clean set give `train`, clean models tested on it give `test`, models trained and tested on it give `both`.
Level 0 is the clean result, repeated in every panel.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bodyscene.config import MaskNoiseConfig, StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records, standard_models

KEYS: tuple[str, ...] = ("kind", "where", "level")


class Params(StrictModel):
    kinds: list[Literal["erode", "dilate", "flip", "drop"]] = Field(["drop", "flip", "erode", "dilate"])
    levels: list[float] = Field([0.0, 0.1, 0.2], description="noise levels, shares in [0, 1]")
    where: list[Literal["train", "test", "both"]] = Field(["train", "test", "both"])
    band_px: int = Field(3, ge=1, le=50, description="flip: half-width of the boundary band")


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    models = standard_models(ws.cfg)
    clean = ws.stimuli()
    clean_run = ws.train(clean, "clean", models)
    clean_results = ws.evaluate(clean_run)
    records = []
    for kind in params.kinds:
        for level in params.levels:
            tag = f"{kind}-{round(100 * level)}"
            if level > 0:
                noise = MaskNoiseConfig(kind=kind, level=level, band_px=params.band_px, seed=ws.seed)
                noisy = ws.stimuli(tag, ws.cfg.prepare.model_copy(update={"mask_noise": noise}))
                noisy_run = ws.train(noisy, f"train-{tag}", models) if {"train", "both"} & set(params.where) else None
            for where in params.where:
                if level == 0:
                    results = clean_results
                elif where == "test":  # clean models, noisy test frames
                    results = ws.evaluate(clean_run, noisy, out=ws.root / f"test-{tag}")
                elif where == "train":  # noisy models, clean test frames
                    results = ws.evaluate(noisy_run, clean, out=ws.root / f"train-{tag}-on-clean")
                else:
                    results = ws.evaluate(noisy_run)
                records += accuracy_records(results, kind=kind, where=where, level=level)
    return records
