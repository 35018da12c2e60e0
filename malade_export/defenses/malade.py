"""Malade: the Langevin chain driven by the classifier-supervised sDAE (the paper's method)."""
from __future__ import annotations

from .chain import ChainDefense


class Malade(ChainDefense):
    name = "malade"
    denoiser_kind = "sdae"
    wrong_denoiser_hint = "an sDAE (for a plain DAE use --defense mala)"
