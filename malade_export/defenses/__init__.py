"""Defences behind one interface (``Defense``: images -> logits), registered by name in ``DEFENSES``."""
# isort: off
# Import order is registration order: the CLI's choices and the tables' columns follow it.
from .base import DEFENSES, Defense, DefenseSources, register_defense
from .none import NoDefense
from .magnet import MagNet
from .mala import Mala
from .malade import Malade
from .defensegan import DefenseGAN
# isort: on
from .chain import ChainDefense
from .exported import RuntimeChain, runtime_choices
from .registry import build_defense

__all__ = ["DEFENSES", "ChainDefense", "Defense", "DefenseGAN", "DefenseSources", "MagNet", "Mala", "Malade",
           "NoDefense", "RuntimeChain", "build_defense", "register_defense", "runtime_choices"]
