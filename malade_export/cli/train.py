"""`malade train-classifier | train-dae | train-sdae`: thin wrappers over malade_export.train."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from ..checkpoint import load_checkpoint, save_checkpoint
from ..classifier_sources.spec import ClassifierSpec
from ..data import ImageSet, default_val_size, load_split, random_subset, train_val_split
from ..device import resolve_device
from ..models import CLASSIFIERS
from ..models.dae import DEFAULT_CHANNELS, DEFAULT_DOWNSAMPLE, DEFAULT_KERNEL
from ..train import (
    Denoiser,
    Supervision,
    Trained,
    TrainSettings,
    accuracy,
    distill_sdae,
    reconstruction_mse,
    train_classifier,
    train_dae,
)
from ..train.usefulness import Usefulness, enforce
from .classifier_options import classifier_options
from .common import TerseCommand, command_line, one_line_errors
from .options import DataOptions, RunOptions, data_options, option_group, run_options
from .recipe_options import ClassifierRecipe, recipe_options

STUDENT_CHANNELS, STUDENT_KERNEL = 32, 3  # distill-sdae's default student: 10x fewer FLOPs than the default sDAE


def training_options(default_epochs: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options every trainer shares: data, output, seed, device and the optimiser's."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        func = option_group([
            click.option("--epochs", default=default_epochs, show_default=True, type=click.IntRange(1)),
            click.option("--batch-size", default=128, show_default=True, type=click.IntRange(1)),
            click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True),
                         help="Learning rate (Adam's unless --optimizer; the peak under --schedule)."),
            click.option("--time-budget", type=click.FloatRange(min=0, min_open=True), default=None,
                         help="Seconds: end between epochs rather than pass it (the checkpoint records the "
                              "epochs run) [default: none]."),
            click.option("--limit", type=click.IntRange(1), default=None,
                         help="Train on N training images drawn at random (seed 0), e.g. for a quick sweep."),
        ])(func)
        func = run_options("Checkpoint to write (.safetensors is appended when missing).", out_required=True,
                           seed_help="Seed for init, shuffling and noise.")(func)
        return data_options()(func)

    return decorate


def _load_data(data: DataOptions, limit: int | None) -> tuple[ImageSet, ImageSet, ImageSet]:
    """(train, val, test); val is held out of the training split."""
    read = data.read_options()
    train_full = load_split(data.dataset, "train", options=read)
    test = load_split(data.dataset, "test", options=read)
    train, val = train_val_split(train_full, val_size=default_val_size(len(train_full), data.val_size))
    if limit:
        train = random_subset(train, limit)
    return train, val, test


def _settings(kw: dict[str, Any], data: DataOptions, run: RunOptions, val: ImageSet) -> TrainSettings:
    return TrainSettings(epochs=kw["epochs"], batch_size=kw["batch_size"], lr=kw["lr"], seed=run.seed,
                         device=resolve_device(run.device), dataset=data.dataset, command=command_line(),
                         extra={"val_size": len(val)}, time_budget_s=kw.get("time_budget"))


def _force_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--force", is_flag=True,
                        help="Write the checkpoint even if it fails the usefulness check (marked as failed; "
                             "export refuses it).")(func)


def _check(result: Trained, force: bool) -> None:
    """Say how the held-out usefulness check went; stop here, before any file is written, if it failed."""
    verdict = result.config["usefulness"]
    enforce(result.config, force)
    state = "passed" if verdict["passed"] else "FAILED (kept because of --force)"
    click.echo(f"usefulness check {state}: {Usefulness(**verdict).summary()}")


def _save(result: Trained, out: str, test_metrics: dict[str, float]) -> None:
    result.config["test_metrics"] = test_metrics
    path = save_checkpoint(result.model, result.config, out)
    summary = ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items())
    click.echo(f"wrote {path} (test: {summary})")


@click.command("train-classifier", cls=TerseCommand)
@click.option("--arch", type=click.Choice(list(CLASSIFIERS)), default="A", show_default=True,
              help="Classifier architecture: Defense-GAN's A-E (E = the black-box substitute), or "
                   "airbench-small for 32 x 32 colour images.")
@recipe_options
@training_options(default_epochs=10)
@one_line_errors
def train_classifier_cmd(arch: str, data: DataOptions, run: RunOptions, colour: ClassifierRecipe, **kw: Any) -> None:
    """Train a classifier with cross-entropy (default: Adam, batch 128, no augmentation)."""
    train, val, test = _load_data(data, kw["limit"])
    settings = replace(_settings(kw, data, run, val), recipe=colour.recipe, augment=colour.augment,
                       crop_pad=colour.crop_pad, channels_last=colour.channels_last)
    on_best = (lambda partial: save_checkpoint(partial.model, partial.config, run.out)) if colour.keep_best else None
    result = train_classifier(arch, train, val, settings, log=click.echo, on_best=on_best)
    _save(result, run.out, {"test_accuracy": accuracy(result.model, test)})


def _dae_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--init", "init_path", type=click.Path(dir_okay=False), default=None,
                        help="Warm-start from this DAE/sDAE checkpoint (its architecture is used).")(func)
    func = click.option("--skip/--no-skip", default=None,
                        help="Feed the input beside the decoder's features to the last conv, so detail need not "
                             "pass the bottleneck [default: off, or --init's].")(func)
    func = click.option("--downsample", type=click.IntRange(0, 2), default=None,
                        help=f"Stride-2 stages; 2 is the paper's, 0-1 keep more resolution for colour images "
                             f"[default: {DEFAULT_DOWNSAMPLE}, or --init's].")(func)
    func = click.option("--kernel", type=click.IntRange(1), default=None,
                        help=f"Conv kernel size [default: {DEFAULT_KERNEL}, or --init's].")(func)
    func = click.option("--channels", type=click.IntRange(1), default=None,
                        help=f"Feature maps per layer [default: {DEFAULT_CHANNELS}, or --init's].")(func)
    return click.option("--sigma", default=0.3, show_default=True, type=click.FloatRange(min=0, min_open=True),
                        help="Std of the Gaussian corruption (paper: 0.3).")(func)


def _architecture(channels: int | None, kernel: int | None, init_path: str | None,
                  default: tuple[int, int] = (DEFAULT_CHANNELS, DEFAULT_KERNEL), downsample: int | None = None,
                  skip: bool | None = None) -> Denoiser:
    """The network to train: explicit flags, else the --init checkpoint's, else ``default``."""
    init = load_checkpoint(init_path, ("sdae", "dae")) if init_path else None
    base = init.config if init else {"channels": default[0], "kernel": default[1]}
    return Denoiser(channels or int(base["channels"]), kernel or int(base["kernel"]), init,
                    int(base.get("downsample", DEFAULT_DOWNSAMPLE)) if downsample is None else downsample,
                    bool(base.get("skip", False)) if skip is None else skip)


@click.command("train-dae", cls=TerseCommand)
@_force_option
@_dae_options
@training_options(default_epochs=10)
@one_line_errors
def train_dae_cmd(data: DataOptions, run: RunOptions, force: bool, sigma: float, **kw: Any) -> None:
    """Train the unsupervised DAE (eq 5 of the paper) used by the Mala and MagNet baselines."""
    architecture = _architecture(kw["channels"], kw["kernel"], kw["init_path"], downsample=kw["downsample"],
                                 skip=kw["skip"])
    train, val, test = _load_data(data, kw["limit"])
    result = train_dae(train, val, _settings(kw, data, run, val), sigma=sigma, denoiser=architecture, log=click.echo)
    _check(result, force)
    _save(result, run.out, {"test_recon_mse": reconstruction_mse(result.model, test)})


@click.command("train-sdae", cls=TerseCommand)
@classifier_options(help_text="Frozen classifier whose cross-entropy supervises the sDAE: a malade checkpoint, ONNX, "
                              "TorchScript, .pt2, or module:callable (runs your code) with --classifier-weights.")
@click.option("--ce-weight", type=click.FloatRange(min=0), default=None,
              help="Weight of the classifier's cross-entropy [default: 2 sigma^2, the paper's Eq. 8].")
@_force_option
@_dae_options
@training_options(default_epochs=10)
@one_line_errors
def train_sdae_cmd(data: DataOptions, run: RunOptions, classifier: ClassifierSpec, ce_weight: float | None,
                   force: bool, **kw: Any) -> None:
    """Train the supervised sDAE (eq 8 of the paper): reconstruction + 2 sigma^2 x class-balanced cross-entropy."""
    architecture = _architecture(kw["channels"], kw["kernel"], kw["init_path"], downsample=kw["downsample"],
                                 skip=kw["skip"])
    train, val, test = _load_data(data, kw["limit"])
    spec, classifier = classifier, classifier.load(train.input_shape, data.dataset,
                                                   max(train.num_classes, test.num_classes))
    result = train_dae(train, val, _settings(kw, data, run, val), sigma=kw["sigma"], denoiser=architecture,
                       supervision=Supervision(classifier.model, classifier.sha256, ce_weight), log=click.echo)
    _check(result, force)
    if not spec.is_plain:  # a user's classifier: export and eval reuse what was declared
        result.config["classifier_conventions"] = spec.conventions().to_dict()
    _save(result, run.out, {
        "test_recon_mse": reconstruction_mse(result.model, test),
        "test_accuracy_clean": accuracy(classifier.model, test),
        "test_accuracy_on_recon": accuracy(classifier.model, test, transform=result.model),
    })


@click.command("distill-sdae", cls=TerseCommand)
@click.option("--teacher", "teacher_path", required=True, type=click.Path(dir_okay=False),
              help="Trained sDAE to imitate (its sigma is kept).")
@click.option("--classifier", "classifier_path", required=True, type=click.Path(dir_okay=False),
              help="The teacher's classifier: perturbs the training inputs (FGSM) and scores reconstructions.")
@click.option("--channels", type=click.IntRange(1), default=None,
              help=f"Student feature maps per layer [default: {STUDENT_CHANNELS}, or --init's].")
@click.option("--kernel", type=click.IntRange(1), default=None,
              help=f"Student conv kernel size [default: {STUDENT_KERNEL}, or --init's].")
@click.option("--init", "init_path", type=click.Path(dir_okay=False), default=None,
              help="Warm-start from this student checkpoint (its channels and kernel are used).")
@click.option("--kl-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Weight of KL(classifier on teacher's reconstruction || on student's), beside the pixel error.")
@_force_option
@training_options(default_epochs=10)
@one_line_errors
def distill_sdae_cmd(data: DataOptions, run: RunOptions, teacher_path: str, classifier_path: str,
                     kl_weight: float, force: bool, **kw: Any) -> None:
    """Distil an sDAE into a cheaper one that matches it on the states the Langevin chain visits."""
    architecture = _architecture(kw["channels"], kw["kernel"], kw["init_path"],
                                 default=(STUDENT_CHANNELS, STUDENT_KERNEL))
    teacher = load_checkpoint(teacher_path, "sdae")
    classifier = load_checkpoint(classifier_path, "classifier")
    train, val, test = _load_data(data, kw["limit"])
    for name, checkpoint in (("teacher", teacher), ("classifier", classifier)):
        shape = checkpoint.config["input_shape"]
        if list(train.input_shape) != shape:
            raise click.ClickException(
                f"{name} expects input {shape} but {data.dataset} has {list(train.input_shape)}")
    result = distill_sdae(teacher, classifier, train, val, _settings(kw, data, run, val), student=architecture,
                          kl_weight=kl_weight, log=click.echo)
    _check(result, force)
    _save(result, run.out, {
        "test_recon_mse": reconstruction_mse(result.model, test),
        "test_accuracy_on_recon": accuracy(classifier.model, test, transform=result.model),
    })
