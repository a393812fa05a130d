"""The networks of the comparison (the CNN, MLPs), built by one function for training and extraction alike."""

import functools

import keras
import numpy as np

from actviz.activations import ACTIVATIONS, check_activation
from actviz.architectures import parse_architecture
from actviz.recipes import PRECISIONS, RECIPES, check_precision, check_recipe

# The CNN's recorded layers, input to output (``recorded_layer_names`` reads them off any model).
LAYER_NAMES = ("conv1", "conv2", "conv3", "dense1", "dense2", "logits")


def conv_widths(channels):
    """Filters of the three conv layers: 32/64/128 for grey images, 64/128/256 for colour ones."""
    return (32, 64, 128) if channels == 1 else (64, 128, 256)


def smelu(x, beta=1.0):
    """Smooth ReLU (Shamir, Lin & Coviello 2020): 0 for x <= -beta, (x + beta)^2 / (4 beta) within, x from beta."""
    from keras import ops

    beta = ops.cast(beta, x.dtype)
    return ops.where(x >= beta, x, ops.where(x <= -beta, ops.zeros_like(x), ops.square(x + beta) / (4 * beta)))


CUSTOM = {"smelu": (smelu, "beta")}  # activations Keras does not have: the function, its parameter's keyword


def activation_function(name, parameter=None):
    """The Keras callable of the activation called ``name``; ``parameter``: the value of its own setting
    (``actviz.activations.activation_parameter``; None: the default)."""
    spec = ACTIVATIONS[check_activation(name)]
    kwargs = dict(spec.kwargs)
    value = spec.parameter[1] if parameter is None and spec.parameter else parameter
    if name in CUSTOM:
        function, keyword = CUSTOM[name]
        return functools.partial(function, **{keyword: value})
    if "negative_slope" in kwargs:
        kwargs["negative_slope"] = value
    function = keras.activations.get(spec.keras_name)
    return functools.partial(function, **kwargs) if kwargs else function


def input_statistics(images, chunk=4096):
    """Per-channel mean and standard deviation of uint8 images N x H x W x C (float64)."""
    total = np.zeros(images.shape[-1])
    squares = np.zeros(images.shape[-1])
    for begin in range(0, len(images), chunk):
        part = images[begin:begin + chunk].reshape(-1, images.shape[-1]).astype(np.float64)
        total += part.sum(axis=0)
        squares += (part**2).sum(axis=0)
    count = images.size // images.shape[-1]
    mean = total / count
    return mean, np.sqrt(np.maximum(squares / count - mean**2, 1e-12))


def build_model(input_shape, num_classes, activation, recipe="snn", dropout=0.05, parameter=None,
                input_mean=None, input_std=None, precision="float32", architecture="cnn", depth=16, width=256):
    """A classifier for uint8 images of ``input_shape`` (H, W, C), set up by ``recipe``.

    ``architecture`` (``actviz.architectures``): "cnn", the old project's three 5x5 stride-2 conv
    layers, then dense layers of 16n, 4n and n units (n classes); or "mlp"/"mlpN", the flattened
    image through ``depth`` (or N) dense layers of ``width`` units, then the n logits. Every layer
    but the logits uses ``activation``. The recipe (``actviz.recipes``) decides the initialisers,
    batch norm, dropout and input scaling; standardised inputs need ``input_mean`` and
    ``input_std`` (see ``input_statistics``). Weights are drawn from Keras' global seed, so call
    ``keras.utils.set_random_seed`` first for a reproducible model. ``precision`` is "float32" or
    "bfloat16" (``PRECISIONS``). ``parameter``: the activation's own setting (``activation_function``).
    """
    kind, hidden = parse_architecture(architecture, depth)
    parts = _Parts(activation, recipe, dropout, parameter, precision)
    inputs = keras.Input(shape=tuple(input_shape), dtype="uint8", name="images")
    x = parts.scale_inputs(inputs, recipe, input_mean, input_std)
    if kind == "cnn":
        for index, filters in enumerate(conv_widths(input_shape[-1]), start=1):
            x = parts.hidden(keras.layers.Conv2D(filters, 5, strides=2, padding="same", activation=parts.act,
                                                 kernel_initializer=parts.initializer(dense=False),
                                                 name=f"conv{index}", dtype=parts.policy)(x),
                             f"conv{index}", parts.setup.hidden_batchnorm, parts.conv_rate)
        x = keras.layers.Flatten(name="flatten", dtype=parts.policy)(x)
        dense = (("dense1", 16 * num_classes), ("dense2", 4 * num_classes))
        batchnorm = False
    else:
        x = keras.layers.Flatten(name="flatten", dtype=parts.policy)(x)
        dense = tuple((f"dense{i}", width) for i in range(1, hidden + 1))
        batchnorm = parts.setup.hidden_batchnorm
    for name, units in dense:
        layer = keras.layers.Dense(units, activation=parts.act, kernel_initializer=parts.initializer(dense=True),
                                   name=name, dtype=parts.policy)
        x = parts.hidden(layer(x), name, batchnorm, parts.dense_rate)
    logits = keras.layers.Dense(num_classes, kernel_initializer=parts.initializer(dense=True), name="logits",
                                dtype="float32")(x)
    return keras.Model(inputs, logits, name=f"{architecture}_{recipe}_{activation}")


class _Parts:
    """What the recipe puts around an activation: initialisers, input scaling, batch norm, dropout."""

    def __init__(self, activation, recipe, dropout, parameter, precision):
        self.spec = ACTIVATIONS[check_activation(activation)]
        self.setup = RECIPES[check_recipe(recipe)]
        self.act = activation_function(activation, parameter)
        # bfloat16: every layer computes in bfloat16 on float32 weights, but the logits (and so the loss)
        # stay float32. Given per layer, so that nothing else in the process changes.
        self.policy = PRECISIONS[check_precision(precision)]
        use_alpha = self.setup.alpha_dropout_for_selu and self.spec.self_normalizing
        self.drop_layer = keras.layers.AlphaDropout if use_alpha else keras.layers.Dropout
        self.conv_rate = dropout if self.setup.conv_dropout is None else self.setup.conv_dropout
        self.dense_rate = dropout if self.setup.dense_dropout is None else self.setup.dense_dropout

    def initializer(self, dense):
        if self.setup.proper_init:
            return self.spec.initializer
        # A fresh instance per layer: Keras gives an unseeded instance's every call the same values.
        return "glorot_uniform" if dense else keras.initializers.TruncatedNormal(stddev=0.02)

    def scale_inputs(self, inputs, recipe, input_mean, input_std):
        if not self.setup.standardize_inputs:
            return keras.layers.Rescaling(1.0 / 255.0, name="scale", dtype=self.policy)(inputs)
        if input_mean is None or input_std is None:
            raise ValueError(f"recipe {recipe!r} standardises inputs: give input_mean and input_std")
        std = np.asarray(input_std, dtype=np.float64)
        return keras.layers.Rescaling(scale=list(1.0 / std), offset=list(-np.asarray(input_mean) / std),
                                      name="standardize", dtype=self.policy)(inputs)

    def hidden(self, x, name, batchnorm, rate):
        """After a hidden layer: batch norm (not after SELU), then dropout, as the recipe says."""
        if batchnorm and not self.spec.self_normalizing:
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn", dtype=self.policy)(x)
        if rate:
            x = self.drop_layer(rate, name=f"{name}_dropout", dtype=self.policy)(x)
        return x


def recorded_layer_names(model):
    """The layers whose outputs (after the activation) the pipeline records: every conv and dense
    layer of ``model``, input to output."""
    return [layer.name for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]


def layer_outputs_model(model):
    """A model sharing ``model``'s weights that returns every recorded layer's output, in that order
    (its ``output_names``)."""
    names = recorded_layer_names(model)
    return keras.Model(model.input, [model.get_layer(name).output for name in names], name=f"{model.name}_layers")


def behind_batchnorm(model):
    """{recorded layer: whether batch norm lies between it and the recorded layer (or input) below}:
    the moment map cannot predict such a layer from the one below (see ``actviz.moments``)."""
    recorded = set(recorded_layer_names(model))
    result = {}
    for name in recorded_layer_names(model):
        tensor, found = model.get_layer(name).input, False
        while True:
            operation = tensor._keras_history.operation
            if operation.name in recorded or isinstance(operation, (keras.layers.InputLayer, keras.layers.Rescaling)):
                break
            found = found or isinstance(operation, keras.layers.BatchNormalization)
            tensor = operation.input
        result[name] = found
    return result


def input_layer_name(model):
    """The layer that scales or standardises the images: the network's input as its first layer sees it."""
    return next(layer.name for layer in model.layers if isinstance(layer, keras.layers.Rescaling))


def pre_activation_chain(model):
    """A function of the network's input as its first layer sees it (scaled or standardised) that returns every
    recorded layer's pre-activation (its kernel's output plus bias, before the activation) and output, input to
    output, in inference mode: the network's own weights applied in turn (the networks are chains), so that a
    Jacobian with respect to that input can be taken forward (``tf.autodiff.ForwardAccumulator``) in the same
    pass that gives the outputs and their gradients."""
    from keras import ops

    layers = model.layers
    start = layers.index(model.get_layer(input_layer_name(model))) + 1

    def chain(x):
        pre, outputs = [], []
        for layer in layers[start:]:
            if isinstance(layer, keras.layers.Dense):
                z = ops.matmul(x, ops.cast(layer.kernel, x.dtype))
            elif isinstance(layer, keras.layers.Conv2D):
                z = layer.convolution_op(x, ops.cast(layer.kernel, x.dtype))
            else:  # in inference mode, as plain ops: a Keras call costs more to trace than the whole layer
                x = _inference(layer, x)
                continue
            if layer.use_bias:
                z = z + ops.cast(layer.bias, x.dtype)  # channels last: the bias broadcasts over positions
            x = layer.activation(z)
            pre.append(z)
            outputs.append(x)
        return pre, outputs

    return chain


def _inference(layer, x):
    """A layer between two recorded ones in inference mode: dropout is the identity, flatten a reshape, batch norm
    its moving statistics; any other through Keras."""
    from keras import ops

    if isinstance(layer, (keras.layers.Dropout, keras.layers.AlphaDropout)):
        return x
    if isinstance(layer, keras.layers.Flatten):
        return ops.reshape(x, (ops.shape(x)[0], -1))
    if isinstance(layer, keras.layers.BatchNormalization):
        cast = [None if w is None else ops.cast(w, x.dtype)
                for w in (layer.moving_mean, layer.moving_variance, layer.beta, layer.gamma)]
        return ops.batch_normalization(x, *cast[:2], axis=layer.axis, offset=cast[2], scale=cast[3],
                                       epsilon=layer.epsilon)
    return layer(x, training=False)
