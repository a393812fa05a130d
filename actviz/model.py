"""The CNN of the comparison, built by one function for training and extraction alike."""

import functools

import keras

from actviz.activations import ACTIVATIONS, check_activation

# Every layer whose output the pipeline records, input to output.
LAYER_NAMES = ("conv1", "conv2", "conv3", "dense1", "dense2", "logits")


def conv_widths(channels):
    """Filters of the three conv layers: 32/64/128 for grey images, 64/128/256 for colour ones."""
    return (32, 64, 128) if channels == 1 else (64, 128, 256)


def activation_function(name):
    """The Keras callable of the activation called ``name``."""
    spec = ACTIVATIONS[check_activation(name)]
    function = keras.activations.get(spec.keras_name)
    return functools.partial(function, **spec.kwargs) if spec.kwargs else function


def build_model(input_shape, num_classes, activation):
    """The old project's classifier for uint8 images of ``input_shape`` (H, W, C).

    Three 5x5 stride-2 conv layers, then dense layers of 16n, 4n and n units (n classes); every
    layer but the logits uses ``activation``. Weights are drawn from Keras' global seed, so call
    ``keras.utils.set_random_seed`` first for a reproducible model.
    """
    spec = ACTIVATIONS[check_activation(activation)]
    act = activation_function(activation)
    inputs = keras.Input(shape=tuple(input_shape), dtype="uint8", name="images")
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    for index, width in enumerate(conv_widths(input_shape[-1]), start=1):
        x = keras.layers.Conv2D(width, 5, strides=2, padding="same", activation=act,
                                kernel_initializer=spec.initializer, name=f"conv{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(16 * num_classes, activation=act, kernel_initializer=spec.initializer,
                           name="dense1")(x)
    x = keras.layers.Dense(4 * num_classes, activation=act, kernel_initializer=spec.initializer,
                           name="dense2")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name=f"cnn_{activation}")


def layer_outputs_model(model):
    """A model sharing ``model``'s weights that returns every recorded layer's output."""
    return keras.Model(model.input, [model.get_layer(name).output for name in LAYER_NAMES])
