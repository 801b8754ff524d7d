"""audio: can the domain-specific design take another modality? DomainNet with a third stream that hears the clip.

One stimulus set of the embedded benchmark with sound (`synth.audio`, forced on here; `prepare --audio`): the
baseline, DomainNet and DomainNet + audio (`kind: domainnet-audio`, models/audio.py) trained on it, each tested on
the three visual conditions with the sound (`evaluate.sound: true`) and without (false: the audio stream hears
silence). The visual models do not hear, so their rows with and without sound agree (a check that silencing changes
nothing else). `synth.audio_correlation` sets how often a clip makes its own class's sound, as
`scene_correlation` does for the scene.

Writes the runner's table.csv (KEYS: sound = on | off), records.csv and audio.png; per seed the run folder
OUT/seed<k>/audio/ (evaluated with sound) and OUT/seed<k>/audio-silent/ (the same models evaluated without).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import Field

from bodyscene.config import StrictModel
from bodyscene.experiments.runner import Workspace, accuracy_records, domainnet_template, standard_models

KEYS: tuple[str, ...] = ("sound",)
AUDIO = "domainnet-audio"


class Params(StrictModel):
    streams: bool = Field(True, description="also each stream of the multi-stream models alone (model/stream rows)")


def _with(ws: Workspace, section: str, **changes: Any) -> Workspace:
    """The workspace with one config section changed."""
    part = getattr(ws.cfg, section).model_copy(update=changes)
    return dataclasses.replace(ws, cfg=ws.cfg.model_copy(update={section: part}))


def run_seed(ws: Workspace, params: Params) -> list[dict[str, Any]]:
    ws = _with(ws, "synth", audio=True)  # the embedded benchmark with a soundtrack (a given `data:` must have one)
    stimuli = ws.stimuli("audio", ws.cfg.prepare.model_copy(update={"audio": True}))
    models = standard_models(ws.cfg)
    models[AUDIO] = domainnet_template(ws.cfg).model_copy(update={"kind": AUDIO})
    run = ws.train(stimuli, "audio", models)
    heard = ws.evaluate(run)
    silent = _with(ws, "evaluate", sound=False).evaluate(run, out=ws.root / "audio-silent")
    return [
        *accuracy_records(heard, streams=params.streams, sound="on"),
        *accuracy_records(silent, streams=params.streams, sound="off"),
    ]
