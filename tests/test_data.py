import gzip

import numpy as np
import pytest

from malade_export.data import load_split, read_idx, train_val_split, write_idx
from malade_export.errors import MaladeError


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, name):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_truncated_idx_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((5, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(MaladeError, match="train-images-idx3-ubyte is corrupt or truncated"):
        read_idx(path)


def test_bad_magic_and_broken_gzip(tmp_path):
    (tmp_path / "x").write_bytes(b"\x01\x02\x03\x04" * 4)
    with pytest.raises(MaladeError, match="bad magic"):
        read_idx(tmp_path / "x")
    (tmp_path / "y.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + b"1" * 10)[:-6])
    with pytest.raises(MaladeError, match="y.gz"):
        read_idx(tmp_path / "y.gz")


def test_slice_loads_as_float_nchw(slice_dir):
    data = load_split("fashion-mnist", "train", slice_dir)
    assert data.images.shape == (2000, 1, 28, 28) and data.images.dtype == np.float32
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0 and data.images.max() > 0.99
    assert data.num_classes == 10 and data.labels.dtype == np.int64


def test_mnist_accepts_torchvision_raw_layout(tmp_path, slice_dir):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in slice_dir.iterdir():  # torchvision keeps the files uncompressed
        (raw / f.name.removesuffix(".gz")).write_bytes(gzip.decompress(f.read_bytes()))
    assert len(load_split("mnist", "test", tmp_path)) == 500
    assert len(load_split(f"idx:{raw}", "train")) == 2000


def test_missing_data_is_one_line_naming_files(tmp_path):
    with pytest.raises(MaladeError) as info:
        load_split("fashion-mnist", "train", tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "dataset-fashion-mnist" in message and "\n" not in message
    with pytest.raises(MaladeError, match="unknown dataset"):
        load_split("cifar", "train")


def test_split_is_deterministic_and_disjoint(slice_dir):
    data = load_split("fashion-mnist", "train", slice_dir)
    a_fit, a_val = train_val_split(data, 200)
    b_fit, b_val = train_val_split(data, 200)
    np.testing.assert_array_equal(a_val.images, b_val.images)
    assert len(a_fit) + len(a_val) == len(data)


def test_random_subset_is_not_the_first_class_of_a_sorted_folder():
    """An image folder is read class by class; ``--limit`` must still see every class."""
    from malade_export.data import ImageSet, random_subset

    labels = np.repeat(np.arange(10), 100)
    data = ImageSet(np.zeros((1000, 1, 2, 2), np.float32), labels.astype(np.int64))
    subset = random_subset(data, 100)
    assert len(subset) == 100 and len(np.unique(subset.labels)) == 10
    assert np.array_equal(random_subset(data, 100).labels, subset.labels)  # seeded: the same images each time
    assert random_subset(data, 5000) is data
