"""Carlini-Wagner L2 (2017) with Defense-GAN's settings: 1 binary-search step, 100 iterations,
Adam lr 10, c = 100.

The image is optimised in tanh space, x~ = (tanh(w) + 1) / 2, so it stays in [0, 1] by
construction. Per image the smallest-L2 misclassified iterate is kept; images never misclassified
are returned unchanged (as in cleverhans and torchattacks).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import MaladeError
from .base import Attack, Model, register_attack
from .options import AttackOptions

NO_BOUND = 1e10


@register_attack
class CWL2(Attack):
    """min ||x~ - x||^2 + c max(Z_y - max_{i != y} Z_i, -kappa), binary search on c."""

    name = "cw"
    title = "CW-L2"
    paper_white_box = True

    def __init__(self, model: Model, c: float = 100.0, kappa: float = 0.0, steps: int = 100, lr: float = 10.0,
                 search_steps: int = 1) -> None:
        super().__init__(model)
        if steps < 1 or search_steps < 1:
            raise MaladeError(f"cw needs steps >= 1 and search_steps >= 1, got {steps}, {search_steps}")
        self.c, self.kappa, self.steps, self.lr, self.search_steps = c, kappa, steps, lr, search_steps

    @classmethod
    def from_options(cls, model: Model, options: AttackOptions, holdout: torch.Tensor | None = None,
                     num_classes: int = 10) -> CWL2:
        return cls(model, options.cw_c, steps=options.cw_steps, lr=options.cw_lr, search_steps=options.cw_search_steps)

    def perturb(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        const = torch.full((x.shape[0],), float(self.c), device=x.device)
        lower, upper = torch.zeros_like(const), torch.full_like(const, NO_BOUND)
        best, best_l2 = x.clone(), torch.full_like(const, float("inf"))
        for _ in range(self.search_steps):
            succeeded = self._optimise(x, y, const, best, best_l2)
            upper = torch.where(succeeded, torch.minimum(upper, const), upper)
            lower = torch.where(succeeded, lower, torch.maximum(lower, const))
            const = torch.where(upper < NO_BOUND, (lower + upper) / 2, const * 10)
        return best

    def _optimise(self, x: torch.Tensor, y: torch.Tensor, const: torch.Tensor, best: torch.Tensor,
                  best_l2: torch.Tensor) -> torch.Tensor:
        """Adam on w for one value of c; updates ``best``/``best_l2`` in place; returns who succeeded."""
        w = torch.atanh((2 * x - 1).clamp(-1 + 1e-6, 1 - 1e-6)).requires_grad_(True)
        optimizer = torch.optim.Adam([w], lr=self.lr)
        succeeded = torch.zeros_like(y, dtype=torch.bool)
        for _ in range(self.steps):
            with torch.enable_grad():
                adv = (torch.tanh(w) + 1) / 2
                logits = self.model(adv)
                l2 = ((adv - x) ** 2).flatten(1).sum(1)
                real = logits.gather(1, y[:, None]).squeeze(1)
                other = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).max(1).values
                margin = (real - other + self.kappa).clamp(min=0)
                (w.grad,) = torch.autograd.grad((l2 + const * margin).sum(), w)
            optimizer.step()
            with torch.no_grad():
                hit = logits.argmax(1) != y
                better = hit & (l2 < best_l2)
                best_l2[better] = l2[better]
                best[better] = adv[better]
                succeeded |= hit
        return succeeded

    def describe(self) -> dict[str, object]:
        return {"attack": self.name, "c": self.c, "kappa": self.kappa, "steps": self.steps, "lr": self.lr,
                "search_steps": self.search_steps}
