"""Classifier sources: every format loads to the same function, conventions fold in, unsafe files are refused."""
from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper
from safetensors.torch import save_file
from user_classifiers import MEAN, SHAPE, STD, tiny_net, write_onnx, write_pt2, write_torchscript

from malade_export.classifier_sources import InputConventions, check_data, from_module, load_classifier
from malade_export.classifier_sources.onnx_source import preprocess_numpy, run_onnxruntime
from malade_export.errors import MaladeError

CONVENTIONS = InputConventions(MEAN, STD)


def _normalised(x: torch.Tensor) -> torch.Tensor:
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


@pytest.fixture(scope="module")
def net() -> torch.nn.Module:
    return tiny_net()


@pytest.mark.parametrize("writer", [write_onnx, write_torchscript, write_pt2], ids=["onnx", "torchscript", "pt2"])
def test_every_format_computes_the_classifier_behind_its_conventions(tmp_path: Path, net, writer) -> None:
    path = writer(net, tmp_path / {"write_onnx": "m.onnx", "write_torchscript": "m.pt", "write_pt2": "m.pt2"}[
        writer.__name__])
    source = load_classifier(path, conventions=CONVENTIONS, input_shape=SHAPE)
    x = torch.rand(5, *SHAPE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(source.model(x), net(_normalised(x)), atol=1e-5)
    assert source.config["num_classes"] == 3 and source.config["input_shape"] == list(SHAPE)
    x.requires_grad_(True)
    source.model(x)[:, 0].sum().backward()  # the sDAE's training and FGSM need this gradient
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_onnx_twin_matches_onnxruntime_and_is_recorded(tmp_path: Path, net) -> None:
    path = write_onnx(net, tmp_path / "m.onnx")
    source = load_classifier(path, conventions=CONVENTIONS)  # the ONNX file states its input shape
    assert source.config["input_shape"] == list(SHAPE)
    assert source.config["max_abs_dlogits_vs_onnxruntime"] < 1e-5
    x = np.random.default_rng(0).random((4, *SHAPE), dtype=np.float32)
    expected = run_onnxruntime(onnx.load(str(path)), preprocess_numpy(x, CONVENTIONS))
    with torch.no_grad():
        np.testing.assert_allclose(source.model(torch.from_numpy(x)).numpy(), expected, atol=1e-5)


def test_onnx_with_an_operator_the_twin_lacks_is_refused_naming_it(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Erf", ["x"], ["e"]), helper.make_node("ReduceMean", ["e"], ["y"], axes=[2, 3], keepdims=0)],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])])
    path = tmp_path / "odd.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(MaladeError, match="does not implement: Erf, ReduceMean; give its PyTorch form"):
        load_classifier(path)


def test_onnx_torch_form_is_checked_against_onnxruntime(tmp_path: Path, net) -> None:
    path = write_onnx(net, tmp_path / "m.onnx")
    good = load_classifier(path, conventions=CONVENTIONS, torch_form=write_torchscript(net, tmp_path / "m.pt"))
    assert good.config["max_abs_dlogits_vs_onnxruntime"] < 1e-5
    other = write_torchscript(tiny_net(seed=1), tmp_path / "other.pt")
    with pytest.raises(MaladeError, match="disagrees with ONNX Runtime"):
        load_classifier(path, conventions=CONVENTIONS, torch_form=other)


def test_shape_and_class_mismatches_are_one_line_naming_both(tmp_path: Path, net) -> None:
    path = write_onnx(net, tmp_path / "m.onnx")
    with pytest.raises(MaladeError, match=r"m.onnx takes input \[3, 16, 16\] but folder:x has images \[1, 28, 28\]"):
        load_classifier(path, input_shape=(1, 28, 28), data_name="folder:x")
    source = load_classifier(path)
    with pytest.raises(MaladeError, match="m.onnx has 3 classes but folder:x has 10"):
        check_data(source, SHAPE, 10, "folder:x")
    with pytest.raises(MaladeError, match="--mean has 2 values but m.onnx takes 3-channel images"):
        load_classifier(path, conventions=InputConventions(mean=(0.5, 0.5)))


def test_fixed_batch_onnx_is_refused(tmp_path: Path, net) -> None:
    with pytest.raises(MaladeError, match="fixes its batch size to 2"):
        load_classifier(write_onnx(net, tmp_path / "fixed.onnx", dynamic=False))


def test_input_range_and_probability_outputs(net) -> None:
    x = torch.rand(3, *SHAPE)
    for text, expected in (("0-255", x * 255), ("-1-1", 2 * x - 1)):
        source = from_module(torch.nn.Flatten(), SHAPE, InputConventions(input_range=text))
        with torch.no_grad():
            assert torch.allclose(source.model(x), expected.flatten(1), atol=1e-4)
    probs = torch.nn.Sequential(net, torch.nn.Softmax(dim=1))
    source = from_module(probs, SHAPE, InputConventions(MEAN, STD, outputs="probabilities"))
    with torch.no_grad():
        assert torch.allclose(source.model(x), torch.log_softmax(net(_normalised(x)), 1), atol=1e-5)


def test_a_torch_save_pickle_is_refused_unloaded(tmp_path: Path, net) -> None:
    torch.save(net, tmp_path / "model.pt")
    with pytest.raises(MaladeError, match="torch.save pickle, not TorchScript; refused"):
        load_classifier(tmp_path / "model.pt", input_shape=SHAPE)


class _Boom:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        import os

        return os.system, ("touch MARKER",)


def test_torchscript_unpickler_does_not_run_python_globals(tmp_path: Path, net, monkeypatch) -> None:
    """A TorchScript archive whose constants.pkl calls os.system fails to load and runs nothing."""
    monkeypatch.chdir(tmp_path)
    good = write_torchscript(net, tmp_path / "good.pt")
    bad = tmp_path / "bad.pt"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("/constants.pkl"):
                data = pickle.dumps((_Boom(),), protocol=2)
            dst.writestr(info, data)
    with pytest.raises(MaladeError, match="not a loadable TorchScript file: Unknown type name '.*system'"):
        load_classifier(bad, input_shape=SHAPE)
    assert not (tmp_path / "MARKER").exists()


def test_pt2_with_a_pickled_payload_is_refused_before_loading(tmp_path: Path, net) -> None:
    good = write_pt2(net, tmp_path / "good.pt2")
    bad = tmp_path / "bad.pt2"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("_weights_config.json"):
                config = json.loads(data)
                next(iter(config["config"].values()))["use_pickle"] = True
                data = json.dumps(config).encode()
            dst.writestr(info, data)
    with pytest.raises(MaladeError, match="as a pickled object; refused"):
        load_classifier(bad)


def test_module_callable_imports_the_users_code_with_safetensors_weights(tmp_path: Path, net, monkeypatch) -> None:
    tests = str(Path(__file__).parent)
    (tmp_path / "my_nets.py").write_text(
        f"import sys\nsys.path.insert(0, {tests!r})\nfrom user_classifiers import TinyNet\n\n"
        "def make():\n    return TinyNet()\n")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "w.safetensors"))
    monkeypatch.chdir(tmp_path)
    source = load_classifier("my_nets:make", weights=tmp_path / "w.safetensors", input_shape=SHAPE,
                             conventions=CONVENTIONS)
    x = torch.rand(2, *SHAPE)
    with torch.no_grad():
        assert torch.allclose(source.model(x), net(_normalised(x)), atol=1e-5)
    with pytest.raises(MaladeError, match="needs --classifier-weights"):
        load_classifier("my_nets:make", input_shape=SHAPE)
    with pytest.raises(MaladeError, match="has no attribute 'nope'"):
        load_classifier("my_nets:nope", weights=tmp_path / "w.safetensors", input_shape=SHAPE)


def test_conventions_are_refused_for_a_malade_checkpoint() -> None:
    from malade_export.chain import preset

    bundled = preset().classifier

    with pytest.raises(MaladeError, match="describe your own classifier"):
        load_classifier(bundled, conventions=CONVENTIONS)
    assert load_classifier(bundled).config["arch"] == "A"


def test_unknown_format_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\x00" * 16)
    with pytest.raises(MaladeError, match="cannot tell the format of classifier"):
        load_classifier(tmp_path / "model.bin")
