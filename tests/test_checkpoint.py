import pickle

import pytest
import torch

from malade_export.checkpoint import load_checkpoint, save_checkpoint
from malade_export.errors import MaladeError
from malade_export.models import build_model

CONFIG = {"kind": "classifier", "arch": "D", "input_shape": [1, 28, 28], "num_classes": 10}


def test_round_trip_restores_weights_and_config(tmp_path):
    model = build_model(CONFIG)
    path = save_checkpoint(model, {**CONFIG, "sigma": 0.3}, tmp_path / "m")
    assert path.name == "m.safetensors"
    loaded = load_checkpoint(path, "classifier")
    x = torch.rand(4, 1, 28, 28)
    torch.testing.assert_close(loaded.model(x), model.eval()(x))
    assert loaded.config["sigma"] == 0.3 and len(loaded.sha256) == 64


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # loading this pickle would create the marker file


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_pickled_checkpoint_is_refused_and_never_runs(tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.safetensors"
    if writer == "torch":
        torch.save({"weights": _Payload(str(marker))}, path)
    else:
        path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(MaladeError, match="pickled checkpoint; refused"):
        load_checkpoint(path)
    assert not marker.exists()


def test_corrupt_and_wrong_kind_are_refused(tmp_path):
    path = save_checkpoint(build_model(CONFIG), CONFIG, tmp_path / "m")
    with pytest.raises(MaladeError, match="expected sdae"):
        load_checkpoint(path, "sdae")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(MaladeError, match="corrupt"):
        load_checkpoint(path)
    with pytest.raises(MaladeError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.safetensors")


@pytest.mark.parametrize("first_bytes", [b"\x80", b"PK"])
def test_safetensors_whose_length_prefix_looks_like_a_pickle_still_loads(tmp_path, first_bytes):
    """The header length is little-endian, so its first bytes can equal a pickle's or a zip's magic."""
    model = build_model(CONFIG)
    target = int.from_bytes(first_bytes, "little")
    modulus = 256 ** len(first_bytes)
    base = int.from_bytes(save_checkpoint(model, {**CONFIG, "note": ""}, tmp_path / "m").read_bytes()[:8], "little")
    guess = (target - base) % modulus  # the header grows one byte per padding character (then 8-aligned)
    for pad in range(max(guess - 8, 0), guess + 9):
        path = save_checkpoint(model, {**CONFIG, "note": "x" * pad}, tmp_path / "m")
        if path.read_bytes()[: len(first_bytes)] == first_bytes:
            break
    else:
        pytest.fail("could not produce the colliding header length")
    assert load_checkpoint(path).config["note"] == "x" * pad
