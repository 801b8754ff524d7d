"""The paper's open questions as one-command experiments (`bodyscene experiment NAME`); see runner.py.

The registry `EXPERIMENTS` and `run_experiment` live here, above the experiment modules and runner.py, so no
experiment module imports its own package (no import cycle)."""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from bodyscene.config import validate
from bodyscene.demo import with_seed
from bodyscene.errors import BodySceneError
from bodyscene.experiments import (
    audio,
    backbone,
    cue_conflict,
    flow,
    fusion,
    leak,
    loss_ablation,
    paper_table,
    seg_noise,
    segregation,
)
from bodyscene.experiments.runner import (
    RECORD_TAIL,
    TABLE_TAIL,
    Workspace,
    console,
    load_experiment,
    summarise,
)
from bodyscene.files import atomic_write_text, write_csv
from bodyscene.progress import progress_line
from bodyscene.report.figures_experiments import draw_experiment

EXPERIMENTS: dict[str, ModuleType] = {
    "paper-table": paper_table,
    "loss-ablation": loss_ablation,
    "seg-noise": seg_noise,
    "fusion": fusion,
    "backbone": backbone,
    "flow": flow,
    "leak": leak,
    "segregation": segregation,
    "cue-conflict": cue_conflict,
    "audio": audio,
}


def run_experiment(
    name: str,
    config: str | Path | None = None,
    seeds: int | None = None,
    out: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    if name not in EXPERIMENTS:
        raise BodySceneError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    module = EXPERIMENTS[name]
    exp, cfg = load_experiment(name, config, overrides)
    if seeds is not None:
        exp.seeds = seeds
    params = validate(module.Params, exp.params, f"{config or name}: params")
    out = Path(out) if out is not None else Path("runs") / name
    if exp.data is not None and not exp.data.is_dir():
        raise BodySceneError(f"{exp.data}: data folder not found; set `data:` to a folder in the list layout")
    atomic_write_text(
        out / "experiment.yaml",
        yaml.safe_dump(
            {
                **exp.model_dump(mode="json"),
                "params": params.model_dump(mode="json"),
                "resolved": cfg.model_dump(mode="json"),
            },
            sort_keys=False,
        ),
    )
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    for k in range(exp.seeds):
        seed = cfg.train.seed + k
        # one line per seed, terminal or log: seeds done, rate, ETA (each seed's stages print their own progress)
        console.print(progress_line(name, k, exp.seeds, "seeds", time.perf_counter() - started, f"seed {seed}"))
        ws = Workspace(out / f"seed{seed}", with_seed(cfg, seed), seed, exp.data)
        records += [{**r, "seed": seed} for r in module.run_seed(ws, params)]
    console.print(progress_line(name, exp.seeds, exp.seeds, "seeds", time.perf_counter() - started))
    write_csv(out / "records.csv", records, (*module.KEYS, *RECORD_TAIL))
    rows = summarise(records, module.KEYS)
    write_csv(out / "table.csv", rows, (*module.KEYS, *TABLE_TAIL))
    if hasattr(module, "collect"):  # an experiment's own files over seeds (e.g. segregation's mask_iou.csv)
        module.collect(out)
    draw_experiment(out, name)  # NAME.png, drawn from the table.csv just written
    return rows
