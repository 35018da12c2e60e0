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
    fig, axes = plt.subplots(1, len(batches), figsize=(5.5 * len(batches), 4.2), squeeze=False)
    for ax, batch in zip(axes[0], batches):
        malade = [r for r in report["rows"] if r["kind"] == "malade" and r["batch"] == batch]
        for backend in dict.fromkeys(r["backend"] for r in malade):
            points = sorted((r["steps"], r["median_ms"]) for r in malade if r["backend"] == backend)
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"Malade, {backend}")
        for row in report["rows"]:
            if row["kind"] == "defensegan" and row["batch"] == batch and row["steps"] == steps:
                how = " (scaled)" if row["extrapolated"] else ""
                ax.axhline(row["median_ms"], linestyle="--", color="C3" if row["restarts"] > 1 else "C5",
                           label=f"Defense-GAN L={steps}, R={row['restarts']}{how}")
        ax.set_yscale("log")
        ax.set_xlabel("Langevin steps N")
        ax.set_ylabel("median latency per batch (ms)")
        ax.set_title(f"batch {batch}")
        ax.set_xticks(report["config"]["steps"])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"Malade vs Defense-GAN, {report['environment']['cpu_model']}, {report['environment']['threads']} threads",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
