"""Triton Python-backend model: the exported Malade defence, its noise drawn here for every request.

The model declares one input, ``x``: Triton itself refuses a request that carries any other tensor,
so no client can choose the seed or the noise. Seeds come from OS entropy through the project's
torch-free ``Session.predict``; only a repository written with the debug option returns them.
Requests batched together by Triton run as one ``predict`` call; a malformed request fails alone.
Tensors cross the backend through DLPack: the stub's ``as_numpy``/``Tensor(name, array)`` misread
numpy 2 arrays (empty outputs), and the package must not pin numpy < 2 for Triton's sake.
"""
import json
import os
import site
import sys

# The backend's embedded interpreter ignores PYTHONPATH; honour it (with .pth files, for editable and
# virtualenv installs) so malade_export and numpy can come from the environment the server was started from.
for _entry in reversed(os.environ.get("PYTHONPATH", "").split(os.pathsep)):
    if _entry and _entry not in sys.path:
        site.addsitedir(_entry)
        sys.path.remove(_entry)
        sys.path.insert(0, _entry)

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402

from malade_export.runtime import Session  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        folder = Path(args["model_repository"]) / args["model_version"]
        threads = int(params.get("threads", "0")) or None
        providers = params.get("providers", "cpu")  # "auto" on GPU instances: TensorRT > CUDA > CPU
        self.session = Session(folder / params.get("onnx_file", "model.onnx"), threads=threads, providers=providers)
        self.expose_seeds = params.get("expose_seeds", "false") == "true"

    def execute(self, requests):
        responses = [None] * len(requests)
        good, xs = [], []
        for i, request in enumerate(requests):
            try:
                xs.append(self.session.validate(np.from_dlpack(pb_utils.get_input_tensor_by_name(request, "x"))))
                good.append(i)
            except ValueError as exc:
                responses[i] = pb_utils.InferenceResponse(error=pb_utils.TritonError(f"bad input: {exc}"))
        if good:
            pred = self.session.predict(np.concatenate(xs))  # seed=None: fresh OS-entropy seeds
            start = 0
            for i, x in zip(good, xs, strict=True):
                sl = slice(start, start + len(x))
                start += len(x)
                outputs = [pb_utils.Tensor.from_dlpack(name, np.ascontiguousarray(value[sl])) for name, value in
                           (("logits", pred.logits), ("purified", pred.purified), ("score", pred.score))]
                if self.expose_seeds:
                    outputs.append(pb_utils.Tensor.from_dlpack("seed", np.ascontiguousarray(pred.seeds[sl])))
                responses[i] = pb_utils.InferenceResponse(output_tensors=outputs)
        return responses
