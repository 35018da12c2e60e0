"""TensorRT engines for exported defences (TensorRT 10/11 name-based API).

Half precision comes from an fp16 ONNX (``malade-export --dtype fp16``) parsed into a strongly
typed network: TensorRT 11 has no FP16 builder flag, so precision lives in the graph. Buffers are
torch CUDA tensors (torch is present wherever a GPU build is). Untested where no GPU is lent:
the tests that exercise this module are marked ``tensorrt`` and skip cleanly without one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_path
from ..errors import MaladeError
from .base import RUNTIMES, DefenseSession, Runtime, TensorSpec
from .metadata import read_metadata


def require_tensorrt() -> Any:
    """Import TensorRT or fail in one line saying what is missing."""
    try:
        import tensorrt as trt  # type: ignore[import-not-found]
    except ImportError:
        raise MaladeError("TensorRT is not installed (pip install tensorrt on a machine with an NVIDIA GPU)") from None
    try:
        import torch
    except ImportError:
        raise MaladeError("the TensorRT runner needs torch (CUDA build) for its device buffers") from None
    if not torch.cuda.is_available():
        raise MaladeError("TensorRT needs an NVIDIA GPU; none is visible here")
    return trt


def _profile_shape(shape: tuple[int, ...], batch: int, chains_axis: int | None, votes: int) -> tuple[int, ...]:
    dims = list(shape)
    for axis, dim in enumerate(dims):
        if dim < 0:
            dims[axis] = batch * votes if axis == chains_axis else batch
    return tuple(dims)


def build_engine(onnx_path: str | Path, plan_path: str | Path, min_batch: int = 1, opt_batch: int = 1,
                 max_batch: int = 64, workspace_gib: float = 2.0) -> Path:
    """Parse the ONNX, add a dynamic-batch profile (min/opt/max), serialize the plan atomically."""
    trt = require_tensorrt()
    if not 1 <= min_batch <= opt_batch <= max_batch:
        raise MaladeError(f"need 1 <= min ({min_batch}) <= opt ({opt_batch}) <= max ({max_batch}) batch")
    from .ort import Session

    votes = Session(onnx_path).votes
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED"):
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise MaladeError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        tensor = network.get_input(index)
        chains_axis = 1 if tensor.name == "noise" else None
        shapes = [_profile_shape(tuple(tensor.shape), b, chains_axis, votes) for b in (min_batch, opt_batch, max_batch)]
        profile.set_shape(tensor.name, *shapes)
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise MaladeError(f"TensorRT failed to build an engine from {onnx_path} (see the log above)")
    with atomic_path(plan_path) as tmp:
        tmp.write_bytes(bytes(plan))
    return Path(plan_path)


def onnx_metadata(onnx_path: str | Path) -> dict[str, Any]:
    """The ``malade.*`` metadata of the ONNX file an engine was built from (an engine carries none)."""
    import onnx

    model = onnx.load(str(onnx_path), load_external_data=False)
    return read_metadata({prop.key: prop.value for prop in model.metadata_props})


class TensorRTSession(DefenseSession):
    """Run a serialized engine with name-based I/O (set_input_shape / set_tensor_address / execute_async_v3).

    ``predict`` needs the chain's steps and votes, which the engine does not record: give ``onnx_path``
    (the file it was built from), else steps come from the noise input's shape and votes are taken as 1.
    """

    def __init__(self, plan_path: str | Path, onnx_path: str | Path | None = None, clip_input: bool = False,
                 max_batch: int | None = None) -> None:
        trt = require_tensorrt()
        import torch

        self.torch = torch
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.engine = trt.Runtime(self.logger).deserialize_cuda_engine(Path(plan_path).read_bytes())
        if self.engine is None:
            raise MaladeError(f"{plan_path} is not a TensorRT engine for this TensorRT/GPU")
        self.context = self.engine.create_execution_context()
        self.names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in self.names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in self.names if n not in self.inputs]
        self.stream = torch.cuda.Stream()
        metadata = onnx_metadata(onnx_path) if onnx_path else {}
        if "noise" in self.inputs and "steps" not in metadata:
            metadata["steps"] = int(self.engine.get_tensor_shape("noise")[0])
        specs = {name: self._spec(trt, name) for name in self.names}
        self._describe_graph(Path(plan_path), [specs[n] for n in sorted(self.inputs, key=lambda name: name != "x")],
                             [specs[n] for n in self.outputs], metadata, clip_input, max_batch)

    def _spec(self, trt: Any, name: str) -> TensorSpec:
        """An engine tensor as a TensorSpec (TensorRT marks dynamic dimensions -1)."""
        dtypes = {trt.DataType.FLOAT: "float32", trt.DataType.INT64: "int64", trt.DataType.HALF: "float16",
                  trt.DataType.INT32: "int32"}
        shape = tuple(int(d) if int(d) >= 0 else None for d in self.engine.get_tensor_shape(name))
        dtype = self.engine.get_tensor_dtype(name)
        return TensorSpec(name, dtypes.get(dtype, str(dtype)), shape)

    def run_device(self, feeds: dict[str, Any]) -> dict[str, Any]:
        """Run on CUDA tensors (no host copies): what the latency benchmark times."""
        torch = self.torch
        for name in self.inputs:
            tensor = feeds[name].contiguous()
            feeds[name] = tensor
            self.context.set_input_shape(name, tuple(tensor.shape))
            self.context.set_tensor_address(name, tensor.data_ptr())
        outputs = {}
        for name in self.outputs:
            shape = tuple(self.context.get_tensor_shape(name))
            outputs[name] = torch.empty(shape, dtype=torch.float32, device="cuda")
            self.context.set_tensor_address(name, outputs[name].data_ptr())
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise MaladeError("TensorRT execution failed")
        self.stream.synchronize()
        return outputs

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        device_feeds = {k: self.torch.from_numpy(np.ascontiguousarray(v)).cuda() for k, v in feeds.items()}
        return {k: v.cpu().numpy() for k, v in self.run_device(device_feeds).items()}


TrtRunner = TensorRTSession  # the published name, kept for callers that use it


def _open_built(onnx_path: Path) -> TensorRTSession:
    """Build an engine beside ``onnx_path`` and open it."""
    return TensorRTSession(build_engine(onnx_path, onnx_path.with_suffix(".plan")), onnx_path)


RUNTIMES.register("tensorrt")(Runtime(_open_built, "tensorrt"))
