"""Evaluation: accuracy (with Wilson 95% intervals) of a defence under an attack, and result files
that name the command, seed and commit behind every number."""
from .provenance import git_commit, provenance
from .report import markdown_row, write_result
from .runner import ATTACKS, AttackOptions, build_attack, evaluate
from .stats import Accuracy, wilson_interval

__all__ = ["ATTACKS", "Accuracy", "AttackOptions", "build_attack", "evaluate", "git_commit", "markdown_row",
           "provenance", "wilson_interval", "write_result"]
