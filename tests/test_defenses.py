"""Defences on tiny untrained networks saved as real checkpoints (fast; behaviour, not accuracy)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from malade_export.attacks import BPDA, FGSM
from malade_export.chain import MaladeDefense
from malade_export.checkpoint import load_checkpoint, save_checkpoint
from malade_export.defenses import DefenseGAN, MagNet, Malade, NoDefense, build_defense
from malade_export.errors import MaladeError
from malade_export.models import build_model

SHAPE = [1, 28, 28]
CONFIGS = {
    "classifier": {"kind": "classifier", "arch": "E", "input_shape": SHAPE, "num_classes": 10},
    "dae": {"kind": "dae", "input_shape": SHAPE, "channels": 8, "kernel": 5, "sigma": 0.3},
    "sdae": {"kind": "sdae", "input_shape": SHAPE, "channels": 8, "kernel": 5, "sigma": 0.3},
    "generator": {"kind": "generator", "input_shape": SHAPE, "latent_dim": 128},
}


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ckpts")
    torch.manual_seed(0)
    return {kind: save_checkpoint(build_model(config), config, folder / kind) for kind, config in CONFIGS.items()}


@pytest.fixture()
def x() -> torch.Tensor:
    return torch.rand(4, *SHAPE, generator=torch.Generator().manual_seed(1))


def test_no_defense_is_the_classifier(ckpts, x):
    defense = build_defense("none", ckpts["classifier"])
    assert isinstance(defense, NoDefense)
    clf = load_checkpoint(ckpts["classifier"]).model
    torch.testing.assert_close(defense(x), clf(x))


def test_magnet_is_classifier_of_reconstruction(ckpts, x):
    clf, dae = load_checkpoint(ckpts["classifier"]).model, load_checkpoint(ckpts["dae"]).model
    built = build_defense("magnet", ckpts["classifier"], ckpts["dae"])
    for defense in (MagNet.from_models(clf, dae, 0.3, tuple(SHAPE)), built):
        torch.testing.assert_close(defense.purify(x), dae(x), atol=1e-6, rtol=0)
        torch.testing.assert_close(defense(x), clf(dae(x)), atol=1e-5, rtol=0)


def test_malade_logits_are_the_shipped_chains(ckpts, x):
    defense = build_defense("malade", ckpts["classifier"], ckpts["sdae"], steps=3)
    assert isinstance(defense, Malade) and isinstance(defense.chain, MaladeDefense)
    torch.manual_seed(5)
    ours = defense(x)
    torch.manual_seed(5)
    torch.testing.assert_close(ours, defense.chain(x).logits)
    assert ours.shape == (4, 10)


def test_malade_draws_fresh_noise_per_call_and_is_differentiable(ckpts, x):
    defense = build_defense("malade", ckpts["classifier"], ckpts["sdae"], steps=3)
    assert not torch.equal(defense.purify(x), defense.purify(x))
    images = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(defense(images).logsumexp(1).sum(), images)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_mala_and_malade_refuse_the_wrong_denoiser(ckpts):
    with pytest.raises(MaladeError, match="sDAE"):
        build_defense("malade", ckpts["classifier"], ckpts["dae"])
    with pytest.raises(MaladeError, match="unsupervised DAE"):
        build_defense("mala", ckpts["classifier"], ckpts["sdae"])
    assert build_defense("mala", ckpts["classifier"], ckpts["dae"], steps=2).name == "mala"


@pytest.mark.parametrize("name, kwargs, message", [
    ("bogus", {}, "unknown defence"),
    ("malade", {}, "needs a sDAE"),
    ("defensegan", {}, "generator checkpoint"),
    ("none", {"steps": 3}, "takes no options"),
    ("malade", {"dae_ckpt": "SDAE", "tempo": 3}, "bad malade option"),
])
def test_registry_errors_are_one_line_user_errors(ckpts, name, kwargs, message):
    if kwargs.get("dae_ckpt") == "SDAE":
        kwargs = {**kwargs, "dae_ckpt": ckpts["sdae"]}
    with pytest.raises(MaladeError, match=message):
        build_defense(name, ckpts["classifier"], **kwargs)


def test_defensegan_projects_without_autograd_and_needs_bpda(ckpts, x):
    defense = build_defense("defensegan", ckpts["classifier"], generator_ckpt=ckpts["generator"], steps=3, restarts=2)
    assert isinstance(defense, DefenseGAN) and not defense.differentiable
    with torch.no_grad():  # the projection must still run its inner optimisation
        purified = defense.purify(x)
        logits = defense(x)
    assert purified.shape == x.shape and purified.min() >= 0 and purified.max() <= 1
    assert logits.shape == (4, 10)
    y = torch.zeros(4, dtype=torch.long)
    with pytest.raises(MaladeError, match="BPDA"):
        FGSM(defense, eps=0.3)(x, y)
    adv = FGSM(BPDA(defense), eps=0.3)(x, y)
    assert (adv - x).abs().max() <= 0.3 + 1e-6


def test_runtime_chain_answers_like_the_torch_chain_and_passes_its_gradient(ckpts, x):
    from malade_export.defenses import RuntimeChain

    chain = build_defense("malade", ckpts["classifier"], ckpts["sdae"], steps=3)
    in_ort = RuntimeChain(chain, "ort")
    torch.manual_seed(5)
    expected = chain(x)
    torch.manual_seed(5)  # the same noise draws: the runtime only changes where the arithmetic happens
    torch.testing.assert_close(in_ort(x), expected, atol=1e-4, rtol=0)
    assert in_ort.describe()["runtime"] == "ort"

    grads = []
    for defense in (chain, in_ort):
        point = x.clone().requires_grad_(True)
        torch.manual_seed(6)
        defense(point)[:, 0].sum().backward()
        grads.append(point.grad)
    torch.testing.assert_close(grads[1], grads[0])  # straight through: the float32 chain's gradient


def test_runtime_chain_needs_a_chain_built_from_checkpoints(ckpts):
    from malade_export.defenses import RuntimeChain

    clf, sdae = load_checkpoint(ckpts["classifier"]).model, load_checkpoint(ckpts["sdae"]).model
    with pytest.raises(MaladeError, match="checkpoints"):
        RuntimeChain(Malade(MaladeDefense(clf, sdae, 0.3, tuple(SHAPE), steps=2)), "ort")
    with pytest.raises(MaladeError, match="unknown runtime"):
        RuntimeChain(build_defense("malade", ckpts["classifier"], ckpts["sdae"], steps=2), "tflite")
