"""Train a classifier, DAE or sDAE and describe it in a checkpoint config."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..checkpoint import Checkpoint
from ..data import ImageSet
from ..errors import MaladeError
from ..models import DenoisingAutoencoder, build_model
from ..models.dae import DEFAULT_CHANNELS, DEFAULT_DOWNSAMPLE, DEFAULT_KERNEL
from ..provenance import checkpoint_provenance
from .augment import make_augment
from .distill import distill_gap, distill_loss
from .loop import FitSettings, Log, fit
from .metrics import accuracy, reconstruction_mse
from .objectives import class_balance_weights, classifier_loss, dae_loss
from .recipe import Recipe
from .usefulness import check_usefulness

DISTILL_PROBE_IMAGES = 1000  # validation images on which the student is compared with its teacher

@dataclass
class TrainSettings:
    """Hyper-parameters shared by every trainer (defaults: the paper's Adam 1e-3, batch 128, no augmentation).

    ``recipe``, ``augment`` (see train/augment.py) and ``channels_last`` are used by the classifier
    trainer, where colour images need them.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    dataset: str = "fashion-mnist"
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    recipe: Recipe = field(default_factory=Recipe)
    augment: str = "none"
    crop_pad: int = 2
    channels_last: bool = False
    time_budget_s: float | None = None

    @property
    def loop(self) -> FitSettings:
        return FitSettings(self.epochs, self.batch_size, self.lr, self.seed, self.device, self.recipe,
                           make_augment(self.augment, self.crop_pad, self.seed), self.channels_last,
                           self.time_budget_s)


@dataclass(frozen=True)
class Denoiser:
    """The (s)DAE to train: its shape (see DenoisingAutoencoder), optionally warm-started from one of that shape."""

    channels: int = DEFAULT_CHANNELS
    kernel: int = DEFAULT_KERNEL
    init: Checkpoint | None = None
    downsample: int = DEFAULT_DOWNSAMPLE
    skip: bool = False

    def config(self) -> dict[str, Any]:
        """The checkpoint fields that rebuild this network (the paper's shape writes only channels and kernel)."""
        fields: dict[str, Any] = {"channels": self.channels, "kernel": self.kernel}
        if self.downsample != DEFAULT_DOWNSAMPLE:
            fields["downsample"] = self.downsample
        if self.skip:
            fields["skip"] = True
        return fields


@dataclass(frozen=True)
class Supervision:
    """The frozen classifier whose cross-entropy makes a DAE an sDAE (Eq. 8)."""

    classifier: nn.Module
    sha256: str | None = None  # recorded, so a chain can tell which classifier its sDAE was trained under
    ce_weight: float | None = None  # None: 2 sigma^2, the paper's


@dataclass
class Trained:
    model: nn.Module
    config: dict[str, Any]


def _provenance(settings: TrainSettings, history: list[dict[str, float]], data: ImageSet) -> dict[str, Any]:
    return {
        "input_shape": list(data.input_shape),
        "num_classes": data.num_classes,
        **({"class_names": list(data.class_names)} if data.class_names else {}),
        "dataset": settings.dataset,
        "training": {
            "epochs": len(history), "epochs_asked": settings.epochs, "batch_size": settings.batch_size,
            "lr": settings.lr, **({"time_budget_s": settings.time_budget_s} if settings.time_budget_s else {}),
            "seed": settings.seed, "train_size": len(data), "history": history, **settings.extra,
            "recipe": settings.recipe.as_dict(), "augment": settings.augment, "crop_pad": settings.crop_pad,
        },
        **checkpoint_provenance(settings.command),
    }


def train_classifier(arch: str, train: ImageSet, val: ImageSet, settings: TrainSettings, log: Log = print,
                     on_best: Callable[[Trained], None] | None = None) -> Trained:
    """Train classifier ``arch`` with cross-entropy; validation accuracy per epoch.

    ``on_best`` receives the model (config with the history so far) whenever validation accuracy
    improves, so a long run that is stopped still leaves its best epoch behind.
    """
    config: dict[str, Any] = {"kind": "classifier", "arch": arch, "input_shape": list(train.input_shape),
                              "num_classes": train.num_classes}
    torch.manual_seed(settings.seed)
    model = build_model(config).to(settings.device)
    history: list[dict[str, float]] = []
    best = [-1.0]

    def after_epoch(record: dict[str, float]) -> None:
        history.append(record)
        if on_best is not None and record["val_accuracy"] > best[0]:
            best[0] = record["val_accuracy"]
            partial = {**config, **_provenance(settings, list(history), train), "partial_epochs": len(history)}
            on_best(Trained(model, partial))

    fit(model, classifier_loss(model, settings.recipe.label_smoothing), train, settings.loop,
        validate=lambda: {"val_accuracy": accuracy(model, val, settings.device)}, log=log,
        desc=f"classifier {arch}", on_epoch=after_epoch)
    config.update(_provenance(settings, history, train))
    return Trained(model.cpu().eval(), config)


def _frozen(model: nn.Module, device: str) -> nn.Module:
    """``model`` on ``device``, in eval mode, with no parameter asking for gradients (a fixed judge)."""
    model = model.to(device).eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def _initial_model(config: dict[str, Any], settings: TrainSettings, init: Checkpoint | None,
                   train: ImageSet | None = None) -> nn.Module:
    """A seeded fresh network for ``config``, or ``init``'s weights in it (recorded in ``config``), on the device.

    A fresh (s)DAE starts out answering ``train``'s mean pixel value (see ``start_at_mean``).
    """
    torch.manual_seed(settings.seed)
    model = build_model(config)
    if init is None and train is not None and isinstance(model, DenoisingAutoencoder):
        model.start_at_mean(float(train.images.mean()))
    if init is not None:
        _warm_start(model, init)
        config["init_from"] = {"file": init.path.name, "sha256": init.sha256}
    return model.to(settings.device)


def _warm_start(model: nn.Module, init: Checkpoint) -> None:
    target, source = model.state_dict(), init.model.state_dict()
    mismatched = [k for k, v in source.items() if target[k].shape != v.shape]
    if mismatched:
        raise MaladeError(f"--init {init.path.name} has another architecture than the requested network "
                          f"(first mismatch: {mismatched[0]})")
    model.load_state_dict(source)


def train_dae(train: ImageSet, val: ImageSet, settings: TrainSettings, *, sigma: float = 0.3,
              denoiser: Denoiser | None = None, supervision: Supervision | None = None, log: Log = print) -> Trained:
    """Train a DAE (Eq. 5), or with ``supervision`` by a frozen classifier the sDAE (Eq. 8).

    ``denoiser.init`` warm-starts from another (s)DAE of the same shape: an sDAE for a new classifier
    then needs an epoch or two instead of a full run, since the reconstruction part carries over.
    """
    denoiser = denoiser or Denoiser()
    kind = "sdae" if supervision is not None else "dae"
    config: dict[str, Any] = {"kind": kind, "input_shape": list(train.input_shape), **denoiser.config(),
                              "sigma": sigma}
    model = _initial_model(config, settings, denoiser.init, train)
    classifier, weights, ce_weight = None, None, None
    if supervision is not None:
        classifier = _frozen(supervision.classifier, settings.device)
        weights = class_balance_weights(train.labels, train.num_classes)
        ce_weight = supervision.ce_weight

    def validate() -> dict[str, float]:
        metrics = {"val_recon_mse": reconstruction_mse(model, val, settings.device)}
        if classifier is not None:
            metrics["val_accuracy_on_recon"] = accuracy(classifier, val, settings.device, transform=model)
        return metrics

    history = fit(model, dae_loss(model, sigma, classifier, weights, ce_weight), train, settings.loop,
                  validate=validate, log=log, desc=kind)
    config.update(_provenance(settings, history, train))
    if classifier is not None:
        config["ce_weight"] = 2 * sigma**2 if ce_weight is None else ce_weight
    if supervision is not None and supervision.sha256:
        config["classifier_sha256"] = supervision.sha256
    config["usefulness"] = check_usefulness(model, val, classifier, settings.device).to_config()
    if classifier is not None:
        classifier.cpu()
    return Trained(model.cpu().eval(), config)


def distill_sdae(teacher: Checkpoint, classifier: Checkpoint, train: ImageSet, val: ImageSet, settings: TrainSettings,
                 *, student: Denoiser, kl_weight: float = 0.0, log: Log = print) -> Trained:
    """Train a (cheaper) ``student`` sDAE to reproduce ``teacher`` on chain states.

    The student keeps the teacher's sigma, so an exported chain uses the same step schedule;
    ``student.init`` warm-starts it from an earlier student of the same shape.
    """
    sigma = float(teacher.config["sigma"])
    config: dict[str, Any] = {"kind": "sdae", "input_shape": list(train.input_shape), **student.config(),
                              "sigma": sigma,
                              "distilled_from": {"file": teacher.path.name, "sha256": teacher.sha256},
                              "classifier_sha256": classifier.sha256, "kl_weight": kl_weight}
    model = _initial_model(config, settings, student.init, train)
    frozen_teacher = _frozen(teacher.model, settings.device)
    frozen_classifier = _frozen(classifier.model, settings.device)
    probe = val.subset(slice(0, min(DISTILL_PROBE_IMAGES, len(val))))
    probe_x = torch.from_numpy(probe.images).to(settings.device)
    probe_y = torch.from_numpy(probe.labels).to(settings.device)

    def validate() -> dict[str, float]:
        return {"val_gap_to_teacher": distill_gap(model, frozen_teacher, frozen_classifier, probe_x, probe_y, sigma),
                "val_accuracy_on_recon": accuracy(frozen_classifier, val, settings.device, transform=model)}

    history = fit(model, distill_loss(model, frozen_teacher, frozen_classifier, sigma, kl_weight), train,
                  settings.loop, validate=validate, log=log, desc="distil")
    config.update(_provenance(settings, history, train))
    config["usefulness"] = check_usefulness(model, val, frozen_classifier, settings.device).to_config()
    teacher.model.cpu()
    classifier.model.cpu()
    return Trained(model.cpu().eval(), config)
