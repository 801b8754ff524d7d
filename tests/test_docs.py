"""The documentation says what the code does: formats match schema.py, cited tests exist, the site builds strictly."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bodyscene import schema

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MARKER = re.compile(r"<!-- schema: ([\w.]+) -->")


def documented_tables(text: str) -> dict[str, list[str]]:
    """Each `<!-- schema: NAME -->` marker and the first cells (backticks stripped) of the table right below it."""
    tables: dict[str, list[str]] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = MARKER.search(line)
        if not m:
            continue
        rows = []
        for row in lines[i + 1 :]:
            if not row.startswith("|"):
                break
            rows.append(row.split("|")[1].strip().strip("`"))
        tables[m.group(1)] = rows[2:]  # after the header and the |---| line
    return tables


def schema_tables() -> dict[str, tuple[str, ...]]:
    """Every table of names the code defines: schema.py's tuples of strings, and the experiment runner's two tails."""
    tables = {
        name: value
        for name, value in vars(schema).items()
        if name.isupper() and isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    }
    runner = importlib.import_module("bodyscene.experiments.runner")
    tables["experiments.runner.TABLE_TAIL"] = runner.TABLE_TAIL
    tables["experiments.runner.RECORD_TAIL"] = runner.RECORD_TAIL
    return tables


def test_the_formats_page_lists_every_schema_table_in_the_codes_order():
    documented = documented_tables((DOCS / "formats.md").read_text())
    expected = schema_tables()
    missing = sorted(set(expected) - set(documented))
    assert not missing, f"docs/formats.md has no `<!-- schema: NAME -->` table for {missing}"
    for name, columns in expected.items():
        assert documented[name] == list(columns), f"docs/formats.md table {name} differs from the code"
    stale = sorted(set(documented) - set(expected))
    assert not stale, f"docs/formats.md documents tables the code no longer has: {stale}"


def test_the_table_reader_sees_a_wrong_column():
    text = "<!-- schema: X -->\n| column | meaning |\n|---|---|\n| `a` | first |\n| `c` | second |\n\nafter\n"
    assert documented_tables(text) == {"X": ["a", "c"]}


def test_every_test_the_docs_cite_exists():
    cited = set()
    for page in [*DOCS.glob("*.md"), ROOT / "README.md"]:
        cited |= set(re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?", page.read_text()))
    assert cited
    for path, name in cited:
        file = ROOT / path
        assert file.is_file(), f"the docs cite {path}, which does not exist"
        if name:
            assert re.search(rf"^def {name}\(", file.read_text(), re.M), f"the docs cite {path}::{name}, not there"


def test_the_readme_fits_in_12_kb_and_its_links_resolve():
    readme = ROOT / "README.md"
    assert readme.stat().st_size <= 12 * 1024, f"README.md is {readme.stat().st_size} bytes; move detail to docs/"
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme.read_text()):
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"


def test_citation_file_names_the_paper_and_the_toolkit():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"].startswith("1.2")
    assert cff["type"] == "software" and cff["title"] and cff["authors"] and cff["version"]
    paper = cff["preferred-citation"]
    assert "2512.07729" in paper["url"] and paper["authors"] and paper["title"]


@pytest.mark.skipif(
    shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None, reason="mkdocs not installed"
)
def test_the_site_builds_with_no_warning(tmp_path):
    """mkdocs.yml sets strict: a broken link, a missing anchor or an unreadable page fails the build."""
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    done = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "formats" / "index.html").is_file()
