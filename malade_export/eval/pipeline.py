"""One evaluation, from settings to result record: the code behind ``malade eval``, reruns and paired runs.

Order matters for reproducibility and is kept fixed: build the defence (loading checkpoints draws
from torch's generator), then seed and draw the test slice, then build the attack, then evaluate.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..attacks import FGSM, NO_ATTACK, Attack, AttackOptions
from ..chain import ChainSettings
from ..checkpoint import file_sha256
from ..classifier_sources.spec import ClassifierSpec
from ..data import ReadOptions, load_split, parse_image_size
from ..defenses import DEFENSES, ChainDefense, Defense, DefenseSources, Malade, RuntimeChain
from ..defenses.exported import TORCH
from ..defenses.projection import ReconstructionSettings
from ..device import resolve_device
from ..errors import MaladeError
from ..provenance import provenance
from .paired import PairedResult, compare_paired
from .runner import build_attack, evaluate, test_slice


@dataclass(frozen=True)
class DefenseSpec:
    """Which defence, from which checkpoints, run where; each defence takes the settings it uses."""

    classifier: str
    name: str = Malade.name
    denoiser: str | None = None  # sDAE (malade) or DAE (mala, magnet)
    generator: str | None = None  # WGAN generator (defensegan)
    runtime: str = TORCH  # where a chain's forward pass runs: PyTorch or a registered runtime
    chain: ChainSettings = ChainSettings()
    projection: ReconstructionSettings = ReconstructionSettings()  # Defense-GAN's L and R
    source: ClassifierSpec | None = None  # how to load a user's classifier (None: a malade checkpoint)


@dataclass(frozen=True)
class EvalConfig:
    """Everything that decides one evaluation's numbers (``command`` only records how it was asked for)."""

    defense: DefenseSpec
    attack: str = FGSM.name
    attack_options: AttackOptions = field(default_factory=AttackOptions)
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    holdout: int = 150  # test images kept out: the black-box attacker's seed set
    n: int = 1000
    batch_size: int = 100
    seed: int = 0
    device: str = "cpu"
    command: str = ""
    image_size: str | None = None  # --image-size, as given ("H" or "HxW")
    skip_bad_images: bool = False
    test_fraction: float = 0.2  # held out as the test split when the data has none
    preset: str | None = None  # the bundled preset that supplied the classifier or denoiser, if one did

    @classmethod
    def from_params(cls, params: Mapping[str, Any], command: str = "") -> EvalConfig:
        """From ``malade eval``'s option values by name, typed or as the text of a recorded command; a
        classifier or denoiser not given comes from ``--preset`` (default: the default preset)."""
        classifier, denoiser, used = bundled_defaults(params.get("preset"), params["defense"],
                                                      params.get("classifier"), params.get("sdae"))
        spec = DefenseSpec(
            classifier=classifier, name=params["defense"], denoiser=denoiser,
            generator=params.get("generator"), runtime=params.get("runtime") or TORCH,
            chain=ChainSettings.from_params(params),
            projection=ReconstructionSettings(steps=int(params["gan_steps"]), restarts=int(params["gan_restarts"])),
            source=ClassifierSpec.from_params({**params, "classifier": classifier}))
        return cls(spec, params["attack"], AttackOptions.from_params(params), params["dataset"], params.get("data_dir"),
                   int(params["holdout"]), int(params["n"]), int(params["batch_size"]), int(params["seed"]),
                   params["device"], command, image_size=params.get("image_size"),
                   skip_bad_images=bool(params.get("skip_bad_images", False)),
                   test_fraction=float(params.get("test_fraction", 0.2)), preset=used)


def bundled_defaults(preset_name: str | None, defense: str, classifier: str | None,
                     denoiser: str | None) -> tuple[str, str | None, str | None]:
    """(classifier, denoiser, preset used): the preset's classifier and its sDAE (malade) or DAE (mala,
    magnet) where none is given; the preset's name only if it supplied one of them."""
    from ..chain import DEFAULT_PRESET, preset

    name = preset_name or DEFAULT_PRESET
    bundled = preset(name)
    used = classifier is None
    if denoiser is None and defense in ("malade", "mala", "magnet"):
        if defense != "malade" and bundled.dae is None:
            raise MaladeError(f"preset {name} bundles no DAE for {defense}; give one with --dae")
        denoiser, used = str(bundled.sdae if defense == "malade" else bundled.dae), True
    return classifier or str(bundled.classifier), denoiser, name if used else None


@dataclass
class EvalSlice:
    """The evaluated images and the attacker's held-out ones, on the run's device."""

    images: torch.Tensor
    labels: torch.Tensor
    holdout: torch.Tensor
    num_classes: int


def build(spec: DefenseSpec, device: str) -> Defense:
    """The defence on ``device``; a chain in another runtime is exported and run there (CPU only)."""
    classifier: Any = spec.classifier
    if spec.source is not None and not spec.source.is_plain:
        classifier = spec.source.load(denoiser=spec.denoiser)
    sources = DefenseSources(classifier, spec.denoiser, spec.generator)
    defense = DEFENSES.get(spec.name).build(sources, spec.chain, spec.projection).to(device)
    if spec.runtime == TORCH:
        return defense
    if not isinstance(defense, ChainDefense):
        raise MaladeError(f"--runtime {spec.runtime} runs the exported chain; defence {defense.name} has none")
    if device != "cpu":
        raise MaladeError(f"--runtime {spec.runtime} runs on the CPU; use --device cpu")
    return RuntimeChain(defense, spec.runtime)


def load_slice(config: EvalConfig, device: str) -> EvalSlice:
    read = ReadOptions(data_dir=config.data_dir, image_size=parse_image_size(config.image_size),
                       skip_bad_images=config.skip_bad_images, test_fraction=config.test_fraction)
    test = load_split(config.dataset, "test", options=read)
    held, chosen = (index.numpy() for index in test_slice(len(test), config.holdout, config.n, config.seed))
    return EvalSlice(torch.from_numpy(test.images[chosen]).to(device), torch.from_numpy(test.labels[chosen]).to(device),
                     torch.from_numpy(test.images[held]).to(device), test.num_classes)


def make_attack(config: EvalConfig, defense: Defense, data: EvalSlice) -> Attack | None:
    return build_attack(config.attack, defense, config.attack_options, data.holdout, data.num_classes)


def _file_info(path: str | None) -> dict[str, str] | None:
    return {"path": path, "sha256": file_sha256(path)} if path and Path(path).is_file() else None


def run_eval(config: EvalConfig, progress: bool = True) -> dict[str, Any]:
    """Clean and attacked accuracy of one defence; the result record ``malade eval`` writes."""
    started = time.perf_counter()
    device = resolve_device(config.device)
    defense = build(config.defense, device)
    data = load_slice(config, device)
    return evaluate_prepared(config, defense, data, make_attack(config, defense, data), started, progress)


def evaluate_prepared(config: EvalConfig, defense: Defense, data: EvalSlice, attack: Attack | None,
                      started: float, progress: bool = True) -> dict[str, Any]:
    """``run_eval``'s record for a defence, slice and attack built already, so a sweep over eps can reuse a
    black-box substitute (its training does not depend on eps) instead of retraining it per eps."""
    device = resolve_device(config.device)
    clean, attacked = evaluate(defense, attack, data.images, data.labels, config.batch_size, progress)
    white_box = attack is not None and attack.white_box
    spec = config.defense
    return {
        "dataset": config.dataset, "preset": config.preset,
        "test_slice": {"holdout": config.holdout, "n": config.n, "order": "torch.randperm after manual_seed(seed)"},
        "classifier": (spec.source or ClassifierSpec(spec.classifier)).record(),
        "denoiser": _file_info(spec.denoiser), "generator": _file_info(spec.generator),
        "defense": defense.describe(),
        "attack": {**(attack.describe() if attack else {"attack": NO_ATTACK}),
                   "bpda": white_box and (config.attack_options.bpda or not defense.differentiable)},
        "clean": clean.to_dict(), "attacked": attacked.to_dict() if attacked else None,
        "device": device, "seconds": round(time.perf_counter() - started, 2), **provenance(config.command, config.seed),
    }


def run_paired(config: EvalConfig, candidate: DefenseSpec) -> dict[str, PairedResult]:
    """``config.defense`` (the reference) against ``candidate`` on the same images, noise and attack
    (crafted once, against the reference)."""
    device = resolve_device(config.device)
    reference_defense = build(config.defense, device)
    candidate_defense = build(candidate, device)
    data = load_slice(config, device)
    attack = make_attack(config, reference_defense, data)
    return compare_paired(reference_defense, candidate_defense, attack, data.images, data.labels, config.seed)
