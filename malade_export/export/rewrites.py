"""Exact rewrites of the denoiser into operators a given runtime executes fast.

The same function can be spelled with different ONNX operators, and runtimes differ in which
spelling they run well. On ONNX Runtime's CPU provider (Zen 5, 2 threads, batch 64), the sDAE's
last Conv (64 -> 1 channel) reached 19 GFLOP/s, because its blocked layout pads one output
channel to sixteen, and its stride-2 ConvTransposes reached about 165. Rewritten, the same chain
runs about 1.6x faster at batch 1 and 1.9x at batch 64:
- stride-2 ConvTransposes become sub-pixel convolutions (a 3 x 3 Conv to 4C channels, then
  DepthToSpace);
- the last one's DepthToSpace moves past the output conv, which then works on the four phases;
- a conv with a few outputs becomes a ConvTranspose (a GEMM over its taps, then col2im).
OpenVINO runs the plain spelling faster, so the rewrite is chosen per target at export. The
rewritten modules compute the same outputs up to float32 rounding; export verifies the written
file against the original module.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

GRAPH_TARGETS = ("onnxruntime", "openvino")
FEW_OUTPUT_CHANNELS = 4  # a stride-1 Conv with at most this many outputs becomes a ConvTranspose


class SubPixelConvTranspose(nn.Module):
    """A stride-2 ConvTranspose2d whose output is exactly 2H x 2W, as Conv2d(4C) + pixel_shuffle.

    Output pixel (2m + r) sums input pixels m + d with kernel tap r + padding - 2d; every phase r
    becomes its own group of output channels of one symmetric 'same' convolution.
    """

    def __init__(self, transpose: nn.ConvTranspose2d) -> None:
        super().__init__()
        weight = transpose.weight.detach()  # [C_in, C_out, k, k]
        c_in, c_out, k, _ = weight.shape
        pad = transpose.padding[0]
        reach = max(-((pad - k + 1) // 2), (1 + pad) // 2)  # furthest input offset any phase uses
        size = 2 * reach + 1
        taps = torch.zeros(c_out, 4, c_in, size, size, dtype=weight.dtype)
        for rh in range(2):
            for rw in range(2):
                for dh in range(-reach, reach + 1):
                    for dw in range(-reach, reach + 1):
                        kh, kw = rh + pad - 2 * dh, rw + pad - 2 * dw
                        if 0 <= kh < k and 0 <= kw < k:
                            taps[:, 2 * rh + rw, :, dh + reach, dw + reach] = weight[:, :, kh, kw].T
        self.conv = nn.Conv2d(c_in, 4 * c_out, size, 1, reach, bias=transpose.bias is not None)
        self.conv.weight.data = taps.reshape(4 * c_out, c_in, size, size)
        if transpose.bias is not None:
            self.conv.bias.data = transpose.bias.detach().repeat_interleave(4)

        self.shuffle = True  # False when the next layers work on the phases directly (see fold below)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phases = self.conv(x)  # channel c * 4 + (2 rh + rw) holds output pixels (2m + rh, 2n + rw) of c
        return F.pixel_shuffle(phases, 2) if self.shuffle else phases  # pixel_shuffle exports as DepthToSpace

    @staticmethod
    def applies_to(module: nn.Module) -> bool:
        if type(module) is not nn.ConvTranspose2d or module.groups != 1 or module.dilation != (1, 1):
            return False
        (k, kw), (s, sw), (p, pw), (op, opw) = module.kernel_size, module.stride, module.padding, module.output_padding
        return k == kw and s == sw == 2 and p == pw and op == opw and k - 2 * p + op == 2  # output is exactly 2H


class PhaseSpaceConv(nn.Module):
    """A stride-1 'same' Conv2d on a 2H x 2W image, computed on its four H x W phases, then shuffled.

    Placed after a SubPixelConvTranspose that no longer shuffles (and an elementwise activation,
    which commutes with shuffling), it spares the full-resolution DepthToSpace: only the conv's
    few output channels are shuffled. Output pixel 2m + s reads input pixel 2m + s + k - pad,
    which lives in phase (s + k - pad) mod 2 at offset (s + k - pad) // 2.
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        weight = conv.weight.detach()  # [C_out, C_in, k, k]
        c_out, c_in, k, _ = weight.shape
        pad = conv.padding[0]
        reach = max(-((-pad) // 2), (k - pad) // 2)
        size = 2 * reach + 1
        taps = torch.zeros(c_out, 4, c_in, 4, size, size, dtype=weight.dtype)
        for sh in range(2):
            for sw in range(2):
                for kh in range(k):
                    for kw in range(k):
                        th, tw = sh + kh - pad, sw + kw - pad
                        taps[:, 2 * sh + sw, :, 2 * (th % 2) + tw % 2, th // 2 + reach, tw // 2 + reach] += \
                            weight[:, :, kh, kw]
        self.conv = nn.Conv2d(4 * c_in, 4 * c_out, size, 1, reach, bias=conv.bias is not None)
        self.conv.weight.data = taps.reshape(4 * c_out, 4 * c_in, size, size)
        if conv.bias is not None:
            self.conv.bias.data = conv.bias.detach().repeat_interleave(4)

    def forward(self, phases: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(phases), 2)


ELEMENTWISE = (nn.Tanh, nn.Sigmoid, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Identity)


def _fold_shuffles(sequence: nn.Sequential) -> None:
    """SubPixelConvTranspose -> elementwise -> few-output Conv: shuffle after the conv, not before."""
    layers = list(sequence)
    for i in range(len(layers) - 2):
        transpose, activation, conv = layers[i: i + 3]
        if (SubPixelConvTranspose.applies_to(transpose) and isinstance(activation, ELEMENTWISE)
                and _few_output_conv(conv) and conv.padding[0] * 2 + 1 == conv.kernel_size[0]):
            unshuffled = SubPixelConvTranspose(transpose)  # type: ignore[arg-type]
            unshuffled.shuffle = False
            sequence[i], sequence[i + 2] = unshuffled, PhaseSpaceConv(conv)  # type: ignore[arg-type]


def conv_as_transpose(conv: nn.Conv2d) -> nn.ConvTranspose2d:
    """A stride-1 Conv2d as the ConvTranspose2d with swapped channels and a flipped kernel."""
    k, pad = conv.kernel_size[0], conv.padding[0]
    transpose = nn.ConvTranspose2d(conv.in_channels, conv.out_channels, k, 1, k - 1 - pad, bias=conv.bias is not None)
    transpose.weight.data = conv.weight.detach().transpose(0, 1).flip(2, 3).contiguous()
    if conv.bias is not None:
        transpose.bias.data = conv.bias.detach().clone()
    return transpose


def _few_output_conv(module: nn.Module) -> bool:
    return (type(module) is nn.Conv2d and module.stride == (1, 1) and module.dilation == (1, 1)
            and module.groups == 1 and isinstance(module.padding, tuple) and len(set(module.padding)) == 1
            and module.kernel_size[0] == module.kernel_size[1] and module.padding[0] < module.kernel_size[0]
            and module.out_channels <= FEW_OUTPUT_CHANNELS < module.in_channels)


def for_target(denoiser: nn.Module, target: str) -> nn.Module:
    """The denoiser spelled for ``target``: a rewritten copy for onnxruntime, itself for openvino."""
    if target not in GRAPH_TARGETS:
        raise ValueError(f"unknown graph target {target!r}; choose one of {', '.join(GRAPH_TARGETS)}")
    if target == "openvino":
        return denoiser
    rewritten = copy.deepcopy(denoiser)  # never change the caller's module
    for sequence in [m for m in rewritten.modules() if isinstance(m, nn.Sequential)]:
        _fold_shuffles(sequence)
    for parent in list(rewritten.modules()):  # listed after the fold: its new convs are rewritten too
        for name, child in list(parent.named_children()):
            if SubPixelConvTranspose.applies_to(child):
                setattr(parent, name, SubPixelConvTranspose(child))  # type: ignore[arg-type]
            elif _few_output_conv(child):
                setattr(parent, name, conv_as_transpose(child))  # type: ignore[arg-type]
    return rewritten.eval()
