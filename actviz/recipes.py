"""Training recipes: how each activation is set up around the same architecture.

Kept free of TensorFlow so that the workflow can check names without loading it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    description: str
    standardize_inputs: bool  # inputs to zero mean, unit variance per channel (else scaled to 0..1)
    proper_init: bool  # each activation's own initialiser; else the old project's
    hidden_batchnorm: bool  # batch norm after the activation of non-SELU conv layers (CNN), hidden layers (MLP)
    conv_dropout: float | None  # None: the config's dropout rate
    dense_dropout: float | None  # None: the config's dropout rate; 0: none
    alpha_dropout_for_selu: bool


RECIPES = {
    "snn": Recipe(
        "fair: each activation with its own setup; SELU with LeCun-normal init and AlphaDropout, "
        "the ReLU family with He init and dropout (tanh/sigmoid: Glorot), dropout after the dense "
        "layers only as in the SNN paper; standardised inputs",
        # No conv dropout: it cost 18% of the training time (its random masks) for accuracies within
        # +-0.01 of those without, over 3 activations x 2 seeds on the Fashion-MNIST sample.
        standardize_inputs=True, proper_init=True, hidden_batchnorm=False, conv_dropout=0.0,
        dense_dropout=None, alpha_dropout_for_selu=True),
    "seed": Recipe(
        "the old TF1 project: truncated-normal (0.02) conv init and Glorot dense init for all, batch "
        "norm after the activation on non-SELU conv layers (an MLP's hidden layers), dropout 0.5 after "
        "each conv layer, inputs scaled to 0..1",
        standardize_inputs=False, proper_init=False, hidden_batchnorm=True, conv_dropout=0.5,
        dense_dropout=0.0, alpha_dropout_for_selu=False),
}


def check_recipe(name):
    """Return ``name`` if it is a known recipe, else raise ``UserError`` listing the known ones."""
    from actviz.errors import UserError

    if name not in RECIPES:
        raise UserError(f"unknown recipe {name!r}; known recipes: {', '.join(RECIPES)}")
    return name


# Precision of the layers' computations (config name -> Keras dtype policy). bfloat16 pays on CPUs
# with AVX512_BF16 or AMX and on GPUs; the logits and every statistic stay float32.
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def check_precision(name):
    """Return ``name`` if it is a known precision, else raise ``UserError`` listing the known ones."""
    from actviz.errors import UserError

    if name not in PRECISIONS:
        raise UserError(f"unknown precision {name!r}; known: {', '.join(PRECISIONS)}")
    return name
