"""Atomic file writes and CSV helpers: a killed job never leaves a half-written result behind."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bodyscene.errors import BodySceneError


def _read_umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


# Read once, at import: os.umask can only be read by setting it, which would race with the PNG writer threads.
_NEW_FILE_MODE = 0o666 & ~_read_umask()  # what open() gives; mkstemp's own 0600 would hide results from a group


def temp_beside(path: Path) -> Path:
    """A new empty temp file `.NAME.XXXX.tmp` in `path`'s folder (made if missing), with the mode open() would give
    (not mkstemp's 0600); OSError when the folder cannot be written. `commit` renames it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _NEW_FILE_MODE)
    finally:
        os.close(fd)
    return Path(tmp)


def commit(tmp: Path, path: Path) -> Path:
    """fsync the finished temp file, then rename it over `path`: a kill leaves the old file or the new one."""
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write to a temp file in the same folder, fsync, then rename over `path`.

    A kill at any moment leaves either the old file or the new one, never a mix; a failed write (a full disk)
    removes the temp file and leaves the old file as it was.
    """
    path = Path(path)
    try:
        tmp = temp_beside(path)
    except OSError as e:
        raise BodySceneError(f"{path.parent}: cannot write here ({e.strerror}); choose a writable --out") from e
    try:
        tmp.write_bytes(data)
        commit(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise BodySceneError(f"{path}: write failed ({e.strerror}); free space or choose another --out") from e
        raise
    return path


def remove_stale_temps(folder: str | os.PathLike) -> int:
    """Delete the temp files (`.NAME.XXXX.tmp`) that a killed atomic write left under `folder`; returns how many."""
    n = 0
    for tmp in Path(folder).rglob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            n += 1
    return n


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.is_file():
        raise BodySceneError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BodySceneError(f"{path}: not valid JSON (line {e.lineno}); regenerate it") from e


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `@SUM(...)`) gets a leading `'`
    (OWASP's advice for CSV injection); numbers such as `-1.5` are left as they are."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return "'" + value


def write_csv(
    path: str | os.PathLike,
    rows: Iterable[Mapping[str, Any]],
    fieldnames: Sequence[str],
    escape_formulas: bool = False,
) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(fieldnames), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: escape_formula(v) for k, v in row.items()} if escape_formulas else row)
    return atomic_write_text(path, buf.getvalue())


def iter_csv(path: str | os.PathLike, required: Sequence[str] = ()) -> Iterator[dict[str, str]]:
    """Rows of a CSV with a header, read as UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes).

    A missing file or column, another encoding, or an over-long field is one error naming the file and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise BodySceneError(f"{path}: file not found")
    line = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise BodySceneError(
                    f"{path}: missing column(s) {', '.join(missing)}; the header must contain {', '.join(required)}"
                )
            for row in reader:
                line = reader.line_num
                yield row
    except UnicodeDecodeError as e:
        raise BodySceneError(
            f"{path}: not UTF-8 text (byte {e.start} after line {line}); save it as 'CSV UTF-8' and retry"
        ) from e
    except csv.Error as e:
        raise BodySceneError(f"{path}:{line + 1}: unreadable CSV ({e}); fix or remove that line") from e


def read_csv(path: str | os.PathLike, required: Sequence[str] = ()) -> list[dict[str, str]]:
    """Read a CSV with a header; a missing file or column is one clear error naming the file."""
    return list(iter_csv(path, required))
