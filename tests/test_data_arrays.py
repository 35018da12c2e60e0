"""npz:FILE and cifar10-bin:DIR on files written here; the pickled CIFAR-10 is refused."""
from __future__ import annotations

import numpy as np
import pytest

from malade_export.data import ReadOptions, load_split
from malade_export.errors import MaladeError


@pytest.mark.parametrize("layout", ["NHW", "NHWC", "NCHW"])
def test_npz_layouts_read_as_nchw(tmp_path, layout):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 6, 5, 3) if layout != "NHW" else (20, 6, 5), dtype=np.uint8)
    stored = x.transpose(0, 3, 1, 2) if layout == "NCHW" else x
    np.savez(tmp_path / "d.npz", x=stored, y=np.arange(20) % 4, class_names=np.array(["a", "b", "c", "d"]))
    train = load_split(f"npz:{tmp_path / 'd.npz'}", "train", options=ReadOptions(test_fraction=0.25))
    test = load_split(f"npz:{tmp_path / 'd.npz'}", "test", options=ReadOptions(test_fraction=0.25))
    channels = 1 if layout == "NHW" else 3
    assert train.images.shape == (15, channels, 6, 5) and len(test) == 5
    assert train.class_names == ("a", "b", "c", "d")
    expected = (x[:, None] if layout == "NHW" else x.transpose(0, 3, 1, 2)) / 255.0
    for image in train.images[:3]:  # each read image is exactly one of the stored ones, channels in place
        assert sum(np.allclose(e, image, atol=1e-7) for e in expected) == 1


def test_npz_with_own_splits_and_float_pixels(tmp_path):
    x = np.random.default_rng(1).random((8, 1, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "s.npz", x_train=x, y_train=np.zeros(8, int), x_test=x[:3], y_test=np.ones(3, int))
    test = load_split(f"npz:{tmp_path / 's.npz'}", "test")
    np.testing.assert_array_equal(test.images, x[:3])
    assert list(test.labels) == [1, 1, 1] and test.class_names is None


def test_npz_refusals_are_one_line(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.zeros((4, 5, 5), np.uint8), y=np.zeros(3, int))
    with pytest.raises(MaladeError, match="'y' has shape \\[3\\] for 4 images"):
        load_split(f"npz:{path}", "train")
    np.savez(path, x=np.full((4, 5, 5), 2.0), y=np.zeros(4, int))
    with pytest.raises(MaladeError, match=r"must lie in \[0, 1\]"):
        load_split(f"npz:{path}", "train")
    np.savez(path, x=np.zeros((4, 5, 5), np.uint8), y=np.zeros(4, int),
             class_names=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(MaladeError, match="without pickle"):
        load_split(f"npz:{path}", "train")
    np.savez(path, images=np.zeros((4, 5, 5), np.uint8))
    with pytest.raises(MaladeError, match="expected arrays 'x' and 'y'"):
        load_split(f"npz:{path}", "train")
    np.savez(path, x=np.zeros((4, 5, 5, 7), np.uint8), y=np.zeros(4, int))
    with pytest.raises(MaladeError, match="C = 1 or 3"):
        load_split(f"npz:{path}", "train")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(MaladeError, match="not an .npz archive"):
        load_split(f"npz:{tmp_path / 'text.npz'}", "train")


def test_npz_too_big_is_refused_before_loading(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    np.savez(path, x=np.zeros((10, 8, 8), np.uint8), y=np.zeros(10, int))
    monkeypatch.setattr("os.sysconf", lambda name: 64 if name == "SC_PHYS_PAGES" else 4)  # a 256-byte machine
    with pytest.raises(MaladeError, match="GiB as float32"):
        load_split(f"npz:{path}", "train")


def write_cifar_bin(folder, per_batch: int = 3) -> np.ndarray:
    """Five training batches and a test batch of ``per_batch`` records; returns the test images."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name in names:
        labels = rng.integers(0, 10, per_batch, dtype=np.uint8)
        pixels = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        (folder / name).write_bytes(np.concatenate([labels[:, None], pixels], axis=1).tobytes())
    (folder / "batches.meta.txt").write_text("\n".join(f"class{i}" for i in range(10)) + "\n\n")
    return pixels.reshape(per_batch, 3, 32, 32), labels


def test_cifar10_binary_reads_planes_and_names(tmp_path):
    pixels, labels = write_cifar_bin(tmp_path / "cifar-10-batches-bin")
    test = load_split(f"cifar10-bin:{tmp_path}", "test")
    np.testing.assert_allclose(test.images, pixels / 255.0, atol=1e-7)
    assert list(test.labels) == list(labels) and test.class_names[3] == "class3"
    assert len(load_split(f"cifar10-bin:{tmp_path}", "train")) == 15
    resized = load_split(f"cifar10-bin:{tmp_path}", "test", options=ReadOptions(image_size=(16, 16)))
    assert resized.images.shape == (3, 3, 16, 16)


def test_cifar10_pickled_and_truncated_are_refused(tmp_path):
    (tmp_path / "py").mkdir()
    (tmp_path / "py" / "data_batch_1").write_bytes(b"\x80\x04pickle")
    with pytest.raises(MaladeError, match="pickled Python version"):
        load_split(f"cifar10-bin:{tmp_path / 'py'}", "train")
    write_cifar_bin(tmp_path / "bin")
    (tmp_path / "bin" / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(MaladeError, match="not a CIFAR-10 binary batch"):
        load_split(f"cifar10-bin:{tmp_path / 'bin'}", "test")
