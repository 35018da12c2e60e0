"""The paper's Table 4 on CIFAR-10 (JPEG copy): black-box FGSM for none, MagNet, Mala and Malade, over eps and seeds.

Everything goes through the plugin path (the user's ONNX classifier with its PyTorch form and
mean/std, an image folder). Each (defence, seed) trains its black-box substitute once and attacks
at every eps: the substitute's training is seeded and does not depend on eps, so each record is
exactly what its recorded `malade eval ... --eps E --seed S` command writes, which reruns it alone.
Existing records are kept (delete them to rerun). Usage:
    python scripts/table4_cifar10.py /tmp/cifar [--seeds 0 1 2] [--n 1000] [--out results/cifar10/table4]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from malade_export.cli.common import command_line  # noqa: E402
from malade_export.cli.eval import eval_cmd  # noqa: E402
from malade_export.eval import write_result  # noqa: E402
from malade_export.eval.pipeline import EvalConfig, build, evaluate_prepared, load_slice, make_attack  # noqa: E402

CLASSIFIER = "results/cifar10/classifier/airbench_small"
MEAN, STD = "0.4913,0.4821,0.4465", "0.2452,0.2428,0.2606"
SDAE = "malade_export/weights/cifar10_sdae.safetensors"
DAE = "results/cifar10/denoisers/cifar10_dae.safetensors"
EPS_255 = (2, 4, 8, 16, 32)  # Table 4 reads 8 and 16; the rest draw the accuracy-vs-eps curve


def eval_args(data: str, defence: str, eps: float, seed: int, n: int, out: Path, sdae: str, dae: str,
              device: str = "cpu") -> list[str]:
    denoiser = {"none": [], "magnet": ["--dae", dae], "mala": ["--dae", dae], "malade": ["--sdae", sdae]}[defence]
    return ["--dataset", f"folder:{data}", "--device", device, "--classifier", CLASSIFIER + ".onnx",
            "--classifier-torch", CLASSIFIER + ".pt", "--mean", MEAN, "--std", STD, "--defense", defence, *denoiser,
            "--attack", "blackbox", "--sub-arch", "substitute-cnn", "--eps", f"{eps:.6f}", "--n", str(n),
            "--seed", str(seed), "--out", str(out)]


def config_for(args: list[str]) -> EvalConfig:
    """The EvalConfig and recorded command `malade eval ARGS` would make."""
    ctx = eval_cmd.make_context("malade eval", args)
    with ctx:
        return EvalConfig.from_params(ctx.params, command_line())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="CIFAR-10 image folder (train/ and test/)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--defences", nargs="+", default=["none", "magnet", "mala", "malade"])
    parser.add_argument("--sdae", default=SDAE)
    parser.add_argument("--dae", default=DAE)
    parser.add_argument("--out", default="results/cifar10/table4")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--deadline-s", type=float, default=None,
                        help="Start no new (defence, seed) after this many seconds (a lent GPU's time box).")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    script_started = time.perf_counter()
    for seed in args.seeds:
        for defence in args.defences:
            paths = {e: out / f"blackbox_{defence}_eps{e}_seed{seed}.json" for e in EPS_255}
            todo = [e for e, path in paths.items() if not path.exists()]
            if not todo:
                continue
            if args.deadline_s and time.perf_counter() - script_started > args.deadline_s:
                print(f"deadline: seed {seed} {defence} not started", flush=True)
                continue
            started = time.perf_counter()
            first = config_for(eval_args(args.data, defence, todo[0] / 255, seed, args.n, paths[todo[0]],
                                         args.sdae, args.dae, args.device))
            defense = build(first.defense, first.device)
            data = load_slice(first, first.device)
            attack = make_attack(first, defense, data)
            for e in todo:
                config = config_for(eval_args(args.data, defence, e / 255, seed, args.n, paths[e], args.sdae, args.dae,
                                              args.device))
                record = evaluate_prepared(config, defense, data, attack.at_eps(e / 255), started, progress=False)
                write_result(record, paths[e])
                print(f"seed {seed} {defence} eps {e}/255: clean {100 * record['clean']['accuracy']:.1f} "
                      f"attacked {100 * record['attacked']['accuracy']:.1f} ({time.perf_counter() - started:.0f} s)",
                      flush=True)


if __name__ == "__main__":
    main()
