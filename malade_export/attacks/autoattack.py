"""AutoAttack's ``rand`` version (Croce and Hein 2020): APGD-CE, then APGD-DLR where it failed, the
standard evaluation of a randomized defence.

torchattacks' own ``AutoAttack(version='rand')`` is not used: it runs APGD with torchattacks' default
of 10 steps (AutoAttack's is 100), fixes EOT at 20 draws, ignores ``n_classes`` in this version, and
decides which points APGD-DLR still attacks from a single noisy forward pass. Here both attacks take
``--pgd-steps`` and ``--eot``, and "still correct" and the worst case per sample are judged over
``eot`` fresh draws of the defence.
"""
from __future__ import annotations

import torch

from .apgd import APGDCE, APGDDLR
from .base import Attack, Model, register_attack
from .options import AttackOptions


@register_attack
class AutoAttackRand(Attack):
    """Per sample, the APGD-CE or APGD-DLR image the defence gets right in fewer of ``eot`` fresh draws."""

    name = "autoattack-rand"
    title = "AutoAttack-rand"

    def __init__(self, model: Model, eps: float = 0.3, steps: int = 100, eot: int = 20, num_classes: int = 10) -> None:
        super().__init__(model)
        self.ce = APGDCE(model, eps, steps, eot, num_classes)
        self.dlr = APGDDLR(model, eps, steps, eot, num_classes)
        self.eot = eot
        self.attacked = self.to_dlr = self.took_dlr = self.never_fooled = 0

    @classmethod
    def from_options(cls, model: Model, options: AttackOptions, holdout: torch.Tensor | None = None,
                     num_classes: int = 10) -> AutoAttackRand:
        return cls(model, options.eps, options.pgd_steps, options.eot, num_classes)

    @torch.no_grad()
    def correct_rate(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per point, the share of ``eot`` fresh forward passes that classify it correctly."""
        hits = torch.zeros(len(x), device=x.device)
        for _ in range(self.eot):
            hits += (self.model(x).argmax(1) == y).float()
        return hits / self.eot

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        adv, never_fooled = self.ce.run(x, y)
        rate = self.correct_rate(adv, y)
        todo = (rate > 0).nonzero().squeeze(1)  # APGD-CE's image is right in at least one draw
        if len(todo):
            dlr_adv, dlr_never = self.dlr.run(x[todo], y[todo])
            better = self.correct_rate(dlr_adv, y[todo]) < rate[todo]
            adv[todo[better]] = dlr_adv[better]
            never_fooled[todo] &= dlr_never
            self.took_dlr += int(better.sum())
        self.attacked += len(x)
        self.to_dlr += len(todo)
        self.never_fooled += int(never_fooled.sum())
        return adv

    def describe(self) -> dict[str, object]:
        record: dict[str, object] = {
            "attack": self.name, **self.ce.settings(), "loss": "ce, then dlr", "check_draws": self.eot,
            "returns": "per sample the APGD-CE or APGD-DLR image with fewer correct answers in check_draws fresh "
                       "draws; APGD-DLR runs where APGD-CE's image was right in at least one of them"}
        if self.attacked:
            record["in_attack"] = {"n": self.attacked, "to_dlr": self.to_dlr, "took_dlr": self.took_dlr,
                                   "never_fooled": self.never_fooled,
                                   "meaning": "points no draw checked during either attack misclassified"}
        return record
