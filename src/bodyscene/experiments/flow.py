"""flow: does motion help? DomainNet with a third stream that sees the optical flow from frame t to t+1
(`kind: domainnet-flow`; stimuli/flow.py, OpenCV DIS) against the baseline and the two-stream DomainNet, all
trained on the same stimulus set (prepared with flow images). Each condition's flow stream sees the flow of that
condition (body-only flow for body-only frames, background-only flow for background-only ones).
"""

from __future__ import annotations

from typing import Any

from bodyscene.config import StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records, domainnet_template, standard_models

KEYS: tuple[str, ...] = ()


class Params(StrictModel):
    pass


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    stimuli = ws.stimuli("flow", ws.cfg.prepare.model_copy(update={"flow": True}))
    models = standard_models(ws.cfg)
    models["domainnet-flow"] = domainnet_template(ws.cfg).model_copy(update={"kind": "domainnet-flow"})
    return accuracy_records(ws.evaluate(ws.train(stimuli, "flow", models)))
