"""The activation functions under comparison: the one place to add another.

Kept free of TensorFlow so that the workflow can check names without loading it.
"""

from dataclasses import dataclass, field

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


ACTIVATIONS = {
    "relu": ActivationSpec("relu", "he_normal", "ReLU, max(0, x)"),
    "lrelu": ActivationSpec("leaky_relu", "he_normal", "Leaky ReLU, slope 0.2 below zero (config lrelu_slope)",
                            {"negative_slope": 0.2}),
    "selu": ActivationSpec("selu", "lecun_normal",
                           "SELU, scaled ELU with lambda 1.0507, alpha 1.6733 (Klambauer et al. 2017)",
                           saturation=(-0.9 * SELU_SCALE * SELU_ALPHA, None), self_normalizing=True),
    "elu": ActivationSpec("elu", "he_normal", "ELU, alpha 1", saturation=(-0.9, None)),
    "gelu": ActivationSpec("gelu", "he_normal", "GELU, x * Phi(x)"),
    "swish": ActivationSpec("silu", "he_normal", "Swish (SiLU), x * sigmoid(x)"),
    "tanh": ActivationSpec("tanh", "glorot_uniform", "tanh", saturation=(-0.99, 0.99)),
    "sigmoid": ActivationSpec("sigmoid", "glorot_uniform", "logistic sigmoid", saturation=(0.01, 0.99)),
}


def check_activation(name):
    """Return ``name`` if it is a known activation, else raise ``UserError`` listing the known ones."""
    from actviz.errors import UserError

    if name not in ACTIVATIONS:
        raise UserError(f"unknown activation {name!r}; known activations: {', '.join(ACTIVATIONS)}")
    return name
