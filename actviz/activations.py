"""The activation functions under comparison: the one place to add another.

Kept free of TensorFlow so that the workflow can check names without loading it.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ActivationSpec:
    """An activation function and the weight initialisation that suits it."""

    keras_name: str  # name understood by keras.activations.get
    initializer: str  # name understood by keras.initializers.get
    description: str
    kwargs: dict = field(default_factory=dict)


ACTIVATIONS = {
    "relu": ActivationSpec("relu", "he_normal", "ReLU, max(0, x)"),
    "lrelu": ActivationSpec("leaky_relu", "he_normal", "Leaky ReLU, slope 0.2 below zero",
                            {"negative_slope": 0.2}),
    "selu": ActivationSpec("selu", "lecun_normal",
                           "SELU, scaled ELU with lambda 1.0507, alpha 1.6733 (Klambauer et al. 2017)"),
}


def check_activation(name):
    """Return ``name`` if it is a known activation, else raise ``UserError`` listing the known ones."""
    from actviz.errors import UserError

    if name not in ACTIVATIONS:
        raise UserError(f"unknown activation {name!r}; known activations: {', '.join(ACTIVATIONS)}")
    return name
