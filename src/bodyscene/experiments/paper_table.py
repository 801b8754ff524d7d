"""paper-table: the paper's main result, baseline vs DomainNet on original / body-only / background-only test frames,
as mean and 95% CI (t-interval) over K seeds. The models are the run config's `models` list."""

from __future__ import annotations

from typing import Any

from bodyscene.config import StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records, standard_models

KEYS: tuple[str, ...] = ()


class Params(StrictModel):
    pass


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    run = ws.train(ws.stimuli(), "main", standard_models(ws.cfg))
    return accuracy_records(ws.evaluate(run))
