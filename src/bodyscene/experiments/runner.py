"""What every experiment shares: its config file, per-seed folders, the ordinary stages, and the table over seeds.

An experiment is a module with a `Params` model (its own settings, the `params:` section of its YAML), `KEYS` (the
table columns that name a variant), and `run_seed(ws, params) -> records`: it makes stimuli, trains and evaluates
with the ordinary stages (prepare, train_model, evaluate_run) in ordinary run folders, and returns one record per
(variant, model, condition, metric) with that seed's value. The runner repeats it over seeds and writes

    OUT/table.csv       KEYS..., model, condition, metric, mean, ci95_low, ci95_high, seeds, per_seed
    OUT/<name>.png      the figure
    OUT/records.csv     every seed's value
    OUT/experiment.yaml the settings used
    OUT/seed<k>/...     data, stimuli-<tag>/, and run folders (RUN/<model>/, RUN/results.json, ...)

The 95% CI is the t-interval over seeds (analysis.t_interval: mean +- t_{0.975, K-1} * sd / sqrt(K)); it needs K >= 2.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field
from rich.console import Console

from bodyscene.analysis import t_interval
from bodyscene.config import (
    CONDITIONS,
    CONFIG_DIR,
    ModelConfig,
    PrepareConfig,
    RunConfig,
    StrictModel,
    TrainConfig,
    load_yaml,
    merge,
    merge_config,
    validate,
)
from bodyscene.demo import make_data
from bodyscene.errors import BodySceneError
from bodyscene.evaluate import evaluate_run
from bodyscene.files import read_csv
from bodyscene.models.registry import MODELS, model_kind
from bodyscene.stimuli.make import prepare
from bodyscene.train.run import checkpoint_dir, train_model

console = Console(stderr=True)
TABLE_TAIL = ("model", "condition", "metric", "mean", "ci95_low", "ci95_high", "seeds", "per_seed")
RECORD_TAIL = ("model", "condition", "metric", "seed", "value")
EXPERIMENT_LEVEL_KEYS = ("experiment", "base", "seeds", "data", "params")


class ExperimentConfig(StrictModel):
    """configs/experiments/NAME.yaml: a run config (a base plus changes) and the experiment's own settings."""

    experiment: str
    base: str = Field("demo", description="the run config it starts from: a packaged name (demo, paper) or a path")
    run: dict[str, Any] = Field(default_factory=dict, description="changes to the base (synth, prepare, train, ...)")
    seeds: int = Field(1, ge=1, le=100, description="repeats with seeds base+0..K-1 (data, training, evaluation)")
    data: Path | None = Field(None, description="a data folder (list layout) instead of the embedded benchmark")
    params: dict[str, Any] = Field(default_factory=dict, description="the experiment's own settings")


def load_experiment(name: str, path: str | Path | None, overrides: dict[str, Any] | None = None):
    """(ExperimentConfig, RunConfig) from the YAML (default: the packaged one), with --set overrides: keys of the
    experiment level (seeds, params.*, data, base) go there, every other key changes the run config."""
    path = Path(path) if path is not None else CONFIG_DIR / "experiments" / f"{name}.yaml"
    data = load_yaml(path)
    for key, value in (overrides or {}).items():
        data = merge(data, {key: value} if key in EXPERIMENT_LEVEL_KEYS else {"run": {key: value}})
    exp = validate(ExperimentConfig, data, str(path))
    if exp.experiment != name:
        raise BodySceneError(f"{path}: is the config of experiment {exp.experiment!r}, not {name!r}; pass its own")
    base = load_yaml(exp.base)
    return exp, validate(RunConfig, merge_config(base, exp.run), f"{path} (base {exp.base} + run)")


@dataclass
class Workspace:
    """One seed's folder and the ordinary stages run inside it; every stage resumes on a rerun."""

    root: Path  # OUT/seed<k>
    cfg: RunConfig  # with this seed applied
    seed: int
    data: Path | None  # given data folder, or None for the embedded benchmark

    def data_dir(self) -> Path:
        if self.data is not None:
            return self.data
        make_data(self.cfg, self.root / "data")
        return self.root / "data"

    def stimuli(self, tag: str = "clean", prepare_cfg: PrepareConfig | None = None) -> Path:
        """A stimulus set in OUT/seed<k>/stimuli-<tag>/; `prepare` skips finished clips and refuses other settings."""
        out = self.root / f"stimuli-{tag}"
        _stage(f"prepare {tag}", lambda: prepare(self.data_dir(), out, prepare_cfg or self.cfg.prepare))
        return out

    def train(
        self, stimuli: Path, run: str, models: dict[str, ModelConfig], train_cfg: TrainConfig | None = None
    ) -> Path:
        """Train each model (by folder name) into OUT/seed<k>/<run>/, resuming any that has a last checkpoint."""
        folder = self.root / run
        train_cfg = train_cfg or self.cfg.train
        for name, model in models.items():
            resume = (checkpoint_dir(folder, name) / "last.ckpt").is_file()
            _stage(
                f"train {run}/{name}",
                lambda m=model, n=name, r=resume: train_model(stimuli, folder, m, train_cfg, name=n, resume=r),
            )
        return folder

    def evaluate(self, run: Path, stimuli: Path | None = None, out: Path | None = None) -> dict[str, Any]:
        results: dict[str, Any] = {}
        _stage(
            f"evaluate {(out or run).name}",
            lambda: results.update(evaluate_run(run, self.cfg.evaluate, stimuli, out=out)),
        )
        return results


def _stage(name: str, fn) -> None:
    start = time.perf_counter()
    fn()
    console.print(f"  [bold]{name}[/] done in {time.perf_counter() - start:.0f} s")


def accuracy_records(results: dict[str, Any], streams: bool = False, **keys: Any) -> list[dict[str, Any]]:
    """One record per (model, condition) of a results.json, tagged with the variant's keys; with `streams`, also
    one per stream of a multi-stream model alone, as model `<model>/<stream>` (e.g. `domainnet/body`)."""
    records = []
    for model, sec in results["models"].items():
        lines = [(model, sec)]
        if streams:
            lines += [(f"{model}/{head}", by) for head, by in sec.get("streams", {}).items()]
        for name, by in lines:
            records += [
                {**keys, "model": name, "condition": c, "metric": "accuracy", "value": by[c]["accuracy"]}
                for c in CONDITIONS
            ]
    return records


def summarise(records: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Records of every seed -> one table row per (keys, model, condition, metric), in first-seen order."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in (*keys, "model", "condition", "metric")), []).append(r)
    rows = []
    for group in groups.values():
        values = [r["value"] for r in sorted(group, key=lambda r: r["seed"])]
        mean, low, high = t_interval(values)
        rows.append(
            {
                **{k: group[0][k] for k in (*keys, "model", "condition", "metric")},
                "mean": round(mean, 4),
                "ci95_low": "" if math.isnan(low) else round(low, 4),
                "ci95_high": "" if math.isnan(high) else round(high, 4),
                "seeds": len(values),
                "per_seed": " ".join(f"{v:.4f}" for v in values),
            }
        )
    return rows


def read_table(out: str | Path) -> list[dict[str, str]]:
    return read_csv(Path(out) / "table.csv", required=TABLE_TAIL)


def standard_models(cfg: RunConfig) -> dict[str, ModelConfig]:
    """The run config's `models` by folder name: the kind (a baseline on another condition: baseline-<condition>)."""
    out = {}
    for m in cfg.models:
        name = f"{m.kind}-{m.condition}" if model_kind(m.kind).single_image and m.condition != "original" else m.kind
        if name in out:
            raise BodySceneError(f"run config `models`: two models would share the folder {name!r}; keep one")
        out[name] = m
    return out


def _body_and_background(kind: str) -> bool:
    """A kind that reads exactly a body and a background stream (the registry says so, not its name)."""
    return set(model_kind(kind).inputs) == {"body", "background"}


def domainnet_template(cfg: RunConfig) -> ModelConfig:
    """The model an experiment varies (loss weights, fusion, a third stream): the first in `models` whose registered
    kind reads exactly a body and a background stream; else the first kind registered so, from the first entry's
    settings (`RunConfig.model_for`)."""
    for m in cfg.models:
        if _body_and_background(m.kind):
            return m
    return cfg.model_for(next(k for k in MODELS if _body_and_background(k)))
