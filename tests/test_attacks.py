"""Attacks on a tiny MLP trained in-test on synthetic 28x28 data (seconds, no dataset needed)."""
from __future__ import annotations

import pytest
import torch
from conftest import template_images
from torch import nn

from malade_export.attacks import (
    BPDA,
    CWL2,
    FGSM,
    PGD,
    RFGSM,
    BlackBox,
    SubstituteSettings,
    straight_through,
)
from malade_export.defenses import Defense, NoDefense
from malade_export.errors import MaladeError
from malade_export.train import TrainSettings, train_classifier


@pytest.fixture(scope="module")
def tiny() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    train, test = template_images(600, 0), template_images(200, 1)
    model = train_classifier("E", train, test, TrainSettings(epochs=3, batch_size=50), log=lambda _: None).model
    return model, torch.from_numpy(test.images), torch.from_numpy(test.labels)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


def linf(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


class Quantize(Defense):
    """A purifier with zero gradient everywhere (rounding), the case BPDA exists for."""

    def purify(self, x: torch.Tensor) -> torch.Tensor:
        return (x * 4).round() / 4


class Detach(Defense):
    """A purifier that cuts the graph, as Defense-GAN's projection does."""

    def purify(self, x: torch.Tensor) -> torch.Tensor:
        return x.detach()


def test_fgsm_lowers_undefended_accuracy(tiny):
    model, x, y = tiny
    clean = accuracy(model, x, y)
    assert clean > 0.7
    assert accuracy(model, FGSM(model, eps=0.1)(x, y), y) < clean - 0.3


def test_fgsm_moves_unclipped_pixels_by_exactly_eps(tiny):
    model, x, y = tiny
    adv = FGSM(model, eps=0.1)(x, y)
    assert adv.min() >= 0 and adv.max() <= 1
    inside = (x > 0.1) & (x < 0.9)
    torch.testing.assert_close((adv - x).abs()[inside], torch.full_like(x[inside], 0.1), atol=1e-6, rtol=0)


def test_rfgsm_stays_in_the_eps_ball_and_lowers_accuracy(tiny):
    model, x, y = tiny
    adv = RFGSM(model, eps=0.3, alpha=0.05)(x, y)
    assert linf(adv, x) <= 0.3 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert accuracy(model, adv, y) < accuracy(model, x, y) - 0.3


def test_pgd_projects_onto_the_eps_ball_and_is_at_least_as_strong_as_fgsm(tiny):
    model, x, y = tiny
    adv = PGD(model, eps=0.03, alpha=0.01, steps=20)(x, y)
    assert linf(adv, x) <= 0.03 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    assert accuracy(model, adv, y) <= accuracy(model, FGSM(model, eps=0.03)(x, y), y) + 0.02


def test_pgd_eot_averages_gradients_of_fresh_draws(tiny, monkeypatch):
    model, x, y = tiny
    attack = PGD(model, eps=0.1, steps=1, eot=3)
    draws = iter([torch.full_like(x, v) for v in (1.0, 2.0, 6.0)])
    monkeypatch.setattr(attack, "loss_gradient", lambda *_: next(draws))
    torch.testing.assert_close(attack.gradient(x, y), torch.full_like(x, 3.0))


def test_pgd_eot_queries_the_model_once_per_draw_and_step(tiny):
    model, x, y = tiny
    calls = []

    def noisy(images: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return model(images + 0.01 * torch.randn_like(images))

    PGD(noisy, eps=0.1, steps=3, eot=4)(x[:8], y[:8])
    assert len(calls) == 12


@pytest.mark.parametrize("lr", [0.1, 10.0])  # 10 is Defense-GAN's setting
def test_cw_stays_in_unit_box_and_returns_only_misclassified_or_original(tiny, lr):
    model, x, y = tiny
    x, y = x[:50], y[:50]
    adv = CWL2(model, steps=30, lr=lr)(x, y)
    assert adv.min() >= 0 and adv.max() <= 1
    changed = (adv != x).flatten(1).any(1)
    assert changed.float().mean() > 0.5
    with torch.no_grad():
        assert (model(adv).argmax(1)[changed] != y[changed]).all()


def test_bpda_forward_is_the_defence_and_backward_is_the_identity(tiny):
    model, x, _ = tiny
    defense = Quantize(model)
    images = x[:4].clone().requires_grad_(True)
    out = BPDA(defense)(images)
    torch.testing.assert_close(out, defense(images))
    (through_bpda,) = torch.autograd.grad(out.sum(), images)
    purified = defense.purify(images).detach().requires_grad_(True)
    (at_purified,) = torch.autograd.grad(defense.classify(purified).sum(), purified)
    assert at_purified.abs().sum() > 0
    torch.testing.assert_close(through_bpda, at_purified)
    (plain,) = torch.autograd.grad(defense(images).sum(), images)
    assert plain.abs().sum() == 0  # what BPDA fixes: rounding has no gradient


def test_straight_through_has_unit_jacobian():
    x = torch.rand(3, 5, requires_grad=True)
    (grad,) = torch.autograd.grad(straight_through(x, x.detach() ** 2).sum(), x)
    torch.testing.assert_close(grad, torch.ones_like(x))


def test_white_box_attack_on_graph_cutting_defence_asks_for_bpda(tiny):
    model, x, y = tiny
    with pytest.raises(MaladeError, match="BPDA"):
        FGSM(Detach(model), eps=0.1)(x[:4], y[:4])
    assert FGSM(BPDA(Detach(model)), eps=0.1)(x[:4], y[:4]).shape == x[:4].shape


def test_blackbox_substitute_learns_the_defended_models_labels(tiny):
    _, x, y = tiny

    def always_three(images: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(torch.full((len(images),), 3), 10).float()

    settings = SubstituteSettings(rounds=3, epochs=5, batch_size=16)
    attack = BlackBox.train(always_three, x[:20], 10, eps=0.3, settings=settings)
    assert attack.training_size == 20 * 2**2
    assert accuracy(attack.model, x, torch.full_like(y, 3)) > 0.9
    adv = attack(x[20:40], y[20:40])
    assert linf(adv, x[20:40]) <= 0.3 + 1e-6 and adv.min() >= 0 and adv.max() <= 1


def test_blackbox_end_to_end_transfers_to_the_undefended_model(tiny):
    model, x, y = tiny
    attack = BlackBox.train(NoDefense(model), x[:100], 10, eps=0.3, settings=SubstituteSettings(rounds=2, epochs=5))
    clean = accuracy(model, x[100:], y[100:])
    assert accuracy(model, attack(x[100:], y[100:]), y[100:]) < clean - 0.2
    assert attack.describe()["substitute"]["rounds"] == 2


def test_fgsm_and_pgd_agree_with_torchattacks(tiny):
    torchattacks = pytest.importorskip("torchattacks")
    model, x, y = tiny
    eps, alpha = 0.03, 0.0075
    pairs = [
        (FGSM(model, eps)(x, y), torchattacks.FGSM(model, eps=eps)(x, y)),
        (PGD(model, eps, alpha, steps=10, random_start=False)(x, y),
         torchattacks.PGD(model, eps=eps, alpha=alpha, steps=10, random_start=False)(x, y)),
    ]
    for ours, theirs in pairs:
        assert abs(accuracy(model, ours, y) - accuracy(model, theirs, y)) <= 0.01
        assert ((ours - theirs).abs() < 1e-5).float().mean() > 0.99
