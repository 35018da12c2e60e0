"""Build a MaladeDefense from checkpoints, with a bundled preset's where none are given."""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import Checkpoint, check_config, load_checkpoint
from ..errors import MaladeError
from ..models import DENOISERS
from ..schedule import Schedule, default_schedule, magnet_schedule
from .langevin import MaladeDefense, check_chain_size
from .presets import DEFAULT_PRESET, preset


@dataclass(frozen=True)
class ChainSettings:
    """How the chain runs, apart from its networks: what the command line's chain options set."""

    steps: int = 10
    schedule: Schedule | None = None  # None: the denoiser's default (schedule.default_schedule)
    votes: int = 1
    clip: bool = True

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ChainSettings:
        """From command-line values (--steps, --schedule, --votes, --no-clip), typed or as recorded text."""
        text = params.get("schedule") or ""
        return cls(int(params["steps"]), Schedule.parse(text) if text else None, int(params["votes"]),
                   not params.get("no_clip", False))


@dataclass
class LoadedDefense:
    """The chain and the checkpoints it was built from (export records their hashes)."""

    defense: MaladeDefense
    classifier: Checkpoint
    dae: Checkpoint
    preset: str | None = None  # the bundled preset that supplied the classifier, the denoiser or both


def load_defense(classifier: str | Path | Checkpoint | None = None, dae: str | Path | None = None, *, steps: int = 10,
                 schedule: Schedule | None = None, clip: bool = True, votes: int = 1,
                 magnet: bool = False, preset_name: str = DEFAULT_PRESET) -> LoadedDefense:
    """Load classifier + (s)DAE checkpoints (defaults: the preset's) into a defence.

    ``schedule=None`` takes the denoiser's default (its recorded schedule, else the default at its sigma).
    ``magnet=True`` builds the MagNet special case (one noiseless full step) from the same DAE.
    ``classifier`` may be any classifier source (``classifier_sources``) or an already loaded one;
    a user's classifier takes the input conventions its sDAE was trained with, unless loaded here.
    """
    from ..classifier_sources import InputConventions, load_classifier

    bundled = preset(preset_name)
    check_chain_size(steps, votes)
    clf_source, den_path = classifier or bundled.classifier, dae or bundled.sdae
    own_checkpoint = str(clf_source).endswith(".safetensors")
    if own_checkpoint:  # both configs refused or accepted before either file's tensors are read
        check_config(clf_source, "classifier")
    check_config(den_path, DENOISERS.names())
    den = load_checkpoint(den_path, DENOISERS.names())
    conventions = None if own_checkpoint else InputConventions.from_dict(den.config.get("classifier_conventions"))
    clf = load_classifier(clf_source, conventions=conventions,
                          input_shape=None if own_checkpoint else tuple(den.config["input_shape"]),
                          data_name=f"{den.config['kind']} {den.path.name}")
    if clf.config["input_shape"] != den.config["input_shape"]:
        raise MaladeError(
            f"checkpoints disagree on input shape: classifier {clf.path.name} takes {clf.config['input_shape']}, "
            f"{den.config['kind']} {den.path.name} takes {den.config['input_shape']}")
    expected = den.config.get("classifier_sha256")
    if expected and expected != clf.sha256:
        # Legal (an sDAE may be reused), but worth knowing: it was trained under another classifier.
        warnings.warn(f"{den.path.name} was trained under a different classifier than {clf.path.name}", stacklevel=2)
    sigma = float(den.config["sigma"])
    if magnet:
        steps, schedule = 1, magnet_schedule(sigma)
    elif schedule is None:
        schedule = default_schedule(sigma, den.config)
    schedule.check_for(sigma)
    chain = MaladeDefense(clf.model, den.model, sigma, tuple(clf.config["input_shape"]), steps=steps,
                          schedule=schedule, clip=clip, votes=votes)
    return LoadedDefense(chain, clf, den, preset_name if classifier is None or dae is None else None)
