"""Mean-field signal propagation (actviz.signal) against closed forms and known results: the ReLU
arc-cosine kernel, chi1 = sigma_w^2 / 2 for ReLU, the tanh edge of chaos at sigma_w^2 = 1, SELU's fixed
point at LeCun initialisation."""

import math

import numpy as np
import pytest

from actviz import signal

SELU = {"alpha": 1.6732632423543772, "scale": 1.0507009873554805}


def relu(x):
    return np.maximum(x, 0.0)


def selu(x):
    return SELU["scale"] * np.where(x > 0, x, SELU["alpha"] * np.expm1(np.minimum(x, 0.0)))


def identity(x):
    return x


def arccos_kernel(q, c):
    """E[relu(u1) relu(u2)] for (u1, u2) ~ N(0, q [[1, c], [c, 1]]): Cho & Saul's arc-cosine kernel of degree 1."""
    return q / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c)


@pytest.mark.parametrize("c", [-0.9, -0.5, 0.0, 0.3, 0.7, 0.95, 1.0])
def test_the_relu_correlation_map_is_the_arc_cosine_kernel(c):
    q, sigma_w2, sigma_b2 = 1.3, 2.0, 0.1
    assert signal.gauss2(relu, relu, q, c) == pytest.approx(arccos_kernel(q, c), abs=1e-3)
    expected = (sigma_w2 * arccos_kernel(q, c) + sigma_b2) / (sigma_w2 * q / 2 + sigma_b2)
    assert signal.corr_map(c, q, relu, sigma_w2, sigma_b2) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("sigma_w2", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("q", [0.1, 0.7, 4.0])
def test_relus_chi1_is_half_sigma_w2_at_any_length(sigma_w2, q):
    assert signal.chi(q, relu, sigma_w2) == pytest.approx(sigma_w2 / 2, abs=1e-3)


@pytest.mark.parametrize("beta", [0.25, 1.0, 3.0])
@pytest.mark.parametrize("q", [0.3, 1.0, 4.0])
def test_smelus_chi1_is_sigma_w2_times_its_mean_squared_slope(beta, q):
    from scipy import integrate, stats

    from actviz.activations import numpy_function

    # SmeLU's slope: 0 below -beta, (x + beta) / (2 beta) within, 1 above; its mean square under N(0, q) by quad
    density = stats.norm(0, math.sqrt(q)).pdf
    within = integrate.quad(lambda x: ((x + beta) / (2 * beta)) ** 2 * density(x), -beta, beta)[0]
    expected = 1.5 * (within + stats.norm(0, math.sqrt(q)).sf(beta))
    assert signal.chi(q, numpy_function("smelu", beta), 1.5) == pytest.approx(expected, abs=1e-3)


def test_smelu_becomes_relu_as_its_smoothing_shrinks_and_its_length_grows_without_bound_at_he_initialisation():
    from actviz.activations import numpy_function

    assert signal.chi(1.0, numpy_function("smelu", 1e-3), 2.0) == pytest.approx(1.0, abs=2e-3)  # ReLU's sigma_w2 / 2
    smelu = numpy_function("smelu", 1.0)
    below = signal.phase(smelu, 1.9, 0.0)  # ordered, at a finite length, with less slope than ReLU near 0
    assert below["phase"] == "ordered" and below["chi1"] < 0.95 and 0 < below["q_star"] < 2
    # SmeLU >= ReLU: at He initialisation every layer adds the smoothed kink's square to the length (ReLU keeps it)
    he = signal.phase(smelu, 2.0, 0.0)
    assert he["phase"] == "unbounded" and he["growth"] > 1 and he["chi1"] < 1


def test_he_initialisation_puts_relu_on_the_edge_of_chaos():
    he = signal.phase(relu, 2.0, 0.0)
    assert he["chi1"] == pytest.approx(1.0, abs=1e-3) and he["phase"] == "edge" and he["xi_c"] > 1e3
    ordered = signal.phase(relu, 1.5, 0.05)  # q* = sigma_b2 / (1 - sigma_w2 / 2): correlations converge to 1
    assert ordered["q_star"] == pytest.approx(0.05 / (1 - 0.75), rel=1e-4) and ordered["phase"] == "ordered"
    assert ordered["c_star"] == pytest.approx(1.0, abs=1e-4) and ordered["xi_c"] == pytest.approx(-1 / math.log(0.75),
                                                                                                  rel=1e-2)
    assert signal.phase(relu, 2.5, 0.0)["phase"] == "unbounded"  # the length doubles and more a layer


def test_the_tanh_edge_of_chaos_at_zero_bias_variance_lies_at_sigma_w2_one():
    assert signal.edge_of_chaos(np.tanh, 0.0) == pytest.approx(1.0, abs=0.02)
    # with bias variance the edge moves right (Poole et al. 2016, Fig. 2; Schoenholz et al. 2017, Fig. 1)
    assert signal.edge_of_chaos(np.tanh, 0.05) > 1.2
    assert signal.phase(np.tanh, 0.8, 0.0)["phase"] == "ordered" and signal.phase(np.tanh, 2.0, 0.0)["phase"] == \
        "chaotic"
    chaotic = signal.phase(np.tanh, 2.0, 0.0)
    assert chaotic["c_star"] < 0.5 and math.isfinite(chaotic["xi_c"])


def test_selus_length_has_its_fixed_point_at_one_at_lecun_initialisation():
    assert signal.fixed_length(selu, 1.0, 0.0) == pytest.approx(1.0, abs=1e-3)
    assert signal.fixed_length(selu, 1.0, 0.0, q0=3.0) == pytest.approx(1.0, abs=1e-3)  # and attracts


def test_the_one_step_and_path_predictions_of_a_linear_network_are_exact():
    # identity activations: q' = sigma_w2 q + sigma_b2, c' = (sigma_w2 q c + sigma_b2) / q', perturbations x sigma_w2
    layers = [(2.0, 0.0, identity, True, 4, 4), (0.5, 0.5, identity, True, 4, 4), (1.0, 0.0, identity, False, 4, 4),
              (3.0, 0.0, identity, True, 4, 4)]
    measured = [(2.0, 0.5, 2.0), (1.5, 0.5, 1.0), (7.0, 0.2, 5.0), (21.0, 0.2, 15.0)]
    result = signal.predict(layers, measured, input_signal=(1.0, 0.5))
    assert result[0]["one_step"] == pytest.approx((2.0, 0.5, 2.0)) and result[0]["path"] == pytest.approx(
        (2.0, 0.5, 2.0))
    assert result[1]["path"] == pytest.approx((1.5, (0.5 * 2.0 * 0.5 + 0.5) / 1.5, 1.0))
    assert result[2] == {"one_step": None, "path": None, "sigma_w2": 1.0, "sigma_b2": 0.0}  # conv or behind batch norm
    assert result[3]["one_step"] == pytest.approx((21.0, 0.2, 15.0)) and result[3]["path"] is None


def test_the_jacobian_is_a_mean_squared_singular_value_whatever_the_layers_width():
    # 2 units from 8 inputs: a perturbation of variance 1 per input gives sigma_w2 per unit; the Jacobian has
    # 2 singular values, whose mean square is (2 sigma_w2) / 2; 16 units from 8 inputs: 8 singular values
    narrow, wide = (signal.predict([(1.5, 0.0, identity, True, units, 8)], [(1, 1, 1)], (1.0, 0.0))[0]["path"][2]
                    for units in (2, 16))
    assert narrow == pytest.approx(1.5) and wide == pytest.approx(1.5 * 16 / 8)


def test_weight_variances_are_fan_in_times_the_mean_squared_weight():
    rng = np.random.default_rng(0)
    he = rng.normal(0, math.sqrt(2 / 300), (300, 500))
    sigma_w2, sigma_b2 = signal.weight_variances(he, np.zeros(500))
    assert sigma_w2 == pytest.approx(2.0, rel=0.01) and sigma_b2 == 0.0
    conv = np.full((5, 5, 3, 4), 0.1)
    assert signal.weight_variances(conv, np.full(4, 0.3)) == pytest.approx((75 * 0.01, 0.09))


def _profiles(corr, predicted, sigma_w2=2.0, path=None):
    """depth_profiles of one activation on an mlp3 (dense1..3, logits), the same at init and trained."""
    layers = 4
    values = {"corr": corr, "predicted_corr": predicted, "path_corr": path or [None] * layers,
              "sigma_w2": [sigma_w2] * layers, "sigma_b2": [0.0] * layers, "seeds": 1}
    return {("relu", "init"): values, ("relu", "trained"): values}


def test_the_signal_table_reads_the_phase_of_the_hidden_layers_initialisation_and_where_theory_parts():
    from actviz.report import layer_words, signal_tables

    setup = ("d", "mlp3", "snn")
    runs = {(*setup, "relu", 0): {"metrics": {"settings": {"lrelu_slope": 0.2}, "diverged_at_step": None}}}
    layers = ["dense1", "dense2", "dense3", "logits"]
    close = _profiles([0.30, 0.45, 0.57, 0.65], [0.31, 0.46, 0.58, 0.66], path=[0.31, 0.45, 0.56, 0.64])
    row = signal_tables.signal_rows(runs, setup, ["relu"], layers, close)[0]
    assert row["sigma_w2"] == 2.0 and row["phase"] == "edge" and row["chi1"] == pytest.approx(1.0, abs=1e-3)
    assert row["hidden_layers"] == 3 and row["in_theory"] and row["parts_at"] is None
    assert (row["corr_last"], row["corr_last_predicted"], row["corr_last_path"]) == (0.57, 0.58, 0.56)
    sentence = layer_words.signal_sentences("mlp3/snn", [row])[0]
    assert sentence.startswith("mlp3/snn, relu: initialised at σw² = 2.00, σb² = 0 (3 hidden dense layers): on the "
                               "edge of chaos (χ1 = 1.00)")
    assert "stays within 0.1 of the one-step prediction at every layer" in sentence
    apart = signal_tables.signal_rows(runs, setup, ["relu"], layers, _profiles([0.3, 0.45, 0.9, 0.95],
                                                                         [0.31, 0.46, 0.58, 0.66], sigma_w2=1.5))[0]
    assert apart["phase"] == "ordered" and apart["parts_at"] == "dense3" and apart["parts_at_when"] == "init"
    words = layer_words.signal_sentences("mlp3/snn", [apart])[0]
    assert "in the ordered phase (χ1 = 0.75 < 1)" in words
    assert "depth scale ξ_c = 3.5 layers, so 3 dense layers are 0.9 ξ_c" in words
    assert "first parts from the one-step prediction by more than 0.1 at dense3, at initialisation" in words
    batchnorm = _profiles([0.3, 0.45, 0.9, 0.95], [0.31, None, None, 0.66])
    outside = signal_tables.signal_rows(runs, setup, ["relu"], layers, batchnorm)[0]
    assert not outside["in_theory"]
    assert "outside the theory's assumptions" in layer_words.signal_sentences("x", [outside])[0]


def test_the_phase_diagram_puts_the_relu_edge_at_two_and_the_tanh_edge_at_one_without_bias():
    from actviz.report.signal_tables import phase_diagram

    w, b, chi1 = phase_diagram("relu", size=(25, 5))
    assert chi1.shape == (5, 25) and np.isnan(chi1[0, w > 2.05]).all()  # sigma_b2 = 0: the length explodes past 2
    finite = ~np.isnan(chi1)
    assert np.allclose(chi1[finite], np.broadcast_to(w / 2, chi1.shape)[finite], atol=2e-3)
    w, b, chi1 = phase_diagram("tanh", size=(50, 3))
    assert w[np.argmin(np.abs(chi1[0] - 1))] == pytest.approx(1.0, abs=0.06)


def test_the_variances_an_initialiser_implies_follow_keras_fan_rules():
    he, lecun, glorot, truncated, zeros = ({"class_name": name, "config": config} for name, config in (
        ("HeNormal", {"seed": None}), ("LecunNormal", {}), ("GlorotUniform", {}), ("TruncatedNormal", {"stddev": 0.02}),
        ("Zeros", {})))
    assert signal.implied_variances(he, zeros, (256, 256)) == pytest.approx((2.0, 0.0))
    assert signal.implied_variances(lecun, None, (784, 256)) == pytest.approx((1.0, 0.0))
    assert signal.implied_variances(glorot, zeros, (2048, 160)) == pytest.approx((2 * 2048 / 2208, 0.0))
    conv = signal.implied_variances(glorot, zeros, (5, 5, 32, 64))  # fans 800 in, 1,600 out: Keras' receptive field
    assert conv == pytest.approx((800 / 1200, 0.0))
    assert signal.implied_variances(truncated, zeros, (75, 8)) == pytest.approx((75 * 0.0004 * 0.7737413, 0.0))
    assert signal.implied_variances({"class_name": "Orthogonal", "config": {}}, zeros, (8, 8)) == (None, None)


def test_a_length_that_keeps_growing_has_no_fixed_point():
    assert signal.fixed_length(relu, 2.0, 0.0) == pytest.approx(1.0)  # at the edge every length is a fixed point
    elu = signal.phase(lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))), 2.0, 0.0)
    assert elu["q_star"] == math.inf and elu["phase"] == "unbounded"  # grows by about a constant a layer
    lrelu = signal.phase(lambda x: np.where(x > 0, x, 0.2 * x), 2.0, 0.0)  # He's gain ignores the slope
    assert lrelu["phase"] == "unbounded" and lrelu["growth"] == pytest.approx(1.04, abs=1e-3)
    assert lrelu["chi1"] == pytest.approx(1.04, abs=1e-3)


@pytest.mark.parametrize("phi, sigma_w2, sigma_b2", [(selu, 1.73, 0.0), (np.tanh, 2.0, 0.05), (selu, 1.0, 0.0)])
def test_the_chaotic_correlation_fixed_point_is_a_fixed_point_of_the_map(phi, sigma_w2, sigma_b2):
    found = signal.phase(phi, sigma_w2, sigma_b2)
    assert found["phase"] == "chaotic" and -1e-3 <= found["c_star"] < 1
    again = signal.corr_map(found["c_star"], found["q_star"], phi, sigma_w2, sigma_b2)
    assert again == pytest.approx(found["c_star"], abs=1e-6)


def test_the_phase_grid_explodes_exactly_past_leaky_relus_edge_at_every_bias_variance():
    # Leaky ReLU (slope 0.2) multiplies the length by sigma_w^2 (1 + 0.2^2) / 2 a layer, whatever sigma_b^2:
    # it has a fixed point below sigma_w^2 = 2 / 1.04 = 1.923 and none above, small bias variances included (a count
    # of iterations alone called the cells just past the edge bounded there: a notch in the picture)
    from actviz.activations import numpy_function

    w = np.array([1.85, 1.90, 1.95, 2.0])
    b = np.linspace(0.0, 0.5, 11)
    chi1 = signal.chi1_grid(numpy_function("lrelu", 0.2), w, b)
    assert np.isfinite(chi1[:, :2]).all() and np.isnan(chi1[:, 2:]).all()
