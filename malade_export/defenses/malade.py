"""Malade: the Langevin chain driven by the classifier-supervised sDAE (the paper's method)."""
from __future__ import annotations

from .base import register_defense
from .chain import ChainDefense


@register_defense
class Malade(ChainDefense):
    name = "malade"
    denoiser_kind = "sdae"
    wrong_denoiser_hint = "an sDAE (for a plain DAE use --defense mala)"
