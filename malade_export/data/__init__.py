"""Datasets: IDX, image folders, npz archives and CIFAR-10's binary files, as float32 NCHW arrays in [0, 1]."""
from .idx import read_idx, write_idx
from .imageset import ImageSet, default_val_size, held_out_split, random_subset, train_val_split
from .options import ReadOptions, parse_image_size
from .sources import DATASET_NAMES, load_split, parse_dataset

__all__ = ["DATASET_NAMES", "ReadOptions", "ImageSet", "default_val_size", "held_out_split", "load_split",
           "parse_dataset", "parse_image_size", "random_subset", "read_idx", "train_val_split", "write_idx"]
