"""Write a MaladeDefense as ONE self-contained ONNX file (weights inside, dynamic batch)."""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import onnx
import torch

from ..atomic import atomic_path
from ..chain import LoadedDefense, MaladeDefense
from ..errors import MaladeError
from ..noise.onnx_ops import MIN_OPSET as SEED_MIN_OPSET
from ..noise.onnx_ops import attach_seeded_noise
from .compose import chain_for_fusion, classifier_onnx, fuse_classifier, is_fused
from .graphs import INPUT_NAMES, OUTPUT_NAMES, build_graph, example_inputs
from .metadata import export_metadata

DEFAULT_OPSET = 18
DEFAULT_TARGET = "onnxruntime"  # the runtime the Session, the C++ harness and most servers use
FORBIDDEN_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"}
DYNAMIC_AXES = {"x": {0: "batch"}, "noise": {1: "chains"}, "logits": {0: "batch"}, "purified": {0: "batch"},
                "score": {0: "batch"}}  # of the traced noise-input graph; seed mode swaps noise for seed [batch]


def _keep_noise_input(model: onnx.ModelProto, defense: MaladeDefense) -> None:
    """Put back a ``noise`` input the exporter dropped (a noiseless chain such as MagNet never reads it).

    Every file keeps the same inputs, so a server feeds them all alike; the input stays unused.
    """
    if any(i.name == "noise" for i in model.graph.input):
        return
    steps, _, *pixels = defense.noise_shape(1)
    model.graph.input.append(onnx.helper.make_tensor_value_info(
        "noise", onnx.TensorProto.FLOAT, [steps, "chains", *pixels]))


def to_onnx_model(loaded: LoadedDefense, noise_mode: str = "input", dtype: str = "fp32",
                  opset: int = DEFAULT_OPSET, target: str = DEFAULT_TARGET) -> onnx.ModelProto:
    """Trace the defence, its denoiser spelled for ``target``, into an ONNX model with metadata, checked.

    Seed mode traces the noise-input graph and puts the noise generator's own ONNX nodes in
    front of it (``attach_seeded_noise``): they compute in uint64, which torch cannot trace.
    """
    defense, user_onnx = loaded.defense, None
    if is_fused(loaded.classifier):  # a user's classifier is its own graph, fused behind the chain
        if dtype != "fp32":
            raise MaladeError("--dtype fp16 is not supported with your own classifier (its graph is fused as given)")
        opset = int(loaded.classifier.config.get("opset", opset))  # an ONNX classifier's own opset
        user_onnx = classifier_onnx(loaded.classifier, opset)
        defense = chain_for_fusion(defense, loaded.classifier)
    if noise_mode == "seed" and opset < SEED_MIN_OPSET:
        raise MaladeError(f"--noise seed needs opset {SEED_MIN_OPSET} or newer (its noise uses BitwiseXor); "
                          f"got {opset}")
    graph = build_graph(defense, "input", dtype, target)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, example_inputs(defense, "input", batch=2), buffer, dynamo=False,
            input_names=INPUT_NAMES["input"], output_names=OUTPUT_NAMES,
            dynamic_axes=DYNAMIC_AXES, opset_version=opset, do_constant_folding=True,
        )
    model = onnx.load_from_string(buffer.getvalue())
    _keep_noise_input(model, defense)
    if noise_mode == "seed":
        attach_seeded_noise(model, defense.steps, defense.input_shape, defense.votes)
    if user_onnx is not None:
        model = fuse_classifier(model, user_onnx, loaded.classifier.config["conventions"]["outputs"],
                                int(loaded.classifier.config["num_classes"]))
    random_ops = sorted({n.op_type for n in model.graph.node} & FORBIDDEN_OPS)
    if random_ops:
        raise MaladeError(f"exported graph contains non-reproducible ops {random_ops}")
    for key, value in export_metadata(loaded, noise_mode, dtype, opset, target).items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    model.producer_name = "malade-export"
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise MaladeError(f"exported graph failed the ONNX checker: {str(exc).splitlines()[0]}") from exc
    return model


def write_onnx(loaded: LoadedDefense, path: str | Path, noise_mode: str = "input", dtype: str = "fp32",
               opset: int = DEFAULT_OPSET, target: str = DEFAULT_TARGET) -> None:
    """Export into ``path`` as it is (callers wrap it in ``atomic_path``)."""
    model = to_onnx_model(loaded, noise_mode, dtype, opset, target)
    with open(path, "wb") as handle:
        handle.write(model.SerializeToString())


def export_onnx(loaded: LoadedDefense, out: str | Path, noise_mode: str = "input", dtype: str = "fp32",
                opset: int = DEFAULT_OPSET, target: str = DEFAULT_TARGET) -> Path:
    """Export and write atomically: the file appears complete or not at all."""
    with atomic_path(out) as tmp:
        write_onnx(loaded, tmp, noise_mode, dtype, opset, target)
    return Path(out)
