"""The paper's open questions as one-command experiments (`bodyscene experiment NAME`); see runner.py."""

from __future__ import annotations

from types import ModuleType

from bodyscene.experiments import backbone, flow, fusion, leak, loss_ablation, paper_table, seg_noise

EXPERIMENTS: dict[str, ModuleType] = {
    "paper-table": paper_table,
    "loss-ablation": loss_ablation,
    "seg-noise": seg_noise,
    "fusion": fusion,
    "backbone": backbone,
    "flow": flow,
    "leak": leak,
}
