"""Mala: the same Langevin chain as Malade but with the unsupervised DAE (the paper's ablation)."""
from __future__ import annotations

from .base import register_defense
from .chain import ChainDefense


@register_defense
class Mala(ChainDefense):
    name = "mala"
    denoiser_kind = "dae"
    wrong_denoiser_hint = "an unsupervised DAE (for an sDAE use --defense malade)"
