"""APGD-CE and APGD-DLR (Croce and Hein 2020), L-inf, from the independent ``torchattacks`` library.

The optimisation (step-size halving on oscillation, momentum, the DLR loss, the gradient averaged
over ``eot`` forward passes) is torchattacks' own ``APGD.attack_single_run``, so the number does not
rest on this project's attack code. Against a randomized defence two things of its ``APGD.perturb``
would flatter the defence, and this wrapper does them differently:

- ``perturb`` attacks only the points one noisy forward pass classified correctly; a point that one
  unlucky draw got wrong is returned clean and scored on a fresh draw later. Here every point is attacked.
- ``perturb`` returns the clean image for every point its in-attack checks never saw misclassified;
  here such a point gets its highest-loss iterate. A point some draw misclassified gets that iterate,
  as in the library.

``perturb`` also re-seeds torch's global generator on every call; ``attack_single_run`` leaves it to
the run's seed, as every other attack here does.
"""
from __future__ import annotations

from types import ModuleType
from typing import Any

import torch

from ..errors import MaladeError
from .base import Attack, Model, register_attack
from .options import AttackOptions

LIBRARY = "torchattacks"
PINNED = "3.5.1"
# --no-deps: its metadata asks for torchvision, and PyPI's torchvision does not load beside the CPU torch
INSTALL = f"pip install --no-deps {LIBRARY}=={PINNED}"


def torchattacks_module() -> ModuleType:
    """The installed torchattacks, or a one-line error saying how to install it."""
    try:
        import torchattacks
    except ModuleNotFoundError as exc:
        if (exc.name or LIBRARY).split(".")[0] == LIBRARY:
            raise MaladeError(f"the APGD attacks need {LIBRARY}, which is not installed: {INSTALL}") from None
        raise MaladeError(f"{LIBRARY} cannot be imported: it needs {exc.name}, which is not installed "
                          f"(pip install {exc.name})") from None
    except ImportError as exc:
        raise MaladeError(f"{LIBRARY} cannot be imported: {' '.join(str(exc).split())}") from None
    return torchattacks


class APGD(Attack):
    """One run of torchattacks' APGD (no restarts beyond the first) with ``loss`` and ``eot`` draws per gradient."""

    loss = "ce"

    def __init__(self, model: Model, eps: float = 0.3, steps: int = 100, eot: int = 1, num_classes: int = 10) -> None:
        super().__init__(model)
        if steps < 1 or eot < 1:
            raise MaladeError(f"{self.name} needs steps >= 1 and eot >= 1, got steps={steps}, eot={eot}")
        if self.loss == "dlr" and num_classes < 3:
            raise MaladeError(f"{self.name}: the DLR loss needs at least 3 classes, got {num_classes}")
        library = torchattacks_module()
        self.library_version = str(library.__version__)
        self.eps, self.steps, self.eot = eps, steps, eot
        self.apgd = library.APGD(model, norm="Linf", eps=eps, steps=steps, n_restarts=1, seed=0, loss=self.loss,
                                 eot_iter=eot)
        self.attacked = self.never_fooled = 0

    @classmethod
    def from_options(cls, model: Model, options: AttackOptions, holdout: torch.Tensor | None = None,
                     num_classes: int = 10) -> APGD:
        return cls(model, options.eps, options.pgd_steps, options.eot, num_classes)

    def run(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The adversarial images and, per point, whether no draw checked during the attack misclassified it."""
        self.apgd.set_device(x.device)  # the library takes it from the model's first parameter, if it has one
        best_loss, never_fooled, _, fooled = self.apgd.attack_single_run(x, y)
        never_fooled = never_fooled.bool()
        adv = torch.where(never_fooled.view(-1, *[1] * (x.dim() - 1)), best_loss, fooled).detach()
        self.attacked += len(x)
        self.never_fooled += int(never_fooled.sum())
        return adv, never_fooled

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.run(x, y)[0]

    def settings(self) -> dict[str, Any]:
        return {"library": LIBRARY, "library_version": self.library_version, "norm": "Linf", "eps": self.eps,
                "steps": self.steps, "n_restarts": 1, "eot": self.eot}

    def describe(self) -> dict[str, object]:
        record: dict[str, object] = {"attack": self.name, **self.settings(), "loss": self.loss,
                                     "returns": "an iterate some draw misclassified, else the highest-loss iterate"}
        if self.attacked:
            record["in_attack"] = {"n": self.attacked, "never_fooled": self.never_fooled,
                                   "meaning": "points no draw checked during the attack misclassified"}
        return record


@register_attack
class APGDCE(APGD):
    name = "apgd-ce"
    title = "APGD-CE"
    loss = "ce"


@register_attack
class APGDDLR(APGD):
    name = "apgd-dlr"
    title = "APGD-DLR"
    loss = "dlr"
