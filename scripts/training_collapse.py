"""Rerun the (s)DAE collapse sweep of results/training_collapse/README.md.

    nice -n 10 python scripts/training_collapse.py --out results/training_collapse/sweep.json
    nice -n 10 python scripts/training_collapse.py --only fashion --out results/training_collapse/fashion.json
    python scripts/training_collapse.py --table results/training_collapse/*.json   # the README's rows

``digits``: scikit-learn's digits in MNIST's layout (scripts/make_digits.py), ``train_dae`` at the
CLI's defaults (10 epochs, batch 128, Adam 1e-3, sigma 0.3, kernel 5) for each width and seed,
"before" (PyTorch's default output bias, the old recipe) and "after" (output bias at the logit of
the data's mean); ``sdae`` the same for the sDAE under classifier A trained on the digits (seed 0).
``fashion``: the first ``--fashion-train`` Fashion-MNIST training images, one epoch, before/after,
scored on the 5,000 validation images the CLI holds out. Each run's numbers are appended to
``--out`` (JSON, rewritten atomically after every run) so an interrupted sweep keeps what it did.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import torch  # noqa: E402
from make_digits import digits_mnist_layout  # noqa: E402

from malade_export.atomic import write_text_atomic  # noqa: E402
from malade_export.data import ImageSet, default_val_size, load_split, train_val_split  # noqa: E402
from malade_export.models.dae import DenoisingAutoencoder  # noqa: E402
from malade_export.train import Denoiser, Supervision, TrainSettings, train_classifier, train_dae  # noqa: E402

FIXED_START = DenoisingAutoencoder.start_at_mean


def recipe(name: str) -> None:
    """'after' = the current recipe; 'before' = the output bias left at PyTorch's default init."""
    DenoisingAutoencoder.start_at_mean = FIXED_START if name == "after" else (lambda self, mean: None)


def quiet(_: str) -> None:
    pass


def digits() -> tuple[ImageSet, ImageSet]:
    x_train, y_train, _, _ = digits_mnist_layout()
    full = ImageSet(x_train[:, None].astype("float32") / 255.0, y_train.astype("int64"))
    return train_val_split(full, default_val_size(len(full), None))


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"


def run_one(kind: str, train: ImageSet, val: ImageSet, width: int, seed: int, name: str, epochs: int,
            classifier: torch.nn.Module | None) -> dict[str, Any]:
    recipe(name)
    settings = TrainSettings(epochs=epochs, seed=seed, dataset=kind, command="scripts/training_collapse.py")
    started = time.perf_counter()
    supervision = Supervision(classifier) if classifier is not None else None
    result = train_dae(train, val, settings, denoiser=Denoiser(width, 5), supervision=supervision, log=quiet)
    verdict = result.config["usefulness"]
    return {"set": kind, "model": "sdae" if classifier is not None else "dae", "recipe": name, "channels": width,
            "seed": seed, "epochs": epochs, "train_size": len(train), "val_size": len(val),
            "val_recon_mse_per_epoch": [round(h["val_recon_mse"], 5) for h in result.config["training"]["history"]],
            "usefulness": verdict, "seconds": round(time.perf_counter() - started, 1)}


def table(paths: list[str]) -> str:
    """Markdown rows (one per run) from sweep JSON files, sorted by set, model, width, recipe and seed."""
    runs = [run for path in paths for run in json.loads(Path(path).read_text())["runs"]]
    runs.sort(key=lambda r: (r["set"], r["model"], -r["channels"], r["recipe"] != "before", r["seed"]))
    lines = ["| set | model | channels | recipe | seed | val recon MSE per epoch | pixel variance | ratio | "
             "accuracy on recon / clean | check | seconds |", "|---" * 11 + "|"]
    for r in runs:
        u = r["usefulness"]
        acc = (f"{u['recon_accuracy']:.3f} / {u['clean_accuracy']:.3f}" if u.get("clean_accuracy") is not None
               else "")
        epochs = " ".join(f"{v:.4f}" for v in r["val_recon_mse_per_epoch"])
        lines.append(f"| {r['set']} | {r['model']} | {r['channels']} | {r['recipe']} | {r['seed']} | {epochs} | "
                     f"{u['pixel_variance']:.4f} | {u['recon_mse'] / u['pixel_variance']:.2f} | {acc} | "
                     f"{'pass' if u['passed'] else 'FAIL'} | {r['seconds']} |")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--table"]:
        print(table(sys.argv[2:]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", choices=["digits", "sdae", "fashion"], action="append")
    parser.add_argument("--widths", default="64,48")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--recipes", default="before,after")
    parser.add_argument("--fashion-train", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    parts = args.only or ["digits", "sdae", "fashion"]
    widths = [int(w) for w in args.widths.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    recipes = args.recipes.split(",")
    record: dict[str, Any] = {"cpu": cpu_name(), "torch": torch.__version__, "threads": args.threads,
                              "command": " ".join(sys.argv), "runs": []}
    out = Path(args.out)
    if out.is_file():
        record["runs"] = json.loads(out.read_text())["runs"]
    done = {(r["set"], r["model"], r["recipe"], r["channels"], r["seed"]) for r in record["runs"]}

    def add(row: dict[str, Any]) -> None:
        record["runs"].append(row)
        write_text_atomic(out, json.dumps(record, indent=1) + "\n")
        u = row["usefulness"]
        acc = f" acc {u['recon_accuracy']:.3f}/{u['clean_accuracy']:.3f}" if u.get("clean_accuracy") is not None else ""
        print(f"{row['set']} {row['model']} {row['recipe']} c{row['channels']} seed {row['seed']}: val recon "
              f"{u['recon_mse']:.4f} (variance {u['pixel_variance']:.4f}){acc} passed={u['passed']} "
              f"[{row['seconds']} s]", flush=True)

    if "digits" in parts or "sdae" in parts:
        train, val = digits()
        classifier = None
        if "sdae" in parts:
            recipe("after")
            classifier = train_classifier("A", train, val, TrainSettings(epochs=10, seed=0), log=quiet).model
        for part in [p for p in ("digits", "sdae") if p in parts]:
            for name in recipes:
                for width in widths:
                    for seed in seeds:
                        model = "sdae" if part == "sdae" else "dae"
                        if ("digits", model, name, width, seed) in done:
                            continue
                        add(run_one("digits", train, val, width, seed, name, 10,
                                    classifier if part == "sdae" else None))
    if "fashion" in parts:
        full = load_split("fashion-mnist", "train")
        train, val = train_val_split(full, 5000)
        train = train.subset(slice(0, args.fashion_train))
        for name in recipes:
            for width in widths:
                for seed in seeds:
                    if ("fashion-mnist", "dae", name, width, seed) not in done:
                        add(run_one("fashion-mnist", train, val, width, seed, name, 1, None))


if __name__ == "__main__":
    main()
