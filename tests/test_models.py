import pytest
import torch

from malade_export.errors import MaladeError
from malade_export.models import CLASSIFIERS, build_model


@pytest.mark.parametrize("arch", list(CLASSIFIERS))
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_classifiers_run_on_any_shape(arch, shape):
    model = build_model({"kind": "classifier", "arch": arch, "input_shape": list(shape), "num_classes": 7}).eval()
    assert model(torch.rand(2, *shape)).shape == (2, 7)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 27, 27), (2, 9, 13)])
def test_dae_keeps_shape_and_range(shape):
    dae = build_model({"kind": "sdae", "input_shape": list(shape), "channels": 16, "kernel": 5})
    out = dae(torch.rand(3, *shape))
    assert out.shape == (3, *shape) and out.min() >= 0 and out.max() <= 1


def test_classifier_a_matches_design_widths():
    model = build_model({"kind": "classifier", "arch": "A", "input_shape": [1, 28, 28], "num_classes": 10})
    linear = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(12 * 12 * 64, 128), (128, 10)]


def test_unknown_model_is_a_clear_error():
    with pytest.raises(MaladeError, match="unknown classifier architecture"):
        build_model({"kind": "classifier", "arch": "Z", "input_shape": [1, 28, 28]})


@pytest.mark.parametrize("downsample", [0, 1, 2])
@pytest.mark.parametrize("skip", [False, True])
def test_dae_shapes_for_colour_images(downsample, skip):
    """Each resolution/skip option rebuilds from its config, keeps H x W and [0, 1], and the skip path is live."""
    config = {"kind": "sdae", "input_shape": [3, 32, 32], "channels": 8, "kernel": 3, "sigma": 0.1,
              "downsample": downsample, "skip": skip}
    model = build_model(config)
    x = torch.rand(2, 3, 32, 32)
    out = model(x)
    assert out.shape == x.shape and 0 <= out.min() and out.max() <= 1
    last = model.decoder[4]
    assert last.in_channels == 8 + (3 if skip else 0)
    strides = [m.stride[0] for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    assert strides.count(2) == downsample
    if skip:  # the input reaches the output past the bottleneck: a change to one pixel changes its neighbourhood
        y = x.clone()
        y[:, :, 16, 16] += 0.5
        assert (model(y) - out)[:, :, 15:18, 15:18].abs().sum() > 0


def test_dae_config_out_of_range_is_refused(tmp_path):
    from malade_export.checkpoint_schema import validate_config

    good = {"kind": "sdae", "input_shape": [3, 32, 32], "channels": 8, "kernel": 3, "sigma": 0.1}
    assert validate_config(tmp_path, {**good, "downsample": 1, "skip": True})
    with pytest.raises(MaladeError, match="downsample"):
        validate_config(tmp_path, {**good, "downsample": 3})
    with pytest.raises(MaladeError, match="skip"):
        validate_config(tmp_path, {**good, "skip": "yes"})
