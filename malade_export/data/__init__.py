"""Datasets: IDX files to float32 NCHW arrays in [0, 1]."""
from .datasets import DATASET_NAMES, ImageSet, load_split, train_val_split
from .idx import read_idx, write_idx

__all__ = ["DATASET_NAMES", "ImageSet", "load_split", "train_val_split", "read_idx", "write_idx"]
