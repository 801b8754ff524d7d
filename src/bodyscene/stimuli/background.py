"""How a clip's background-only frames are made: the region each one hides, and what fills it.

Region (`prepare.mask_scope`): `frame` hides each frame's own inflated person mask, so the hole has the shape of
that frame's pose and moves with it (a network can read the pose off the hole). `clip` hides one region in every
background-only frame of the clip, the inflated union of the person masks over all frames read (every
`clip_every`-th frame, not only the sampled ones), as the authors' prototype did (Aglinskas/BC-actionpred-seg,
notebook 05: `all_mask = masks_all.sum(axis=0)`). Body-only frames always keep their own frame's mask.

Fill (`prepare.inpaint`): OpenCV's Telea or Navier-Stokes inpainting, or `temporal` (stimuli/temporal.py).

A clip that cannot be made as asked is made the nearest way it can, and the reason is returned as a note
(`prepare` writes it to errors.csv): frames of different sizes, a single frame read for `mask_scope: clip`, a
single frame for the temporal fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bodyscene.config import PrepareConfig
from bodyscene.stimuli.masks import clip_union, removal_region
from bodyscene.stimuli.temporal import chain_motions, temporal_fill


@dataclass
class ClipPlan:
    cfg: PrepareConfig
    scope: str  # the mask scope used for this clip
    method: str  # the fill used: telea, ns or temporal
    clip_region: np.ndarray | None = None
    order: list[int] = field(default_factory=list)  # temporal: the frames read, in time order
    frames: list[np.ndarray] = field(default_factory=list)
    covered: list[np.ndarray] = field(default_factory=list)  # each frame's own inflated mask
    to_first: list[np.ndarray] | None = None
    notes: list[str] = field(default_factory=list)

    def region(self, mask: np.ndarray) -> np.ndarray:
        if self.clip_region is not None:
            return self.clip_region
        c = self.cfg
        return removal_region(mask, c.inflate, c.dilation, c.margin_px, c.blur_radius)

    def background(self, index: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float | None]:
        """(region hidden, the filled frame or None for make_stimuli to inpaint, share filled temporally or None)."""
        region = self.region(mask)
        if self.method != "temporal":
            return region, None, 0.0 if self.cfg.inpaint == "temporal" else None
        if self.to_first is None:  # motion is estimated once per clip, on first use
            self.to_first = chain_motions(self.frames, self.covered)
        filled, share = temporal_fill(
            self.frames, self.covered, self.order.index(index), region, self.to_first, self.cfg.inpaint_radius
        )
        return region, filled, share


def _sizes(masks: dict[int, np.ndarray]) -> str:
    return ", ".join(f"{w}x{h}" for h, w in sorted({m.shape for m in masks.values()}))


def plan_clip(frames: dict[int, np.ndarray], masks: dict[int, np.ndarray], cfg: PrepareConfig) -> ClipPlan:
    """The plan for one clip from its frames read and their (bool) person masks, keyed by frame index."""
    plan = ClipPlan(cfg, cfg.mask_scope, cfg.inpaint)
    if plan.scope == "frame" and plan.method != "temporal":
        return plan
    if len({m.shape for m in masks.values()}) > 1:
        plan.notes.append(
            f"frames of different sizes ({_sizes(masks)}) within the clip; made with mask_scope frame"
            + (" and Telea inpainting" if plan.method == "temporal" else "")
        )
        plan.scope, plan.method = "frame", "telea" if plan.method == "temporal" else plan.method
        return plan
    if plan.scope == "clip" and len(masks) < 2:
        plan.notes.append(
            f"mask_scope clip needs 2 or more frames, {len(masks)} read (clip_every={cfg.clip_every}); "
            "used each frame's own mask"
        )
        plan.scope = "frame"
    if plan.method == "temporal" and len(masks) < 2:
        plan.notes.append(f"too short for the temporal fill ({len(masks)} frame read); Telea used")
        plan.method = "telea"
    if plan.scope == "clip":
        union = clip_union(list(masks.values()))
        plan.clip_region = removal_region(union, cfg.inflate, cfg.dilation, cfg.margin_px, cfg.blur_radius)
    if plan.method == "temporal":
        plan.order = sorted(masks)
        plan.frames = [frames[i] for i in plan.order]
        plan.covered = [removal_region(masks[i], cfg.inflate, cfg.dilation, cfg.margin_px, cfg.blur_radius)
                        for i in plan.order]  # fmt: skip
    return plan
