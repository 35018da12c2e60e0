"""Fuse the exported chain with the user's own ONNX classifier, whose nodes and weights stay as they are.

The chain is traced with the declared preprocessing in the classifier's place, so its ``logits``
output is the classifier's input; that edge is renamed to the classifier's input name, the two
graphs are laid side by side, and the classifier's output becomes ``logits`` through an Identity
(or a floored Log for a classifier that outputs probabilities). Only the chain's own names get a
prefix; a user edge is renamed only where it is literally one of the file's I/O names.
"""
from __future__ import annotations

import copy
import io
import logging
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from ..chain import MaladeDefense
from ..classifier_sources.conventions import PROBABILITY_FLOOR, Preprocess
from ..errors import MaladeError

PREFIX = "malade/"
CLASSIFIER_INPUT = "logits"  # the traced chain's first output, which fusion feeds to the classifier
IO_NAMES = {"x", "noise", "seed", "logits", "purified", "score"}


USER_FORMATS = ("onnx", "torchscript", "torch-export", "module")


def is_fused(source: object) -> bool:
    """A user's classifier is fused as its own graph; the project's classifiers A-E are traced with the chain."""
    return getattr(source, "fmt", None) in USER_FORMATS


def classifier_onnx(source: object, opset: int) -> onnx.ModelProto:
    """The user's classifier as ONNX: their file itself, or their torch module exported on its own.

    A torch module is traced with ``torch.jit.trace`` first: the ONNX exporter cannot trace into a
    TorchScript submodule, but it exports a traced ScriptModule as a whole. A ``torch.export``
    program goes through the dynamo exporter, which keeps its symbolic batch size.
    """
    if getattr(source, "onnx_model", None) is not None:
        return source.onnx_model  # type: ignore[attr-defined]
    raw = source.model.classifier  # type: ignore[attr-defined]
    exported = getattr(raw, "exported", None)
    if exported is not None:  # a torch.export program: the dynamo exporter keeps its symbolic batch
        registration = logging.getLogger("torch.onnx._internal.exporter._registration")
        level = registration.level
        registration.setLevel(logging.ERROR)  # it warns that torchvision's ops are unavailable: irrelevant here
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return torch.onnx.export(exported, dynamo=True, opset_version=opset, verbose=False).model_proto
        finally:
            registration.setLevel(level)
    example = torch.rand(2, *source.config["input_shape"], generator=torch.Generator().manual_seed(0))  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(raw, (example,), check_trace=False)
        torch.onnx.export(traced, (example,), buffer, dynamo=False, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=opset,
                          do_constant_folding=True)
    return onnx.load_from_string(buffer.getvalue())


def chain_for_fusion(defense: MaladeDefense, source: object) -> MaladeDefense:
    """A copy of ``defense`` whose classifier is only the declared preprocessing."""
    if defense.votes != 1:
        raise MaladeError("--votes > 1 is not supported with your own classifier (its outputs are not averaged yet)")
    preprocess = Preprocess(source.conventions, defense.input_shape[0])  # type: ignore[attr-defined]
    return MaladeDefense(preprocess, defense.dae, defense.sigma, defense.input_shape, steps=defense.steps,
                         schedule=defense.schedule, clip=defense.clip, votes=defense.votes)


def _names(graph: onnx.GraphProto) -> set[str]:
    names = {n.name for n in graph.node if n.name} | {t.name for t in graph.initializer}
    for node in graph.node:
        names.update(e for e in (*node.input, *node.output) if e)
    return names | {v.name for v in (*graph.input, *graph.output, *graph.value_info)}


def _rename_edges(graph: onnx.GraphProto, mapping: dict[str, str]) -> None:
    for node in graph.node:
        node.input[:] = [mapping.get(e, e) for e in node.input]
        node.output[:] = [mapping.get(e, e) for e in node.output]
    for value in (*graph.input, *graph.output, *graph.value_info):
        value.name = mapping.get(value.name, value.name)


def _merged_opsets(chain: onnx.ModelProto, user: onnx.ModelProto) -> list[onnx.OperatorSetIdProto]:
    versions: dict[str, int] = {}
    for opset in (*chain.opset_import, *user.opset_import):
        domain = "" if opset.domain == "ai.onnx" else opset.domain
        if domain in versions and versions[domain] != opset.version:
            raise MaladeError(f"the chain and the classifier use different opsets for domain {domain or 'ai.onnx'!r}: "
                              f"{versions[domain]} and {opset.version}")
        versions[domain] = opset.version
    return [helper.make_opsetid(domain, version) for domain, version in sorted(versions.items())]


def fuse_classifier(chain: onnx.ModelProto, user_model: onnx.ModelProto, outputs: str,
                    num_classes: int) -> onnx.ModelProto:
    """One model: chain (prefixed) -> classifier (as given) -> ``logits``, plus ``purified`` and ``score``."""
    chain = onnx.compose.add_prefix(chain, PREFIX, rename_inputs=False, rename_outputs=False)
    user = copy.deepcopy(user_model)
    initializers = {t.name for t in user.graph.initializer}
    user_input = next(i.name for i in user.graph.input if i.name not in initializers)
    user_output = user.graph.output[0].name
    clashing_weights = sorted(IO_NAMES & initializers)
    if clashing_weights:
        raise MaladeError(f"the classifier names a weight {clashing_weights[0]!r}, which the fused file uses as an "
                          "input or output name; rename it")
    _rename_edges(user.graph, {name: "classifier/" + name for name in IO_NAMES & _names(user.graph)})
    user_input = "classifier/" + user_input if user_input in IO_NAMES else user_input
    user_output = "classifier/" + user_output if user_output in IO_NAMES else user_output
    shared = (_names(chain.graph) - {CLASSIFIER_INPUT}) & _names(user.graph)
    if shared:
        raise MaladeError(f"the classifier's name {sorted(shared)[0]!r} clashes with the chain's; rename it")
    _rename_edges(chain.graph, {CLASSIFIER_INPUT: user_input})
    tail, tail_weights = _logits_tail(user_output, outputs)
    outputs_info = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", num_classes])]
    outputs_info += [o for o in chain.graph.output if o.name in ("purified", "score")]
    graph = helper.make_graph(
        [*chain.graph.node, *user.graph.node, *tail], "malade_defense", list(chain.graph.input), outputs_info,
        initializer=[*chain.graph.initializer, *user.graph.initializer, *tail_weights],
        value_info=[v for v in (*chain.graph.value_info, *user.graph.value_info) if v.name != user_input],
        sparse_initializer=[*chain.graph.sparse_initializer, *user.graph.sparse_initializer])
    fused = helper.make_model(graph, opset_imports=_merged_opsets(chain, user),
                              functions=[*chain.functions, *user.functions])
    fused.ir_version = max(chain.ir_version, user.ir_version)
    return fused


def _logits_tail(user_output: str, outputs: str) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    if outputs == "logits":
        return [helper.make_node("Identity", [user_output], ["logits"], name=PREFIX + "logits")], []
    floor = numpy_helper.from_array(np.array(PROBABILITY_FLOOR, dtype=np.float32), PREFIX + "probability_floor")
    nodes = [helper.make_node("Max", [user_output, floor.name], [PREFIX + "floored"], name=PREFIX + "floor"),
             helper.make_node("Log", [PREFIX + "floored"], ["logits"], name=PREFIX + "logits")]
    return nodes, [floor]
