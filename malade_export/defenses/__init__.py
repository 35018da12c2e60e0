"""Defences behind one interface (``Defense``: images -> logits), built by name with ``build_defense``."""
from .base import Defense
from .chain import ChainDefense
from .defensegan import DefenseGAN
from .exported import RUNTIMES, RuntimeChain
from .magnet import MagNet
from .mala import Mala
from .malade import Malade
from .none import NoDefense
from .registry import DEFENSES, build_defense

__all__ = ["DEFENSES", "ChainDefense", "Defense", "DefenseGAN", "MagNet", "Mala", "Malade", "NoDefense", "RUNTIMES",
           "RuntimeChain", "build_defense"]
