"""Choose the default Langevin schedule by a small sweep on the VALIDATION split (never the test set).

    python scripts/sweep_schedule.py [--n 1000] [--seed 0] [--sdae FILE] [--alphas 0.045,0.09]
                                     [--deltas 0,0.05,0.1,0.2] [--out results/schedule_sweep]
    # a user's classifier and data (the plugin path), e.g. CIFAR-10:
    python scripts/sweep_schedule.py --dataset folder:/tmp/cifar --classifier clf.onnx --classifier-torch clf.pt \
        --mean 0.49,0.48,0.45 --std 0.25,0.24,0.26 --sdae sdae.safetensors --eps 0.0314 --alphas ... --deltas ...

For each (alpha0, delta0) on a grid (N = 10 steps, floors alpha0/5 and delta0/10, geometric decay)
it measures, on n random validation images held out from training: clean accuracy; transfer FGSM
(--eps, default 0.3, crafted on the undefended classifier: the attacker knows the classifier, not the
defence); and white-box FGSM (--eps, gradients through the whole unrolled chain, one noise draw).
Rule: maximise the worse of the two attacked accuracies among settings whose clean accuracy is
within 2 points of the best clean accuracy on the grid. Writes JSON + Markdown with command and seed.
"""
from __future__ import annotations

import argparse
import functools
import json
import shlex
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from malade_export.attacks import FGSM
from malade_export.chain import load_defense
from malade_export.classifier_sources.spec import ClassifierSpec
from malade_export.data import load_split, random_subset, train_val_split
from malade_export.eval.stats import Accuracy
from malade_export.provenance import provenance
from malade_export.schedule import Schedule


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _logits(chain: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    return chain(images).logits


def _correct(model, x: torch.Tensor, y: torch.Tensor) -> int:
    with torch.no_grad():
        return int((model(x).argmax(1) == y).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="fashion-mnist", help="Any malade dataset (e.g. folder:DIR).")
    parser.add_argument("--classifier", default=None, help="Any classifier source (default: the bundled A).")
    parser.add_argument("--classifier-torch", default=None)
    parser.add_argument("--mean", default=None)
    parser.add_argument("--std", default=None)
    parser.add_argument("--eps", type=float, default=0.3)
    parser.add_argument("--sdae", default=None, help="sDAE checkpoint (default: the bundled one)")
    parser.add_argument("--alphas", type=_floats, default=[0.045, 0.09], help="alpha0 grid (sigma^2/2, sigma^2)")
    parser.add_argument("--deltas", type=_floats, default=[0.0, 0.05, 0.1, 0.2], help="delta0 grid")
    parser.add_argument("--out", default="results/schedule_sweep")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    _, val = train_val_split(load_split(args.dataset, "train", args.data_dir))
    val = random_subset(val, args.n, args.seed)
    x, y = torch.from_numpy(val.images), torch.from_numpy(val.labels)
    user = None
    if args.classifier:
        spec = ClassifierSpec(args.classifier, torch_form=args.classifier_torch, mean=args.mean, std=args.std)
        user = spec.load(val.input_shape, args.dataset, val.num_classes)
    base = load_defense(user, dae=args.sdae, steps=args.steps)
    classifier = base.classifier.model
    eps = args.eps
    x_transfer = torch.cat([FGSM(classifier, eps)(xb, yb) for xb, yb in zip(x.split(250), y.split(250), strict=True)])
    rows = []
    grid = [(a, d) for a in args.alphas for d in args.deltas]
    for alpha0, delta0 in tqdm(grid, desc="schedules"):
        schedule = Schedule(alpha0, alpha0 / 5, delta0, delta0 / 10, "geometric")
        chain = load_defense(user, dae=args.sdae, steps=args.steps, schedule=schedule).defense
        model = functools.partial(_logits, chain)  # fresh noise per call
        x_white = torch.cat([FGSM(model, eps)(xb, yb) for xb, yb in zip(x.split(250), y.split(250), strict=True)])
        row = {"schedule": schedule.to_dict()}
        for name, images in (("clean", x), ("transfer_fgsm", x_transfer), ("whitebox_fgsm", x_white)):
            row[name] = Accuracy(_correct(model, images, y), len(y)).to_dict()
        rows.append(row)
    best_clean = max(r["clean"]["accuracy"] for r in rows)
    eligible = [r for r in rows if r["clean"]["accuracy"] >= best_clean - 0.02]
    chosen = max(eligible, key=lambda r: min(r["transfer_fgsm"]["accuracy"], r["whitebox_fgsm"]["accuracy"]))
    command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    report = {"provenance": provenance(command, args.seed), "dataset": args.dataset,
              "split": f"validation ({args.n} drawn with seed {args.seed})", "eps": eps,
              "sdae": base.dae.path.name, "sdae_sha256": base.dae.sha256,
              "steps": args.steps, "undefended_clean": _correct(classifier, x, y) / len(y),
              "undefended_transfer_fgsm": _correct(classifier, x_transfer, y) / len(y),
              "rows": rows, "chosen": chosen["schedule"]}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    lines = [f"# Schedule sweep ({args.dataset} validation, n = {args.n}, N = {args.steps}, seed {args.seed})", "",
             f"Command: `{command}`  ", f"Commit: `{report['provenance']['commit']}`  ",
             f"sDAE: `{report['sdae']}` (sha256 {report['sdae_sha256'][:12]})", "",
             f"Undefended classifier {base.classifier.path.name}: clean {100 * report['undefended_clean']:.1f}%, "
             f"FGSM eps {eps:g} {100 * report['undefended_transfer_fgsm']:.1f}%", "",
             f"| alpha0 | delta0 | clean | transfer FGSM {eps:g} | white-box FGSM {eps:g} |", "|---|---|---|---|---|"]
    for r in rows:
        s = r["schedule"]
        mark = " **(chosen)**" if r is chosen else ""
        lines.append(f"| {s['alpha0']:.4f} | {s['delta0']:.4f}{mark} | "
                     + " | ".join(str(Accuracy(r[k]["correct"], r[k]["n"]))
                                  for k in ("clean", "transfer_fgsm", "whitebox_fgsm"))
                     + " |")
    lines += ["", "Rule: among settings within 2 points of the best clean accuracy, maximise min(transfer, white-box)."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
