"""`bodyscene figures`: redraw every figure of a folder from the files its stages wrote, without recomputing.

results.json -> accuracy.png (evaluate), comparison.json -> comparison_*.png (compare),
table.csv + experiment.yaml -> NAME.png (experiment).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bodyscene.errors import BodySceneError
from bodyscene.report.figures import draw_results
from bodyscene.report.figures_experiments import draw_experiment
from bodyscene.report.figures_humans import draw_comparison


def redraw(folder: str | Path) -> list[Path]:
    """The figures redrawn in `folder`; an error naming the folder when it holds none of the stages' files."""
    folder = Path(folder)
    drawn: list[Path] = []
    if (folder / "results.json").is_file():
        drawn.append(draw_results(folder))
    if (folder / "comparison.json").is_file():
        drawn += draw_comparison(folder / "comparison.json").values()
    if (folder / "table.csv").is_file() and (folder / "experiment.yaml").is_file():
        name = (yaml.safe_load((folder / "experiment.yaml").read_text(encoding="utf-8")) or {}).get("experiment")
        drawn.append(draw_experiment(folder, str(name or folder.name)))
    if not drawn:
        raise BodySceneError(
            f"{folder}: no results.json, comparison.json or table.csv + experiment.yaml to draw from; "
            "pass a run or experiment folder"
        )
    return drawn
