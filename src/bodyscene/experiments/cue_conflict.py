"""cue-conflict: when body and scene disagree, which does a network answer, and how does that follow the scene dial?

For each training scene correlation (the embedded benchmark's dial: P(a training clip shows its class's scene)), a
data set is made, its stimuli with action swaps (stimuli/swap.py: the body of action A on the background-only frame
of action B), the run config's models trained, and evaluated on the three conditions and the swaps. The test split
shows every class in its own scene (`test_scene_correlation`, 1 by default) and swaps pair clips across scene types
(`pairing: across-scene`; classes c and c + scene_types share a scene), so every swap's background names B and only
B. Body bias = body / (body + scene) answers (analysis.swap_rates, Geirhos et al. 2019's shape bias), per model, per DomainNet
stream and per body class.

The prediction from the paper's story: the baseline's body bias falls as the scene correlation rises (it learns
the scene), DomainNet's stays high (its body stream must learn the pose).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bodyscene.config import StrictModel, SwapConfig
from bodyscene.experiments.runner import Workspace, accuracy_records, standard_models

KEYS: tuple[str, ...] = ("scene_correlation", "body_class")
ALL = "all"  # body_class of the records over every class
SWAP_METRICS: tuple[str, ...] = ("body_bias", "body_rate", "scene_rate", "other_rate")


class Params(StrictModel):
    scene_correlations: list[float] = Field([0.2, 0.6, 1.0], description="training scene correlations (the dial)")
    test_scene_correlation: float = Field(1.0, ge=0.0, le=1.0, description="test clips in their class's scene")
    pairing: Literal["random", "within-scene", "across-scene"] = "across-scene"
    coverage: tuple[float, float] | None = Field(None, description="HAT's rule: [0.05, 0.5]")
    feather_px: int = Field(1, ge=0, le=50)
    per_class: bool = Field(True, description="also each body class's body bias (the figure's markers)")


def swap_records(results: dict[str, Any], per_class: bool = True, **keys: Any) -> list[dict[str, Any]]:
    """One record per (model or `<model>/<stream>`, swap metric) of a results.json; with `per_class`, also the
    body bias of each body class (tagged body_class)."""
    records = []
    for model, sec in results["models"].items():
        if "swap" not in sec:
            continue
        lines = [(model, sec["swap"])] + [(f"{model}/{h}", by) for h, by in sec["swap"].get("streams", {}).items()]
        for name, by in lines:
            records += [
                {**keys, "body_class": ALL, "model": name, "condition": "swap", "metric": m, "value": _num(by[m])}
                for m in SWAP_METRICS
            ]
            if per_class:
                records += [
                    {**keys, "body_class": c, "model": name, "condition": "swap", "metric": "body_bias",
                     "value": _num(v)}
                    for c, v in by.get("per_class", {}).items()
                ]  # fmt: skip
    return records


def _num(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    models = standard_models(ws.cfg)
    swap = SwapConfig(pairing=params.pairing, coverage=params.coverage, feather_px=params.feather_px, seed=ws.seed)
    records = []
    dial = params.scene_correlations if ws.data is None else [ws.cfg.synth.scene_correlation]  # (given data: no dial)
    for corr in dial:
        tag = f"corr-{round(100 * corr)}"
        synth = ws.cfg.synth.model_copy(
            update={"scene_correlation": corr, "test_scene_correlation": params.test_scene_correlation}
        )
        cfg = ws.cfg.model_copy(update={"synth": synth, "prepare": ws.cfg.prepare.model_copy(update={"swap": swap})})
        sub = Workspace(ws.root / tag, cfg, ws.seed, ws.data)
        results = sub.evaluate(sub.train(sub.stimuli(), "run", models))
        records += [{**r, "body_class": ALL} for r in accuracy_records(results, streams=True, scene_correlation=corr)]
        records += swap_records(results, params.per_class, scene_correlation=corr)
    return records
