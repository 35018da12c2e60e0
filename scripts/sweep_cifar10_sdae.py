"""Sweep sDAE shapes and sigmas for a colour classifier, measured on a validation split.

The paper's sDAE was sized for 28 x 28 grey digits; this trains each candidate briefly on a random
subset of the training split, under the user's classifier loaded through the plugin path, and scores
it on held-out validation images: reconstruction error, the classifier's accuracy on reconstructions
(goal: within 3 points of clean), the N-step chain's clean accuracy and its accuracy under FGSM
transferred from the undefended classifier, and the chain's latency. One JSON per candidate, and a
table. Usage:
    python scripts/sweep_cifar10_sdae.py --out-dir results/cifar10/sdae_sweep [--only NAME ...]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from malade_export.attacks import FGSM  # noqa: E402
from malade_export.chain.langevin import MaladeDefense  # noqa: E402
from malade_export.checkpoint import save_checkpoint  # noqa: E402
from malade_export.classifier_sources.spec import ClassifierSpec  # noqa: E402
from malade_export.data import load_split, random_subset, train_val_split  # noqa: E402
from malade_export.eval.stats import wilson_interval  # noqa: E402
from malade_export.provenance import checkpoint_provenance  # noqa: E402
from malade_export.schedule import DEFAULT_SCHEDULE  # noqa: E402
from malade_export.train import Denoiser, Supervision, TrainSettings, accuracy, reconstruction_mse, train_dae  # noqa: E402

CLASSIFIER = "results/cifar10/classifier/airbench_small"
MEAN, STD = "0.4913,0.4821,0.4465", "0.2452,0.2428,0.2606"
# name: (channels, kernel, downsample, skip, sigma, ce_weight or None for the paper's 2 sigma^2)
CANDIDATES: dict[str, tuple[int, int, int, bool, float, float | None]] = {
    "c64k3d1skip_s0.1": (64, 3, 1, True, 0.1, None),
    "paper_s0.1": (64, 5, 2, False, 0.1, None),
    "c64k3d2skip_s0.1": (64, 3, 2, True, 0.1, None),
    "c64k3d1_s0.1": (64, 3, 1, False, 0.1, None),
    "c64k3d1skip_s0.05": (64, 3, 1, True, 0.05, None),
    "c64k3d1skip_s0.2": (64, 3, 1, True, 0.2, None),
    # the paper's weight 2 sigma^2 is 0.02 here, against a summed pixel error of about 20: the classifier's
    # cross-entropy barely counts, so the supervision is swept up to where it does
    "c64k3d1skip_s0.1_ce2": (64, 3, 1, True, 0.1, 2.0),
    "c64k3d1skip_s0.1_ce10": (64, 3, 1, True, 0.1, 10.0),
    "c48k3d0skip_s0.1_ce2": (48, 3, 0, True, 0.1, 2.0),
    "c48k3d0skip_s0.1_ce10": (48, 3, 0, True, 0.1, 10.0),
    "c64k3d1skip_s0.1_ce30": (64, 3, 1, True, 0.1, 30.0),
    "c32k3d0skip_s0.1_ce10": (32, 3, 0, True, 0.1, 10.0),
    "c48k3d0skip_s0.1_ce30": (48, 3, 0, True, 0.1, 30.0),
    "c64k3d1skip_s0.1_ce0.2": (64, 3, 1, True, 0.1, 0.2),
    "c48k3d1skip_s0.1": (48, 3, 1, True, 0.1, None),
    "paper_s0.3": (64, 5, 2, False, 0.3, None),
}


def chain_accuracy(chain: MaladeDefense, images: torch.Tensor, labels: torch.Tensor, seed: int) -> float:
    torch.manual_seed(seed)
    with torch.no_grad():
        batches = zip(images.split(250), labels.split(250), strict=True)
        hits = sum(int((chain(x)[0].argmax(1) == y).sum()) for x, y in batches)
    return hits / len(labels)


def latency_ms(chain: MaladeDefense, batch: int, reps: int = 7) -> float:
    x = torch.rand(batch, *chain.input_shape)
    times = []
    with torch.no_grad():
        for _ in range(reps + 1):
            start = time.perf_counter()
            chain(x)
            times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times[1:]))


def percent(hits: float, n: int) -> dict[str, float]:
    low, high = wilson_interval(round(hits * n), n)
    return {"accuracy": round(100 * hits, 2), "ci95": [round(100 * low, 2), round(100 * high, 2)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/cifar")
    parser.add_argument("--classifier", default=CLASSIFIER + ".onnx")
    parser.add_argument("--classifier-torch", default=CLASSIFIER + ".pt")
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--val", type=int, default=500)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--eps", type=float, default=8 / 255)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None, help="Candidate names to run (default: all).")
    parser.add_argument("--out-dir", default="results/cifar10/sdae_sweep")
    parser.add_argument("--checkpoints", default="/tmp/sdae_sweep", help="Where the trained candidates go.")
    args = parser.parse_args()
    out, ckpts = Path(args.out_dir), Path(args.checkpoints)
    out.mkdir(parents=True, exist_ok=True)
    ckpts.mkdir(parents=True, exist_ok=True)
    dataset = f"folder:{args.data}"
    train_full, val_full = train_val_split(load_split(dataset, "train"), 5000)
    train, val = random_subset(train_full, args.train, args.seed), random_subset(val_full, args.val, 1)
    spec = ClassifierSpec(args.classifier, torch_form=args.classifier_torch, mean=MEAN, std=STD)
    classifier = spec.load(train.input_shape, dataset, train.num_classes).model.eval()
    x_val, y_val = torch.from_numpy(val.images), torch.from_numpy(val.labels)
    x_adv = FGSM(classifier, args.eps).perturb(x_val, y_val).detach()
    clean = accuracy(classifier, val)
    with torch.no_grad():
        undefended_adv = float((classifier(x_adv).argmax(1) == y_val).float().mean())
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    base = {"classifier": spec.record(), "dataset": "CIFAR-10, JPEG copy (folder:)", "train_images": len(train),
            "val_images": len(val), "epochs": args.epochs, "steps": args.steps, "eps": args.eps, "seed": args.seed,
            "undefended_clean": percent(clean, len(val)), "undefended_fgsm_transfer": percent(undefended_adv, len(val)),
            "cpu": cpu, "threads": torch.get_num_threads(), "command": " ".join(sys.argv),
            **checkpoint_provenance(" ".join(sys.argv))}
    for name, (channels, kernel, downsample, skip, sigma, ce_weight) in CANDIDATES.items():
        if args.only and name not in args.only:
            continue
        settings = TrainSettings(epochs=args.epochs, batch_size=128, lr=1e-3, seed=args.seed, dataset=dataset,
                                 command=" ".join(sys.argv))
        start = time.time()
        shape = Denoiser(channels, kernel, None, downsample, skip)
        result = train_dae(train, val, settings, sigma=sigma, denoiser=shape,
                           supervision=Supervision(classifier, None, ce_weight),
                           log=lambda line: print(line, flush=True))
        seconds = time.time() - start
        save_checkpoint(result.model, result.config, ckpts / f"{name}.safetensors")
        schedule = DEFAULT_SCHEDULE.scaled_to(sigma)
        chain = MaladeDefense(classifier, result.model.eval(), sigma, tuple(val.input_shape), args.steps, schedule)
        row = {**base, "name": name, "channels": channels, "kernel": kernel, "downsample": downsample, "skip": skip,
               "sigma": sigma, "ce_weight": result.config.get("ce_weight"), "schedule": schedule.to_dict(),
               "train_seconds": round(seconds, 1),
               "params": sum(p.numel() for p in result.model.parameters()),
               "val_recon_mse": reconstruction_mse(result.model, val),
               "val_pixel_variance": float(val.images.var()),
               "on_recon": percent(accuracy(classifier, val, transform=result.model), len(val)),
               "chain_clean": percent(chain_accuracy(chain, x_val, y_val, args.seed), len(val)),
               "chain_fgsm_transfer": percent(chain_accuracy(chain, x_adv, y_val, args.seed), len(val)),
               "latency_ms_batch1": round(latency_ms(chain, 1), 2),
               "latency_ms_batch64": round(latency_ms(chain, 64), 1),
               "usefulness": result.config.get("usefulness"), "history": result.config["training"]["history"]}
        (out / f"{name}.json").write_text(json.dumps(row, indent=1) + "\n")
        print(json.dumps({k: row[k] for k in ("name", "val_recon_mse", "on_recon", "chain_clean",
                                               "chain_fgsm_transfer", "latency_ms_batch1")}), flush=True)
    write_table(out)


def write_table(out: Path) -> None:
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    if not rows:
        return
    first = rows[0]
    lines = [f"Validation: {first['val_images']} images; clean {first['undefended_clean']['accuracy']} %, "
             f"FGSM eps {first['eps']:.4f} transferred from the undefended classifier "
             f"{first['undefended_fgsm_transfer']['accuracy']} % (no defence).", "",
             "| candidate | ch | k | down | skip | sigma | MSE | on recon % | chain clean % | chain FGSM-transfer % "
             "| ms b1 | ms b64 | train s |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: -r["chain_fgsm_transfer"]["accuracy"]):
        skip = "yes" if r["skip"] else "no"
        lines.append(f"| {r['name']} | {r['channels']} | {r['kernel']} | {r['downsample']} | {skip} "
                     f"| {r['sigma']} | {r['val_recon_mse']:.4f} | {r['on_recon']['accuracy']} | "
                     f"{r['chain_clean']['accuracy']} | {r['chain_fgsm_transfer']['accuracy']} | "
                     f"{r['latency_ms_batch1']} | {r['latency_ms_batch64']} | {r['train_seconds']} |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
