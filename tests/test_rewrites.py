"""The export-time rewrites compute the same denoiser, and each target gets the operators it runs well."""
import numpy as np
import onnx
import pytest
import torch
from torch import nn

from malade_export.chain import load_defense
from malade_export.export import export_defense
from malade_export.export.rewrites import (
    PhaseSpaceConv,
    SubPixelConvTranspose,
    conv_as_transpose,
    depth_to_space,
    for_target,
)
from malade_export.models.dae import DenoisingAutoencoder
from malade_export.runtime import Session


@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 13, 10)])
def test_rewritten_denoiser_matches_the_original(kernel, shape):
    torch.manual_seed(kernel)
    dae = DenoisingAutoencoder(shape, channels=16, kernel=kernel).eval()
    rewritten = for_target(dae, "onnxruntime")
    expected = [SubPixelConvTranspose, nn.Identity] * 2 + [PhaseSpaceConv, nn.Sigmoid]
    assert [type(m) for m in rewritten.decoder] == expected
    assert not rewritten.decoder[2].shuffle  # the output conv works on the phases: no full-size DepthToSpace
    assert type(rewritten.decoder[0].activation) is nn.Tanh  # applied inside, where ORT fuses it
    assert (type(rewritten.decoder[4].conv) is nn.ConvTranspose2d) == (shape[0] == 1)  # 4 outputs: as a transpose
    assert type(dae.decoder[0]) is nn.ConvTranspose2d  # the caller's module is untouched
    x = torch.rand(4, *shape)
    with torch.no_grad():
        torch.testing.assert_close(rewritten(x), dae(x), atol=1e-5, rtol=0)
    assert for_target(dae, "openvino") is dae and for_target(dae, "tensorrt") is dae


def test_single_layer_rewrites_are_exact_up_to_rounding():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 1, 5, 1, 2)
    x = torch.randn(2, 8, 7, 9)
    with torch.no_grad():
        for transpose in (nn.ConvTranspose2d(8, 5, 5, 2, 2, output_padding=1), nn.ConvTranspose2d(8, 5, 4, 2, 1),
                          nn.ConvTranspose2d(8, 5, 3, 2, 1, output_padding=1), nn.ConvTranspose2d(8, 5, 2, 2, 0),
                          nn.ConvTranspose2d(8, 5, 6, 2, 2)):
            assert SubPixelConvTranspose.applies_to(transpose)
            sub_pixel = SubPixelConvTranspose(transpose)
            torch.testing.assert_close(sub_pixel(x), transpose(x), atol=1e-5, rtol=0)
            taps = sum(conv.weight.shape[2] * conv.weight.shape[3] for conv in sub_pixel.phase_convs)
            assert taps == transpose.kernel_size[0] ** 2  # every kernel tap used once: no zero taps
        torch.testing.assert_close(conv_as_transpose(conv)(x), conv(x), atol=1e-5, rtol=0)
        for k in (3, 5):  # the output conv on the four phases of an image equals it on the image
            same = nn.Conv2d(8, 2, k, 1, k // 2)
            phases = torch.randn(2, 32, 6, 5)
            torch.testing.assert_close(PhaseSpaceConv(same)(phases), same(depth_to_space(phases)), atol=1e-5, rtol=0)
    assert not SubPixelConvTranspose.applies_to(nn.ConvTranspose2d(8, 5, 3, 2, 1))  # output 2H - 1
    with pytest.raises(ValueError, match="unknown graph target"):
        for_target(conv, "tflite")


def test_targets_write_different_operators_with_the_same_outputs(tiny_checkpoints, tmp_path):
    loaded = load_defense(tiny_checkpoints["classifier"], tiny_checkpoints["sdae"], steps=3)
    paths = {t: export_defense(loaded, tmp_path / f"{t}.onnx", target=t).path for t in ("onnxruntime", "openvino")}
    nodes = {t: onnx.load(str(p)).graph.node for t, p in paths.items()}
    ops = {t: {node.op_type for node in graph} for t, graph in nodes.items()}
    assert "DepthToSpace" in ops["onnxruntime"] and "DepthToSpace" not in ops["openvino"]
    assert "Pad" not in ops["onnxruntime"]  # the phase convs carry their own asymmetric pads
    attributes = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in nodes["onnxruntime"]]
    modes = {a["mode"] for n, a in zip(nodes["onnxruntime"], attributes, strict=True) if n.op_type == "DepthToSpace"}
    assert modes == {b"DCR"}
    assert any(a.get("pads", [0])[:2] != a.get("pads", [0])[2:] for a in attributes)
    sessions = {t: Session(p) for t, p in paths.items()}
    assert sessions["onnxruntime"].metadata["graph_target"] == "onnxruntime"
    assert sessions["openvino"].metadata["graph_target"] == "openvino"
    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    a, b = (sessions[t].predict(x, seed=3) for t in ("onnxruntime", "openvino"))
    np.testing.assert_allclose(a.logits, b.logits, atol=1e-4)
    np.testing.assert_allclose(a.purified, b.purified, atol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch's note on the TorchScript-based exporter
@pytest.mark.parametrize("bias", [True, False])
def test_sub_pixel_layer_exports_to_the_same_numbers_in_onnx_runtime(bias, tmp_path):
    import onnxruntime as ort

    torch.manual_seed(1)
    transpose = nn.ConvTranspose2d(6, 5, 4, 2, 1, bias=bias)  # even kernel: phases of 2 taps, other pads
    layer = nn.Sequential(SubPixelConvTranspose(transpose, nn.Tanh())).eval()
    x = torch.randn(3, 6, 5, 7)
    path = tmp_path / "layer.onnx"
    torch.onnx.export(layer, (x,), str(path), dynamo=False, input_names=["x"], opset_version=18,
                      dynamic_axes={"x": {0: "batch"}})
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert ops <= {"Conv", "Tanh", "Concat", "DepthToSpace", "Identity"}
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, torch.tanh(transpose(x)).numpy(), atol=1e-5)
