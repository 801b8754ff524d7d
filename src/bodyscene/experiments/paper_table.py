"""paper-table: the paper's main result, baseline vs DomainNet on original / body-only / background-only test frames,
as mean and 95% CI (t-interval) over K seeds. The models are the run config's `models` list.

`params.stream_dropout` sweeps DomainNet's training-time stream dropout (module.py; 0 in the paper's recipe): each
value trains the multi-stream models again (folder `main` for the first value, `dropout-<p>` for the others); the
baseline, which has no streams, is trained once and tagged `stream_dropout: none`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bodyscene.config import StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records, standard_models
from bodyscene.models.registry import model_kind

KEYS: tuple[str, ...] = ("stream_dropout",)


class Params(StrictModel):
    stream_dropout: list[float] | None = Field(
        None, description="DomainNet stream-dropout values to compare; None: the run config's train.stream_dropout"
    )


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    values = params.stream_dropout or [ws.cfg.train.stream_dropout]
    if any(not 0 <= p <= 1 for p in values):
        from bodyscene.errors import BodySceneError

        raise BodySceneError(f"params.stream_dropout {values}: each value must be in [0, 1]")
    stimuli = ws.stimuli()
    models = standard_models(ws.cfg)
    records = []
    for k, p in enumerate(values):
        todo = models if k == 0 else {n: m for n, m in models.items() if model_kind(m.kind).stream_dropout}
        train_cfg = ws.cfg.train.model_copy(update={"stream_dropout": p})
        run = ws.train(stimuli, "main" if k == 0 else f"dropout-{p:g}", todo, train_cfg)
        results = ws.evaluate(run)
        for r in accuracy_records(results, streams=True):
            base = not model_kind(models[r["model"].split("/")[0]].kind).stream_dropout
            if k == 0 or not base:
                records.append({"stream_dropout": "none" if base else p, **r})
    return records
