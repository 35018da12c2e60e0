"""The README is the front door: short, and every link in it (and in docs/) leads to a file of the repository."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def local_links(page: Path) -> list[str]:
    """Link targets that are not web addresses or in-page anchors."""
    targets = [m.group(1) for m in LINK.finditer(page.read_text())]
    return [t for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_the_link_finder_sees_relative_links_and_skips_web_ones(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("[a](docs/x.md) [b](https://example.org) [c](#top) [d](../y.md#part)")
    assert local_links(page) == ["docs/x.md", "../y.md#part"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves_to_a_file_in_the_repository(page):
    missing = [t for t in local_links(page) if not (page.parent / t.split("#")[0]).resolve().is_file()]
    assert missing == []
    for target in local_links(page):
        assert (page.parent / target.split("#")[0]).resolve().is_relative_to(ROOT)


def test_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    assert ("python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 . && "
            ".venv/bin/malade-export --steps 10 out.onnx") in text
    assert "bash scripts/test.sh" in text
    assert not re.search(r"\b[0-9a-f]{7,40}\b", text.replace("1805.12017", "")), "commit hashes belong in results/"
