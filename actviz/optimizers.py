"""The optimizers a run can train with. Plain data, so that the workflow checks names without TensorFlow;
``build_optimizer`` makes the Keras one.

The SELU paper trained its deep fully connected networks with plain SGD; Adam is the default here
(the old project's), and momentum SGD sits between the two.
"""

OPTIMIZERS = {
    "adam": "Adam (β1 0.9, β2 0.999)",
    "sgd": "plain stochastic gradient descent, as the SELU paper's fully connected networks",
    "momentum": "SGD with momentum 0.9",
}
MOMENTUM = 0.9


def build_optimizer(name, learning_rate, clip_norm):
    """The Keras optimizer ``name`` at ``learning_rate`` (a number or a schedule), clipping the gradients'
    global norm at ``clip_norm``."""
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate, global_clipnorm=clip_norm)
    if name in ("sgd", "momentum"):
        return keras.optimizers.SGD(learning_rate, momentum=MOMENTUM if name == "momentum" else 0.0,
                                    global_clipnorm=clip_norm)
    raise ValueError(f"unknown optimizer {name!r}")
