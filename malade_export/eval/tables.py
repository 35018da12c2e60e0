"""Collect a folder of result JSONs into one Markdown table and an accuracy-vs-eps plot.

``python -m malade_export.eval.tables results/quick`` writes ``table.md`` and
``accuracy_vs_eps.png`` there (what ``scripts/reproduce_tables.sh`` calls after its runs).
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from .report import markdown_header, markdown_row


def load_records(folder: str | Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(Path(folder).glob("*.json"))]


def markdown_table(records: list[dict[str, Any]]) -> str:
    return "\n".join([markdown_header(), *(markdown_row(r) for r in records)]) + "\n"


def plot_accuracy_vs_eps(records: list[dict[str, Any]], path: str | Path) -> bool:
    """One line per (defence, attack) over eps, with 95% error bars; False when nothing varies eps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # One curve = one defence under one attack whose settings differ only in eps.
    curves: dict[tuple[str, str], dict[float, tuple[float, float, float]]] = defaultdict(dict)
    for r in records:
        attack, attacked = dict(r["attack"]), r.get("attacked")
        eps = attack.pop("eps", None)
        if eps is not None and attacked:
            low, high = attacked["ci95"]
            key = (r["defense"]["defense"], json.dumps(attack, sort_keys=True))
            curves[key][eps] = (attacked["accuracy"], attacked["accuracy"] - low, high - attacked["accuracy"])
    curves = {k: v for k, v in curves.items() if len(v) > 1}
    if not curves:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    for (defense, attack_json), by_eps in sorted(curves.items()):
        attack = json.loads(attack_json)
        label = f"{defense} / {attack['attack']}" + (" (BPDA)" if attack.get("bpda") else "")
        eps, acc, below, above = zip(*((e, *by_eps[e]) for e in sorted(by_eps)))
        ax.errorbar(eps, [100 * a for a in acc], yerr=[[100 * b for b in below], [100 * a for a in above]],
                    marker="o", capsize=3, label=label)
    ax.set(xlabel="eps (L-inf)", ylabel="accuracy (%)", ylim=(0, 100), title="accuracy vs eps (95% Wilson CI)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m malade_export.eval.tables RESULTS_FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    records = load_records(folder)
    if not records:
        print(f"no result JSON files in {folder}", file=sys.stderr)
        return 1
    write_text_atomic(folder / "table.md", markdown_table(records))
    plotted = plot_accuracy_vs_eps(records, folder / "accuracy_vs_eps.png")
    print(f"wrote {folder / 'table.md'} ({len(records)} rows)" + (" and accuracy_vs_eps.png" if plotted else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
