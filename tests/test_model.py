"""The CNN: the old project's shapes for grey and colour inputs, activations where they belong."""

import keras
import numpy as np
import pytest

from actviz.errors import UserError
from actviz.model import LAYER_NAMES, build_model, layer_outputs_model


@pytest.mark.parametrize("input_shape, shapes", [
    ((28, 28, 1), [(14, 14, 32), (7, 7, 64), (4, 4, 128), (160,), (40,), (10,)]),
    ((32, 32, 3), [(16, 16, 64), (8, 8, 128), (4, 4, 256), (160,), (40,), (10,)]),
])
def test_layer_shapes_follow_the_old_project(input_shape, shapes):
    model = build_model(input_shape, 10, "relu")
    outputs = layer_outputs_model(model).outputs
    assert [tuple(o.shape[1:]) for o in outputs] == shapes
    assert [model.get_layer(n).kernel.shape[:2] for n in ("conv1", "conv2", "conv3")] == [(5, 5)] * 3
    assert all(model.get_layer(n).strides == (2, 2) for n in ("conv1", "conv2", "conv3"))


def test_hidden_layers_use_the_activation_and_logits_do_not():
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
    outputs = dict(zip(LAYER_NAMES, layer_outputs_model(build_model((28, 28, 1), 10, "relu"))(images)))
    for name in LAYER_NAMES[:-1]:
        assert float(np.min(outputs[name])) >= 0.0
    assert float(np.min(outputs["logits"])) < 0.0  # no activation on the logits
    keras.utils.set_random_seed(0)
    selu = dict(zip(LAYER_NAMES, layer_outputs_model(build_model((28, 28, 1), 10, "selu"))(images)))
    low = -1.0507009873554805 * 1.6732632423543772
    assert low - 1e-5 <= float(np.min(selu["conv1"])) < 0.0
    keras.utils.set_random_seed(0)
    lrelu = layer_outputs_model(build_model((28, 28, 1), 10, "lrelu"))
    conv1 = lrelu.get_layer("conv1")
    x = np.array([[-1.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(conv1.activation(x), [[-0.2, 2.0]], rtol=1e-6)


def test_same_seed_builds_the_same_weights():
    keras.utils.set_random_seed(3)
    a = build_model((28, 28, 1), 10, "selu").get_weights()
    keras.utils.set_random_seed(3)
    b = build_model((28, 28, 1), 10, "selu").get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_unknown_activation_is_a_user_error():
    with pytest.raises(UserError, match="known activations: relu, lrelu, selu"):
        build_model((28, 28, 1), 10, "swishy")
