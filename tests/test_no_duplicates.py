"""No block of six or more lines is written twice inside src/ (issue 17: one meaning, one place).

Lines are normalised (indentation, trailing commas, blank and comment lines dropped), so a copy that was re-indented
or moved into another function is still found. A block shared on purpose goes in ALLOWED with the reason."""

from collections import defaultdict
from pathlib import Path

import bodyscene

WINDOW = 6
SRC = Path(bodyscene.__file__).parent
COMMENT = ("#", "//")
# file -> why its repeated block stays for now (each entry is a debt with an owner, not a licence)
ALLOWED = {
    "humans/page/experiment.js": "the main and practice trials build the same jsPsych trial; issue 12 owns the "
    "study page (fold them into one trial function there)",
}


def normalised_lines(path: Path) -> list[tuple[int, str]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip().rstrip(",")
        if text and not text.startswith(COMMENT):
            out.append((number, text))
    return out


def repeated_blocks(files: list[Path], root: Path, window: int = WINDOW) -> dict[tuple[str, ...], list[str]]:
    """Every run of `window` normalised lines found at two or more places (file:line of each)."""
    seen: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for path in files:
        lines = normalised_lines(path)
        for k in range(len(lines) - window + 1):
            block = tuple(text for _, text in lines[k : k + window])
            seen[block].append(f"{path.relative_to(root)}:{lines[k][0]}")
    return {block: places for block, places in seen.items() if len(places) > 1}


def test_the_check_finds_a_copied_block_even_when_reindented(tmp_path):
    body = ["a = load(path)", "b = a + 1", "c = b * 2", "if c > 3:", "    d = c", "return d"]
    (tmp_path / "one.py").write_text("def f(path):\n" + "".join(f"    {line}\n" for line in body))
    (tmp_path / "two.py").write_text("class K:\n    def g(self, path):\n" + "".join(f"        {x}\n" for x in body))
    (tmp_path / "three.py").write_text("def h(path):\n" + "".join(f"    {line}\n" for line in body[:5]))
    found = repeated_blocks(sorted(tmp_path.glob("*.py")), tmp_path)
    assert list(found.values()) == [["one.py:2", "two.py:3"]]  # five shared lines (three.py) are not a block


def test_no_block_of_six_lines_is_written_twice_in_the_package():
    files = sorted(p for p in SRC.rglob("*") if p.suffix in (".py", ".js") and "__pycache__" not in p.parts)
    found = repeated_blocks(files, SRC)
    unexplained = {
        block: places
        for block, places in found.items()
        if not all(place.rsplit(":", 1)[0] in ALLOWED for place in places)
    }
    report = "\n".join(f"{', '.join(places)}:\n    " + "\n    ".join(block) for block, places in unexplained.items())
    assert not unexplained, f"the same block in several places; write it once and call it:\n{report}"
    assert all((SRC / name).is_file() for name in ALLOWED), "ALLOWED names a file that is gone: drop its entry"
