"""The CNN: the old project's shapes, every activation where it belongs, and the two recipes."""

import keras
import numpy as np
import pytest

from actviz.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE
from actviz.errors import UserError
from actviz.model import LAYER_NAMES, build_model, input_statistics, layer_outputs_model

IMAGES = np.random.default_rng(0).integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
STATS = {"input_mean": [120.0], "input_std": [60.0]}


def _model(activation, recipe="snn", shape=(28, 28, 1), **kwargs):
    keras.utils.set_random_seed(0)
    stats = STATS if shape[-1] == 1 else {"input_mean": [120.0] * 3, "input_std": [60.0] * 3}
    return build_model(shape, 10, activation, recipe, **{**stats, **kwargs})


@pytest.mark.parametrize("recipe", ["snn", "seed"])
@pytest.mark.parametrize("input_shape, shapes", [
    ((28, 28, 1), [(14, 14, 32), (7, 7, 64), (4, 4, 128), (160,), (40,), (10,)]),
    ((32, 32, 3), [(16, 16, 64), (8, 8, 128), (4, 4, 256), (160,), (40,), (10,)]),
])
def test_layer_shapes_follow_the_old_project(input_shape, shapes, recipe):
    model = _model("relu", recipe, input_shape)
    outputs = layer_outputs_model(model).outputs
    assert [tuple(o.shape[1:]) for o in outputs] == shapes
    assert [model.get_layer(n).kernel.shape[:2] for n in ("conv1", "conv2", "conv3")] == [(5, 5)] * 3
    assert all(model.get_layer(n).strides == (2, 2) for n in ("conv1", "conv2", "conv3"))


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_every_activation_is_applied_to_hidden_layers_and_not_to_logits(activation):
    outputs = dict(zip(LAYER_NAMES, (np.asarray(o) for o in layer_outputs_model(_model(activation))(IMAGES))))
    assert all(np.isfinite(v).all() for v in outputs.values())
    conv1 = _model(activation).get_layer("conv1")
    x = np.linspace(-3, 3, 13, dtype=np.float32)[None]
    expected = {"relu": np.maximum(x, 0), "lrelu": np.where(x > 0, x, 0.2 * x),
                "selu": SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
                "elu": np.where(x > 0, x, np.expm1(x)), "tanh": np.tanh(x), "sigmoid": 1 / (1 + np.exp(-x)),
                "swish": x / (1 + np.exp(-x)), "gelu": None,
                "smelu": np.where(x >= 1, x, np.where(x <= -1, 0, (x + 1) ** 2 / 4))}[activation]
    if expected is not None:
        np.testing.assert_allclose(conv1.activation(x), expected, rtol=1e-5, atol=1e-6)
    if activation == "relu":
        assert all(v.min() >= 0 for k, v in outputs.items() if k != "logits")
    assert outputs["logits"].min() < 0  # no activation on the logits


def test_smelu_is_relu_with_its_kink_smoothed_over_plus_minus_beta():
    from actviz.model import activation_function

    smelu = activation_function("smelu", 0.5)
    x = np.array([-2.0, -0.5, -0.25, 0.0, 0.25, 0.5, 2.0], np.float32)
    np.testing.assert_allclose(smelu(x), [0, 0, 0.0625 / 2, 0.125, 0.5625 / 2, 0.5, 2.0], rtol=1e-6, atol=1e-7)
    import tensorflow as tf

    x = tf.constant(np.linspace(-1.5, 1.5, 31, dtype=np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = smelu(x)
    slope = tape.gradient(y, x).numpy()  # continuous: 0, then (x + beta) / (2 beta), then 1
    np.testing.assert_allclose(slope, np.clip((x.numpy() + 0.5) / 1.0, 0, 1), atol=1e-6)


def test_every_activations_own_setting_defaults_to_the_settings_default():
    from actviz.activations import activation_parameter
    from actviz.settings import TrainSettings

    owned = {name: spec.parameter for name, spec in ACTIVATIONS.items() if spec.parameter}
    assert owned == {"lrelu": ("lrelu_slope", 0.2), "smelu": ("smelu_beta", 1.0)}
    for name, (key, default) in owned.items():
        assert getattr(TrainSettings(), key) == default
        assert activation_parameter(name, {}) == default and activation_parameter(name, {key: 0.7}) == 0.7
    assert activation_parameter("relu", TrainSettings()) is None


def test_lrelu_slope_is_configurable():
    conv1 = _model("lrelu", parameter=0.01).get_layer("conv1")
    np.testing.assert_allclose(conv1.activation(np.array([[-2.0, 2.0]], np.float32)), [[-0.02, 2.0]], rtol=1e-6)


def _layer_types(model):
    return {layer.name: type(layer).__name__ for layer in model.layers}


def test_snn_recipe_gives_selu_lecun_init_and_alpha_dropout_and_relu_he_init_and_dropout():
    selu, relu = _model("selu", dropout=0.1), _model("relu", dropout=0.1)
    assert _layer_types(selu)["dense1_dropout"] == "AlphaDropout" and selu.get_layer("dense2_dropout").rate == 0.1
    assert _layer_types(relu)["dense1_dropout"] == "Dropout"
    assert not any(name.startswith("conv") and name.endswith("dropout") for name in _layer_types(relu))
    assert not any(t == "BatchNormalization" for t in _layer_types(relu).values())
    fan_in = 5 * 5 * 32
    assert np.std(np.asarray(selu.get_layer("conv2").kernel)) == pytest.approx(np.sqrt(1 / fan_in), rel=0.1)
    assert np.std(np.asarray(relu.get_layer("conv2").kernel)) == pytest.approx(np.sqrt(2 / fan_in), rel=0.1)
    standardized = keras.Model(selu.input, selu.get_layer("standardize").output)(IMAGES)
    expected = (IMAGES.astype(np.float32) - 120.0) / 60.0
    np.testing.assert_allclose(standardized, expected, rtol=1e-5, atol=1e-5)


def test_seed_recipe_reproduces_the_old_project_setup():
    relu, selu = _model("relu", "seed"), _model("selu", "seed")
    types = _layer_types(relu)
    assert [types.get(f"conv{i}_bn") for i in (1, 2, 3)] == ["BatchNormalization"] * 3
    assert not any(t == "BatchNormalization" for t in _layer_types(selu).values())  # none after SELU
    assert all(relu.get_layer(f"conv{i}_dropout").rate == 0.5 for i in (1, 2, 3))
    assert "dense1_dropout" not in types and "scale" in types
    kernel = np.asarray(relu.get_layer("conv2").kernel)
    assert np.std(kernel) == pytest.approx(0.02 * 0.88, rel=0.1) and np.abs(kernel).max() <= 0.04 + 1e-6
    assert not np.array_equal(kernel[..., 0], np.asarray(relu.get_layer("conv2").kernel)[..., 1])


def test_same_seed_builds_the_same_weights():
    a, b = _model("selu", "seed").get_weights(), _model("selu", "seed").get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_input_statistics_are_per_channel_mean_and_std():
    images = np.random.default_rng(1).integers(0, 256, (100, 4, 4, 3), dtype=np.uint8)
    mean, std = input_statistics(images, chunk=7)
    flat = images.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(mean, flat.mean(axis=0))
    np.testing.assert_allclose(std, flat.std(axis=0))


def test_unknown_names_are_user_errors():
    with pytest.raises(UserError, match="known activations: relu, lrelu, selu, elu"):
        build_model((28, 28, 1), 10, "swishy", "seed")
    with pytest.raises(UserError, match="known recipes: snn, seed"):
        build_model((28, 28, 1), 10, "relu", "fast")


def test_bfloat16_layers_keep_float32_weights_and_float32_logits():
    model = _model("selu", precision="bfloat16")
    assert {model.get_layer(name).compute_dtype for name in ("conv2", "dense1")} == {"bfloat16"}
    assert all(w.dtype == "float32" for w in model.trainable_weights)  # weights (and the optimizer) in float32
    assert model.get_layer("logits").compute_dtype == "float32" and model(IMAGES).dtype == "float32"
    # Same weights as the float32 model from the same seed; outputs as close to its as bfloat16's 8-bit
    # mantissa allows. Calibrated over every activation, both recipes and 3 batches of 64 (AMD EPYC Zen 4):
    # the error's RMS is 0.3-1.4% of the float32 logits' spread for the snn recipe (0.013 here), its
    # largest 4.4% (0.036 here); one layer 5% off in bfloat16 alone gives 0.042 and fails.
    reference = _model("selu")
    for mine, theirs in zip(model.trainable_weights, reference.trainable_weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    mine, theirs = np.asarray(model(IMAGES)), np.asarray(reference(IMAGES))
    error, spread = mine - theirs, theirs.std()
    assert 1e-3 < np.sqrt(np.mean(error ** 2)) / spread < 0.03  # and above zero: it does compute in bfloat16
    assert np.abs(error).max() / spread < 0.1


@pytest.mark.parametrize("architecture, depth", [("mlp", 5), ("mlp3", 16)])
def test_an_mlp_has_depth_hidden_layers_of_width_units_then_the_logits(architecture, depth):
    from actviz.model import recorded_layer_names

    model = _model("relu", architecture=architecture, depth=depth, width=48)
    hidden = int(architecture[3:] or depth)
    assert recorded_layer_names(model) == [f"dense{i}" for i in range(1, hidden + 1)] + ["logits"]
    assert [model.get_layer(f"dense{i}").units for i in range(1, hidden + 1)] == [48] * hidden
    assert model.get_layer("dense1").kernel.shape == (28 * 28, 48) and model.get_layer("logits").units == 10
    assert np.isfinite(np.asarray(model(IMAGES))).all()


def test_mlp_recipes_are_those_of_the_cnns_dense_layers():
    selu, relu = (_model(a, architecture="mlp", depth=4, width=200, dropout=0.1) for a in ("selu", "relu"))
    assert _layer_types(selu)["dense4_dropout"] == "AlphaDropout" and _layer_types(relu)["dense4_dropout"] == "Dropout"
    assert not any(t == "BatchNormalization" for t in _layer_types(relu).values())
    for model, gain in ((selu, 1.0), (relu, 2.0)):  # LeCun normal, He normal
        assert np.std(np.asarray(model.get_layer("dense3").kernel)) == pytest.approx(np.sqrt(gain / 200), rel=0.05)
    seed_relu, seed_selu = (_model(a, "seed", architecture="mlp", depth=4, width=200) for a in ("relu", "selu"))
    assert [_layer_types(seed_relu).get(f"dense{i}_bn") for i in range(1, 5)] == ["BatchNormalization"] * 4
    assert not any(t == "BatchNormalization" for t in _layer_types(seed_selu).values())
    assert "dense1_dropout" not in _layer_types(seed_relu)  # the seed recipe has no dense dropout
    limit = np.sqrt(6 / (200 + 200))  # Glorot uniform
    assert np.abs(np.asarray(seed_relu.get_layer("dense3").kernel)).max() <= limit + 1e-6


def test_the_cnn_is_unchanged_by_the_architecture_choice():
    default, named = _model("selu"), _model("selu", architecture="cnn", depth=99, width=7)
    assert [layer.name for layer in default.layers] == [layer.name for layer in named.layers]
    assert all(np.array_equal(a, b) for a, b in zip(default.get_weights(), named.get_weights()))


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_the_numpy_activations_equal_keras(activation):
    from actviz.activations import numpy_function
    from actviz.model import activation_function

    x = np.linspace(-6, 6, 1201)
    expected = np.asarray(activation_function(activation, 0.3)(x.astype(np.float32)))
    assert np.allclose(numpy_function(activation, 0.3)(x), expected, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("architecture, recipe", [("cnn", "snn"), ("cnn", "seed"), ("mlp3", "seed"), ("mlp3", "snn")])
def test_the_pre_activation_chain_gives_each_recorded_layers_output_through_its_activation(architecture, recipe):
    from actviz.model import input_layer_name, layer_outputs_model, pre_activation_chain, recorded_layer_names

    keras.utils.set_random_seed(0)
    model = build_model((28, 28, 1), 10, "selu" if recipe == "snn" else "relu", recipe, 0.05, 0.2, [100.0], [50.0],
                        architecture=architecture, width=32)
    images = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype(np.uint8)
    scaled = keras.Model(model.input, model.get_layer(input_layer_name(model)).output)(images, training=False)
    pre, chained = pre_activation_chain(model)(scaled)
    outputs = layer_outputs_model(model)(images, training=False)
    layers = [model.get_layer(name) for name in recorded_layer_names(model)]
    assert len(pre) == len(outputs) == len(layers) == len(chained)
    for layer, z, output, mine in zip(layers, pre, outputs, chained):
        assert np.allclose(np.asarray(layer.activation(z)), np.asarray(output), atol=1e-5), layer.name
        assert np.allclose(np.asarray(mine), np.asarray(output), atol=1e-5), layer.name
