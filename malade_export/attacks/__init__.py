"""Attacks of the paper (FGSM, R+FGSM, CW-L2, Papernot black-box) and of a skeptical reviewer
(PGD with EOT through the whole chain, BPDA)."""
from .base import Attack, Model
from .blackbox import BlackBox, SubstituteSettings, train_substitute
from .bpda import BPDA, straight_through
from .cw_l2 import CWL2
from .fgsm import FGSM
from .pgd import PGD
from .rfgsm import RFGSM

__all__ = ["Attack", "BPDA", "BlackBox", "CWL2", "FGSM", "Model", "PGD", "RFGSM", "SubstituteSettings",
           "straight_through", "train_substitute"]
