"""Evaluation: accuracy (with Wilson 95% intervals) of a defence under an attack, and result files
that name the command, seed and commit behind every number."""
from .paired import PairedResult, compare_paired
from .report import markdown_row, write_result
from .runner import AttackOptions, attack_choices, build_attack, evaluate, test_slice
from .stats import Accuracy, wilson_interval

__all__ = ["Accuracy", "AttackOptions", "PairedResult", "attack_choices", "build_attack", "compare_paired", "evaluate",
           "markdown_row", "test_slice", "wilson_interval", "write_result"]
