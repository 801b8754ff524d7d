"""leak: can a network read the pose off the hole that background-only frames leave?

The embedded benchmark with scenes that carry no class information (the config sets the scene correlation to
chance, 1 / scene_types), so a background-only frame holds no class cue but what the removed body left: the
hole's shape (and, made per frame, its motion) or inpainting residue. A baseline is trained and tested on
background-only stimuli for each way of making them: mask scope (frame / clip) x fill (telea / temporal) x
inflation (scale / blur). Accuracy above chance is body information leaking through.

The positive control (`params.control`, on by default) leaves the hole unfilled (`inpaint: none`, frame scope,
scale inflation): its black silhouette shows the pose, so it must be read above chance. Only when the control is
above chance does an inpainted setting at chance show that its fill removes the leak rather than that the run was too
small to find one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bodyscene.config import ModelConfig, StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records

KEYS: tuple[str, ...] = ("scope", "inpaint", "inflate")


class Params(StrictModel):
    scopes: list[Literal["frame", "clip"]] = Field(["frame", "clip"])
    inpaints: list[Literal["telea", "ns", "temporal", "none"]] = Field(["telea", "temporal"])
    inflates: list[Literal["scale", "blur"]] = Field(["scale", "blur"])
    backbone: str = Field("resnet18", description="the baseline's backbone")
    control: bool = Field(True, description="also train on the unfilled hole (inpaint none): the positive control")


def settings(params: Params) -> list[tuple[str, str, str]]:
    """(scope, inpaint, inflate) of every way of making the hole, the positive control first."""
    grid = [(s, i, f) for s in params.scopes for i in params.inpaints for f in params.inflates]
    control = ("frame", "none", "scale")
    return ([control] if params.control and control not in grid else []) + grid


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    model = {"baseline-background": ModelConfig(kind="baseline", backbone=params.backbone, condition="background")}
    records = []
    for scope, inpaint, inflate in settings(params):
        tag = f"{scope}-{inpaint}-{inflate}"
        update = {"mask_scope": scope, "inpaint": inpaint, "inflate": inflate}
        stimuli = ws.stimuli(tag, ws.cfg.prepare.model_copy(update=update))
        results = ws.evaluate(ws.train(stimuli, tag, model))
        rows = accuracy_records(results, scope=scope, inpaint=inpaint, inflate=inflate)
        records += [r for r in rows if r["condition"] == "background"]
    return records
