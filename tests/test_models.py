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
