"""`bodyscene report`: one self-contained RUN/report.html (figures embedded, no external URLs, opens offline).

Sections, each present only when its files are: model results (results.json + accuracy.png), humans beside
the models (comparison.json), experiment tables (every table.csv under RUN with its sibling PNGs), example
stimulus triplets, the configs, software versions, and how the numbers were produced.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import json
import platform
from pathlib import Path

import yaml

import bodyscene
from bodyscene.analysis import METHODS
from bodyscene.config import CONDITIONS
from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_text, read_json
from bodyscene.report.html_humans import human_section
from bodyscene.report.html_parts import STYLE, esc, figure_file, num, table, thumbnail, with_ci

PACKAGES = {
    "torch": ["torch"],
    "torchvision": ["torchvision"],
    "lightning": ["lightning"],
    "numpy": ["numpy"],
    "opencv": ["opencv-python-headless", "opencv-python", "opencv-contrib-python"],
    "scipy": ["scipy"],
    "matplotlib": ["matplotlib"],
    "pydantic": ["pydantic"],
}
MAX_TABLE_ROWS = 200


def software_versions() -> dict[str, str]:
    """Versions of the report's environment, read from package metadata (nothing heavy is imported)."""
    out = {"python": platform.python_version(), "bodyscene": bodyscene.__version__}
    for name, dists in PACKAGES.items():
        for dist in dists:
            try:
                out[name] = importlib.metadata.version(dist)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        else:
            out[name] = "not installed"
    return out


def results_section(run: Path, results: dict) -> str:
    models = results.get("models", {})
    unit = results.get("unit", "frame")
    rows = []
    for name, sec in models.items():
        lines = [(name, sec)] + [(f"{name}: {h} stream alone", by) for h, by in sec.get("streams", {}).items()]
        lines += [(f"{name}, per {u}", by) for u, by in sec.get("units", {}).items() if u != unit]
        for label, by in lines:
            cells = [with_ci(by.get(c, {}).get("accuracy"), by.get(c, {}).get("ci95")) for c in CONDITIONS]
            n = next((by[c].get("n") for c in CONDITIONS if c in by), None)
            rows.append([label, *cells, n if n is not None else "-"])
    chance = results.get("chance")
    absent = results.get("absent_stream", "black")
    parts = [
        "<h2>Model accuracy</h2>",
        f"<p>Split <b>{esc(results.get('split', '?'))}</b>, {esc(results.get('classes', '?'))} classes, "
        f"chance {num(chance)}, one item per {esc(unit)}, argmax over all classes, checkpoint "
        f"{esc(results.get('checkpoint', 'best'))}. Accuracy with 95% CI "
        f"({esc(results.get('bootstrap', {}).get('method', 'bootstrap'))}). A stream alone is the argmax of "
        f"that stream's own logits; the fused answer on body-only / background-only stimuli "
        f"{'counts the absent stream (it sees a black frame)' if absent == 'black' else 'fuses only the present stream'}"
        f".</p>",
        table(["model", *CONDITIONS, "n"], rows),
        figure_file(run / "accuracy.png", "accuracy by condition"),
    ]
    parts.append(swap_section(models))
    per_class = []
    for name, sec in models.items():
        for c in CONDITIONS:
            for cls, acc in (sec.get(c, {}).get("per_class") or {}).items():
                per_class.append([name, c, cls, num(acc if not isinstance(acc, dict) else acc.get("accuracy"))])
    if per_class:
        parts.append("<details><summary>Per-class accuracy</summary>")
        parts.append(table(["model", "condition", "class", "accuracy"], per_class) + "</details>")
    return "\n".join(p for p in parts if p)


def swap_section(models: dict) -> str:
    """Cue conflict beside the three conditions: who answers the body's action, who the scene's (evaluate's
    `models.<M>.swap`); '' when the stimulus set has no swap stimuli."""
    rows = []
    for name, sec in models.items():
        if "swap" not in sec:
            continue
        lines = [(name, sec["swap"])] + [
            (f"{name}: {h} stream alone", by) for h, by in sec["swap"].get("streams", {}).items()
        ]
        for label, by in lines:
            rows.append([
                label, with_ci(by.get("body_bias"), by.get("ci95")), with_ci(by.get("body_rate"), by.get("ci95_body_rate")),
                with_ci(by.get("scene_rate"), by.get("ci95_scene_rate")), num(by.get("other_rate")), by.get("n", "-"),
            ])  # fmt: skip
    if not rows:
        return ""
    return "\n".join([
        "<h2>Body against scene (swap stimuli)</h2>",
        "<p>The body of one clip on the background-only frame of a clip of another action. body bias = body / "
        "(body + scene) answers (Geirhos et al. 2019's shape bias for actions): 1 answers the body, 0 the scene; "
        "answers naming neither action are the other rate and do not enter the index. 95% CIs over clips.</p>",
        table(["model", "body bias", "body's action", "scene's action", "other", "n"], rows),
    ])  # fmt: skip


def experiments_section(run: Path) -> str:
    """Every table.csv under RUN rendered as a table, with the PNG figures in the same folder."""
    parts = []
    for path in sorted(run.rglob("table.csv")):
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            continue
        title = str(path.parent.relative_to(run)) if path.parent != run else run.name
        parts.append(f"<h3>{esc(title)}</h3>")
        body = rows[1 : MAX_TABLE_ROWS + 1]
        parts.append(table(rows[0], body))
        if len(rows) - 1 > MAX_TABLE_ROWS:
            parts.append(f"<p class='note'>first {MAX_TABLE_ROWS} of {len(rows) - 1} rows; see {esc(path)}</p>")
        parts += [figure_file(png, png.name) for png in sorted(path.parent.glob("*.png"))]
    return "<h2>Experiments</h2>\n" + "\n".join(parts) if parts else ""


def find_stimuli(run: Path, results: dict) -> Path | None:
    stim = results.get("stimuli")
    for candidate in [Path(stim), run / stim] if stim else []:
        if (candidate / "manifest.csv").is_file():
            return candidate
    return None


def stimuli_section(run: Path, results: dict, per_class: int = 1, max_examples: int = 6) -> str:
    """A few test stimuli as original / body-only / background-only triplets, downscaled and embedded."""
    stim = find_stimuli(run, results)
    if stim is None:
        where = results.get("stimuli")
        return f"<h2>Example stimuli</h2><p class='note'>stimulus set {esc(where)} not found; none shown.</p>"
    with (stim / "manifest.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("split") == results.get("split", "test")]
    ok = [r for r in rows if r.get("status", "ok") in ("ok", "")] or rows
    chosen, counts = [], {}
    for r in sorted(ok, key=lambda r: (r.get("class", ""), r["stimulus_id"])):
        if counts.get(r.get("class"), 0) < per_class and len(chosen) < max_examples:
            counts[r.get("class")] = counts.get(r.get("class"), 0) + 1
            chosen.append(r)
    parts = ["<h2>Example stimuli</h2>", f"<p class='note'>from <code>{esc(stim)}</code></p>"]
    for r in chosen:
        cells = []
        for c in CONDITIONS:
            uri = thumbnail(stim / r.get(c, "")) if r.get(c) else None
            if uri:
                cells.append(f'<figure><img src="{uri}" alt="{esc(c)}"><figcaption>{esc(c)}</figcaption></figure>')
        if cells:
            title = f"<p><b>{esc(r.get('class', ''))}</b> · {esc(r['stimulus_id'])}</p>"
            parts.append(f"<div class='triplet'>{title}{''.join(cells)}</div>")
    return "\n".join(parts)


def configs_section(run: Path) -> str:
    parts = []
    for path in [run / "config.yaml", *sorted(run.glob("*/config.yaml")), *sorted(run.glob("*/model.json"))]:
        if path.is_file():
            parts.append(f"<h3>{esc(path.relative_to(run))}</h3><pre>{esc(path.read_text())}</pre>")
    return "<h2>Configuration</h2>\n" + "\n".join(parts) if parts else ""


def _evaluate_settings(run: Path) -> dict:
    for path in sorted(run.glob("*/config.yaml")):
        try:
            cfg = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            continue
        if isinstance(cfg, dict) and isinstance(cfg.get("evaluate"), dict):
            return cfg["evaluate"]
    return {}


def methods_section(run: Path, results: dict, comparison: dict | None) -> str:
    recorded = results.get("bootstrap") if isinstance(results.get("bootstrap"), dict) else {}
    ev = _evaluate_settings(run)
    if recorded:
        boot = f"{recorded.get('resamples')} resamples, seed {recorded.get('seed')}, {recorded.get('method', '')}"
    elif "bootstrap" in ev:
        boot = f"{ev['bootstrap']} resamples, seed {ev.get('seed', 0)}"
    else:
        boot = "settings in the configs"
    stim, split = esc(results.get("stimuli", "STIM")), esc(results.get("split", "test"))
    items = [
        f"Model accuracy: <code>bodyscene evaluate --run {esc(run)} --stimuli {stim} --split {split}</code>; "
        f"each model predicts every {split} stimulus in each condition; "
        f"95% CI by percentile bootstrap over stimuli ({esc(boot)}).",
    ]
    if comparison:
        prov = comparison.get("provenance", {})
        items.append(f"Human comparison: <code>{esc(prov.get('command', 'bodyscene compare'))}</code>.")
        items += [f"{esc(k.replace('_', ' '))}: {esc(v)}." for k, v in (prov.get("methods") or METHODS).items()]
    items.append(f"This page: <code>bodyscene report --run {esc(run)}</code>.")
    return "<h2>How the numbers were produced</h2><ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def render_report(run: str | Path) -> str:
    run = Path(run)
    results = read_json(run / "results.json") if (run / "results.json").is_file() else None
    has_tables = any(run.rglob("table.csv")) if run.is_dir() else False
    if results is None and not has_tables:
        raise BodySceneError(f"{run / 'results.json'}: file not found; run `bodyscene evaluate --run {run}` first")
    results = results or {}
    comparison = read_json(run / "comparison.json") if (run / "comparison.json").is_file() else None
    versions = software_versions()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<h1>bodyscene report: {esc(run.name)}</h1>",
        f"<p class='note'>Run folder <code>{esc(run)}</code>, written {esc(stamp)}. "
        "Implements arXiv 2512.07729: original / body-only / background-only stimuli, "
        "baseline vs DomainNet, compared with humans.</p>",
        results_section(run, results) if results.get("models") else "",
        human_section(comparison, run) if comparison else "",
        experiments_section(run),
        stimuli_section(run, results) if results.get("stimuli") else "",
        configs_section(run),
        "<h2>Software</h2>" + table(["package", "version"], sorted(versions.items()))
        + "<p class='note'>Versions of the environment that wrote this page.</p>",
        methods_section(run, results, comparison) if results else "",
    ]  # fmt: skip
    if results.get("versions"):
        body.insert(
            -1,
            "<h3>Recorded with the results</h3><pre>" + esc(json.dumps(results["versions"], indent=2)) + "</pre>",
        )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>bodyscene report: {esc(run.name)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(b for b in body if b)
        + "\n</body></html>\n"
    )


def write_report(run: str | Path) -> Path:
    """Write RUN/report.html and return its path."""
    return atomic_write_text(Path(run) / "report.html", render_report(run))
