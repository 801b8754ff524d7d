"""`bodyscene report`: one self-contained HTML page for a run (figures embedded as data URIs, opens offline)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import cv2

from bodyscene.config import CONDITIONS
from bodyscene.errors import BodySceneError
from bodyscene.files import atomic_write_text, read_json
from bodyscene.report.figures import CONDITION_LABELS


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _thumb(path: Path, size: int = 128) -> str:
    image = cv2.imread(str(path))
    if image is None:
        return ""
    scale = size / max(image.shape[:2])
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return data_uri(cv2.imencode(".png", image)[1].tobytes())


def _triplets(stimuli: Path, n: int = 6) -> str:
    from bodyscene.stimuli.manifest import read_stimulus_set

    try:
        stim = read_stimulus_set(stimuli)
    except BodySceneError:
        return "<p>(stimulus set not found)</p>"
    rows, seen = [], set()
    for r in stim.split("test"):
        if r["class"] not in seen and len(rows) < n:
            seen.add(r["class"])
            rows.append(r)
    cells = "".join(
        "<tr><td>{}</td>{}</tr>".format(
            html.escape(r["class"]),
            "".join(f'<td><img src="{_thumb(stim.path(r, c))}" alt="{c}"></td>' for c in CONDITIONS),
        )
        for r in rows
    )
    head = "".join(f"<th>{CONDITION_LABELS[c]}</th>" for c in CONDITIONS)
    return f"<table><tr><th>class</th>{head}</tr>{cells}</table>"


def write_report(run: str | Path) -> Path:
    run = Path(run)
    results = read_json(run / "results.json")
    head = "".join(f"<th>{CONDITION_LABELS[c]}</th>" for c in CONDITIONS)
    body = "".join(
        "<tr><td>{}</td>{}</tr>".format(
            html.escape(model),
            "".join(
                f"<td>{r[c]['accuracy']:.1%} [{r[c]['ci95'][0]:.1%}, {r[c]['ci95'][1]:.1%}] (n={r[c]['n']})</td>"
                for c in CONDITIONS
            ),
        )
        for model, r in results["models"].items()
    )
    figure = run / "accuracy.png"
    fig_html = f'<img src="{data_uri(figure.read_bytes())}" alt="accuracy">' if figure.is_file() else ""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>bodyscene report: {html.escape(run.name)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:.3em .6em;text-align:center}}</style>
</head><body><h1>bodyscene report: {html.escape(run.name)}</h1>
<h2>Accuracy on the {html.escape(results.get("split", "test"))} split (chance {results["chance"]:.1%})</h2>
<table><tr><th>model</th>{head}</tr>{body}</table>{fig_html}
<h2>Example stimuli</h2>{_triplets(Path(results.get("stimuli", run / "stimuli")))}
</body></html>"""
    return atomic_write_text(run / "report.html", page)
