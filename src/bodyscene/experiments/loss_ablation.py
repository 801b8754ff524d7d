"""loss-ablation: does the isolated loss make the body stream learn?

DomainNet trained with the paper's three-term loss (CE(body) + CE(background) + CE(body + background)), with the
combined term only, and with the isolated terms only (arXiv 2512.07729), all else equal. The body-only condition
shows what the body stream learned: there the background stream sees a black frame. The table also has each
stream alone (`domainnet/body`, `domainnet/background`: the argmax of that stream's own logits), the direct answer
to whether the isolated loss makes a stream learn. Stream dropout stays 0 here (the packaged config), since it
would give the combined-only arm an isolated loss on the samples whose other stream is blacked out.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bodyscene.config import LossWeights, StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records, domainnet_template

KEYS: tuple[str, ...] = ("loss",)


class Params(StrictModel):
    variants: dict[str, LossWeights] = Field(
        default_factory=lambda: {
            "three-term": LossWeights(body=1, background=1, combined=1),
            "combined-only": LossWeights(body=0, background=0, combined=1),
            "isolated-only": LossWeights(body=1, background=1, combined=0),
        }
    )


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    template = domainnet_template(ws.cfg)
    models = {
        f"domainnet-{name}": template.model_copy(update={"loss_weights": w}) for name, w in params.variants.items()
    }
    results = ws.evaluate(ws.train(ws.stimuli(), "loss", models))
    records = []
    for name in params.variants:
        one = {"models": {"domainnet": results["models"][f"domainnet-{name}"]}}
        records += accuracy_records(one, streams=True, loss=name)
    return records
