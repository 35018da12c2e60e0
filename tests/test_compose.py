"""Fusing a user's ONNX classifier behind the chain: names kept, clashes handled, probabilities, refusals."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from user_classifiers import MEAN, SHAPE, STD, tiny_net, write_onnx

from malade_export.chain import load_defense
from malade_export.checkpoint import save_checkpoint
from malade_export.classifier_sources import InputConventions, load_classifier
from malade_export.classifier_sources.onnx_source import preprocess_numpy, run_onnxruntime
from malade_export.errors import MaladeError
from malade_export.export import export_defense
from malade_export.models import build_model
from malade_export.runtime import Session

CONVENTIONS = InputConventions(MEAN, STD)


@pytest.fixture(scope="module")
def sdae(tmp_path_factory) -> Path:
    config = {"kind": "sdae", "input_shape": list(SHAPE), "channels": 4, "kernel": 3, "sigma": 0.3}
    torch.manual_seed(0)
    return save_checkpoint(build_model(config), config, tmp_path_factory.mktemp("sdae") / "sdae")


def _rename_io(model: onnx.ModelProto, new_input: str, new_output: str) -> onnx.ModelProto:
    """The same classifier with its input and output edges named like the fused file's own I/O."""
    old_input, old_output = model.graph.input[0].name, model.graph.output[0].name
    mapping = {old_input: new_input, old_output: new_output}
    for node in model.graph.node:
        node.input[:] = [mapping.get(e, e) for e in node.input]
        node.output[:] = [mapping.get(e, e) for e in node.output]
    model.graph.input[0].name, model.graph.output[0].name = new_input, new_output
    return model


def _fused_logits_vs_user(path: Path, user: onnx.ModelProto, conventions: InputConventions,
                          log: bool = False) -> float:
    x = np.random.default_rng(0).random((4, *SHAPE), dtype=np.float32)
    prediction = Session(path).predict(x, seed=3)
    expected = run_onnxruntime(user, preprocess_numpy(prediction.purified, conventions))
    return float(np.abs(prediction.logits - (np.log(np.maximum(expected, 1e-30)) if log else expected)).max())


def test_user_io_names_that_clash_with_the_files_are_renamed_alone(tmp_path: Path, sdae: Path) -> None:
    user = _rename_io(onnx.load(str(write_onnx(tiny_net(), tmp_path / "u.onnx"))), "x", "logits")
    onnx.save(user, str(tmp_path / "clash.onnx"))
    classifier = load_classifier(tmp_path / "clash.onnx", conventions=CONVENTIONS)
    out = tmp_path / "fused.onnx"
    export_defense(load_defense(classifier, sdae, steps=2), out, noise_mode="seed")
    fused = onnx.load(str(out))
    assert [i.name for i in fused.graph.input] == ["x", "seed"]
    assert [o.name for o in fused.graph.output] == ["logits", "purified", "score"]
    fused_nodes = {n.name for n in fused.graph.node}
    assert all(n.name in fused_nodes for n in user.graph.node)
    assert {t.name for t in user.graph.initializer} <= {t.name for t in fused.graph.initializer}
    assert _fused_logits_vs_user(out, user, CONVENTIONS) < 1e-4


def test_probability_outputs_become_log_probabilities(tmp_path: Path, sdae: Path) -> None:
    net = torch.nn.Sequential(tiny_net(), torch.nn.Softmax(dim=1)).eval()
    path = write_onnx(net, tmp_path / "probs.onnx")
    conventions = InputConventions(MEAN, STD, input_range="0-255", outputs="probabilities")
    classifier = load_classifier(path, conventions=conventions)
    out = tmp_path / "fused.onnx"
    export_defense(load_defense(classifier, sdae, steps=2), out)
    assert _fused_logits_vs_user(out, onnx.load(str(path)), conventions, log=True) < 1e-4


def test_votes_and_fp16_are_refused_for_a_users_classifier(tmp_path: Path, sdae: Path) -> None:
    classifier = load_classifier(write_onnx(tiny_net(), tmp_path / "u.onnx"), conventions=CONVENTIONS)
    with pytest.raises(MaladeError, match="--votes > 1 is not supported"):
        export_defense(load_defense(classifier, sdae, steps=2, votes=2), tmp_path / "v.onnx")
    with pytest.raises(MaladeError, match="--dtype fp16 is not supported"):
        export_defense(load_defense(classifier, sdae, steps=2), tmp_path / "h.onnx", dtype="fp16")
    assert not (tmp_path / "v.onnx").exists() and not (tmp_path / "h.onnx").exists()


def test_an_onnx_classifier_at_an_old_opset_is_refused(tmp_path: Path) -> None:
    write_onnx(tiny_net(), tmp_path / "old.onnx", opset=11)
    with pytest.raises(MaladeError, match="is at opset 11; the fused file needs 13..21"):
        load_classifier(tmp_path / "old.onnx")
