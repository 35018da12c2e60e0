"""Result files: one JSON record per run plus the same run as a Markdown table row.

Both carry the exact command, the seed and the git commit, so every number in a published table
can be traced to the code and invocation that produced it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic

COLUMNS = ("dataset", "classifier", "defense", "attack", "eps", "n", "clean acc", "attacked acc [95% CI]", "seed",
           "commit", "command")


def _percent(block: dict[str, Any] | None) -> str:
    if not block:
        return "-"
    low, high = block["ci95"]
    return f"{100 * block['accuracy']:.1f} [{100 * low:.1f}, {100 * high:.1f}]"


def markdown_header() -> str:
    return "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS)


def markdown_row(record: dict[str, Any]) -> str:
    attack = record["attack"]
    cells = [
        record["dataset"], Path(record["classifier"]["path"]).name, record["defense"]["defense"],
        attack["attack"] + (" (BPDA)" if attack.get("bpda") else ""), str(attack.get("eps", "-")),
        str(record["clean"]["n"]), _percent(record["clean"]), _percent(record.get("attacked")), str(record["seed"]),
        (record["commit"] or "unknown")[:12], f"`{record['command']}`",
    ]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def write_result(record: dict[str, Any], out: str | Path) -> tuple[Path, Path]:
    """Write ``out`` (JSON) and the same stem with ``.md``; returns both paths."""
    json_path = Path(out)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    md_path = json_path.with_suffix(".md")
    write_text_atomic(json_path, json.dumps(record, indent=2, sort_keys=True) + "\n")
    write_text_atomic(md_path, markdown_header() + "\n" + markdown_row(record) + "\n")
    return json_path, md_path
