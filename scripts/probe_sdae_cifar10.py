"""One short run of the paper's sDAE (64 ch, 5x5, sigma 0.3) on CIFAR-10 (JPEG copy), supervised by a classifier.

Trains on a random subset of the training split (not ``--limit``, which takes the first, one-class
images of a class-sorted folder) and measures on random validation images, so the denoiser sweep
has a baseline row. Usage:
    python scripts/probe_sdae_cifar10.py CLASSIFIER [--data /tmp/cifar] [--epochs 2] [--train 5000] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from malade_export.checkpoint import load_checkpoint  # noqa: E402
from malade_export.data import load_split, train_val_split  # noqa: E402
from malade_export.train import (  # noqa: E402
    Denoiser,
    Supervision,
    TrainSettings,
    accuracy,
    reconstruction_mse,
    train_dae,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("classifier")
    parser.add_argument("--data", default="/tmp/cifar")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--probe", type=int, default=500)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if not (Path(args.data) / "train").is_dir():
        sys.exit(f"Error: CIFAR-10 image folder {args.data}/train not found; "
                 "unpack ../shared/data/cifar10-jpg.tar.gz there")
    clf = load_checkpoint(args.classifier, "classifier")
    train, val = train_val_split(load_split(f"folder:{args.data}", "train"), 5000)
    small = train.subset(np.sort(np.random.default_rng(0).permutation(len(train))[:args.train]))
    probe = val.subset(np.sort(np.random.default_rng(1).permutation(len(val))[:args.probe]))
    settings = TrainSettings(epochs=args.epochs, batch_size=128, lr=1e-3, seed=0, dataset=f"folder:{args.data}")
    start = time.time()
    result = train_dae(small, probe, settings, sigma=0.3, denoiser=Denoiser(64, 5),
                       supervision=Supervision(clf.model), log=lambda line: print(line, flush=True))
    record = {"clean_val_accuracy": accuracy(clf.model, probe), "pixel_variance": float(probe.images.var()),
              "seconds": round(time.time() - start, 1), "val_recon_mse": reconstruction_mse(result.model, probe),
              "val_accuracy_on_recon": accuracy(clf.model, probe, transform=result.model),
              "history": result.config["training"]["history"], "usefulness": result.config.get("usefulness"),
              "train_images": args.train, "probe_images": args.probe, "command": " ".join(sys.argv)}
    text = json.dumps(record, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
