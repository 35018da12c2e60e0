"""The latency figure: median latency vs chain length N per backend (log scale), one panel per batch,
with Defense-GAN's settings as horizontal lines, since its cost does not depend on N.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_latency(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    batches = report["config"]["batches"]
    steps = report["config"]["dgan_steps"]
    fig, axes = plt.subplots(1, len(batches), figsize=(5.5 * len(batches), 4.8), squeeze=False)
    for ax, batch in zip(axes[0], batches, strict=True):
        malade = [r for r in report["rows"] if r["kind"] == "malade" and r["batch"] == batch]
        for backend in dict.fromkeys(r["backend"] for r in malade):
            points = sorted((r["steps"], r["median_ms"]) for r in malade if r["backend"] == backend)
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"Malade, {backend}")
        for row in report["rows"]:
            if row["kind"] == "defensegan" and row["batch"] == batch and row["steps"] == steps:
                how = " (scaled)" if row["extrapolated"] else ""
                ax.axhline(row["median_ms"], linestyle="--", color="black" if row["restarts"] > 1 else "gray",
                           label=f"Defense-GAN L={steps}, R={row['restarts']}{how}")
        ax.set_yscale("log")
        ax.set_xlabel("Langevin steps N")
        ax.set_ylabel("median latency per batch (ms)")
        ax.set_title(f"batch {batch}")
        ax.set_xticks(report["config"]["steps"])
        ax.grid(True, which="both", alpha=0.3)
    legend: dict[str, Any] = {}  # one legend below the panels: inside, it hid the Defense-GAN lines
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    rows = (len(legend) + 3) // 4
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=4, fontsize=7, frameon=False)
    env = report["environment"]
    fig.suptitle(f"Malade vs Defense-GAN, {env['cpu_model']}, {env['threads']} threads",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0.05 * rows, 1, 1))
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
