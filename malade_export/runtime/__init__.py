"""Production runtimes for exported defences. Imports without torch (onnxruntime + numpy).

``Session`` runs a file in ONNX Runtime; ``OpenVINOSession`` (needs ``pip install openvino``) runs
the noise-input file in OpenVINO, in bfloat16 on CPUs that have it.
"""
from .base import DefenseSession, Prediction
from .metadata import read_metadata
from .openvino import OpenVINOSession
from .ort import Session, resolve_providers

__all__ = ["DefenseSession", "OpenVINOSession", "Prediction", "Session", "read_metadata", "resolve_providers"]
