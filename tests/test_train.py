
import numpy as np

from malade_export.checkpoint import load_checkpoint
from malade_export.train import accuracy
from malade_export.train.objectives import class_balance_weights


def test_sdae_keeps_classifier_accuracy_better_than_plain_dae(tiny_checkpoints, slice_data):
    clf = load_checkpoint(tiny_checkpoints["classifier"]).model
    sdae = load_checkpoint(tiny_checkpoints["sdae"], "sdae")
    dae = load_checkpoint(tiny_checkpoints["dae"], "dae").model
    test = slice_data[2]
    assert sdae.config["sigma"] == 0.3 and sdae.config["classifier_sha256"]
    # The supervised term is what keeps reconstructions classifiable.
    assert accuracy(clf, test, transform=sdae.model) >= accuracy(clf, test, transform=dae) - 0.02


def test_class_balance_weights_equalise_classes():
    labels = np.array([0] * 90 + [1] * 10)
    weights = class_balance_weights(labels, 2)
    counts = np.bincount(labels)
    assert np.allclose(weights.numpy() * counts, [50, 50])


def test_chain_states_are_images_and_a_perfect_student_has_zero_loss(tiny_checkpoints, slice_data):
    import torch

    from malade_export.train.distill import chain_states, distill_loss

    teacher = load_checkpoint(tiny_checkpoints["sdae"], "sdae").model
    classifier = load_checkpoint(tiny_checkpoints["classifier"], "classifier").model
    images = torch.from_numpy(slice_data[1].images[:64])
    labels = torch.from_numpy(slice_data[1].labels[:64])
    torch.manual_seed(0)
    states = chain_states(images, labels, teacher, classifier, sigma=0.0)  # no noise: perturb, then relax
    assert states.min() >= 0 and states.max() <= 1 and not states.requires_grad
    assert not torch.equal(states, images)
    # A student that is its teacher has nothing left to learn.
    assert distill_loss(teacher, teacher, classifier, sigma=0.3)(images, labels).item() == 0.0


def test_time_budget_ends_between_epochs_and_is_recorded(slice_data):
    """A budget shorter than one epoch still leaves one finished epoch (a model to save), never a cut one."""
    from malade_export.train import Denoiser, TrainSettings, train_dae

    fit, val, _ = slice_data
    settings = TrainSettings(epochs=50, batch_size=64, command="pytest", time_budget_s=1e-3)
    lines: list[str] = []
    result = train_dae(fit.subset(slice(0, 256)), val.subset(slice(0, 64)), settings, denoiser=Denoiser(4, 3),
                       log=lines.append)
    training = result.config["training"]
    assert training["epochs"] == 1 and training["epochs_asked"] == 50 and training["time_budget_s"] == 1e-3
    assert len(training["history"]) == 1 and any("time budget" in line for line in lines)
    unbounded = train_dae(fit.subset(slice(0, 128)), val.subset(slice(0, 64)),
                          TrainSettings(epochs=2, batch_size=64, command="pytest"), denoiser=Denoiser(4, 3),
                          log=lines.append)
    assert unbounded.config["training"]["epochs"] == 2 and "time_budget_s" not in unbounded.config["training"]
