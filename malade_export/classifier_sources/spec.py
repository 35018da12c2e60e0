"""What a command line says about a classifier, kept as plain values so a recorded command reruns it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import Checkpoint, file_sha256, load_checkpoint
from ..errors import MaladeError
from .base import Shape, check_data
from .conventions import InputConventions, parse_floats


@dataclass(frozen=True)
class ClassifierSpec:
    """``--classifier`` and the options that describe it (weights, torch form, input conventions)."""

    classifier: str | None
    weights: str | None = None
    torch_form: str | None = None
    mean: str | None = None
    std: str | None = None
    input_range: str = "0-1"
    outputs: str = "logits"
    input_shape: str | None = None  # "C,H,W" for a classifier that states none, where no data gives it

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ClassifierSpec:
        """From option values by name (typed, or the text of a recorded command)."""
        return cls(params.get("classifier"), params.get("classifier_weights"), params.get("classifier_torch"),
                   params.get("mean"), params.get("std"), params.get("input_range") or "0-1",
                   params.get("outputs") or "logits", params.get("input_shape"))

    def conventions(self) -> InputConventions:
        return InputConventions(parse_floats(self.mean, "mean"), parse_floats(self.std, "std"), self.input_range,
                                self.outputs)

    @property
    def is_plain(self) -> bool:
        """Only a path: nothing beyond what a malade checkpoint (or the sDAE's record) says."""
        return (not self.weights and not self.torch_form and self.conventions().is_identity
                and not self.input_shape)

    def shape(self) -> Shape | None:
        if not self.input_shape:
            return None
        try:
            dims = tuple(int(d) for d in self.input_shape.replace(",", " ").replace("x", " ").split())
        except ValueError:
            dims = ()
        if len(dims) != 3 or min(dims) < 1:
            raise MaladeError(f"--input-shape must be C,H,W (three positive integers), got {self.input_shape!r}")
        return dims  # type: ignore[return-value]

    def load(self, input_shape: Shape | None = None, data_name: str = "the data", num_classes: int = 0,
             denoiser: str | Path | None = None) -> Checkpoint:
        """The classifier. Conventions: as declared, else as ``denoiser`` was trained with; shape: the
        model's own, else ``input_shape`` (the data's), else the denoiser's, else ``--input-shape``."""
        from . import load_classifier

        conventions = self.conventions()
        if denoiser:
            trained = load_checkpoint(denoiser).config
            if conventions.is_identity and not str(self.classifier).endswith(".safetensors"):
                conventions = InputConventions.from_dict(trained.get("classifier_conventions"))
            if input_shape is None:
                input_shape, data_name = tuple(trained["input_shape"]), f"{trained.get('kind')} {Path(denoiser).name}"
        if input_shape is None:
            input_shape, data_name = self.shape(), "--input-shape"
        if self.classifier is None:
            raise MaladeError("--classifier is required")
        classifier = load_classifier(self.classifier, conventions=conventions, input_shape=input_shape,
                                     data_name=data_name, weights=self.weights, torch_form=self.torch_form)
        if input_shape is not None:
            check_data(classifier, input_shape, num_classes, data_name)
        return classifier

    def record(self, loaded: Checkpoint | None = None) -> dict[str, Any]:
        """What a result file says about the classifier."""
        sha = loaded.sha256 if loaded else (file_sha256(self.classifier) if self.classifier and Path(
            self.classifier).is_file() else None)
        info: dict[str, Any] = {"path": self.classifier, "sha256": sha}
        if not self.is_plain:
            info.update({"weights": self.weights, "torch_form": self.torch_form,
                         "conventions": self.conventions().to_dict()})
        return info
