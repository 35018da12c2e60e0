"""The results folder -> paper tables step: each run lands in the right row and column, gaps show
"–", every run's command is listed once, and the plots appear only when their knob varies."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from torch import nn

from malade_export.chain import MaladeDefense
from malade_export.eval import Accuracy, write_result
from malade_export.eval.plots import plot_accuracy_vs_eps
from malade_export.eval.tables import main, markdown_table

SUBSTITUTE = {"arch": "E", "batch_size": 128, "epochs": 3, "lmbda": 0.1, "lr": 0.001, "rounds": 2, "seed": 0}


def defence(name: str, sigma: float, steps: int) -> dict[str, Any]:
    """As ``ChainDefense.describe`` / ``Defense.describe`` write it (the chain's own describe for the schedule)."""
    if name in ("malade", "mala", "magnet"):
        return {"defense": name, **MaladeDefense(nn.Identity(), nn.Identity(), sigma, (1, 28, 28), steps).describe()}
    if name == "defensegan":
        return {"defense": name, "decay": 0.1, "decay_step": 160, "lr": 10.0, "momentum": 0.7, "restarts": 1,
                "steps": steps}
    return {"defense": name}


def attack(name: str, eps: float, bpda: bool, eot: int, pgd_steps: int = 5) -> dict[str, Any]:
    """As each attack's ``describe`` plus the runner's ``bpda`` flag."""
    info: dict[str, Any] = {
        "blackbox": {"eps": eps, "substitute": SUBSTITUTE, "substitute_training_size": 300},
        "fgsm": {"eps": eps}, "rfgsm": {"eps": eps, "alpha": 0.05},
        "cw": {"c": 100.0, "kappa": 0.0, "lr": 10.0, "search_steps": 1, "steps": 10},
        "pgd": {"eps": eps, "alpha": 0.1, "steps": pgd_steps, "random_start": True, "eot": eot},
    }[name]
    return {"attack": name, **info, "bpda": bpda}


def run(folder: Path, file: str, defense: str, attack_name: str, attacked: int, *, clean: int = 60,
        eps: float = 0.3, bpda: bool = False, eot: int = 1, sigma: float = 0.3, steps: int = 10,
        classifier: str = "classifier_a", seed: int = 0, pgd_steps: int = 5) -> Accuracy:
    """Write one record with the structure ``malade eval --out`` gives; returns its attacked accuracy."""
    record = {
        "dataset": "fashion-mnist", "test_slice": {"holdout": 150, "n": 100, "order": "torch.randperm"},
        "classifier": {"path": f"models/{classifier}.safetensors", "sha256": "0" * 64},
        "denoiser": None, "generator": None, "defense": defence(defense, sigma, steps),
        "attack": attack(attack_name, eps, bpda, eot, pgd_steps),
        "clean": Accuracy(clean, 100).to_dict(), "attacked": Accuracy(attacked, 100).to_dict(),
        "device": "cpu", "seconds": 1.0, "command": f"malade eval --out {file}", "seed": seed, "commit": "c0ffee" * 7,
        "package_version": "0.1.0", "torch_version": "x", "python_version": "3.11", "created": "2026-01-01",
    }
    write_result(record, folder / file)
    return Accuracy(attacked, 100)


def sections(text: str) -> dict[str, str]:
    return {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}


def grids(section: str) -> list[list[dict[str, str]]]:
    """Each Markdown table in ``section`` as rows of {column header: cell}."""
    blocks, current = [], []
    for line in [*section.splitlines(), ""]:
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip("|").split("|")])
        elif current:
            header, _, *rows = current
            blocks.append([dict(zip(header, row, strict=True)) for row in rows])
            current = []
    return blocks


def find(section_text: str, title: str) -> str:
    return next(body for heading, body in sections(section_text).items() if heading.startswith(title))


@pytest.fixture
def folder(tmp_path: Path) -> dict[str, Any]:
    r = {
        "bb_none": run(tmp_path, "bb_none.json", "none", "blackbox", 20, clean=90),
        "bb_none_seed1": run(tmp_path, "bb_none_seed1.json", "none", "blackbox", 22, clean=91, seed=1),
        "bb_malade": run(tmp_path, "bb_malade.json", "malade", "blackbox", 40),
        "bb_malade_n20": run(tmp_path, "bb_malade_n20.json", "malade", "blackbox", 50, steps=20),
        "bb_malade_s05": run(tmp_path, "bb_malade_s05.json", "malade", "blackbox", 25, sigma=0.5),
        "bb_magnet_b": run(tmp_path, "bb_magnet_b.json", "magnet", "blackbox", 30, classifier="classifier_b"),
        "bb_none_01": run(tmp_path, "bb_none_01.json", "none", "blackbox", 70, eps=0.1),
        "fgsm_malade": run(tmp_path, "fgsm_malade.json", "malade", "fgsm", 15),
        "cw_dgan": run(tmp_path, "cw_dgan.json", "defensegan", "cw", 10, bpda=True),
        "pgd_eot": run(tmp_path, "pgd_eot.json", "malade", "pgd", 7, eot=2),
        "pgd_eot10": run(tmp_path, "pgd_eot10.json", "malade", "pgd", 4, eot=10),
        "pgd50": run(tmp_path, "pgd50.json", "malade", "pgd", 3, eot=2, pgd_steps=50),
        "pgd_bpda": run(tmp_path, "pgd_bpda.json", "malade", "pgd", 9, eot=2, bpda=True),
        "pgd_magnet": run(tmp_path, "pgd_magnet.json", "magnet", "pgd", 5, eot=1),
    }
    assert main([str(tmp_path)]) == 0
    return {"path": tmp_path, "acc": r, "table": (tmp_path / "table.md").read_text()}


def test_table1_rows_are_classifiers_and_columns_defences_in_paper_order(folder):
    attacked, clean = grids(find(folder["table"], "Table 1"))
    acc = folder["acc"]
    assert list(attacked[0]) == ["classifier", "none", "magnet", "mala", "malade", "defensegan"]
    rows = {row["classifier"]: row for row in attacked}
    assert set(rows) == {"classifier_a", "classifier_b"}
    # Two seeds of one setting share a cell; the eps = 0.1 run is not Table 1's.
    assert rows["classifier_a"]["none"] == f"{acc['bb_none']}; {acc['bb_none_seed1']}"
    assert rows["classifier_a"]["malade"] == str(acc["bb_malade"])  # the N and sigma sweeps are elsewhere
    assert rows["classifier_b"]["magnet"] == str(acc["bb_magnet_b"])
    assert rows["classifier_a"]["magnet"] == rows["classifier_b"]["none"] == rows["classifier_a"]["mala"] == "–"
    clean_none = {row["classifier"]: row["none"] for row in clean}
    assert clean_none["classifier_a"] == f"{Accuracy(90, 100)}; {Accuracy(91, 100)}"


def test_table2_rows_are_classifier_and_attack_with_bpda_marked(folder):
    section = find(folder["table"], "Table 2")
    (table,) = grids(section)
    rows = {(row["classifier"], row["attack"]): row for row in table}
    acc = folder["acc"]
    assert set(rows) == {("classifier_a", "FGSM ε=0.3"), ("classifier_a", "CW-L2")}  # no black-box, no PGD
    assert rows["classifier_a", "CW-L2"]["defensegan"] == str(acc["cw_dgan"]) + "†"
    assert rows["classifier_a", "FGSM ε=0.3"]["malade"] == str(acc["fgsm_malade"])
    assert rows["classifier_a", "FGSM ε=0.3"]["none"] == "–"
    assert "† attacked through BPDA" in section


def test_table3_rows_eps_only_for_classifiers_with_an_eps_sweep(folder):
    section = find(folder["table"], "Table 3")
    (table_a,) = grids(section)  # classifier_b has one eps only: no sweep, no table
    assert "classifier_b" not in section
    assert [row["ε"] for row in table_a] == ["0.1", "0.3"]
    assert table_a[0]["none"] == str(folder["acc"]["bb_none_01"]) and table_a[0]["malade"] == "–"


def test_sigma_and_adaptive_tables(folder):
    assert "; 2 runs." in find(folder["table"], "Table 5")  # the FGSM and PGD runs at sigma 0.3 alone are not counted
    (sigma,) = grids(find(folder["table"], "Table 5"))
    acc = folder["acc"]
    # Only the attack run at several sigma is a column; the N = 20 run stays out of the sigma = 0.3 row.
    clean = str(Accuracy(60, 100))
    assert sigma == [{"σ": "0.3", "black-box FGSM ε=0.3": str(acc["bb_malade"]), "clean (black-box FGSM ε=0.3)": clean},
                     {"σ": "0.5", "black-box FGSM ε=0.3": str(acc["bb_malade_s05"]),
                      "clean (black-box FGSM ε=0.3)": clean}]
    (adaptive,) = grids(find(folder["table"], "Adaptive"))
    # EOT draws label the row, so defences attacked with different draws still share the columns;
    # rows of one defence go from fewer draws to more (2 before 10, not string order).
    # Columns name the step count: a longer run is another attack, not another sample of one cell.
    assert adaptive == [{"defence": "magnet", "PGD-5 ε=0.3": str(acc["pgd_magnet"]), "PGD-50 ε=0.3": "–",
                         "BPDA-5 ε=0.3": "–"},
                        {"defence": "malade (EOT 2)", "PGD-5 ε=0.3": str(acc["pgd_eot"]),
                         "PGD-50 ε=0.3": str(acc["pgd50"]), "BPDA-5 ε=0.3": str(acc["pgd_bpda"])},
                        {"defence": "malade (EOT 10)", "PGD-5 ε=0.3": str(acc["pgd_eot10"]), "PGD-50 ε=0.3": "–",
                         "BPDA-5 ε=0.3": "–"}]


def test_captions_provenance_and_flat_rows(folder):
    table = folder["table"]
    assert "_Data set fashion-mnist; n = 100; seed 0, 1; 4 runs." in find(table, "Table 1")
    assert "malade σ = 0.3, N = 10" in table.split("\n## ")[0]
    provenance = find(table, "Provenance")
    for name in folder["acc"]:
        assert table.count(f"malade eval --out {name}.json`") == 1
        assert f"- `{name}.json` (commit `c0ffeec0ffee`)" in provenance
    assert len((folder["path"] / "all_rows.md").read_text().splitlines()) == 2 + len(folder["acc"])
    assert (folder["path"] / "accuracy_vs_eps.png").is_file()
    assert (folder["path"] / "accuracy_vs_steps.png").is_file()  # bb_malade at N = 10 and 20


def test_empty_sections_and_no_sigma_sweep(tmp_path):
    run(tmp_path, "only.json", "malade", "blackbox", 40)
    assert main([str(tmp_path)]) == 0
    table = (tmp_path / "table.md").read_text()
    assert "_No matching runs in this folder._" in find(table, "Table 2")
    assert "_No matching runs in this folder._" in find(table, "Table 5")  # one sigma is no sweep


def test_steps_plot_only_when_the_chain_length_alone_varies(tmp_path, capsys):
    # Defense-GAN's "steps" is its descent length, not a chain's N: never a steps curve.
    run(tmp_path, "dgan10.json", "defensegan", "fgsm", 10, steps=10)
    run(tmp_path, "dgan20.json", "defensegan", "fgsm", 10, steps=20)
    run(tmp_path, "n10_s03.json", "malade", "fgsm", 10, steps=10)
    run(tmp_path, "n20_s05.json", "malade", "fgsm", 20, steps=20, sigma=0.5)  # N and sigma both differ
    assert main([str(tmp_path)]) == 0
    assert not (tmp_path / "accuracy_vs_steps.png").exists()
    run(tmp_path, "n20_s03.json", "malade", "fgsm", 20, steps=20)
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / "accuracy_vs_steps.png").read_bytes()[:4] == b"\x89PNG"
    assert "accuracy_vs_steps.png" in capsys.readouterr().out.splitlines()[-1]


def test_cli_usage_and_empty_folder(tmp_path, capsys):
    assert main([]) == 2 and "usage:" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 1 and "no result JSON files" in capsys.readouterr().err


def test_flat_table_and_accuracy_vs_eps_plot(tmp_path):
    def record(eps: float, acc: float, bpda: bool = False, clf: str = "clf") -> dict[str, object]:
        block = Accuracy(int(acc * 100), 100).to_dict()
        return {"dataset": "fashion-mnist", "classifier": {"path": f"{clf}.safetensors"},
                "defense": {"defense": "malade"},
                "attack": {"attack": "fgsm", "eps": eps, "bpda": bpda}, "clean": block, "attacked": block, "seed": 0,
                "commit": None, "command": "malade eval"}

    records = [record(0.1, 0.9), record(0.3, 0.5)]
    assert len(markdown_table(records).splitlines()) == 4
    assert plot_accuracy_vs_eps(records, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    assert not plot_accuracy_vs_eps(records[:1], tmp_path / "single.png")
    # Same eps under two different attacks is two one-point series, not a curve.
    assert not plot_accuracy_vs_eps([record(0.3, 0.5), record(0.3, 0.2, bpda=True)], tmp_path / "mixed.png")
    # Another classifier's run at a new eps is not a point on this classifier's line.
    assert plot_accuracy_vs_eps(records + [record(0.2, 0.7, clf="other")], tmp_path / "two.png") == 1
    assert plot_accuracy_vs_eps(records + [record(0.2, 0.7, clf="other"), record(0.4, 0.1, clf="other")],
                                tmp_path / "three.png") == 2
