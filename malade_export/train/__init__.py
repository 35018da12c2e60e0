"""Training: classifiers A-E, the DAE, the supervised sDAE and cheaper students of it, the WGAN-GP."""
from .api import Denoiser, Supervision, Trained, TrainSettings, distill_sdae, train_classifier, train_dae
from .gan import GanSettings, train_gan
from .metrics import accuracy, reconstruction_mse

__all__ = ["Denoiser", "GanSettings", "Supervision", "TrainSettings", "Trained", "accuracy", "distill_sdae",
           "reconstruction_mse", "train_classifier", "train_dae", "train_gan"]
