"""Production runtimes for exported defences, registered by name in ``RUNTIMES``. Imports without torch.

``OrtSession`` (alias ``Session``) runs a file in ONNX Runtime; ``OpenVINOSession`` (needs
``pip install openvino``) runs the noise-input file in OpenVINO, in bfloat16 on CPUs that have it;
``TensorRTSession`` runs an engine built from it (GPU, TensorRT and torch needed).
"""
# isort: off
# Import order is registration order, which the CLI's --runtime choices follow.
from .base import RUNTIMES, DefenseSession, Prediction, Runtime
from .ort import OrtSession, Session, resolve_providers
from .openvino import OpenVINOSession
from .trt import TensorRTSession, TrtRunner
# isort: on
from .metadata import read_metadata

__all__ = ["RUNTIMES", "DefenseSession", "OpenVINOSession", "OrtSession", "Prediction", "Runtime", "Session",
           "TensorRTSession", "TrtRunner", "read_metadata", "resolve_providers"]
