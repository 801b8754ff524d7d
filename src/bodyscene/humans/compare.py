"""The `compare` stage: human responses beside every model in a run -> RUN/comparison.json + two figures.

Human accuracy per condition is the mean over participants of each participant's accuracy, with a 95%
bootstrap CI over participants. Each model answers exactly the trials humans answered, the way they were asked
(readout.py): the argmax of its logits (RUN/scores.npz) over the classes the trial offered (`choices`; all classes
without it), on the stimulus the trial showed (one frame) or on the clip (mean logits over the clip's frames).
Every accuracy is reported raw and minus chance (mean of 1 / number of options over the condition's trials).
"""

from __future__ import annotations

import itertools
import math
import shlex
from collections import defaultdict
from pathlib import Path

import numpy as np

from bodyscene.analysis import (
    METHODS,
    UNDEFINED_KAPPA,
    accuracy_gap,
    bootstrap_ci,
    consistency,
    error_consistency,
    holm,
    mcnemar_exact,
    nanmean,
    paired_condition_tests,
    paired_model_differences,
    pattern_correlation,
    squared_accuracy_difference,
)
from bodyscene.errors import BodySceneError
from bodyscene.files import read_json, write_json
from bodyscene.humans.responses import (
    StimulusLabels,
    Trial,
    load_stimulus_set,
    load_study,
    read_predictions,
    stimulus_set_from_predictions,
)
from bodyscene.readout import Scores, answer, chance, check_name, choice_mask, clip_logits, manifest_digest
from bodyscene.schema import COMBINED, CONDITIONS, HEADS, SCORES_FILE, SWAP_CONDITION

Item = tuple[str, str]  # (condition, stimulus_id)


def resolve_stimuli(run: Path, results: dict, stimuli: str | Path | None) -> tuple[StimulusLabels, Path | None]:
    """The stimulus set to check ids against (and its folder): --stimuli, else results.json's, else
    predictions.csv's ids (no folder)."""
    candidates = [Path(stimuli)] if stimuli is not None else []
    if results.get("stimuli"):
        candidates += [Path(results["stimuli"]), run / results["stimuli"]]
    for c in candidates:
        if (c / "manifest.csv").is_file():
            return load_stimulus_set(c), c
    if stimuli is not None:
        raise BodySceneError(f"{stimuli}/manifest.csv: file not found; pass the folder `bodyscene prepare` wrote")
    return stimulus_set_from_predictions(read_predictions(run), f"{run}/predictions.csv"), None


def condition_chance(trials: list[Trial], classes: list[str]) -> dict[str, float]:
    """Chance per condition: the mean over its trials of 1 / (options offered); 1 / C where all were offered."""
    n = {c: [len(t.choices or classes) for t in trials if t.condition == c] for c in CONDITIONS}
    return {c: chance(v) for c, v in n.items()}


def human_accuracy(trials: list[Trial], chances: dict[str, float], n_boot: int, seed: int) -> dict[str, dict]:
    by: dict[str, dict[str, list[bool]]] = {c: defaultdict(list) for c in CONDITIONS}
    for t in trials:
        by[t.condition][t.participant].append(t.correct)
    out = {}
    for c in CONDITIONS:
        per = {p: float(np.mean(v)) for p, v in sorted(by[c].items())}
        vals = list(per.values())
        acc = float(np.mean(vals)) if vals else math.nan
        out[c] = {
            "accuracy": acc,
            "chance": chances[c],
            "above_chance": acc - chances[c],
            "ci95": list(bootstrap_ci(vals, n_boot=n_boot, seed=seed)),
            "n_participants": len(per),
            "n_trials": sum(len(v) for v in by[c].values()),
            "per_participant": per,
        }
    return out


def cell_accuracy(trials: list[Trial], classes: list[str], correct: dict[int, bool]) -> list[float]:
    """Pooled accuracy in each condition x class cell (row-major: condition, then class); nan if no trials."""
    hits: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for i, t in enumerate(trials):
        if i in correct:
            hits[(t.condition, t.label)].append(correct[i])
    return [float(np.mean(hits[(c, k)])) if hits[(c, k)] else math.nan for c in CONDITIONS for k in classes]


def per_participant_agreement(
    trials: list[Trial], a: dict[int, bool], undefined: str = "drop"
) -> dict[str, dict[str, dict[str, float]]]:
    """participant -> condition -> {kappa, observed, expected, model_accuracy, accuracy} of the participant and `a`
    (model correctness by trial index), on the trials of that participant and condition the model answered."""
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    grouped: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(trials):
        if i in a:
            grouped[(t.participant, t.condition)].append(i)
    for (p, c), idx in sorted(grouped.items()):
        human, model = [trials[i].correct for i in idx], [a[i] for i in idx]
        out[p][c] = consistency(human, model, undefined) | {
            "model_accuracy": float(np.mean(model)),
            "accuracy": float(np.mean(human)),
        }
    return out


def consistency_per_participant(trials: list[Trial], a: dict[int, bool], undefined: str = "drop") -> dict:
    """participant -> condition -> kappa of the participant and `a` (model correctness by trial index)."""
    per = per_participant_agreement(trials, a, undefined)
    return {p: {c: v["kappa"] for c, v in cells.items()} for p, cells in per.items()}


MAX_PAIRS = 20000  # all pairs up to 200 participants (19,900); above, a seeded sample of this many


def participant_pairs(people: list[str], max_pairs: int, seed: int) -> tuple[list[tuple[str, str]], bool]:
    """All pairs, or (above max_pairs) max_pairs distinct pairs drawn uniformly with a seeded generator.

    37,000 participants have 684 million pairs (about 32 h at the all-pairs speed); a uniform sample of 20,000
    estimates their mean kappa with a standard error well under 0.01 for kappas spread over [-1, 1].
    """
    n = len(people)
    if n * (n - 1) // 2 <= max_pairs:
        return list(itertools.combinations(people, 2)), False
    rng = np.random.default_rng(seed)
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < max_pairs:  # ends: max_pairs is far below the number of pairs here
        i, j = (int(x) for x in rng.choice(n, size=2, replace=False))
        chosen.add((min(i, j), max(i, j)))
    return [(people[i], people[j]) for i, j in sorted(chosen)], True


def human_human_consistency(
    trials: list[Trial], seed: int = 0, max_pairs: int = MAX_PAIRS, undefined: str = "drop"
) -> dict:
    """Mean kappa over participant pairs on the trials both saw (same stimulus, same condition).

    Per pair, kappa is computed per condition and averaged over conditions, like model-human consistency, so
    a shared difficulty ordering of the conditions does not count as consistent errors. Above `max_pairs`
    pairs, a seeded uniform sample of pairs (see participant_pairs).
    """
    seen: dict[str, dict[Item, bool]] = defaultdict(dict)
    for t in trials:
        seen[t.participant][(t.condition, t.stimulus_id)] = t.correct
    per_condition: dict[str, list[float]] = {c: [] for c in CONDITIONS}
    pair_means = []
    pairs, sampled = participant_pairs(sorted(seen), max_pairs, seed)
    for p, q in pairs:
        shared = sorted(set(seen[p]) & set(seen[q]))
        kappas = []
        for c in CONDITIONS:
            items = [it for it in shared if it[0] == c]
            if items:
                k = error_consistency([seen[p][it] for it in items], [seen[q][it] for it in items], undefined)
                per_condition[c].append(k)
                kappas.append(k)
        if kappas:
            pair_means.append(nanmean(kappas))
    return {
        "error_consistency": nanmean(pair_means),
        "per_condition": {c: nanmean(v) for c, v in per_condition.items()},
        "n_pairs": sum(1 for v in pair_means if not math.isnan(v)),
        "pairs_sampled": sampled,
        "method": "Cohen's kappa (Geirhos et al., NeurIPS 2020) per participant pair and condition on shared "
        "trials, averaged over conditions, then over pairs"
        + (f" (a uniform sample of {max_pairs} pairs, seed {seed})" if sampled else ""),
    }


def model_answers(scores: Scores, model: str, head: str, trials: list[Trial], stim: StimulusLabels) -> dict[int, str]:
    """trial index -> the model's answer, asked as the participant was: over the trial's options, on its frame or
    on its clip (mean logits over the clip's evaluated frames). Trials whose item the scores lack are left out."""
    index = {c: i for i, c in enumerate(scores.classes)}
    picked, rows = [], []
    for i, t in enumerate(trials):
        unit = "frame" if t.stimulus_id in stim.labels else "clip"
        logits = scores.item_logits(model, head, t.condition, t.stimulus_id, unit)
        if logits is not None:
            picked.append(i)
            rows.append(logits)
    if not picked:
        return {}
    allowed = choice_mask([None if trials[i].choices is None else [index[c] for c in trials[i].choices]
                           for i in picked], len(scores.classes))  # fmt: skip
    pred = answer(np.stack(rows), allowed)
    return {i: scores.classes[p] for i, p in zip(picked, pred, strict=True)}


def _model_accuracy(
    scored: dict[int, bool], trials: list[Trial], stim: StimulusLabels, c: str, chance: float, n_boot: int, seed: int
) -> dict:
    """A model's accuracy on the trials of condition c, with a bootstrap CI over clips (the frames of one clip are
    not independent)."""
    by_clip: dict[str, list[bool]] = defaultdict(list)
    for i in scored:
        if trials[i].condition == c:
            by_clip[stim.clips.get(trials[i].stimulus_id, trials[i].stimulus_id)].append(scored[i])
    values = [float(np.mean(v)) for v in by_clip.values()]
    weights = [len(v) for v in by_clip.values()]
    acc = float(np.average(values, weights=weights)) if values else math.nan
    return {
        "accuracy": acc,
        "chance": chance,
        "above_chance": acc - chance,
        "ci95": list(bootstrap_ci(values, weights, n_boot=n_boot, seed=seed)),
        "n_trials": sum(weights),
        "n_items": len({trials[i].stimulus_id for i in scored if trials[i].condition == c}),
        "n_clips": len(values),
    }


def model_section(
    name: str,
    answers: dict[int, str],
    trials: list[Trial],
    stim: StimulusLabels,
    humans: dict,
    n_boot: int,
    seed: int,
    undefined: str = "drop",
) -> dict:
    scored = {i: answers[i] == trials[i].label for i in answers}
    if not scored:
        raise BodySceneError(
            f"{SCORES_FILE}: model '{name}' has no logits for any stimulus humans saw; "
            "evaluate the run on the stimulus set the responses use"
        )
    sec: dict = {c: _model_accuracy(scored, trials, stim, c, humans[c]["chance"], n_boot, seed) for c in CONDITIONS}
    sec["pattern_correlation_detail"] = pattern_correlation(
        cell_accuracy(trials, stim.classes, scored),
        cell_accuracy(trials, stim.classes, {i: trials[i].correct for i in scored}),
    )
    sec["pattern_correlation"] = sec["pattern_correlation_detail"]["pearson"]
    agreement = per_participant_agreement(trials, scored, undefined)
    for key, name in (("kappa", "error_consistency"), ("observed", "observed_consistency")):
        per = {p: {c: v[key] for c, v in cells.items()} for p, cells in agreement.items()}
        per_participant = {p: nanmean(list(v.values())) for p, v in per.items()}
        values = [v for v in per_participant.values() if not math.isnan(v)]
        sec[name] = {
            "mean": nanmean(values),
            "ci95": list(bootstrap_ci(values, n_boot=n_boot, seed=seed)),
            "per_condition": {c: nanmean([v[c] for v in per.values() if c in v]) for c in CONDITIONS},
            "per_participant": per_participant,
        }
    cells = [v for p in agreement.values() for v in p.values()]
    sec["error_consistency"]["undefined_cells"] = sum(v["expected"] >= 1.0 for v in cells)
    sec["error_consistency"]["cells"] = len(cells)
    sec["error_consistency"]["undefined_kappa"] = undefined
    sq = {
        p: squared_accuracy_difference(
            {c: v["model_accuracy"] for c, v in cells_.items()}, {c: v["accuracy"] for c, v in cells_.items()}
        )
        for p, cells_ in agreement.items()
    }
    values = [v for v in sq.values() if not math.isnan(v)]
    sec["squared_accuracy_difference"] = {
        "mean": nanmean(values),
        "ci95": list(bootstrap_ci(values, n_boot=n_boot, seed=seed)),
        "per_participant": sq,
    }
    sec["accuracy_gap"] = accuracy_gap(
        {c: sec[c]["accuracy"] for c in CONDITIONS}, {c: humans[c]["accuracy"] for c in CONDITIONS}
    )
    sec["trials_without_prediction"] = len(trials) - len(scored)
    return sec


def clip_correctness(scores: Scores, model: str, head: str, trials: list[Trial], stim: StimulusLabels) -> dict:
    """(condition, clip) -> the model's all-class answer on the clip's mean logits is right, for clips humans saw."""
    seen = {(t.condition, stim.clips.get(t.stimulus_id, t.stimulus_id)) for t in trials}
    out = {}
    labels = dict(zip(scores.clip_ids, scores.labels, strict=True))
    for c in CONDITIONS:
        clips, logits = clip_logits(scores.get(model, head, c), scores.clip_ids)
        pred = answer(logits)
        out |= {(c, k): bool(p == labels[k]) for k, p in zip(clips, pred, strict=True) if (c, k) in seen}
    return out


def exclude_inattentive(
    trials: list[Trial], unscored: list[Trial], min_attention: float, source: Path
) -> tuple[list[Trial], dict]:
    """Trials of the participants who passed at least `min_attention` of their attention checks, and the record
    of who was left out and why (participants without attention rows are kept and counted)."""
    checks: dict[str, list[bool]] = defaultdict(list)
    for t in unscored:
        if t.kind == "attention":
            checks[t.participant].append(t.correct)
    people = sorted({t.participant for t in trials})
    excluded = []
    for p in people:
        passed = checks.get(p, [])
        if passed and float(np.mean(passed)) < min_attention:
            excluded.append({
                "participant": p, "attention_passed": int(sum(passed)), "attention_checks": len(passed),
                "reason": f"passed {sum(passed)} of {len(passed)} attention checks "
                f"({np.mean(passed):.0%} < --min-attention {min_attention:g})",
            })  # fmt: skip
    gone = {e["participant"] for e in excluded}
    kept = [t for t in trials if t.participant not in gone]
    if not kept:
        raise BodySceneError(
            f"{source}: every participant fails --min-attention {min_attention:g}; lower it (0 keeps everyone)"
        )
    record = {
        "rule": f"exclude a participant who passed less than {min_attention:g} of their attention checks "
        "(participants without attention rows are kept)",
        "min_attention": min_attention,
        "excluded": excluded,
        "participants_before": len(people),
        "participants_after": len(people) - len(excluded),
        "without_attention_checks": sum(1 for p in people if p not in checks),
        "practice_rows_ignored": sum(1 for t in unscored if t.kind == "practice"),
    }
    return kept, record


def human_likeness(models: dict[str, dict], n_boot: int, seed: int) -> dict[str, list[dict]]:
    """The paper's "more human-like", tested: per model pair, the per-participant differences in error consistency
    (higher = closer) and in model-vs-human's squared accuracy difference (lower = closer), paired over
    participants (stats.paired_model_differences)."""
    return {
        metric: paired_model_differences(
            {m: sec[metric]["per_participant"] for m, sec in models.items()}, metric, higher, n_boot, seed
        )
        for metric, higher in (("error_consistency", True), ("squared_accuracy_difference", False))
    }


def model_vs_model(correct: dict[str, dict[Item, bool]]) -> list[dict]:
    """McNemar's exact test per model pair and condition on the clips both models answered; Holm over all."""
    rows = []
    for a, b in itertools.combinations(sorted(correct), 2):
        for c in CONDITIONS:
            items = sorted(k for k in correct[a] if k[0] == c and k in correct[b])
            if items:
                test = mcnemar_exact([correct[a][k] for k in items], [correct[b][k] for k in items])
                rows.append({"a": a, "b": b, "condition": c} | test)
    for r, p in zip(rows, holm([r["p"] for r in rows]), strict=True):
        r["p_holm"], r["correction"] = p, f"Holm over {len(rows)} model-pair x condition tests"
    return rows


def load_scores(run: Path, stim: StimulusLabels, stim_root: Path | None) -> Scores:
    """RUN/scores.npz, checked to belong to the stimulus set the responses are validated against."""
    scores = Scores.load(run / SCORES_FILE)
    if stim_root is not None and manifest_digest(stim_root) != scores.manifest:
        raise BodySceneError(
            f"{scores.source}: made from another stimulus set than {stim_root / 'manifest.csv'}; "
            f"rerun `bodyscene evaluate --run {run} --stimuli {stim_root}`"
        )
    if scores.classes != stim.classes:
        raise BodySceneError(f"{scores.source}: its classes differ from {stim.source}'s; evaluate on that set")
    return scores


def json_safe(obj):
    """nan -> null, numpy scalars -> Python, so comparison.json is strict JSON."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


def compare(
    humans: str | Path,
    run: str | Path,
    stimuli: str | Path | None = None,
    out: str | Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    figures: bool = True,
    head: str = COMBINED,
    min_attention: float = 1.0,
    undefined_kappa: str = "drop",
) -> dict:
    """Write `out` (default RUN/comparison.json) and its figures; return the comparison.

    `head`: which output answers for each model: `combined` (its answer) or one stream alone (`body`,
    `background`); models without that head are left out. `min_attention`: participants who passed a smaller
    share of their attention checks are excluded (listed in `exclusions`). `undefined_kappa`: drop | one."""
    check_name("head", head, HEADS, "combined is each model's answer; body/background a DomainNet stream alone")
    check_name("--undefined-kappa", undefined_kappa, UNDEFINED_KAPPA, "drop: leave it out; one: count it as 1.0")
    if not 0.0 <= min_attention <= 1.0:
        raise BodySceneError(f"--min-attention {min_attention}: a share of attention checks passed, 0 to 1")
    run, humans = Path(run), Path(humans)
    stim, trials, swaps, exclusions, scores = _read_inputs(humans, run, stimuli, min_attention)
    names = [m for m in sorted(scores.models) if head in scores.heads(m)]
    if not names:
        raise BodySceneError(f"{scores.source}: no model has a {head!r} head; use --head combined")
    human = human_accuracy(trials, condition_chance(trials, stim.classes), n_boot, seed)
    per_participant = {c: human[c]["per_participant"] for c in CONDITIONS if human[c]["per_participant"]}
    models = {
        m: model_section(
            m, model_answers(scores, m, head, trials, stim), trials, stim, human, n_boot, seed, undefined_kappa
        )
        for m in names
    }
    correct = {m: clip_correctness(scores, m, head, trials, stim) for m in names}
    settings = {"bootstrap": n_boot, "seed": seed, "head": head, "min_attention": min_attention,
                "undefined_kappa": undefined_kappa}  # fmt: skip
    comparison = {
        "humans": human,
        "human_consistency": human_human_consistency(trials, seed, undefined=undefined_kappa),
        "models": models,
        "exclusions": exclusions,
        "statistics": {
            "human_likeness": human_likeness(models, n_boot, seed),
            "human_conditions": paired_condition_tests(per_participant),
            "model_vs_model": model_vs_model(correct),
        },
        "provenance": _provenance(humans, run, stimuli, stim, trials, settings),
    }
    from bodyscene.humans.swap import swap_comparison

    if swaps:  # cue-conflict trials: body bias of humans and models on them (humans/swap.py)
        answers = {m: model_answers(scores, m, head, swaps, stim) for m in names}
        comparison["swap"] = swap_comparison(swaps, answers, stim, n_boot, seed)
    return _write(json_safe(comparison), Path(out) if out is not None else run / "comparison.json", figures)


def _provenance(
    humans: Path, run: Path, stimuli: str | Path | None, stim: StimulusLabels, trials: list[Trial], settings: dict
) -> dict:
    """How the comparison was made: the command that remakes it, its inputs and settings, and METHODS."""
    command = ["bodyscene", "compare", "--humans", str(humans), "--run", str(run)]
    command += ["--stimuli", str(stimuli)] if stimuli is not None else []
    command += ["--bootstrap", str(settings["bootstrap"]), "--seed", str(settings["seed"]), "--head", settings["head"]]
    command += ["--min-attention", f"{settings['min_attention']:g}", "--undefined-kappa", settings["undefined_kappa"]]
    sidecar = humans.with_name(humans.name + ".json")
    return {
        "command": shlex.join(command),
        "responses": str(humans),
        "simulated": sidecar.is_file() and bool(read_json(sidecar).get("simulated")),
        "stimuli": stim.source,
        "participants": len({t.participant for t in trials}),
        "trials": len(trials),
        "head": settings["head"],
        "choices": "per trial (the responses' choices column)" if any(t.choices for t in trials) else "all classes",
        "classes": stim.classes,
        "bootstrap": settings["bootstrap"],
        "seed": settings["seed"],
        "methods": METHODS,
    }


def _read_inputs(humans: Path, run: Path, stimuli: str | Path | None, min_attention: float):
    """(stimulus labels, scored trials of the three conditions, swap trials, exclusions, the run's scores): the
    responses file's own mistakes are reported before the run's."""
    results = read_json(run / "results.json") if (run / "results.json").is_file() else {}
    stim, stim_root = resolve_stimuli(run, results, stimuli)
    trials, unscored = load_study(humans, stim)
    trials, exclusions = exclude_inattentive(trials, unscored, min_attention, humans)
    swaps = [t for t in trials if t.condition == SWAP_CONDITION]  # read apart from the three conditions
    trials = [t for t in trials if t.condition != SWAP_CONDITION]
    return stim, trials, swaps, exclusions, load_scores(run, stim, stim_root)


def _write(comparison: dict, out: Path, figures: bool) -> dict:
    """comparison.json, then its figures drawn from the file just written (as `bodyscene figures` redraws them)."""
    if figures:
        from bodyscene.report.figures_humans import COMPARISON_FIGURES, draw_comparison

        comparison["figures"] = dict(COMPARISON_FIGURES)
    write_json(out, comparison)
    if figures:
        draw_comparison(out)
    return comparison


def _fmt(v: float | None, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def format_comparison(result: dict) -> list:
    """The comparison as two rich tables for the terminal: accuracy and consistency per observer, then the
    paired human-likeness tests."""
    from rich.table import Table

    table = Table()
    for column in ("observer", *CONDITIONS, "error consistency", "observed cons.", "pattern r", "sq. acc. diff"):
        table.add_column(column)
    hh = _fmt(result["human_consistency"]["error_consistency"]) + " (h-h)"
    table.add_row("chance", *(_fmt(result["humans"][c]["chance"]) for c in CONDITIONS), "", "", "", "")
    table.add_row("humans", *(_fmt(result["humans"][c]["accuracy"]) for c in CONDITIONS), hh, "", "", "")
    for name, sec in result["models"].items():
        accs = [_fmt(sec[c]["accuracy"]) for c in CONDITIONS]
        ec, oc = _fmt(sec["error_consistency"]["mean"]), _fmt(sec["observed_consistency"]["mean"])
        sq = _fmt(sec["squared_accuracy_difference"]["mean"])
        table.add_row(name, *accs, ec, oc, _fmt(sec["pattern_correlation"]), sq)
    likeness = Table(title="more human-like? per-participant differences a - b, paired over participants")
    for column in ("metric", "a - b", "mean [95% CI]", "p", "p Holm", "closer"):
        likeness.add_column(column)
    for rows in result["statistics"]["human_likeness"].values():
        for r in rows:
            ci = ", ".join(_fmt(x) for x in r["ci95"])
            likeness.add_row(r["metric"], f"{r['a']} - {r['b']}", f"{_fmt(r['mean_difference'])} [{ci}]",
                             _fmt(r["p"], ".2g"), _fmt(r["p_holm"], ".2g"), r["closer"] or "neither")  # fmt: skip
    return [table, likeness]
