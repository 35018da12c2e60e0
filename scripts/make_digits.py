"""Write scikit-learn's bundled handwritten digits in MNIST's layout, as IDX files or one npz.

    python scripts/make_digits.py OUT_DIR            # train-/t10k-{images,labels} IDX files
    python scripts/make_digits.py OUT.npz            # x_train, y_train, x_test, y_test (+ class_names)

``load_digits()`` (1,797 digits, 8 x 8, values 0-16) is upscaled to 20 x 20 (bilinear) and padded
to 28 x 28 like MNIST; the last 20 % (seed 0 permutation) are the test split. A small, real,
sparse digit set that needs no download (see ../shared/data/README.md).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from malade_export.data import write_idx  # noqa: E402


def digits_mnist_layout(test_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 (x_train [N, 28, 28], y_train, x_test, y_test) from ``sklearn.datasets.load_digits``."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = np.clip(digits.images * (255.0 / 16.0), 0, 255).astype(np.float32)
    images = np.zeros((len(small), 28, 28), np.uint8)
    for i, image in enumerate(small):
        big = Image.fromarray(image, mode="F").resize((20, 20), Image.Resampling.BILINEAR)
        images[i, 4:24, 4:24] = np.clip(np.rint(np.asarray(big)), 0, 255).astype(np.uint8)
    labels = digits.target.astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(images))
    n_test = int(round(len(images) * test_fraction))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return images[train], labels[train], images[test], labels[test]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="a folder (IDX files) or a file ending in .npz")
    args = parser.parse_args()
    x_train, y_train, x_test, y_test = digits_mnist_layout()
    out = Path(args.out)
    if out.suffix == ".npz":
        np.savez(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                 class_names=np.array([str(i) for i in range(10)]))
    else:
        out.mkdir(parents=True, exist_ok=True)
        for prefix, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
            write_idx(out / f"{prefix}-images-idx3-ubyte", x)
            write_idx(out / f"{prefix}-labels-idx1-ubyte", y)
    print(f"wrote {out}: {len(x_train)} train, {len(x_test)} test, 28 x 28, "
          f"{(x_train == 0).mean():.0%} zero pixels, variance {(x_train / 255.0).var():.4f}")


if __name__ == "__main__":
    main()
