"""How signals travel through depth: mean-field signal propagation (Poole et al. 2016; Schoenholz et al.
2017, "Deep Information Propagation") beside the measurements.

A fully connected layer z^l = W^l h^(l-1) + b^l, h^(l-1) = phi(z^(l-1)), with weights of variance
sigma_w^2 / N_(l-1) (N_(l-1) its fan-in) and biases of variance sigma_b^2, maps over random weights:

- the length q (mean squared pre-activation of one input):
  q^l = sigma_w^2 E[phi(z)^2] + sigma_b^2,  z ~ N(0, q^(l-1));
- the correlation c between the pre-activations of two inputs of equal length q:
  c^l = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q^l,  (u1, u2) ~ N(0, q^(l-1) [[1, c], [c, 1]]);
- a small perturbation of the input, per unit: its variance times chi = sigma_w^2 E[phi'(z)^2] a layer.

Their fixed points q* and c* (c = 1 always is one), chi_1 = sigma_w^2 E[phi'(z)^2] at q* (below 1: the
ordered phase, where two inputs' representations converge, c* = 1; above 1: chaotic, where they
decorrelate to c* < 1; 1: the edge of chaos), and the depth scale xi_c = -1 / ln chi_c, chi_c =
sigma_w^2 E[phi'(u1) phi'(u2)] at (q*, c*), over which correlations approach c*: a network much deeper
than xi_c cannot tell its inputs apart (Schoenholz et al.). Expectations are Gauss-Hermite quadratures
(one and two correlated Gaussians), not samples, as in ``actviz.moments``. The first layer's input is
the standardised image itself (phi the identity).

Conv layers (whose units share their inputs across positions) and layers behind batch norm (whose
input is batch norm's) are outside these assumptions: they are measured, not predicted.
"""

import functools
import math

import numpy as np

# One Gaussian: as the moment map (a kink at 0 makes Gauss-Hermite's error ~0.16/n of the std).
POINTS_1D = 2000
# Two correlated Gaussians: a tensor product of this many points a side (E[relu(u1) relu(u2)] within
# 1e-3 of the arc-cosine kernel's closed form: tests/test_signal.py).
POINTS_2D = 400
# Fixed points: iterations of a map and how close two successive values must be.
ITERATIONS = 2000
TOLERANCE = 1e-9
# A length beyond this has no fixed point at all: the signal grows without bound.
UNBOUNDED = 1e8
# Central differences for phi' (any activation, kinks included: they have zero Gaussian measure).
STEP = 1e-5
# A length that has died out to 0 is taken as this (chi1 is its limit from above: at 0 a kink has no slope).
Q_FLOOR = 1e-30
# The phase diagram's grid: fewer quadrature points and iterations (a picture of chi1 = 1, not a table).
PHASE_POINTS = 200
PHASE_ITERATIONS = 300


@functools.cache
def _nodes(points):
    from scipy.special import roots_hermite

    nodes, weights = roots_hermite(points)
    return np.sqrt(2.0) * nodes, weights / np.sqrt(np.pi)  # z = std * node for z ~ N(0, std^2)


def derivative(phi, scale=1.0):
    """phi' by central differences, elementwise, with steps of ``STEP`` times ``scale`` (the spread of the values
    it is taken at: a length near 0 puts every quadrature point within a fixed step of a kink)."""
    step = STEP * max(scale, 1e-12)
    return lambda x: (np.asarray(phi(x + step), np.float64) - np.asarray(phi(x - step), np.float64)) / (2 * step)


def gauss(f, q, points=POINTS_1D):
    """E[f(z)] for z ~ N(0, q), elementwise over an array ``q``."""
    nodes, weights = _nodes(points)
    std = np.sqrt(np.maximum(np.asarray(q, np.float64), 0.0))
    return np.asarray(f(std[..., None] * nodes), np.float64) @ weights


def gauss2(f, g, q, c):
    """E[f(u1) g(u2)] for (u1, u2) ~ N(0, q [[1, c], [c, 1]]) (scalars ``q`` and ``c``)."""
    nodes, weights = _nodes(POINTS_2D)
    std, c = math.sqrt(max(q, 0.0)), min(max(c, -1.0), 1.0)
    u1 = std * nodes[:, None]
    u2 = std * (c * nodes[:, None] + math.sqrt(1.0 - c * c) * nodes[None, :])
    values = np.asarray(f(u1), np.float64) * np.asarray(g(u2), np.float64)
    return float(weights @ values @ weights)


def length_map(q, phi, sigma_w2, sigma_b2):
    """q of a layer from q of the layer below (``phi``: the activation of the layer below)."""
    return sigma_w2 * gauss(lambda z: np.square(phi(z)), q) + sigma_b2


def corr_map(c, q, phi, sigma_w2, sigma_b2):
    """c of a layer from (q, c) of the layer below."""
    return (sigma_w2 * gauss2(phi, phi, q, c) + sigma_b2) / float(length_map(q, phi, sigma_w2, sigma_b2))


def chi(q, phi, sigma_w2, points=POINTS_1D):
    """How much a layer multiplies a small perturbation's variance per unit: sigma_w^2 E[phi'(z)^2], z ~ N(0, q),
    elementwise over an array ``q`` (phi' by central differences with steps scaled to each z's spread)."""
    nodes, weights = _nodes(points)
    std = np.sqrt(np.maximum(np.asarray(q, np.float64), Q_FLOOR))[..., None]
    z, step = std * nodes, STEP * np.minimum(std, 1.0)
    slope = (np.asarray(phi(z + step), np.float64) - np.asarray(phi(z - step), np.float64)) / (2 * step)
    return sigma_w2 * (np.square(slope) @ weights)


def fixed_length(phi, sigma_w2, sigma_b2, q0=1.0):
    """q*: the length map iterated from ``q0`` to where it stops moving; inf when it grows without bound
    (the length of a net with these variances explodes with depth; also when it is still growing after
    ``ITERATIONS``: ELU at sigma_w^2 = 2 grows by a constant a layer), towards 0 when it dies out."""
    q = q0
    for _ in range(ITERATIONS):
        new = float(length_map(q, phi, sigma_w2, sigma_b2))
        if not math.isfinite(new) or new > UNBOUNDED:
            return math.inf
        if abs(new - q) <= TOLERANCE * max(1.0, q):
            return new
        q, grew = new, new > q
    return math.inf if grew else q


def fixed_correlation(phi, q, sigma_w2, sigma_b2):
    """c* < 1 of the chaotic phase at the length ``q``: the root of corr_map(c) - c below 1 where the map crosses
    the diagonal from above (a stable fixed point), bracketed on a grid of c and refined by Brent's method — not
    by iterating the map, which approaches it only as chi_c^depth (SELU at LeCun: 660 steps for 1e-9). Near
    c = 1 the quadrature's error is larger than the map's distance from the diagonal, so the grid stops at 0.95;
    with no crossing below, the map iterated from 0 (at most ``ITERATIONS`` steps)."""
    from scipy.optimize import brentq

    def excess(c):
        return corr_map(c, q, phi, sigma_w2, sigma_b2) - c

    grid = np.linspace(-0.95, 0.95, 39)
    values = [excess(c) for c in grid]
    crossings = [(a, b) for a, b, fa, fb in zip(grid, grid[1:], values, values[1:]) if fa > 0 >= fb]
    if crossings:
        return float(brentq(excess, *crossings[-1], xtol=1e-9))
    c = 0.0
    for _ in range(ITERATIONS):
        new = min(corr_map(c, q, phi, sigma_w2, sigma_b2), 1.0)
        if abs(new - c) <= TOLERANCE:
            return new
        c = new
    return c


def phase(phi, sigma_w2, sigma_b2):
    """The mean-field picture of one activation at one initialisation: {"q_star", "c_star", "chi1", "chi_c",
    "xi_c", "phase", "growth"} (ordered: chi1 < 1, chaotic: > 1, edge within 1e-3 of 1; unbounded when the
    length has no fixed point: then chi1 and the length's growth a layer are taken at q = 1, the rest None)."""
    q = fixed_length(phi, sigma_w2, sigma_b2)
    if not math.isfinite(q):  # no fixed point: chi1 and the length's growth a layer at unit length
        return {"q_star": math.inf, "c_star": None, "chi1": float(chi(1.0, phi, sigma_w2)), "chi_c": None,
                "xi_c": None, "phase": "unbounded", "growth": float(length_map(1.0, phi, sigma_w2, sigma_b2))}
    chi1 = float(chi(q, phi, sigma_w2))
    # ordered or on the edge: c = 1 is the stable fixed point (iterating there converges like 1/depth^2: slow);
    # chaotic: c* < 1, approached geometrically
    c = 1.0 if chi1 <= 1 + 1e-3 else fixed_correlation(phi, q, sigma_w2, sigma_b2)
    slope = derivative(phi, min(math.sqrt(q), 1.0))
    chi_c = chi1 if c > 1 - 1e-6 else sigma_w2 * gauss2(slope, slope, q, c)
    xi = math.inf if chi_c >= 1 else -1.0 / math.log(chi_c)
    kind = "edge" if abs(chi1 - 1) < 1e-3 else "ordered" if chi1 < 1 else "chaotic"
    return {"q_star": q, "c_star": c, "chi1": chi1, "chi_c": chi_c, "xi_c": xi, "phase": kind, "growth": 1.0}


def edge_of_chaos(phi, sigma_b2, low=0.05, high=20.0):
    """The sigma_w^2 where chi1 = 1 at ``sigma_b2`` (the order-chaos boundary), or None where chi1 - 1 keeps
    its sign over [low, high] (or the length explodes first)."""
    from scipy.optimize import brentq

    def excess(sigma_w2):
        q = fixed_length(phi, sigma_w2, sigma_b2)
        return (float(chi(q, phi, sigma_w2)) - 1.0) if math.isfinite(q) else math.inf

    ends = excess(low), excess(high)
    if not all(map(math.isfinite, ends)):
        # past the edge the length may explode: search below where it does
        grid = np.geomspace(low, high, 60)
        values = [excess(s) for s in grid]
        for (a, fa), (b, fb) in zip(zip(grid, values), zip(grid[1:], values[1:])):
            if math.isfinite(fa) and (not math.isfinite(fb) or fa * fb <= 0):
                return float(brentq(excess, a, b, xtol=1e-6)) if math.isfinite(fb) else float(b)
        return None
    if ends[0] * ends[1] > 0:
        return None
    return float(brentq(excess, low, high, xtol=1e-6))


def chi1_grid(phi, sigma_w2, sigma_b2, points=PHASE_POINTS, iterations=PHASE_ITERATIONS):
    """chi1 at q* over the grid of ``sigma_w2`` x ``sigma_b2`` values (arrays; rows: sigma_b2), the length map
    iterated from q = 1 on every point at once with ``points`` quadrature points (a picture, not a table: the
    phase diagram); NaN where the length explodes: beyond ``UNBOUNDED``, or still growing after the last iteration
    where the length map's slope is 1 or more (just past the edge of explosion the length grows by a fraction of a
    percent a layer: a count of iterations alone left a notch of small sigma_b^2 there)."""
    sigma_w2, sigma_b2 = np.meshgrid(np.asarray(sigma_w2, np.float64), np.asarray(sigma_b2, np.float64))
    q = growing = np.ones_like(sigma_w2)

    def length(q):
        return sigma_w2 * gauss(lambda z: np.square(phi(z)), np.minimum(q, UNBOUNDED), points) + sigma_b2

    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(iterations):
            new = length(q)
            growing = new > q * (1 + 1e-6)
            done = np.allclose(new, q, rtol=1e-7, atol=1e-12)
            q = new
            if done:
                break
        slope = (length(q * 1.01) - length(q)) / (0.01 * q)  # d q_next / d q where the iterations stopped
        exploded = ~np.isfinite(q) | (q > UNBOUNDED) | (growing & (slope >= 1.0))
        chi1 = chi(np.clip(q, Q_FLOOR, UNBOUNDED), phi, sigma_w2, points)
    return np.where(exploded, np.nan, chi1)


def weight_variances(kernel, bias):
    """(sigma_w^2, sigma_b^2) of a layer's weights: fan-in times the mean squared weight (a conv kernel's
    fan-in: height x width x input channels), and the mean squared bias."""
    kernel = np.asarray(kernel, np.float64).reshape(-1, np.shape(kernel)[-1])
    sigma_b2 = 0.0 if bias is None else float(np.mean(np.square(np.asarray(bias, np.float64))))
    return float(kernel.shape[0] * np.mean(np.square(kernel))), sigma_b2


def predict(layers, measured, input_signal):
    """One-step and path predictions of every layer's q, c and Jacobian, input to output, as
    ``actviz.moments.predict`` does for the moment map.

    ``layers``: [(sigma_w2, sigma_b2, phi of the layer below (the identity for the first), predictable,
    units, inputs)] where ``predictable`` is False for a conv layer or a layer behind batch norm, ``units``
    the layer's and ``inputs`` the network input's number of values; ``measured``: [(q, c, jacobian)] of
    each layer; ``input_signal``: (q, c) of the network's input. The Jacobian is the mean squared
    singular value of the Jacobian from the input to the layer's pre-activations (a perturbation's
    per-unit variance times units / min(units, inputs)). Returns [{"one_step": (q, c, jacobian) or None,
    "path": ... or None, "sigma_w2", "sigma_b2"}] per layer; the path stops at the first layer it cannot
    predict."""
    predictions, path = [], (*input_signal, 1.0)  # an input perturbation of variance 1 per value
    below = path
    for index, (sigma_w2, sigma_b2, phi, predictable, units, inputs) in enumerate(layers):
        scale = units / min(units, inputs)  # per-unit variance -> mean squared singular value
        if index:
            q, c, jacobian = measured[index - 1]
            below = (q, c, jacobian / (layers[index - 1][4] / min(layers[index - 1][4], inputs)))
        variances = {"sigma_w2": sigma_w2, "sigma_b2": sigma_b2}
        if not predictable:
            predictions.append({"one_step": None, "path": None, **variances})
            path = None
            continue
        one_step = _step(below, sigma_w2, sigma_b2, phi, index == 0)
        path = None if path is None else _step(path, sigma_w2, sigma_b2, phi, index == 0)
        predictions.append({"one_step": (*one_step[:2], one_step[2] * scale),
                            "path": None if path is None else (*path[:2], path[2] * scale), **variances})
    return predictions


def _step(signal, sigma_w2, sigma_b2, phi, first):
    """(q, c, perturbation variance per unit) of a layer's pre-activations from its input's."""
    q, c, perturbation = signal
    if first:  # the input itself: no activation before the first layer
        q_new = sigma_w2 * q + sigma_b2
        return q_new, (sigma_w2 * q * c + sigma_b2) / q_new, sigma_w2 * perturbation
    return (float(length_map(q, phi, sigma_w2, sigma_b2)), corr_map(c, q, phi, sigma_w2, sigma_b2),
            float(chi(q, phi, sigma_w2)) * perturbation)


def prediction_columns(prediction):
    """A layer's predictions as ``stats.SIGNAL_PREDICTION_COLUMNS`` (None where not predicted)."""
    columns = {"sigma_w2": prediction["sigma_w2"], "sigma_b2": prediction["sigma_b2"]}
    for kind, prefix in (("one_step", "predicted"), ("path", "path")):
        values = prediction[kind] or (None, None, None)
        columns.update({f"{prefix}_{name}": None if v is None else float(v)
                        for name, v in zip(("q", "corr", "jacobian"), values)})
    return columns


# A Keras TruncatedNormal draws within 2 stddev: its variance is this fraction of stddev^2.
TRUNCATED_VARIANCE = 0.7737413


def implied_variances(kernel_initializer, bias_initializer, kernel_shape):
    """(sigma_w^2, sigma_b^2) that a layer's initialisers imply for its ``kernel_shape`` ([...fan-in axes, units]:
    fan-in = their product; a conv kernel's fan-out counts its receptive field, as Keras does), from their Keras
    configs ({"class_name", "config"}); None for an initialiser whose variance is not known here."""
    receptive = math.prod(kernel_shape[:-2]) if len(kernel_shape) > 2 else 1
    fan_in, fan_out = math.prod(kernel_shape[:-1]), kernel_shape[-1] * receptive
    variance = _variance(kernel_initializer, fan_in, fan_out)
    bias = _variance(bias_initializer, fan_in, fan_out) if bias_initializer else 0.0
    return (None, None) if variance is None or bias is None else (fan_in * variance, bias)


# Keras' variance-scaling initialisers: (scale, mode) of those whose config leaves them out.
SCALING = {"VarianceScaling": (1.0, "fan_in"), "HeNormal": (2.0, "fan_in"), "HeUniform": (2.0, "fan_in"),
           "LecunNormal": (1.0, "fan_in"), "LecunUniform": (1.0, "fan_in"), "GlorotNormal": (1.0, "fan_avg"),
           "GlorotUniform": (1.0, "fan_avg")}


def _variance(initializer, fan_in, fan_out):
    kind, config = initializer["class_name"], initializer.get("config") or {}
    if kind in ("Zeros", "zeros"):
        return 0.0
    if kind in SCALING:
        scale, mode = SCALING[kind]
        fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[config.get("mode", mode)]
        return config.get("scale", scale) / fans  # the truncated normal is rescaled to keep this variance
    if kind == "TruncatedNormal":
        return config.get("stddev", 0.05) ** 2 * TRUNCATED_VARIANCE
    if kind == "RandomNormal":
        return config.get("stddev", 0.05) ** 2
    if kind == "RandomUniform":
        return (config.get("maxval", 0.05) - config.get("minval", -0.05)) ** 2 / 12
    return None
