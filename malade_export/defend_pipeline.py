"""From a user's classifier and images to one shipped file: train the sDAE, check it, export, report.

The report's attack is FGSM computed on the undefended classifier (the user's, through its torch
form) and then fed to the defended file: it tells whether the defence removes a standard
perturbation, not how it stands against an attacker who differentiates through the chain; for that,
use ``malade eval`` with the chain's gradients (white-box, EOT, BPDA).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .chain import load_defense
from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from .classifier_sources import InputConventions, check_data, load_classifier
from .classifier_sources.onnx_source import preprocess_numpy, run_onnxruntime
from .data import ImageSet, ReadOptions, default_val_size, load_split, train_val_split
from .errors import MaladeError
from .export import export_defense
from .models.dae import DEFAULT_KERNEL
from .train import Denoiser, Supervision, TrainSettings, reconstruction_mse, train_dae
from .train.usefulness import Usefulness

Log = Callable[[str], None]
EVAL_BATCH = 100


@dataclass
class DefendConfig:
    """Everything ``defend`` needs; the defaults are small and safe on a laptop CPU."""

    classifier: str | Path | nn.Module
    dataset: str
    out: Path
    conventions: InputConventions = field(default_factory=InputConventions)
    classifier_weights: str | Path | None = None
    classifier_torch: str | Path | None = None
    data: ReadOptions = field(default_factory=ReadOptions)  # how to read ``dataset`` (image size, test share, ...)
    out_dir: Path | None = None  # where the sDAE checkpoint goes [default: beside ``out``]
    init: str | Path | None = None  # warm-start from this (s)DAE of the same image shape (its width is kept)
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    sigma: float = 0.3
    channels: int = 48  # the bundled sDAE's width: as robust as 64 channels and learns where 64 can stall
    kernel: int = DEFAULT_KERNEL
    steps: int = 10
    noise_mode: str = "input"
    val_size: int | None = None  # [default: 5000, or a tenth of the training set if smaller]
    eval_n: int = 500
    eps: float | None = None  # FGSM budget [default: 0.3 for grey images, 8/255 for colour]
    command: str = ""


@dataclass
class DefendReport:
    sdae_path: Path
    out: Path
    size_bytes: int
    verify_max_abs_logits: float
    classifier_max_abs_dlogits: float  # the file's logits vs the user's classifier on the file's own `purified`
    n: int
    clean_undefended: float
    clean_defended: float
    recon_mse: float
    data_variance: float
    eps: float
    fgsm_undefended: float
    fgsm_defended: float


def _require_useful(config: dict[str, Any]) -> None:
    """A useless sDAE stops the command before anything is written, with the numbers in one line."""
    verdict = config.get("usefulness")
    if isinstance(verdict, dict) and verdict.get("passed") is False:
        raise MaladeError(f"the sDAE failed its usefulness check: {Usefulness(**verdict).summary()}; nothing written "
                          "(train longer with --epochs, warm-start with --init, or give more images)")


def default_eps(channels: int) -> float:
    """The customary FGSM budgets: 0.3 on grey digits (MNIST), 8/255 on colour images (CIFAR-10)."""
    return 0.3 if channels == 1 else 8 / 255


def _data(config: DefendConfig) -> tuple[ImageSet, ImageSet, ImageSet]:
    full = load_split(config.dataset, "train", options=config.data)
    test = load_split(config.dataset, "test", options=config.data)
    train, val = train_val_split(full, val_size=default_val_size(len(full), config.val_size), seed=config.seed)
    return train, val, test


def _classify_undefended(classifier: Checkpoint, images: np.ndarray) -> np.ndarray:
    """Labels from the user's classifier as they ship it: ONNX Runtime for an ONNX file, torch otherwise."""
    user_onnx = getattr(classifier, "onnx_model", None)
    if user_onnx is not None:
        conventions = classifier.conventions  # type: ignore[attr-defined]
        return run_onnxruntime(user_onnx, preprocess_numpy(images, conventions)).argmax(1)
    with torch.no_grad():
        return classifier.model(torch.from_numpy(images)).argmax(1).numpy()


def _user_logits(classifier: Checkpoint, purified: np.ndarray) -> np.ndarray:
    """What the fused file's ``logits`` must equal: the user's classifier on ``purified`` after the preprocessing."""
    user_onnx = getattr(classifier, "onnx_model", None)
    if user_onnx is not None:
        out = run_onnxruntime(user_onnx, preprocess_numpy(purified, classifier.conventions))  # type: ignore[attr-defined]
        if classifier.conventions.outputs == "probabilities":  # type: ignore[attr-defined]
            out = np.log(np.maximum(out, 1e-30))
        return out
    with torch.no_grad():
        return classifier.model(torch.from_numpy(purified)).numpy()


def _fgsm(classifier: nn.Module, images: np.ndarray, labels: np.ndarray, eps: float) -> np.ndarray:
    from .attacks.fgsm import FGSM

    attack = FGSM(classifier, eps=eps)
    return attack(torch.from_numpy(images), torch.from_numpy(labels)).numpy()


def _evaluate(config: DefendConfig, classifier: Checkpoint, sdae: nn.Module, test: ImageSet) -> dict[str, Any]:
    from .runtime import Session

    session = Session(config.out)
    n = min(config.eval_n, len(test))
    data = test.subset(slice(0, n))
    eps = config.eps if config.eps is not None else default_eps(data.input_shape[0])
    counts = {"clean_undefended": 0, "clean_defended": 0, "fgsm_undefended": 0, "fgsm_defended": 0}
    worst = 0.0
    for start in tqdm(range(0, n, EVAL_BATCH), desc="held-out report", leave=False):
        x, y = data.images[start: start + EVAL_BATCH], data.labels[start: start + EVAL_BATCH]
        adv = _fgsm(classifier.model, x, y, eps)
        seeds = config.seed * 1_000_003 + start + np.arange(len(y))
        clean = session.predict(x, seed=seeds)
        worst = max(worst, float(np.abs(clean.logits - _user_logits(classifier, clean.purified)).max()))
        counts["clean_undefended"] += int((_classify_undefended(classifier, x) == y).sum())
        counts["clean_defended"] += int((clean.labels == y).sum())
        counts["fgsm_undefended"] += int((_classify_undefended(classifier, adv) == y).sum())
        counts["fgsm_defended"] += int((session.predict(adv, seed=seeds).labels == y).sum())
    return {**{k: v / n for k, v in counts.items()}, "n": n, "eps": eps, "classifier_max_abs_dlogits": worst,
            "recon_mse": reconstruction_mse(sdae, data), "data_variance": float(data.images.var())}


def defend(config: DefendConfig, log: Log = print) -> DefendReport:
    """Train an sDAE under the user's classifier, export the fused file, and report on held-out data."""
    out = Path(config.out)
    if out.suffix != ".onnx":
        raise MaladeError(f"output {out} must be an .onnx file")
    if not out.parent.is_dir():
        raise MaladeError(f"output folder {out.parent} does not exist")
    train, val, test = _data(config)
    probe = val.images[: 256]
    classifier = load_classifier(config.classifier, conventions=config.conventions, input_shape=train.input_shape,
                                 data_name=config.dataset, weights=config.classifier_weights,
                                 torch_form=config.classifier_torch, probe=probe)
    check_data(classifier, train.input_shape, max(train.num_classes, test.num_classes), config.dataset)
    if "max_abs_dlogits_vs_onnxruntime" in classifier.config:
        log(f"classifier {classifier.path.name}: {classifier.config['torch_form']} agrees with ONNX Runtime on "
            f"{len(probe)} validation images "
            f"(max |dlogits| = {classifier.config['max_abs_dlogits_vs_onnxruntime']:.2e})")
    settings = TrainSettings(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, seed=config.seed,
                             dataset=config.dataset, command=config.command, extra={"val_size": len(val)})
    init = load_checkpoint(config.init, ("sdae", "dae")) if config.init else None
    denoiser = Denoiser(int(init.config["channels"]), int(init.config["kernel"]), init) if init else \
        Denoiser(config.channels, config.kernel)
    trained = train_dae(train, val, settings, sigma=config.sigma, denoiser=denoiser,
                        supervision=Supervision(classifier.model, classifier.sha256), log=log)
    _require_useful(trained.config)
    log(f"usefulness check passed: {Usefulness(**trained.config['usefulness']).summary()}")
    trained.config["classifier_conventions"] = config.conventions.to_dict()
    trained.config["classifier_file"] = {"file": classifier.path.name, "format": classifier.config.get("format")}
    out_dir = Path(config.out_dir) if config.out_dir else out.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    sdae_path = save_checkpoint(trained.model, trained.config, out_dir / f"{out.stem}_sdae.safetensors")
    log(f"wrote {sdae_path}")
    loaded = load_defense(classifier, sdae_path, steps=config.steps)
    result = export_defense(loaded, out, "onnx", config.noise_mode)
    log(f"wrote {result.path} ({result.size_bytes / 1e6:.2f} MB)")
    metrics = _evaluate(config, classifier, trained.model, test)
    report = DefendReport(sdae_path, result.path, result.size_bytes,
                          result.report.max_abs_logits if result.report else float("nan"), **metrics)
    return report


def format_report(report: DefendReport) -> str:
    """The short report ``malade defend`` prints."""
    pct = lambda v: f"{100 * v:5.1f} %"  # noqa: E731
    return "\n".join([
        f"held-out images: {report.n}",
        f"  {'clean accuracy':24}  undefended {pct(report.clean_undefended)}   defended {pct(report.clean_defended)}",
        f"  {f'FGSM eps={report.eps:.4g} accuracy':24}  undefended {pct(report.fgsm_undefended)}   "
        f"defended {pct(report.fgsm_defended)}",
        "    (FGSM computed on the undefended classifier, then fed to the defence: not an attack through the chain)",
        f"  sDAE reconstruction MSE {report.recon_mse:.4g} (the images' own variance: {report.data_variance:.4g})",
        f"  file check: logits vs your classifier on the file's purified output, max |d| = "
        f"{report.classifier_max_abs_dlogits:.2e}; vs the PyTorch chain {report.verify_max_abs_logits:.2e}",
    ])
