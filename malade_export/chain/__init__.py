"""The Langevin purification chain (``MaladeDefense``), built from checkpoints or a bundled preset."""
from .build import ChainSettings, LoadedDefense, load_defense
from .langevin import MAX_STEPS, MAX_VOTES, DefenseOutput, MaladeDefense
from .presets import DEFAULT_PRESET, PRESETS, Preset, preset

__all__ = ["DEFAULT_PRESET", "MAX_STEPS", "MAX_VOTES", "PRESETS", "ChainSettings", "DefenseOutput", "LoadedDefense",
           "MaladeDefense", "Preset", "load_defense", "preset"]
