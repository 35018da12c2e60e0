"""Run one (defence, attack) pair over a test slice and count correct answers, clean and attacked."""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from ..attacks import ATTACKS, BPDA, NO_ATTACK, Attack, AttackOptions
from ..defenses import Defense
from ..errors import MaladeError
from .stats import Accuracy


def build_attack(name: str, defense: Defense, options: AttackOptions, holdout: torch.Tensor | None = None,
                 num_classes: int = 10) -> Attack | None:
    """The attack against ``defense`` (None for clean accuracy only).

    White-box attacks see the defence through BPDA when asked to, or when it has no input gradient.
    The black-box attack queries the real defence on ``holdout`` to train its substitute.
    """
    if name == NO_ATTACK:
        return None
    attack = ATTACKS.get(name)
    if attack.white_box and (options.bpda or not defense.differentiable):
        return attack.from_options(BPDA(defense), options, holdout, num_classes)
    return attack.from_options(defense, options, holdout, num_classes)


def attack_choices() -> tuple[str, ...]:
    return (NO_ATTACK, *ATTACKS.names())


def test_slice(num_images: int, holdout: int, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the attacker's held-out images and of the ``n`` evaluated ones, fixed by ``seed``."""
    if holdout + n > num_images:
        raise MaladeError(f"--holdout {holdout} + --n {n} exceeds the {num_images} test images")
    torch.manual_seed(seed)
    order = torch.randperm(num_images)
    return order[:holdout], order[holdout: holdout + n]


@torch.no_grad()
def _correct(defense: Defense, x: torch.Tensor, y: torch.Tensor) -> int:
    return int((defense(x).argmax(1) == y).sum())


def evaluate(defense: Defense, attack: Attack | None, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 100, progress: bool = True) -> tuple[Accuracy, Accuracy | None]:
    """Clean accuracy and (if ``attack``) accuracy on the attacked images, each one fresh defence draw."""
    if len(images) == 0:
        raise MaladeError("nothing to evaluate: the test slice is empty")
    clean = attacked = 0
    bar = tqdm(total=len(images), desc=f"{defense.name} / {attack.name if attack else 'clean'}", unit="img",
               disable=not progress)
    for start in range(0, len(images), batch_size):
        x, y = images[start: start + batch_size], labels[start: start + batch_size]
        bar.set_postfix_str("clean", refresh=True)  # a slow defence (Defense-GAN) spends minutes per phase
        clean += _correct(defense, x, y)
        if attack is not None:
            bar.set_postfix_str("attacking", refresh=True)
            x_adv = attack(x, y)
            bar.set_postfix_str("attacked", refresh=True)
            attacked += _correct(defense, x_adv, y)
        bar.update(len(x))
    bar.close()
    return Accuracy(clean, len(images)), Accuracy(attacked, len(images)) if attack is not None else None
