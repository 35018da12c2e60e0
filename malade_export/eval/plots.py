"""Accuracy plots for a folder of result records: vs the attack's eps and vs the chain's steps N.

Each curve joins runs that differ only in the plotted knob, so a line never mixes settings; every
point carries its 95% Wilson interval because at n = 100 it is about +-10 points wide.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

Record = dict[str, Any]
Block = dict[str, Any]
# What the chain's steps N determines; everything else in the defence must match to share a curve.
STEP_KEYS = ("steps", "alphas", "deltas")


def _errorbar(ax: Any, by_x: dict[float, Block], label: str, **style: Any) -> str:
    """One series in percent with asymmetric error bars (Wilson intervals are not symmetric); its colour."""
    xs = sorted(by_x)
    acc = [100 * by_x[x]["accuracy"] for x in xs]
    below = [a - 100 * by_x[x]["ci95"][0] for a, x in zip(acc, xs, strict=True)]
    above = [100 * by_x[x]["ci95"][1] - a for a, x in zip(acc, xs, strict=True)]
    return ax.errorbar(xs, acc, yerr=[below, above], marker="o", capsize=3, label=label, **style)[0].get_color()


def _save(fig: Any, ax: Any, path: str | Path, xlabel: str, title: str) -> None:
    import matplotlib.pyplot as plt

    ax.set(xlabel=xlabel, ylabel="accuracy (%)", ylim=(0, 100), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4))


def _attack_label(attack: dict[str, Any]) -> str:
    return attack["attack"] + (" (BPDA)" if attack.get("bpda") else "")


def _setting(record: Record, attack_drop: tuple[str, ...] = (), defense_drop: tuple[str, ...] = ()) -> str:
    """Everything that must match for two runs to share a curve, less the plotted knob's keys."""
    attack = {k: v for k, v in record["attack"].items() if k not in attack_drop}
    defense = {k: v for k, v in record["defense"].items() if k not in defense_drop}
    kept = ("dataset", "test_slice", "classifier", "denoiser", "seed")
    return json.dumps({**{k: record.get(k) for k in kept}, "attack": attack, "defense": defense}, sort_keys=True)


def plot_accuracy_vs_eps(records: list[Record], path: str | Path) -> int:
    """One line per setting swept over eps, with 95% error bars; the number of lines (0: nothing to plot)."""
    curves: dict[str, dict[float, Block]] = defaultdict(dict)
    for r in records:
        if r["attack"].get("eps") is not None and r.get("attacked"):
            curves[_setting(r, attack_drop=("eps",))][r["attack"]["eps"]] = r["attacked"]
    curves = {k: v for k, v in curves.items() if len(v) > 1}
    if not curves:
        return 0
    fig, ax = _figure()
    for setting, by_eps in sorted(curves.items()):
        s = json.loads(setting)
        classifier = Path((s.get("classifier") or {}).get("path", "?")).stem
        _errorbar(ax, by_eps, f"{s['defense']['defense']} / {_attack_label(s['attack'])} ({classifier})")
    _save(fig, ax, path, "eps (L-inf)", "accuracy vs eps (95% Wilson CI)")
    return len(curves)


def plot_accuracy_vs_steps(records: list[Record], path: str | Path) -> bool:
    """Attacked (solid) and clean (dashed) accuracy over the chain's N; False when no setting varies N."""
    runs: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if "schedule" in r["defense"]:  # chain defences only: Defense-GAN's "steps" is its GD length L
            runs[_setting(r, defense_drop=STEP_KEYS)].append(r)
    curves = [rs for rs in runs.values() if len({r["defense"]["steps"] for r in rs}) > 1]
    if not curves:
        return False
    fig, ax = _figure()
    for rs in sorted(curves, key=lambda rs: _setting(rs[0], defense_drop=STEP_KEYS)):
        label = f"{rs[0]['defense']['defense']} / {_attack_label(rs[0]['attack'])}"
        if "eps" in rs[0]["attack"]:
            label += f" eps={rs[0]['attack']['eps']}"
        color = None  # the clean line takes its attacked line's colour
        if rs[0].get("attacked"):
            color = _errorbar(ax, {r["defense"]["steps"]: r["attacked"] for r in rs}, f"{label}: attacked")
        _errorbar(ax, {r["defense"]["steps"]: r["clean"] for r in rs}, f"{label}: clean", linestyle="--",
                  color=color)
    _save(fig, ax, path, "chain steps N", "accuracy vs steps N (95% Wilson CI)")
    return True
