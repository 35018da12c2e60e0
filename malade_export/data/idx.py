"""Reader for the IDX format (MNIST, Fashion-MNIST, EMNIST, ...), gzip or raw.

Validates the magic number, the dimensions and the byte count so that a truncated or corrupt
file fails with one line naming the file instead of a reshape error deep inside numpy.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ..errors import MaladeError

# IDX type codes (third magic byte) -> numpy big-endian dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            head = handle.read(2)
        if head == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError) as exc:
        raise MaladeError(f"cannot read IDX file {path}: {exc}") from exc


def read_idx(path: str | Path) -> np.ndarray:
    """Return the array stored in an IDX file (``.gz`` or raw)."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise MaladeError(f"{path} is not an IDX file (bad magic number)")
    dtype = _IDX_DTYPES[data[2]]
    ndim = data[3]
    header_len = 4 + 4 * ndim
    if ndim == 0 or len(data) < header_len:
        raise MaladeError(f"{path} is corrupt: IDX header is truncated")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    payload = len(data) - header_len
    if payload != expected:
        raise MaladeError(
            f"{path} is corrupt or truncated: header says shape {shape} "
            f"({expected} bytes) but the file holds {payload} bytes of data"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip when the name ends in ``.gz``); used for test fixtures."""
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_DTYPES.items()}
    native = np.asarray(array)
    code = codes.get(native.dtype.newbyteorder("="))
    if code is None:
        raise MaladeError(f"IDX cannot store dtype {native.dtype}")
    header = bytes([0, 0, code, native.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in native.shape
    )
    body = native.astype(_IDX_DTYPES[code]).tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(header + body)
