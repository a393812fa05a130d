"""The probe: what a run measures of itself on a fixed batch (the first ``probe_size`` test images) in
inference mode — every recorded layer's output, the gradient statistics, and how the signal travels through
depth (pre-activations, the Jacobian from the input) with the layers as the mean-field theory takes them."""

import contextlib

import numpy as np

from actviz import signal
from actviz.activations import activation_parameter, numpy_function
from actviz.runs import float32_layer_outputs

# The seed of the Jacobian estimate's fixed Gaussian directions (one a probe image), beside the run's seed: the
# SELU paper's arXiv date.
JACOBIAN_SEED = 20170608


def jvp_squares(accumulator, pre):
    """|J v|^2 summed over the images, per tensor of ``pre`` (float32), from a forward accumulator's products: the
    probe's Jacobian estimate (|J|_F^2 in expectation for a Gaussian v; tests/test_training.py makes it exact on
    the scaled basis sqrt(inputs) e_i)."""
    import tensorflow as tf

    return tf.stack([tf.reduce_sum(tf.square(tf.cast(accumulator.jvp(z), tf.float32))) for z in pre])


class Probe:
    """The probe batch of a built ``TrainingRun`` and its compiled measurements (``loss_fn``: the run's loss).

    ``images``, ``labels``: the batch; ``units``: each recorded layer's values an image, ``input_size`` the
    input's (as the first layer sees it). Without ``signal`` (bench/train_benchmark.py's reference) the Jacobian
    is left out: its squares are zeros."""

    def __init__(self, run, loss_fn, signal=True):
        import keras

        settings = run.settings
        self.images = run.test_images[: settings.probe_size]
        self.labels = run.test_labels[: settings.probe_size]
        self.layer_names = run.layer_names
        self.units = [int(np.prod(output.shape[1:])) for output in run.layers_model.outputs]
        self.input_size = int(np.prod(run.layers_model.input.shape[1:]))  # the image's values
        # For the signal-propagation theory: the activation on numpy arrays, and which layers it can predict (dense
        # layers with no batch norm before them: conv layers share inputs across positions).
        self.numpy_activation = numpy_function(run.activation, activation_parameter(run.activation, settings))
        self.predictable = [isinstance(run.model.get_layer(name), keras.layers.Dense) and not run.behind_batchnorm[name]
                            for name in run.layer_names]
        self.input_model = run.input_model
        # Statistics in float32 whatever the precision of the layers.
        self.outputs = float32_layer_outputs(run.layers_model)
        # drawn apart from training's random streams (numpy, a seed of their own): the same directions every step
        directions = np.random.default_rng([JACOBIAN_SEED, settings.seed]).standard_normal(
            (len(self.images), *run.input_model.output.shape[1:])).astype(np.float32)
        self.gradients = _compile_gradients(run.model, run.input_model, [kernel for kernel, _ in run.kernels],
                                            loss_fn, directions, signal)

    def layers(self):
        """Every recorded layer's float32 output on the probe batch, as numpy arrays."""
        return [o.numpy() for o in self.outputs(self.images)]

    def with_gradients(self):
        """On the probe batch, numpy: ``(input, outputs, output gradient stds, kernel gradient norms,
        pre-activations, {layer: the mean squared singular value of the Jacobian from the input to them,
        |J|_F^2 / min(inputs, units)})``."""
        inputs, outputs, output_stds, kernel_norms, pre, frobenius = self.gradients(self.images, self.labels)
        jacobians = {layer: float(f) / min(self.input_size, units)
                     for layer, f, units in zip(self.layer_names, frobenius.numpy(), self.units)}
        return (inputs.numpy(), [o.numpy() for o in outputs], output_stds.numpy(), kernel_norms.numpy(),
                [z.numpy() for z in pre], jacobians)

    def signal_layers(self, weights):
        """The layers as ``actviz.signal.predict`` takes them, from ``weights`` (``TrainingRun.weights()``): each
        one's weight and bias variances, the activation of its input (none for the first), whether the theory can
        predict it, its units and the network input's."""
        below = [lambda x: x] + [self.numpy_activation] * (len(weights) - 1)
        return [(*signal.weight_variances(kernel, bias), phi, predictable, units, self.input_size)
                for (kernel, bias), phi, predictable, units in zip(weights, below, self.predictable, self.units)]


def _compile_gradients(model, input_model, kernels, loss_fn, directions, signal):
    """A tf.function: on the probe batch (inference mode: no dropout, no random draws), the input as the first
    layer sees it, every recorded layer's output, the std of the loss gradient with respect to each output
    (the back-propagated signal), the L2 norm of each kernel's gradient; and how the signal travels: every
    layer's pre-activations and the squared Frobenius norm of the Jacobian from that input to them,
    estimated as the mean over the probe images of |J v|^2 for a fixed Gaussian direction v each
    (E|J v|^2 = |J|_F^2 for v ~ N(0, I); ``directions``). One pass of the network's weights
    (``pre_activation_chain``) gives all of it, forward-mode for the Jacobian: one trace and one first call (with
    the Jacobian in a function of its own, they cost 0.4 s more a run on the CNN, 2% of the default run; run
    eagerly, every call took 3x as long). The correlations are numpy's, on the summary worker
    (``actviz.stats.pair_signal``)."""
    import tensorflow as tf

    from actviz.model import pre_activation_chain

    chain, images_count = pre_activation_chain(model), len(directions)

    @tf.function(reduce_retracing=True, autograph=False)
    def probe_gradients(images, labels):
        x = input_model(images, training=False)
        with tf.GradientTape() as tape:
            forward = (tf.autodiff.ForwardAccumulator(x, tf.cast(directions, x.dtype)) if signal
                       else contextlib.nullcontext())
            with forward as accumulator:
                pre, outputs = chain(x)
            loss = loss_fn(labels, tf.cast(outputs[-1], tf.float32))
        output_grads, kernel_grads = tape.gradient(loss, (outputs, kernels))
        squares = jvp_squares(accumulator, pre) if signal else tf.zeros(len(pre))
        return (tf.cast(x, tf.float32), [tf.cast(o, tf.float32) for o in outputs],
                tf.stack([tf.math.reduce_std(tf.cast(g, tf.float32)) for g in output_grads]),
                tf.stack([tf.norm(tf.cast(g, tf.float32)) for g in kernel_grads]),
                [tf.cast(z, tf.float32) for z in pre], squares / images_count)

    return probe_gradients
