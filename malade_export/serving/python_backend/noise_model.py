"""Triton Python-backend model in front of an ensemble: draws the noise (or seed) for every request.

It takes ``x`` only to learn the batch size; the ensemble feeds its output to the ONNX Runtime or
TensorRT model beside ``x``. Seeds come from OS entropy (``secrets``); a client cannot name them.
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

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402

from malade_export.noise import fresh_seeds, seeded_noise  # noqa: E402


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        self.mode = params["noise_mode"]  # "seed" or "input"
        self.steps = int(params.get("steps", "0"))
        self.votes = int(params.get("votes", "1"))
        self.shape = tuple(int(d) for d in params.get("input_shape", "").split(",") if d)

    def execute(self, requests):
        responses = []
        for request in requests:
            batch = np.from_dlpack(pb_utils.get_input_tensor_by_name(request, "x")).shape[0]
            seeds = fresh_seeds(batch)
            if self.mode == "seed":
                outputs = [pb_utils.Tensor.from_dlpack("seed", seeds)]
            else:
                noise = np.ascontiguousarray(seeded_noise(seeds, self.steps, self.shape, self.votes), dtype=np.float32)
                outputs = [pb_utils.Tensor.from_dlpack("noise", noise), pb_utils.Tensor.from_dlpack("seed_used", seeds)]
            responses.append(pb_utils.InferenceResponse(output_tensors=outputs))
        return responses
