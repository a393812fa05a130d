"""The networks under comparison: the old project's CNN, and deep fully connected nets (MLPs), where
the SELU paper's claim about depth lives.

Kept free of TensorFlow so that the workflow can check names without loading it.
"""

import re

ARCHITECTURES = {
    "cnn": "the old project's classifier: three 5x5 stride-2 conv layers, then dense layers of 16n, 4n and n "
           "units for n classes",
    "mlp": "flattened input, `depth` hidden dense layers of `width` units (config keys), then the logits; "
           "mlpN has N hidden layers whatever `depth` says",
}
_MLP = re.compile(r"^mlp(\d*)$")


def parse_architecture(name, depth=None):
    """``("cnn", None)``, or ``("mlp", hidden layers)`` for "mlp" (``depth`` of them) and "mlpN" (N);
    a ``UserError`` for any other name."""
    from actviz.errors import UserError

    if name == "cnn":
        return "cnn", None
    match = _MLP.match(str(name))
    if match and (match.group(1) or depth):
        layers = int(match.group(1) or depth)
        if layers >= 1:
            return "mlp", layers
    raise UserError(f"unknown architecture {name!r}; known: cnn, mlp (depth from the config), mlpN (N hidden "
                    f"layers, e.g. mlp32)")


def architecture_problem(name):
    """What is wrong with an architecture name, or None (for ``actviz.settings``)."""
    from actviz.errors import UserError

    try:
        parse_architecture(name, depth=1)
    except UserError as error:
        return str(error)
    return None
