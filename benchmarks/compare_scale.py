"""How `bodyscene compare` scales (not a test): writes a synthetic humans CSV of N participants x T trials and a
run with two models' predictions, runs `compare` (figures off) and prints wall time and peak memory (ru_maxrss,
which includes writing the synthetic data). Issue 14 asked for 1e6 rows from 37,000 participants:

    nice -n 10 env PYTHONPATH=src .venv/bin/python benchmarks/compare_scale.py \
        --participants 37000 --trials 27 --out runs/compare-scale

Each participant sees T random (stimulus, condition) items out of 300 stimuli x 3 conditions and answers
correctly with probability 0.7; the bootstrap uses 1000 resamples, as the CLI's default.
"""

from __future__ import annotations

import argparse
import csv
import resource
import time
from pathlib import Path

import numpy as np

from bodyscene.config import CONDITIONS
from bodyscene.humans.compare import compare
from bodyscene.readout import Scores

CLASSES = [f"class{k}" for k in range(10)]


def write_inputs(out: Path, participants: int, trials: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    stimuli = [(f"s{i:04d}", CLASSES[i % len(CLASSES)]) for i in range(300)]
    run = out / "run"
    run.mkdir(parents=True, exist_ok=True)
    ids, labels = [s for s, _ in stimuli], np.array([CLASSES.index(c) for _, c in stimuli])
    scores = Scores(ids, ids, CLASSES, labels, manifest="none (synthetic)")
    with (run / "predictions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "condition", "stimulus_id", "label", "predicted"])
        for model in ("a", "b"):
            for c in CONDITIONS:
                logits = rng.random((len(stimuli), len(CLASSES))).astype(np.float32)
                for i, (sid, label) in enumerate(stimuli):
                    predicted = label if rng.random() < 0.6 else CLASSES[0]
                    logits[i, CLASSES.index(predicted)] = 4.0  # compare reads logits; the CSV is for reference
                    w.writerow([model, c, sid, label, predicted])
                scores.logits[(model, "combined", c)] = logits
    scores.save(run / "scores.npz")
    humans = out / "humans.csv"
    with humans.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["participant", "stimulus_id", "condition", "label", "response", "rt_ms", "trial"])
        for p in range(participants):
            for t, item in enumerate(rng.choice(len(stimuli) * 3, size=trials, replace=False), start=1):
                sid, label = stimuli[item // 3]
                answer = label if rng.random() < 0.7 else CLASSES[(CLASSES.index(label) + 1) % len(CLASSES)]
                w.writerow([f"p{p:05d}", sid, CONDITIONS[item % 3], label, answer, 800, t])
    return humans


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--participants", type=int, default=37000)
    ap.add_argument("--trials", type=int, default=27)
    ap.add_argument("--out", type=Path, default=Path("runs/compare-scale"))
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args()
    humans = write_inputs(args.out, args.participants, args.trials, seed=0)
    start = time.perf_counter()
    result = compare(humans, args.out / "run", n_boot=args.bootstrap, figures=False)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hh = result["human_consistency"]
    print(
        f"compare: {result['provenance']['trials']} rows, {result['provenance']['participants']} participants: "
        f"{seconds:.1f} s, peak RSS {peak_mb:.0f} MB; human-human kappa {hh['error_consistency']:.3f} "
        f"over {hh['n_pairs']} pairs (sampled: {hh['pairs_sampled']})"
    )


if __name__ == "__main__":
    main()
