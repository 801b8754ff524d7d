"""`bodyscene demo`: synth -> prepare -> train baseline + DomainNet -> evaluate -> report, in one folder.

Every stage resumes: rerunning the demo after an interruption continues where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bodyscene.config import RunConfig
from bodyscene.data.synth import generate
from bodyscene.errors import BodySceneError
from bodyscene.evaluate import evaluate_run
from bodyscene.files import read_json
from bodyscene.report.html import write_report
from bodyscene.stimuli.make import prepare
from bodyscene.train.run import checkpoint_dir, train_model

console = Console(stderr=True)


def with_seed(cfg: RunConfig, seed: int | None) -> RunConfig:
    if seed is None:
        return cfg
    cfg = cfg.model_copy(deep=True)
    cfg.synth.seed = cfg.train.seed = cfg.evaluate.seed = seed
    return cfg


def make_data(cfg: RunConfig, data: Path) -> None:
    meta = data / "synth.json"
    if meta.is_file():
        if read_json(meta).get("config") != cfg.synth.model_dump(mode="json"):
            raise BodySceneError(f"{data}: made with other synth settings; use another --out or delete it")
        return
    generate(cfg.synth, data)


def run_demo(out: str | Path, cfg: RunConfig, seed: int | None = None, progress: bool = True) -> dict[str, Any]:
    out = Path(out)
    cfg = with_seed(cfg, seed)
    stages: list[tuple[str, Any]] = [
        ("synth", lambda: make_data(cfg, out / "data")),
        ("prepare", lambda: prepare(out / "data", out / "stimuli", cfg.prepare)),
    ]
    for model in cfg.models:
        resume = (checkpoint_dir(out, model.kind) / "last.ckpt").is_file()
        stages.append(
            (
                f"train {model.kind}",
                lambda m=model, r=resume: train_model(out / "stimuli", out, m, cfg.train, resume=r, progress=progress),
            )
        )
    results: dict[str, Any] = {}

    def evaluate() -> None:
        results.update(evaluate_run(out, cfg.evaluate))

    stages += [("evaluate", evaluate), ("report", lambda: write_report(out))]
    for name, stage in stages:
        start = time.perf_counter()
        stage()
        console.print(f"[bold]{name}[/] done in {time.perf_counter() - start:.0f} s")
    console.print(f"report: {out / 'report.html'}")
    return results
