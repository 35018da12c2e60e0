"""Serving exported defences with NVIDIA Triton: repositories (``triton_repo``), configs, the server.

Torch-free: a production host needs numpy and onnxruntime (and a tritonserver) only.
"""
from .config import QueuePolicy, TensorSpec, read_onnx_io
from .server import TritonInstall, TritonServer, find_tritonserver
from .triton_repo import VARIANTS, RepoOptions, Repository, write_repository

__all__ = ["QueuePolicy", "RepoOptions", "Repository", "TensorSpec", "TritonInstall", "TritonServer", "VARIANTS",
           "find_tritonserver", "read_onnx_io", "write_repository"]
