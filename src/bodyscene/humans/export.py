"""`bodyscene export --format model-vs-human`: humans and models as bethgelab/model-vs-human raw-data CSVs.

model-vs-human keeps every observer of an experiment in `raw-data/<experiment>/`, one CSV per observer and session,
header `subj,session,trial,rt,object_response,category,condition,imagename`, named
`<experiment>_<subj>_session_<n>.csv` (its `ResultPrinter.create_session_csv`; `_` in a model name becomes `-`).
Its plotting code tells humans from models by `subj` starting with `subject-`, so a participant id P is written as
`subject-P`; a model keeps its name. Its `get_short_imagename` keeps only what follows the last `_` of
`imagename` (to drop a trial prefix), so `_` in a stimulus or clip id is written as `-`; `export.json` maps each
imagename back to its id. `rt` is in seconds (humans' rt_ms / 1000; models: NaN, as model-vs-human writes).

Models answer what humans saw: with `--humans`, one row per (condition, item) any participant saw, over the
options those trials offered when they all offered the same ones (else over every class, counted in export.json);
without, every evaluated stimulus in every condition, over every class. Practice and attention rows are not
exported (model-vs-human has no such rows).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bodyscene.errors import BodySceneError
from bodyscene.files import read_json, write_csv, write_json
from bodyscene.humans.compare import load_scores, resolve_stimuli
from bodyscene.humans.responses import Trial, load_study
from bodyscene.readout import answer, choice_mask
from bodyscene.schema import COMBINED, CONDITIONS

MVH_COLUMNS: tuple[str, ...] = ("subj", "session", "trial", "rt", "object_response", "category", "condition",
                                "imagename")  # fmt: skip
FORMATS = ("model-vs-human",)


def mvh_name(text: str) -> str:
    """An id as model-vs-human's file names and get_short_imagename need it: no `_`."""
    return text.replace("_", "-")


def human_subject(participant: str) -> str:
    return participant if participant.startswith("subject-") else f"subject-{mvh_name(participant)}"


def raw_data_file(out: Path, experiment: str, subj: str, session: int = 1) -> Path:
    return out / f"{experiment}_{mvh_name(subj)}_session_{session}.csv"


def _model_items(trials: list[Trial] | None, scores, stim) -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(condition, item, options or None for every class), in a fixed order."""
    if trials is None:
        return [(c, s, None) for c in CONDITIONS for s in scores.stimulus_ids]
    offered: dict[tuple[str, str], set] = defaultdict(set)
    for t in trials:
        offered[(t.condition, t.stimulus_id)].add(t.choices)
    return [
        (c, s, next(iter(opts)) if len(opts) == 1 else None)
        for (c, s), opts in sorted(offered.items(), key=lambda kv: (CONDITIONS.index(kv[0][0]), kv[0][1]))
    ]


def _human_rows(trials: list[Trial], image) -> list[tuple[str, list[dict]]]:
    """(subject, raw-data rows) per participant, in participant order; `image` names each stimulus."""
    by_participant: dict[str, list[Trial]] = defaultdict(list)
    for t in trials:
        by_participant[t.participant].append(t)
    out = []
    for p, own in sorted(by_participant.items()):
        subj = human_subject(p)
        rows = [
            {"subj": subj, "session": 1, "trial": t.trial if t.trial is not None else k,
             "rt": "NaN" if t.rt_ms is None else t.rt_ms / 1000.0, "object_response": t.response,
             "category": t.label, "condition": t.condition, "imagename": image(t.stimulus_id)}
            for k, t in enumerate(own, start=1)
        ]  # fmt: skip
        out.append((subj, rows))
    return out


def _model_rows(model: str, head: str, items: list, scores, stim, image) -> list[dict]:
    """One model's raw-data rows: its answer on each item, restricted to the options the item offered."""
    index = {c: i for i, c in enumerate(scores.classes)}
    rows = []
    for k, (c, item, opts) in enumerate(items, start=1):
        unit = "frame" if item in stim.labels else "clip"
        logits = scores.item_logits(model, head, c, item, unit)
        if logits is None:
            continue
        allowed = choice_mask([None if opts is None else [index[o] for o in opts]], len(scores.classes))
        pred = scores.classes[int(answer(logits[None, :], allowed)[0])]
        rows.append({"subj": model, "session": 1, "trial": k, "rt": "NaN", "object_response": pred,
                     "category": stim.label_of(item), "condition": c, "imagename": image(item)})  # fmt: skip
    return rows


def export_model_vs_human(
    run: str | Path,
    out: str | Path,
    humans: str | Path | None = None,
    stimuli: str | Path | None = None,
    experiment: str = "bodyscene",
    head: str = COMBINED,
) -> dict:
    """Write the raw-data CSVs and export.json into `out`; return export.json's content."""
    run, out = Path(run), Path(out)
    if "_" in experiment or not experiment:
        raise BodySceneError(f"--name {experiment!r}: model-vs-human splits file names at '_'; use e.g. bodyscene")
    results = read_json(run / "results.json") if (run / "results.json").is_file() else {}
    stim, stim_root = resolve_stimuli(run, results, stimuli)
    trials = load_study(humans, stim)[0] if humans is not None else None
    scores = load_scores(run, stim, stim_root)
    imagenames: dict[str, str] = {}
    files = []

    def image(item: str) -> str:
        name = mvh_name(item)
        if imagenames.setdefault(name, item) != item:
            raise BodySceneError(f"{stim.source}: ids {imagenames[name]!r} and {item!r} both export as {name!r}")
        return name

    if trials is not None:
        for subj, rows in _human_rows(trials, image):
            files.append(write_csv(raw_data_file(out, experiment, subj), rows, MVH_COLUMNS).name)
    items = _model_items(trials, scores, stim)
    all_classes = sum(1 for _, _, opts in items if opts is None)
    models = [m for m in scores.models if head in scores.heads(m)]
    if not models:
        raise BodySceneError(f"{scores.source}: no model has a {head!r} head; use --head combined")
    for m in models:
        rows = _model_rows(m, head, items, scores, stim, image)
        files.append(write_csv(raw_data_file(out, experiment, m), rows, MVH_COLUMNS).name)
    info = {
        "format": "model-vs-human raw-data (bethgelab/model-vs-human, raw-data/<experiment>/*.csv)",
        "experiment": experiment,
        "run": str(run),
        "humans": str(humans) if humans is not None else None,
        "head": head,
        "files": files,
        "models": models,
        "participants": sorted({t.participant for t in trials}) if trials is not None else [],
        "model_items": len(items),
        "model_items_over_all_classes": all_classes,
        "imagenames": imagenames,
        "note": "copy this folder to model-vs-human's raw-data/<experiment>/ to use its analysis and plots",
    }
    write_json(out / "export.json", info)
    return info


def read_raw_data(path: str | Path) -> list[dict[str, str]]:
    """One raw-data CSV as rows (for checks; model-vs-human itself reads them with pandas)."""
    from bodyscene.files import read_csv

    return read_csv(path, required=MVH_COLUMNS)


__all__ = ["FORMATS", "MVH_COLUMNS", "export_model_vs_human", "read_raw_data"]
