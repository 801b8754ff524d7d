"""leak: can a network read the pose off the hole that background-only frames leave?

The embedded benchmark with scenes that carry no class information (the config sets the scene correlation to
chance, 1 / scene_types), so a background-only frame holds no class cue but what the removed body left: the
hole's shape (and, made per frame, its motion) or inpainting residue. A baseline is trained and tested on
background-only stimuli for each way of making them: mask scope (frame / clip) x fill (telea / temporal) x
inflation (scale / blur). Accuracy above chance is body information leaking through.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bodyscene.config import ModelConfig, StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records

KEYS: tuple[str, ...] = ("scope", "inpaint", "inflate")


class Params(StrictModel):
    scopes: list[Literal["frame", "clip"]] = Field(["frame", "clip"])
    inpaints: list[Literal["telea", "ns", "temporal"]] = Field(["telea", "temporal"])
    inflates: list[Literal["scale", "blur"]] = Field(["scale", "blur"])
    backbone: str = Field("resnet18", description="the baseline's backbone")


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    model = {"baseline-background": ModelConfig(kind="baseline", backbone=params.backbone, condition="background")}
    records = []
    for scope in params.scopes:
        for inpaint in params.inpaints:
            for inflate in params.inflates:
                tag = f"{scope}-{inpaint}-{inflate}"
                update = {"mask_scope": scope, "inpaint": inpaint, "inflate": inflate}
                stimuli = ws.stimuli(tag, ws.cfg.prepare.model_copy(update=update))
                results = ws.evaluate(ws.train(stimuli, tag, model))
                rows = accuracy_records(results, scope=scope, inpaint=inpaint, inflate=inflate)
                records += [r for r in rows if r["condition"] == "background"]
    return records
