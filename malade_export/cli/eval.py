"""`malade eval`: accuracy of one defence under one attack on a seeded Fashion-MNIST test slice."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from ..atomic import refuse_overwrite
from .common import DEVICE_CHOICES, TerseCommand, command_line, one_line_errors, resolve_device

DEFENSE_CHOICES = ["none", "magnet", "mala", "malade", "defensegan"]
RUNTIME_CHOICES = ["torch", "ort", "openvino-f32", "openvino-bf16"]
ATTACK_CHOICES = ["none", "fgsm", "rfgsm", "pgd", "cw", "blackbox"]
PATH = click.Path(dir_okay=False)


def _options(func: Any) -> Any:
    options = [
        click.option("--dataset", default="fashion-mnist", show_default=True,
                     help="fashion-mnist, mnist, or idx:<folder> (any folder of IDX files)."),
        click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                     help="Folder with the IDX files [default: $MALADE_DATA_DIR, else the Debian package's]."),
        click.option("--classifier", type=PATH, default=None,
                     help="Classifier checkpoint [default: bundled classifier A, as malade-export]."),
        click.option("--defense", type=click.Choice(DEFENSE_CHOICES), default="malade", show_default=True),
        click.option("--sdae", "--dae", "denoiser", type=PATH, default=None,
                     help="sDAE (malade) or DAE (mala, magnet) checkpoint [default: the bundled ones]."),
        click.option("--generator", type=PATH, default=None, help="WGAN generator checkpoint (defensegan)."),
        click.option("--runtime", type=click.Choice(RUNTIME_CHOICES), default="torch", show_default=True,
                     help="Where the chain's forward pass runs (mala, malade, magnet): torch, or its exported ONNX "
                          "file in ONNX Runtime or OpenVINO; gradients always come from the float32 PyTorch chain."),
        click.option("--steps", default=10, show_default=True, type=click.IntRange(1), help="Langevin steps N."),
        click.option("--schedule", "schedule_text", default="", help="Chain step sizes, as for malade-export."),
        click.option("--votes", default=1, show_default=True, type=click.IntRange(1)),
        click.option("--gan-steps", default=200, show_default=True, type=click.IntRange(1),
                     help="Defense-GAN projection steps L."),
        click.option("--gan-restarts", default=10, show_default=True, type=click.IntRange(1),
                     help="Defense-GAN random restarts R."),
        click.option("--attack", type=click.Choice(ATTACK_CHOICES), default="fgsm", show_default=True),
        click.option("--eps", default=0.3, show_default=True, type=click.FloatRange(0, 1), help="L-inf budget."),
        click.option("--bpda", is_flag=True,
                     help="White-box gradients through BPDA (always on for defensegan, which has none)."),
        click.option("--rfgsm-alpha", default=0.05, show_default=True, type=float),
        click.option("--pgd-steps", default=100, show_default=True, type=click.IntRange(1)),
        click.option("--pgd-alpha", default=0.01, show_default=True, type=float, help="PGD step size."),
        click.option("--no-random-start", is_flag=True, help="PGD starts at x instead of a random point."),
        click.option("--eot", default=1, show_default=True, type=click.IntRange(1),
                     help="Noise draws averaged per PGD gradient (Expectation over Transformation)."),
        click.option("--cw-steps", default=100, show_default=True, type=click.IntRange(1)),
        click.option("--cw-lr", default=10.0, show_default=True, type=float),
        click.option("--cw-c", default=100.0, show_default=True, type=float),
        click.option("--holdout", default=150, show_default=True, type=click.IntRange(0),
                     help="Test images kept out of the evaluation (the black-box attacker's seed set)."),
        click.option("--sub-rounds", default=6, show_default=True, type=click.IntRange(1),
                     help="Black-box substitute: Jacobian augmentation rounds."),
        click.option("--sub-epochs", default=10, show_default=True, type=click.IntRange(1),
                     help="Black-box substitute: epochs per round."),
        click.option("--sub-lambda", default=0.1, show_default=True, type=float),
        click.option("--n", default=1000, show_default=True, type=click.IntRange(1), help="Test images evaluated."),
        click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1)),
        click.option("--seed", default=0, show_default=True, help="Seeds the test slice, attack and defence noise."),
        click.option("--device", type=click.Choice(DEVICE_CHOICES), default="cpu", show_default=True),
        click.option("--out", type=PATH, default=None, help="Result JSON to write (a .md row is written beside it)."),
        click.option("--force", is_flag=True, help="Overwrite an existing --out result (kept by default)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("eval", cls=TerseCommand)
@_options
@one_line_errors
def eval_cmd(**kw: Any) -> None:
    """Accuracy (95% Wilson interval) of a defence, clean and under an attack.

    \b
    Example:  malade eval --classifier clf.safetensors --defense malade --sdae sdae.safetensors \\
                  --attack fgsm --eps 0.3 --n 1000 --seed 0 --out results/malade_fgsm.json
    """
    import torch

    from ..attacks import SubstituteSettings
    from ..checkpoint import file_sha256
    from ..data import load_split
    from ..defenses import build_defense
    from ..eval import AttackOptions, build_attack, evaluate, provenance, test_slice, write_result
    from ..eval.report import markdown_row
    from ..schedule import Schedule

    command = command_line()
    started = time.perf_counter()
    if kw["out"]:
        refuse_overwrite([Path(kw["out"]), Path(kw["out"]).with_suffix(".md")], kw["force"])
    kw["classifier"], kw["denoiser"] = _bundled_defaults(kw["defense"], kw["classifier"], kw["denoiser"])
    device = resolve_device(kw["device"])
    defense_name = kw["defense"]
    options: dict[str, Any] = {}
    if defense_name in ("mala", "malade"):
        options = {"steps": kw["steps"], "schedule": Schedule.parse(kw["schedule_text"]), "votes": kw["votes"]}
    elif defense_name == "defensegan":
        options = {"steps": kw["gan_steps"], "restarts": kw["gan_restarts"]}
    defense = build_defense(defense_name, kw["classifier"], kw["denoiser"], kw["generator"], **options).to(device)
    if kw["runtime"] != "torch":
        defense = _in_runtime(defense, kw["runtime"], device)

    test = load_split(kw["dataset"], "test", kw["data_dir"])
    held, chosen = (index.numpy() for index in test_slice(len(test), kw["holdout"], kw["n"], kw["seed"]))
    images = torch.from_numpy(test.images[chosen]).to(device)
    labels = torch.from_numpy(test.labels[chosen]).to(device)

    attack_options = AttackOptions(
        eps=kw["eps"], rfgsm_alpha=kw["rfgsm_alpha"], pgd_steps=kw["pgd_steps"], pgd_alpha=kw["pgd_alpha"],
        pgd_random_start=not kw["no_random_start"], eot=kw["eot"], cw_steps=kw["cw_steps"], cw_lr=kw["cw_lr"],
        cw_c=kw["cw_c"], bpda=kw["bpda"],
        substitute=SubstituteSettings(rounds=kw["sub_rounds"], lmbda=kw["sub_lambda"], epochs=kw["sub_epochs"],
                                      seed=kw["seed"]))
    holdout = torch.from_numpy(test.images[held]).to(device)
    attack = build_attack(kw["attack"], defense, attack_options, holdout, test.num_classes)
    clean, attacked = evaluate(defense, attack, images, labels, kw["batch_size"])

    white_box = kw["attack"] not in ("none", "blackbox")
    attack_info = attack.describe() if attack else {"attack": "none"}
    record: dict[str, Any] = {
        "dataset": kw["dataset"],
        "test_slice": {"holdout": kw["holdout"], "n": kw["n"], "order": "torch.randperm after manual_seed(seed)"},
        "classifier": {"path": kw["classifier"], "sha256": file_sha256(kw["classifier"])},
        "denoiser": _file_info(kw["denoiser"]), "generator": _file_info(kw["generator"]),
        "defense": defense.describe(),
        "attack": {**attack_info, "bpda": white_box and (kw["bpda"] or not defense.differentiable)},
        "clean": clean.to_dict(), "attacked": attacked.to_dict() if attacked else None,
        "device": device, "seconds": round(time.perf_counter() - started, 2), **provenance(command, kw["seed"]),
    }
    click.echo(f"{defense_name} / {kw['attack']}: clean {clean}" + (f", attacked {attacked}" if attacked else ""))
    if kw["out"]:
        json_path, md_path = write_result(record, kw["out"])
        click.echo(f"wrote {json_path} and {md_path}")
    else:
        click.echo(markdown_row(record))


def _bundled_defaults(defense: str, classifier: str | None, denoiser: str | None) -> tuple[str, str | None]:
    """The bundled classifier A and its sDAE (malade) or the DAE (mala, magnet) where none is given."""
    from ..loading import DEFAULT_CLASSIFIER, DEFAULT_DAE, DEFAULT_SDAE

    if denoiser is None and defense in ("malade", "mala", "magnet"):
        denoiser = str(DEFAULT_SDAE if defense == "malade" else DEFAULT_DAE)
    return classifier or str(DEFAULT_CLASSIFIER), denoiser


def _in_runtime(defense: Any, runtime: str, device: str) -> Any:
    from ..defenses import ChainDefense, RuntimeChain
    from ..errors import MaladeError

    if not isinstance(defense, ChainDefense):
        raise MaladeError(f"--runtime {runtime} runs the exported chain; defence {defense.name} has none")
    if device != "cpu":
        raise MaladeError(f"--runtime {runtime} runs on the CPU; use --device cpu")
    return RuntimeChain(defense, runtime)


def _file_info(path: str | None) -> dict[str, str] | None:
    from ..checkpoint import file_sha256

    return {"path": path, "sha256": file_sha256(path)} if path and Path(path).is_file() else None
