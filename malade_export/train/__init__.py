"""Training: classifiers A-E, the DAE and the classifier-supervised sDAE."""
from .api import TrainSettings, Trained, train_classifier, train_dae
from .metrics import accuracy, reconstruction_mse

__all__ = ["TrainSettings", "Trained", "train_classifier", "train_dae", "accuracy", "reconstruction_mse"]
