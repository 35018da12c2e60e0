"""Collect a folder of result JSONs into the paper's tables, a flat list of every run, and plots.

``python -m malade_export.eval.tables results/quick`` writes there ``table.md`` (Tables 1, 2, 3, 5
and the adaptive-attack table, then the provenance of every run), ``all_rows.md`` (one flat row per
run), ``accuracy_vs_eps.png`` and, when runs differ only in the chain's steps N,
``accuracy_vs_steps.png`` (what ``scripts/reproduce_tables.sh`` calls after its runs).
Tables are rebuilt from whatever records are there; a cell with no run shows "–".
"""
from __future__ import annotations

import json
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..attacks import ATTACKS, PGD, BlackBox
from ..defenses import DEFENSES, Malade
from .plots import plot_accuracy_vs_eps, plot_accuracy_vs_steps
from .report import markdown_header, markdown_row
from .stats import Accuracy

Record = dict[str, Any]
DEFENSE_ORDER = DEFENSES.names()  # the paper's order: columns of every table
WHITE_BOX = tuple(name for name in ATTACKS.names() if ATTACKS.get(name).paper_white_box)  # Table 2's attacks
TABLE1_EPS = 0.3
MISSING = "–"
DAGGER = "†"
BPDA_NOTE = (f"{DAGGER} attacked through BPDA: the purifier runs forward and counts as the identity backward, "
             "because the defence has no input gradient (Defense-GAN) or `--bpda` was given.")


def load_records(folder: str | Path) -> dict[str, Record]:
    """Records by file name: the name is how the provenance list points back at each run."""
    return {path.name: json.loads(path.read_text()) for path in sorted(Path(folder).glob("*.json"))}


def markdown_table(records: list[Record]) -> str:
    return "\n".join([markdown_header(), *(markdown_row(r) for r in records)]) + "\n"


def classifier(record: Record) -> str:
    return Path(record["classifier"]["path"]).stem


def accuracy(block: dict[str, Any]) -> str:
    return str(Accuracy(block["correct"], block["n"]))


def cell(records: list[Record], block: str = "attacked", mark_bpda: bool = False) -> str:
    """All runs that land in one cell (e.g. a sweep over a knob the table does not show), none dropped."""
    values = [accuracy(r[block]) + (DAGGER if mark_bpda and r["attack"].get("bpda") else "")
              for r in records if r.get(block)]
    return "; ".join(values) or MISSING


def grid(row_header: tuple[str, ...], rows: list[tuple[str, ...]], columns: list[str],
         cells: dict[tuple[tuple[str, ...], str], str]) -> str:
    lines = ["| " + " | ".join([*row_header, *columns]) + " |", "|" + "---|" * (len(row_header) + len(columns))]
    lines += ["| " + " | ".join([*row, *(cells.get((row, c), MISSING) for c in columns)]) + " |" for row in rows]
    return "\n".join(lines)


def group(records: list[Record], key: Callable[[Record], Hashable]) -> dict[Any, list[Record]]:
    groups: dict[Any, list[Record]] = defaultdict(list)
    for r in records:
        groups[key(r)].append(r)
    return groups


def defences(records: list[Record]) -> list[str]:
    """The registered defences in their order (even if not run, so gaps show), then any other defence found."""
    names = {r["defense"]["defense"] for r in records}
    return [*DEFENSE_ORDER, *sorted(names - set(DEFENSE_ORDER))]


def defence_grid(records: list[Record], row: Callable[[Record], tuple[str, ...]], row_header: tuple[str, ...],
                 block: str = "attacked", mark_bpda: bool = False) -> str:
    """Rows as ``row`` says (in first-seen order), one column per defence."""
    by_cell = group(records, lambda r: (row(r), r["defense"]["defense"]))
    cells = {k: cell(rs, block, mark_bpda) for k, rs in by_cell.items()}
    return grid(row_header, list(dict.fromkeys(map(row, records))), defences(records), cells)


def per_classifier(records: list[Record], render: Callable[[list[Record]], str]) -> str:
    """One table per classifier, labelled only when there are several."""
    groups = group(sorted(records, key=classifier), classifier)
    if len(groups) == 1:
        return render(records)
    return "\n\n".join(f"**{name}**\n\n{render(rs)}" for name, rs in groups.items())


def values(records: list[Record], get: Callable[[Record], Any]) -> str:
    return ", ".join(str(v) for v in sorted(set(map(get, records))))


def caption(records: list[Record]) -> str:
    return (f"_Data set {values(records, lambda r: r['dataset'])}; n = {values(records, lambda r: r['clean']['n'])}; "
            f"seed {values(records, lambda r: r['seed'])}; {len(records)} runs. "
            "Cells: accuracy % [95% Wilson CI]; – = not run._")


def section(title: str, records: list[Record], body: Callable[[list[Record]], str]) -> str:
    text = f"{caption(records)}\n\n{body(records)}" if records else "_No matching runs in this folder._"
    return f"## {title}\n\n{text}\n"


def eps_of(record: Record) -> float | None:
    return record["attack"].get("eps")


def blackbox(records: list[Record]) -> list[Record]:
    return [r for r in records if r["attack"]["attack"] == BlackBox.name]


def table1(records: list[Record]) -> str:
    chosen = sorted((r for r in blackbox(records) if math.isclose(eps_of(r) or 0.0, TABLE1_EPS)), key=classifier)
    return section(f"Table 1 – black-box FGSM, ε = {TABLE1_EPS}", chosen, lambda rs: (
        f"Attacked accuracy:\n\n{defence_grid(rs, lambda r: (classifier(r),), ('classifier',))}\n\n"
        f"Clean accuracy:\n\n{defence_grid(rs, lambda r: (classifier(r),), ('classifier',), 'clean')}"))


def attack_label(record: Record, show_bpda: bool = True) -> str:
    attack, eps = record["attack"], eps_of(record)
    label = ATTACKS.get(attack["attack"]).title if attack["attack"] in ATTACKS else attack["attack"]
    return label + (" (BPDA)" if show_bpda and attack.get("bpda") else "") + (f" ε={eps}" if eps is not None else "")


def table2(records: list[Record]) -> str:
    chosen = sorted((r for r in records if r["attack"]["attack"] in WHITE_BOX), key=lambda r: (
        classifier(r), WHITE_BOX.index(r["attack"]["attack"]), eps_of(r) or 0.0))
    return section("Table 2 – white-box attacks", chosen, lambda rs: (
        defence_grid(rs, lambda r: (classifier(r), attack_label(r, False)), ("classifier", "attack"), mark_bpda=True)
        + f"\n\n{BPDA_NOTE}"))


def swept(records: list[Record], knob: Callable[[Record], Any]) -> list[Record]:
    """Only the classifiers whose runs take more than one value of ``knob``: a lone point is no sweep."""
    keep = {name for name, rs in group(records, classifier).items() if len({knob(r) for r in rs}) > 1}
    return [r for r in records if classifier(r) in keep]


def table3(records: list[Record]) -> str:
    chosen = sorted(swept([r for r in blackbox(records) if eps_of(r) is not None], eps_of), key=eps_of)
    return section("Table 3 – black-box FGSM over ε", chosen, lambda rs: per_classifier(
        rs, lambda some: defence_grid(some, lambda r: (str(eps_of(r)),), ("ε",))))


def sigma_of(record: Record) -> float:
    return record["defense"]["sigma"]


def sigma_grid(records: list[Record]) -> str:
    """Rows sigma; per attack setting run at more than one sigma, its attacked and its clean accuracy
    (a smaller sigma keeps more clean accuracy, so the attacked column alone would mislead)."""
    by_attack = {a: rs for a, rs in group(records, attack_label).items() if len({sigma_of(r) for r in rs}) > 1}
    cells = {}
    for a, runs in by_attack.items():
        for s, rs in group(runs, sigma_of).items():
            cells[(str(s),), a] = cell(rs)
            cells[(str(s),), f"clean ({a})"] = cell(rs, "clean")
    sigmas = sorted({sigma_of(r) for rs in by_attack.values() for r in rs})
    columns = [c for a in by_attack for c in (a, f"clean ({a})")]
    return grid(("σ",), [(str(s),) for s in sigmas], columns, cells)


def table5(records: list[Record]) -> str:
    """Only the attack settings run at several sigma (per classifier), so the caption counts what is shown."""
    malade = [r for r in records if r["defense"]["defense"] == Malade.name and r.get("attacked")]
    chosen = [r for rs in group(malade, lambda r: (classifier(r), attack_label(r))).values()
              if len({sigma_of(r) for r in rs}) > 1 for r in rs]
    return section("Table 5 – Malade over the sDAE's σ", chosen,
                   lambda rs: per_classifier(rs, sigma_grid))


def adaptive_column(record: Record) -> str:
    """Attack, its step count and eps: a 100-step run is a different attack from a 20-step one."""
    attack = record["attack"]
    return f"{'BPDA' if attack.get('bpda') else 'PGD'}-{attack.get('steps')} ε={eps_of(record)}"


def adaptive_row(record: Record) -> tuple[str]:
    """The EOT draws belong to the row: a deterministic defence gains nothing from more than one."""
    eot = record["attack"].get("eot", 1)
    return (record["defense"]["defense"] + (f" (EOT {eot})" if eot > 1 else ""),)


def adaptive_grid(records: list[Record]) -> str:
    """Rows: only the defences that were attacked adaptively; columns: full-gradient PGD first, then BPDA."""
    ordered = sorted(records, key=lambda r: (bool(r["attack"].get("bpda")), eps_of(r), r["attack"].get("steps", 0)))
    by_cell = group(ordered, lambda r: (adaptive_row(r), adaptive_column(r)))
    cells = {k: cell(rs) for k, rs in by_cell.items()}
    order = {name: i for i, name in enumerate(defences(records))}
    eot = {adaptive_row(r): r["attack"].get("eot", 1) for r in records}
    rows = sorted(eot, key=lambda row: (order[row[0].split(" ")[0]], eot[row]))  # EOT 5 before EOT 20
    return grid(("defence",), rows, list(dict.fromkeys(map(adaptive_column, ordered))), cells)


def table_adaptive(records: list[Record]) -> str:
    chosen = [r for r in records if r["attack"]["attack"] == PGD.name]
    return section("Adaptive attacks – PGD through the chain (EOT) and with BPDA", chosen,
                   lambda rs: per_classifier(rs, adaptive_grid))


def provenance_list(records: dict[str, Record]) -> str:
    """Each run's command and commit once, so table cells stay short yet every number is traceable."""
    lines = [f"- `{name}` (commit `{(r['commit'] or 'unknown')[:12]}`): `{r['command']}`"
             for name, r in records.items()]
    return "## Provenance\n\n" + "\n".join(lines) + "\n"


def usual_settings(records: list[Record], knobs: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    """Per chain defence, the ``knobs`` values most of its runs use (the first seen on a tie)."""
    chains = group([r for r in records if "schedule" in r["defense"]], lambda r: r["defense"]["defense"])
    return {name: Counter(tuple(r["defense"][k] for k in knobs) for r in rs).most_common(1)[0][0]
            for name, rs in chains.items()}


def at_usual(records: list[Record], knobs: tuple[str, ...]) -> list[Record]:
    """Drop chain runs off their defence's usual ``knobs``: a sigma or N sweep otherwise shares every other
    setting with Table 1's run and would pile into its cell (sweeps have Table 5 and the steps plot)."""
    usual = usual_settings(records, knobs)
    return [r for r in records if "schedule" not in r["defense"]
            or tuple(r["defense"][k] for k in knobs) == usual[r["defense"]["defense"]]]


def grouped_tables(records: dict[str, Record]) -> str:
    """``table.md``: the paper's layouts, then the provenance list they point to."""
    runs = list(records.values())
    usual = at_usual(runs, ("sigma", "steps"))
    parts = [table(usual) for table in (table1, table2, table3)]
    parts += [table5(at_usual(runs, ("steps",))), table_adaptive(usual)]
    settings = "; ".join(f"{name} σ = {sigma}, N = {steps}"
                         for name, (sigma, steps) in sorted(usual_settings(runs, ("sigma", "steps")).items()))
    intro = ("# Robustness tables\n\nEvery run as one flat row, with its settings: `all_rows.md`."
             + (f" Chain defences appear at their usual σ and N ({settings}); other σ only in Table 5,"
                " other N only in `accuracy_vs_steps.png`." if settings else "") + "\n")
    return "\n".join([intro, *parts, provenance_list(records)])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m malade_export.eval.tables RESULTS_FOLDER", file=sys.stderr)
        return 2
    folder = Path(argv[0])
    records = load_records(folder)
    if not records:
        print(f"no result JSON files in {folder}", file=sys.stderr)
        return 1
    runs = list(records.values())
    write_text_atomic(folder / "table.md", grouped_tables(records))
    write_text_atomic(folder / "all_rows.md", markdown_table(runs))
    plots = [name for name, plot in (("accuracy_vs_eps.png", plot_accuracy_vs_eps),
                                      ("accuracy_vs_steps.png", plot_accuracy_vs_steps))
             if plot(runs, folder / name)]
    print(f"wrote {folder / 'table.md'} and all_rows.md ({len(runs)} runs)" + "".join(f" and {p}" for p in plots))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
