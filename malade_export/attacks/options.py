"""Every attack's knobs in one place, so the CLI, the paired comparison and reruns build attacks alike."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SubstituteSettings:
    """Defaults: Defense-GAN's substitute training (6 rounds, lambda 0.1, 10 epochs, Adam 1e-3)."""

    arch: str = "E"
    rounds: int = 6
    lmbda: float = 0.1
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class AttackOptions:
    """Defaults are the paper's and Defense-GAN's settings."""

    eps: float = 0.3
    rfgsm_alpha: float = 0.05
    pgd_steps: int = 100
    pgd_alpha: float = 0.01
    pgd_random_start: bool = True
    eot: int = 1
    cw_steps: int = 100
    cw_lr: float = 10.0
    cw_c: float = 100.0
    cw_search_steps: int = 1
    substitute: SubstituteSettings = field(default_factory=SubstituteSettings)
    bpda: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> AttackOptions:
        """From ``malade eval``'s values (typed, or as text in a recorded command).

        The run's seed also seeds the black-box substitute."""
        return cls(
            eps=float(params["eps"]), rfgsm_alpha=float(params["rfgsm_alpha"]), pgd_steps=int(params["pgd_steps"]),
            pgd_alpha=float(params["pgd_alpha"]), pgd_random_start=not params.get("no_random_start", False),
            eot=int(params["eot"]), cw_steps=int(params["cw_steps"]), cw_lr=float(params["cw_lr"]),
            cw_c=float(params["cw_c"]), bpda=bool(params.get("bpda", False)),
            substitute=SubstituteSettings(arch=str(params.get("sub_arch") or "E"), rounds=int(params["sub_rounds"]),
                                          lmbda=float(params["sub_lambda"]), epochs=int(params["sub_epochs"]),
                                          seed=int(params["seed"])))
