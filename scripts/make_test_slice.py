"""Cut the small Fashion-MNIST slice the tests ship (tests/data/fashion-mnist-slice).

    python scripts/make_test_slice.py [--data-dir /usr/share/datasets/fashion-mnist]

The first 2000 training and 500 test images, class-stratified by construction of the set, kept as
gzip IDX files so the tests exercise the same reader as real data.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from malade_export.data import read_idx, write_idx

SIZES = {"train": 2000, "t10k": 500}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--out", default=str(Path(__file__).parent.parent / "tests/data/fashion-mnist-slice"))
    args = parser.parse_args()
    for prefix, size in SIZES.items():
        images = read_idx(Path(args.data_dir) / f"{prefix}-images-idx3-ubyte.gz")[:size]
        labels = read_idx(Path(args.data_dir) / f"{prefix}-labels-idx1-ubyte.gz")[:size]
        write_idx(Path(args.out) / f"{prefix}-images-idx3-ubyte.gz", images.astype(np.uint8))
        write_idx(Path(args.out) / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
        print(prefix, images.shape, np.bincount(labels))


if __name__ == "__main__":
    main()
