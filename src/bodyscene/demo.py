"""`bodyscene demo`: synth -> prepare -> train baseline + DomainNet -> evaluate -> report, in one folder.

Every stage resumes: rerunning the demo after an interruption continues where it stopped.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bodyscene.config import ModelConfig, RunConfig, SynthConfig, TrainConfig, with_new_defaults
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
        if with_new_defaults(SynthConfig, read_json(meta).get("config")) != cfg.synth.model_dump(mode="json"):
            raise BodySceneError(f"{data}: made with other synth settings; use another --out or delete it")
        return
    generate(cfg.synth, data)


def _train_one(stimuli: Path, out: Path, model: ModelConfig, train_cfg: TrainConfig, threads: int) -> str:
    """One model in a worker process, with its share of the cores (PyTorch's CPU ops scale poorly from 1 to 2
    threads at the demo's 64 px, so two single-threaded trainings side by side beat one after the other)."""
    import torch

    torch.set_num_threads(threads)
    os.environ.setdefault("BODYSCENE_PROGRESS", "plain")  # two rich bars from two processes would garble
    resume = (checkpoint_dir(out, model.kind) / "last.ckpt").is_file()
    train_model(stimuli, out, model, train_cfg, resume=resume, progress=True)
    return model.kind


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def parallel_workers(setting: int | str, models: int, cores: int) -> int:
    """`parallel_models`: auto = one process per model while there are cores for them; never more than models."""
    return max(1, min(models, cores if setting == "auto" else int(setting)))


def train_models(out: Path, cfg: RunConfig, progress: bool) -> None:
    """Every model of `cfg.models` into OUT/<kind>/: at once in `parallel_models` processes, or one by one."""
    cores = usable_cores()
    workers = parallel_workers(cfg.parallel_models, len(cfg.models), cores)
    if workers == 1:
        for model in cfg.models:
            resume = (checkpoint_dir(out, model.kind) / "last.ckpt").is_file()
            _timed(f"train {model.kind}", lambda m=model, r=resume: train_model(
                out / "stimuli", out, m, cfg.train, resume=r, progress=progress))  # fmt: skip
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, cores // workers)
    names = " + ".join(m.kind for m in cfg.models)

    def run_all() -> None:
        # spawn: torch holds threads that a fork would copy in an undefined state
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            jobs = [pool.submit(_train_one, out / "stimuli", out, m, cfg.train, threads) for m in cfg.models]
            for job in jobs:
                job.result()  # a worker's BodySceneError comes back here and ends the demo with its one line

    _timed(f"train {names} ({workers} processes x {threads} thread{'s' if threads > 1 else ''})", run_all)


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(name: str, stage) -> None:
    start, cpu = time.perf_counter(), _cpu_seconds()
    stage()
    wall, used = time.perf_counter() - start, _cpu_seconds() - cpu
    console.print(f"[bold]{name}[/] done in {wall:.0f} s (CPU {used:.0f} s)")


def run_demo(out: str | Path, cfg: RunConfig, seed: int | None = None, progress: bool = True) -> dict[str, Any]:
    out = Path(out)
    cfg = with_seed(cfg, seed)
    start, cpu = time.perf_counter(), _cpu_seconds()
    _timed("synth", lambda: make_data(cfg, out / "data"))
    _timed("prepare", lambda: prepare(out / "data", out / "stimuli", cfg.prepare))
    train_models(out, cfg, progress)
    results: dict[str, Any] = {}
    _timed("evaluate", lambda: results.update(evaluate_run(out, cfg.evaluate)))
    _timed("report", lambda: write_report(out))
    wall, used = time.perf_counter() - start, _cpu_seconds() - cpu
    console.print(f"demo done in {wall:.0f} s (CPU {used:.0f} s); report: {out / 'report.html'}")
    return results
