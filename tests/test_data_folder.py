"""folder:DIR on image trees generated here: grey and colour, train/test or held out, corrupt files, the cache."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from malade_export.data import ReadOptions, load_split, parse_image_size
from malade_export.errors import MaladeError

CLASSES = ("cat", "dog", "emu")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MALADE_CACHE_DIR", str(tmp_path.parent / f"{tmp_path.name}-cache"))


def make_tree(root, mode: str, per_class: int = 4, size=(12, 10), fmt: str = "png", seed: int = 0) -> dict:
    """root/<class>/<i>.<fmt>; returns {path: (class index, uint8 array as written)}."""
    rng = np.random.default_rng(seed)
    written = {}
    for label, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            shape = size if mode == "L" else size + (3,)
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            path = root / name / f"{i}.{fmt}"
            Image.fromarray(pixels, mode).save(path)
            written[path] = (label, pixels)
    return written


def test_grey_train_test_tree_reads_pixels_labels_and_names(tmp_path):
    train = make_tree(tmp_path / "train", "L", per_class=4)
    make_tree(tmp_path / "test", "L", per_class=2, seed=1)
    data = load_split(f"folder:{tmp_path}", "train", options=ReadOptions(progress=False))
    assert data.images.shape == (12, 1, 12, 10) and data.images.dtype == np.float32
    assert data.class_names == CLASSES and data.num_classes == 3
    first = tmp_path / "train" / "cat" / "0.png"
    np.testing.assert_allclose(data.images[0, 0], train[first][1] / 255.0, atol=1e-7)
    assert list(data.labels) == [0] * 4 + [1] * 4 + [2] * 4
    test = load_split(f"folder:{tmp_path}", "test", options=ReadOptions(progress=False))
    assert len(test) == 6 and test.class_names == CLASSES


def test_colour_tree_without_splits_is_held_out_deterministically(tmp_path):
    make_tree(tmp_path, "RGB", per_class=10)
    options = ReadOptions(progress=False, test_fraction=0.2)
    train = load_split(f"folder:{tmp_path}", "train", options=options)
    test = load_split(f"folder:{tmp_path}", "test", options=options)
    assert train.images.shape[1:] == (3, 12, 10) and len(train) == 24 and len(test) == 6
    flat = {arr.tobytes() for arr in train.images} | {arr.tobytes() for arr in test.images}
    assert len(flat) == 30  # disjoint, nothing lost
    again = load_split(f"folder:{tmp_path}", "test", options=ReadOptions(progress=False, cache=False))
    np.testing.assert_array_equal(again.images, test.images)


def test_mixed_grey_and_colour_becomes_rgb(tmp_path):
    make_tree(tmp_path, "RGB", per_class=2)
    grey = np.full((12, 10), 77, np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "dog" / "grey.png")
    data = load_split(f"folder:{tmp_path}", "train", options=ReadOptions(progress=False, test_fraction=0.1))
    assert data.images.shape[1] == 3
    assert any(np.allclose(img, 77 / 255.0) for img in data.images)


def test_image_size_resizes_and_jpeg_reads(tmp_path):
    make_tree(tmp_path / "train", "RGB", per_class=2, size=(40, 30), fmt="jpg")
    make_tree(tmp_path / "test", "RGB", per_class=1, size=(40, 30), fmt="jpg")
    data = load_split(f"folder:{tmp_path}", "train", options=ReadOptions(progress=False, image_size=(16, 8)))
    assert data.images.shape == (6, 3, 16, 8)
    assert parse_image_size("24x32") == (24, 32) and parse_image_size("28") == (28, 28)
    with pytest.raises(MaladeError, match="--image-size"):
        parse_image_size("big")


def test_differing_sizes_ask_for_image_size(tmp_path):
    make_tree(tmp_path, "L", per_class=2)
    Image.fromarray(np.zeros((5, 5), np.uint8), "L").save(tmp_path / "cat" / "small.png")
    with pytest.raises(MaladeError, match="differ in size.*--image-size"):
        load_split(f"folder:{tmp_path}", "train", options=ReadOptions(progress=False))


def test_corrupt_image_is_one_line_naming_it_or_skipped_when_asked(tmp_path, capsys):
    make_tree(tmp_path / "train", "L", per_class=3)
    make_tree(tmp_path / "test", "L", per_class=1)
    bad = tmp_path / "train" / "dog" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(MaladeError) as info:
        load_split(f"folder:{tmp_path}", "train", options=ReadOptions(progress=False))
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
    data = load_split(f"folder:{tmp_path}", "train", options=ReadOptions(progress=False, skip_bad_images=True))
    assert len(data) == 9
    assert "skipped 1 unreadable image" in capsys.readouterr().err


def test_truncated_jpeg_is_an_error(tmp_path):
    make_tree(tmp_path, "RGB", per_class=2, size=(32, 32), fmt="jpg")
    victim = tmp_path / "emu" / "1.jpg"
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(MaladeError, match="1.jpg"):
        load_split(f"folder:{tmp_path}", "train", options=ReadOptions(progress=False))


def test_cache_hits_and_misses_when_a_file_changes(tmp_path):
    root = tmp_path / "imgs"
    written = make_tree(root, "L", per_class=3)
    options = ReadOptions(progress=False)
    first = load_split(f"folder:{root}", "train", options=options)
    cached_files = list((tmp_path.parent / f"{tmp_path.name}-cache" / "folders").glob("*.npz"))
    assert len(cached_files) == 1
    again = load_split(f"folder:{root}", "train", options=options)
    np.testing.assert_array_equal(first.images, again.images)
    path = next(iter(written))
    Image.fromarray(np.zeros((12, 10), np.uint8), "L").save(path)  # new size/mtime -> new key
    load_split(f"folder:{root}", "train", options=options)
    assert len(list((tmp_path.parent / f"{tmp_path.name}-cache" / "folders").glob("*.npz"))) == 2


def test_layout_errors_are_one_line(tmp_path):
    with pytest.raises(MaladeError, match="no such folder"):
        load_split(f"folder:{tmp_path / 'nope'}", "train")
    (tmp_path / "flat").mkdir()
    with pytest.raises(MaladeError, match="no class subfolders"):
        load_split(f"folder:{tmp_path / 'flat'}", "train")
    make_tree(tmp_path / "t" / "train", "L", per_class=1)
    with pytest.raises(MaladeError, match="no test/"):
        load_split(f"folder:{tmp_path / 't'}", "test")
    with pytest.raises(MaladeError, match="unknown dataset"):
        load_split("folder:", "train")
