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
    # The same function on numpy arrays, f(x, lrelu_slope), for the signal-propagation theory (no TensorFlow there).
    numpy: object = None


def _elu(x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _gelu(x):
    from scipy.special import erf  # imported when used: the workflow reads this module to check names

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^-x), without overflow


ACTIVATIONS = {
    "relu": ActivationSpec("relu", "he_normal", "ReLU, max(0, x)", numpy=lambda x, _: np.maximum(x, 0.0)),
    "lrelu": ActivationSpec("leaky_relu", "he_normal", "Leaky ReLU, slope 0.2 below zero (config lrelu_slope)",
                            {"negative_slope": 0.2}, numpy=lambda x, slope: np.where(x > 0, x, slope * x)),
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
}


def check_activation(name):
    """Return ``name`` if it is a known activation, else raise ``UserError`` listing the known ones."""
    from actviz.errors import UserError

    if name not in ACTIVATIONS:
        raise UserError(f"unknown activation {name!r}; known activations: {', '.join(ACTIVATIONS)}")
    return name


def numpy_function(name, lrelu_slope=0.2):
    """The activation called ``name`` on numpy arrays (float64), equal to Keras' (tests/test_model.py): the
    signal-propagation theory evaluates it without TensorFlow (``actviz.signal``, the report)."""
    spec = ACTIVATIONS[check_activation(name)]
    return lambda x: spec.numpy(x, lrelu_slope)
