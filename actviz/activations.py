"""The activation functions under comparison: the one place to add another.

Kept free of TensorFlow so that the workflow can check names without loading it.
"""

from dataclasses import dataclass, field

import numpy as np

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


@dataclass(frozen=True)
class ActivationSpec:
    """An activation function, the initialisation that suits it, and where it saturates."""

    keras_name: str  # name understood by keras.activations.get
    initializer: str  # the "proper" initialiser (the snn recipe); a name keras.initializers.get knows
    description: str
    kwargs: dict = field(default_factory=dict)
    # Values below ``saturation[0]`` or above ``saturation[1]`` count as saturated (None: no bound).
    saturation: tuple = (None, None)
    self_normalizing: bool = False  # uses AlphaDropout instead of Dropout in the snn recipe
    # The same function on numpy arrays, f(x, parameter), for the signal-propagation theory (no TensorFlow there).
    numpy: object = None
    # Its own setting, if it has one: (the TrainSettings field, its default), e.g. ("lrelu_slope", 0.2).
    parameter: tuple = None


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _gelu(x):
    from scipy.special import erf  # imported when used: the workflow reads this module to check names

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _smelu(x, beta):
    return np.where(x >= beta, x, np.where(x <= -beta, 0.0, np.square(x + beta) / (4 * beta)))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^-x), without overflow


ACTIVATIONS = {
    "relu": ActivationSpec("relu", "he_normal", "ReLU, max(0, x)", numpy=lambda x, _: np.maximum(x, 0.0)),
    "lrelu": ActivationSpec("leaky_relu", "he_normal", "Leaky ReLU, slope 0.2 below zero (config lrelu_slope)",
                            {"negative_slope": 0.2}, numpy=lambda x, slope: np.where(x > 0, x, slope * x),
                            parameter=("lrelu_slope", 0.2)),
    "selu": ActivationSpec("selu", "lecun_normal",
                           "SELU, scaled ELU with lambda 1.0507, alpha 1.6733 (Klambauer et al. 2017)",
                           saturation=(-0.9 * SELU_SCALE * SELU_ALPHA, None), self_normalizing=True,
                           numpy=lambda x, _: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * _elu(x))),
    "elu": ActivationSpec("elu", "he_normal", "ELU, alpha 1", saturation=(-0.9, None), numpy=lambda x, _: _elu(x)),
    "gelu": ActivationSpec("gelu", "he_normal", "GELU, x * Phi(x)", numpy=lambda x, _: _gelu(x)),
    "swish": ActivationSpec("silu", "he_normal", "Swish (SiLU), x * sigmoid(x)", numpy=lambda x, _: x * _sigmoid(x)),
    "tanh": ActivationSpec("tanh", "glorot_uniform", "tanh", saturation=(-0.99, 0.99), numpy=lambda x, _: np.tanh(x)),
    "sigmoid": ActivationSpec("sigmoid", "glorot_uniform", "logistic sigmoid", saturation=(0.01, 0.99),
                              numpy=lambda x, _: _sigmoid(x)),
    # Shamir, Lin & Coviello 2020 (arXiv 2010.09931): ReLU with its kink smoothed over [-beta, beta], which they
    # find makes trainings more reproducible (less churn) at ReLU's accuracy.
    "smelu": ActivationSpec("smelu", "he_normal", "Smooth ReLU (SmeLU): 0 below -beta, (x + beta)^2 / (4 beta) "
                                                  "within +-beta, x above; beta 1 (config smelu_beta)",
                            numpy=_smelu, parameter=("smelu_beta", 1.0)),
}


def check_activation(name):
    """Return ``name`` if it is a known activation, else raise ``UserError`` listing the known ones."""
    from actviz.errors import UserError

    if name not in ACTIVATIONS:
        raise UserError(f"unknown activation {name!r}; known activations: {', '.join(ACTIVATIONS)}")
    return name


def activation_parameter(name, settings=None):
    """The value of the activation ``name``'s own setting (lrelu_slope, smelu_beta) in ``settings`` (a settings
    object or a run's settings dict; its default where absent: runs from before the setting), None if it has
    none."""
    spec = ACTIVATIONS[check_activation(name)]
    if spec.parameter is None:
        return None
    key, default = spec.parameter
    value = settings.get(key) if isinstance(settings, dict) else getattr(settings, key, None)
    return default if value is None else value


def numpy_function(name, parameter=None):
    """The activation called ``name`` on numpy arrays (float64), equal to Keras' (tests/test_model.py): the
    signal-propagation theory evaluates it without TensorFlow (``actviz.signal``, the report). ``parameter``: its
    own setting's value (``activation_parameter``; None: the default)."""
    spec = ACTIVATIONS[check_activation(name)]
    value = parameter if parameter is not None or spec.parameter is None else spec.parameter[1]
    return lambda x: spec.numpy(x, value)
