"""Small HTML building blocks for the report: escaped tables, embedded images, number formatting.

Everything is inlined (images as data: URIs) so report.html opens offline and never fetches anything.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
td { white-space: nowrap; } th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: .85em; }
figure { display: inline-block; margin: .5em 1em .5em 0; text-align: center; vertical-align: top; }
figcaption { font-size: .8em; color: #555; }
.warn { background: #fff3cd; border: 1px solid #e0c060; padding: .6em 1em; }
.note { color: #555; font-size: .9em; }
.triplet { display: inline-block; margin: 0 1.5em 1em 0; vertical-align: top; }
.triplet p { margin: .2em 0; font-size: .9em; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def num(value: float | int | None, digits: int = 3) -> str:
    """A number for a table cell; '-' for missing/undefined (null in JSON)."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    if value != value:  # nan
        return "-"
    return f"{value:.{digits}f}"


def pval(value: float | None) -> str:
    """A p-value: 3 decimals, scientific below 0.001 (a p is never shown as 0.000)."""
    if value is not None and value == value and 0 < value < 1e-3:
        return f"{value:.1e}"
    return num(value)


def with_ci(value: float | None, ci: Sequence[float | None] | None) -> str:
    if value is None:
        return "-"
    if not ci or ci[0] is None or ci[1] is None:
        return num(value)
    return f"{num(value)} [{num(ci[0])}, {num(ci[1])}]"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table; every cell is escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_file(path: Path, caption: str = "", width: int | None = None) -> str:
    """A PNG file embedded as a data: URI (empty string if the file is missing)."""
    if not path.is_file():
        return ""
    style = f' style="max-width:min(100%,{width or 760}px)"'
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    uri = png_data_uri(path.read_bytes())
    return f'<figure><img src="{uri}" alt="{esc(caption or path.name)}"{style}>{cap}</figure>'


def thumbnail(path: Path, max_side: int = 160) -> str | None:
    """An image file downscaled to `max_side` and re-encoded as PNG, as a data: URI (None if unreadable)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if img is None:
        return None
    h, w = img.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    return png_data_uri(buf.tobytes()) if ok else None
