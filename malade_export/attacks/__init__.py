"""Attacks of the paper (FGSM, R+FGSM, CW-L2, Papernot black-box) and of a skeptical reviewer
(PGD with EOT through the whole chain, BPDA, AutoAttack's rand version from torchattacks), each registered
in ``ATTACKS`` under its name."""
# isort: off
# Import order is registration order: the CLI's choices and the tables' columns follow it.
from .base import ATTACKS, NO_ATTACK, Attack, Model, register_attack
from .fgsm import FGSM
from .rfgsm import RFGSM
from .pgd import PGD
from .cw_l2 import CWL2
from .blackbox import BlackBox, train_substitute
from .apgd import APGDCE, APGDDLR
from .autoattack import AutoAttackRand
# isort: on
from .bpda import BPDA, straight_through
from .options import AttackOptions, SubstituteSettings

__all__ = ["APGDCE", "APGDDLR", "ATTACKS", "BPDA", "CWL2", "FGSM", "NO_ATTACK", "PGD", "RFGSM", "Attack",
           "AttackOptions", "AutoAttackRand", "BlackBox", "Model", "SubstituteSettings", "register_attack",
           "straight_through", "train_substitute"]
