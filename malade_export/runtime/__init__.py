"""Production runtimes for exported defences. Imports without torch (onnxruntime + numpy)."""
from .metadata import read_metadata
from .ort import Prediction, Session, resolve_providers

__all__ = ["Prediction", "Session", "read_metadata", "resolve_providers"]
