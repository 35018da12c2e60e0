"""Resize decoded images with Pillow, so every source honours --image-size the same way."""
from __future__ import annotations

import numpy as np
from PIL import Image

RESAMPLE = Image.Resampling.BILINEAR  # Pillow's bilinear filter widens when shrinking, so it also antialiases


def resize_pil(image: Image.Image, size: tuple[int, int] | None) -> Image.Image:
    """``image`` at (H, W) ``size``; unchanged when ``size`` is None or already its size."""
    if size is None or (image.height, image.width) == size:
        return image
    return image.resize((size[1], size[0]), RESAMPLE)


def resize_array(images: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """float32 [N, C, H, W] in [0, 1] -> [N, C, *size], one channel at a time in Pillow's float mode."""
    if size is None or tuple(images.shape[2:]) == size:
        return images
    out = np.empty(images.shape[:2] + size, dtype=np.float32)
    for i in range(images.shape[0]):
        for c in range(images.shape[1]):
            plane = Image.fromarray(np.ascontiguousarray(images[i, c], dtype=np.float32), mode="F")
            out[i, c] = np.asarray(resize_pil(plane, size), dtype=np.float32)
    return np.clip(out, 0.0, 1.0)
