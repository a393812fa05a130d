"""The moment map (actviz.moments) against (quasi-)Monte Carlo estimates, and SELU's fixed point at the
initialisation of a deep snn MLP: predicted and measured."""

import numpy as np
import pytest
from scipy.stats import norm, qmc

from actviz.moments import expectations, layer_moments, predict

FUNCTIONS = {"selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
             "relu": lambda x: np.maximum(x, 0.0), "tanh": np.tanh,
             "smelu": lambda x: np.where(x >= 1, x, np.where(x <= -1, 0.0, (x + 1) ** 2 / 4))}


def _gaussian(dimensions, samples_log2, seed=0):
    """2**samples_log2 standard normal points in ``dimensions`` (scrambled Sobol: a 10^6-sample estimate
    whose error is far below plain Monte Carlo's 1e-3)."""
    points = qmc.Sobol(dimensions, scramble=True, seed=seed).random_base2(samples_log2)
    return norm.ppf(points)


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("mean, var", [(0.0, 1.0), (0.3, 2.0), (-0.5, 0.25)])
def test_gauss_hermite_expectations_match_a_million_samples(name, mean, var):
    f = FUNCTIONS[name]
    z = mean + np.sqrt(var) * _gaussian(1, 20)[:, 0]  # 1,048,576 samples
    first, second = expectations(f, np.array(mean), np.array(var))
    assert float(first) == pytest.approx(f(z).mean(), abs=1e-3)
    assert float(second - first**2) == pytest.approx(f(z).var(), abs=1e-3)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_a_layers_predicted_moments_match_sampled_independent_inputs(name):
    rng = np.random.default_rng(1)
    kernel = rng.normal(0, 1 / np.sqrt(8), (8, 16))  # fan-in 8, 16 units, LeCun scale
    bias = rng.normal(0, 0.1, 16)
    mean_in, var_in = 0.2, 0.8
    x = mean_in + np.sqrt(var_in) * _gaussian(8, 17)  # 131,072 samples of 8 independent inputs
    outputs = FUNCTIONS[name](x @ kernel + bias)  # 2 million values
    predicted_mean, predicted_var = layer_moments(kernel, bias, mean_in, var_in, FUNCTIONS[name])
    assert predicted_mean == pytest.approx(outputs.mean(), abs=1e-3)
    assert predicted_var == pytest.approx(outputs.var(), abs=1e-3)


def test_a_conv_kernels_fan_in_is_its_height_width_and_input_channels():
    kernel = np.full((5, 5, 3, 4), 0.1)  # 75 inputs of weight 0.1 per unit
    mean, var = layer_moments(kernel, None, 1.0, 2.0, lambda x: x)  # identity: exactly the input's map
    assert mean == pytest.approx(7.5) and var == pytest.approx(2.0 * 75 * 0.01)


def test_the_path_stops_at_batch_norm_and_one_step_starts_from_the_measured_layer_below():
    def identity(x):
        return x

    layers = [(np.eye(2), None, identity, False), (2 * np.eye(2), None, identity, True),
              (3 * np.eye(2), None, identity, False)]
    result = predict(layers, measured=[(1.0, 1.0), (5.0, 4.0), (0.0, 1.0)], input_moments=(0.5, 2.0))
    assert result[0]["one_step"] == pytest.approx((0.5, 2.0)) and result[0]["path"] == pytest.approx((0.5, 2.0))
    assert result[1] == {"one_step": None, "path": None}  # behind batch norm
    assert result[2]["one_step"] == pytest.approx((15.0, 36.0))  # from the measured (5, 4)
    assert result[2]["path"] is None  # no path past batch norm


@pytest.fixture(scope="module")
def sample_images():
    from actviz.datasets import DATASETS, read_raw
    from actviz.model import input_statistics

    splits = read_raw(DATASETS["FashionMNIST-sample"], DATASETS["FashionMNIST-sample"].sources[0])
    return splits["test"][0][:256], input_statistics(splits["train"][0])


def test_selu_keeps_a_32_layer_snn_mlp_at_mean_0_and_std_1_at_initialisation(sample_images):
    """Measured on the embedded sample (256 test images), seed 0: the predicted path stays within 0.006 of
    (0, 1) at every layer, the measured layers within 0.06 of std 1 and 0.08 of mean 0 (the logits)."""
    import keras

    from actviz.model import build_model, recorded_layer_names

    images, (mean, std) = sample_images
    keras.utils.set_random_seed(0)
    model = build_model((28, 28, 1), 10, "selu", "snn", input_mean=mean, input_std=std, architecture="mlp32")
    names = recorded_layer_names(model)
    outputs = keras.Model(model.input, [model.get_layer(n).output for n in names])(images, training=False)
    measured = [(float(np.mean(o)), float(np.var(o))) for o in outputs]
    inputs = np.asarray(keras.Model(model.input, model.get_layer("standardize").output)(images), np.float64)
    selu = FUNCTIONS["selu"]
    layers = [(np.asarray(model.get_layer(n).kernel), np.asarray(model.get_layer(n).bias),
               selu if n != "logits" else (lambda x: x), False) for n in names]
    predictions = predict(layers, measured, (inputs.mean(), inputs.var()))
    assert len(names) == 33
    for name, (m, v), prediction in zip(names, measured, predictions):
        path_mean, path_var = prediction["path"]
        assert abs(path_mean) < 0.1 and abs(np.sqrt(path_var) - 1) < 0.1, name
        assert abs(m) < 0.2 and abs(np.sqrt(v) - 1) < 0.2, name
