"""Per-sample multiply-accumulate counts of the networks, from forward hooks on their layers.

Only Conv2d, ConvTranspose2d and Linear are counted: they carry all but a fraction of a percent of
the work in these nets (activations, clipping and the Langevin update are element-wise). FLOPs are
2 x MACs. A transposed convolution scatters every input pixel through the whole kernel, so its
count is input pixels x C_in x C_out / groups x k_h x k_w, cropped or not.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..chain import MaladeDefense


def _layer_macs(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> int:
    batch = inputs[0].shape[0] if inputs[0].dim() > 1 else 1
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = module.in_channels // module.groups * kh * kw
        return output.numel() // batch * per_output
    if isinstance(module, nn.ConvTranspose2d):
        kh, kw = module.kernel_size
        per_input = module.out_channels // module.groups * kh * kw
        return inputs[0].numel() // batch * per_input
    if isinstance(module, nn.Linear):
        return output.numel() // batch * module.in_features
    return 0


def count_macs(model: nn.Module, *inputs: torch.Tensor) -> int:
    """MACs per sample of one forward pass of ``model`` on ``inputs`` (any batch size)."""
    total = 0

    def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        nonlocal total
        total += _layer_macs(module, args, output)

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    handles = [m.register_forward_hook(hook) for m in layers]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total


def chain_macs(defense: MaladeDefense) -> dict[str, int]:
    """Per-sample MACs of the chain: r(x_0) once, N - 1 more (s)DAE passes and a classifier pass per chain."""
    x = torch.zeros(1, *defense.input_shape)
    dae = count_macs(defense.dae, x)
    classifier = count_macs(defense.classifier, x)
    chains = defense.votes
    return {"dae": dae, "classifier": classifier, "total": dae + chains * ((defense.steps - 1) * dae + classifier)}


def defensegan_macs(generator: nn.Module, classifier: nn.Module, steps: int, restarts: int) -> dict[str, int]:
    """Per-image MACs of Defense-GAN: R x (L forward + L input-gradient backward + 1 final forward) + classify.

    The backward pass to z (weights frozen) costs about one forward pass per layer, so each of the
    L steps counts as 2 generator passes; this is an estimate, not a hook measurement.
    """
    generator_macs = count_macs(generator, torch.zeros(1, generator.latent_dim))  # type: ignore[attr-defined]
    image = generator(torch.zeros(1, generator.latent_dim)).detach()  # type: ignore[attr-defined]
    classifier_macs = count_macs(classifier, image)
    total = restarts * (2 * steps + 1) * generator_macs + classifier_macs
    return {"generator": generator_macs, "classifier": classifier_macs, "total": total}
