"""A run's model, optimizer and data, and its compiled training step: what the loop trains and the probe
(``actviz.training.probe``) measures."""

import itertools
import os
from pathlib import Path

import numpy as np

from actviz import signal
from actviz.activations import ACTIVATIONS, activation_parameter
from actviz.errors import UserError
from actviz.evaluation import Evaluator, in_batches
from actviz.formats import read_info, read_split
from actviz.optimizers import build_optimizer
from actviz.runs import configure_threads, run_name
from actviz.splits import split_train, validation_problem
from actviz.training.probe import Probe

LR_DECAY_STEPS = 10_000  # the old project halved the learning rate every 10k steps


def learning_rate_schedule(settings):
    """The learning rate, halved every 10,000 steps (staircase) when ``lr_weight_decay`` is set."""
    if not settings.lr_weight_decay:
        return settings.learning_rate
    import keras

    return keras.optimizers.schedules.ExponentialDecay(settings.learning_rate, LR_DECAY_STEPS, 0.5,
                                                       staircase=True)


def _cpu_has_bf16():
    """Whether this CPU computes bfloat16 natively (Linux: the flags in /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # unknown: no warning
    return "avx512_bf16" in flags or "amx_bf16" in flags



class TrainingRun:
    """A run's model, optimizer and data, its compiled training step and evaluator, and its probe (``probe``).

    ``build`` seeds Keras with the run's seed before it makes the model, so that the same settings
    give the same weights, batches and dropout masks.
    """

    def __init__(self, h5_path, activation, settings, info, train_split, test_split):
        self.h5_path, self.activation, self.settings, self.info = h5_path, activation, settings, info
        self.name = run_name(info["name"], settings.architecture, settings.recipe, activation, settings.seed,
                             settings.order_seed)
        problem = validation_problem(settings.validation_size, len(train_split[1]), settings.batch_size)
        if problem:
            raise UserError(f"{h5_path}: validation_size: {problem}")
        # The held-out images are the same for every run of the dataset, and never in a training batch.
        (self.train_images, self.train_labels), (self.validation_images, self.validation_labels), \
            self.validation = split_train(*train_split, settings.validation_size)
        self.test_images, self.test_labels = test_split
        self.saturation = ACTIVATIONS[activation].saturation
        self.trial = None  # the sweep's trial (a name), if the run is one

    @classmethod
    def build(cls, h5_path, activation, settings, threads=None, log=print):
        """Read the data, build model and optimizer (seeded), compile the steps."""
        info = read_info(h5_path)
        if threads:
            configure_threads(threads)
        import keras
        import tensorflow as tf

        _log_devices(run_name(info["name"], settings.architecture, settings.recipe, activation, settings.seed,
                              settings.order_seed), settings, log)
        keras.utils.set_random_seed(settings.seed)
        tf.config.experimental.enable_op_determinism()
        run = cls(h5_path, activation, settings, info, read_split(h5_path, "train"), read_split(h5_path, "test"))
        if len(run.train_images) < settings.batch_size:
            raise UserError(f"{h5_path}: {len(run.train_images)} train images, fewer than one batch "
                            f"of {settings.batch_size}")
        if len(run.test_images) < settings.probe_size:
            raise UserError(f"{h5_path}: the test split has {len(run.test_images)} images, fewer than "
                            f"probe_size={settings.probe_size}")
        run._build_model()
        run._compile_steps()
        return run

    def identity(self):
        """What a checkpoint of this run must have been trained under to be resumed (run.json)."""
        return {"dataset": self.info["name"], "checksums": self.info["checksums"], "activation": self.activation,
                "image_shape": list(self.train_images.shape[1:]), "num_classes": self.info["num_classes"],
                **self.settings.identity(), "input_mean": self.input_mean, "input_std": self.input_std,
                "validation_sha256": self.validation["indices_sha256"], **self._parameter()}

    def _parameter(self):
        """The activation's own setting, when it has one (lrelu_slope is in every run's identity already)."""
        spec = ACTIVATIONS[self.activation].parameter
        return {spec[0]: activation_parameter(self.activation, self.settings)} if spec else {}

    def _build_model(self):
        import keras

        from actviz.model import (
            activation_function,
            behind_batchnorm,
            build_model,
            input_layer_name,
            input_statistics,
            layer_outputs_model,
            recorded_layer_names,
        )

        settings = self.settings
        mean, std = input_statistics(self.train_images)
        # Recorded with the checkpoint, so that extraction standardises exactly as training did.
        self.input_mean, self.input_std = [float(m) for m in mean], [float(s) for s in std]
        parameter = activation_parameter(self.activation, settings)
        self.model = build_model(self.train_images.shape[1:], self.info["num_classes"], self.activation,
                                 settings.recipe, settings.dropout, parameter, mean, std, settings.precision,
                                 settings.architecture, settings.depth, settings.width)
        self.layers_model = layer_outputs_model(self.model)
        self.layer_names = recorded_layer_names(self.model)
        recorded = [self.model.get_layer(name) for name in self.layer_names]
        self.kernels = [(layer.kernel, layer.bias) for layer in recorded]
        # For the moment map: each layer's activation (the logits have none) and the batch norm before it.
        act = activation_function(self.activation, parameter)
        self.functions = [act if layer.activation is not keras.activations.linear else (lambda x: x)
                          for layer in recorded]
        self.behind_batchnorm = behind_batchnorm(self.model)
        # The weight and bias variances each layer's initialisers imply (mean-field theory's sigma_w^2, sigma_b^2).
        self.initialisation = {
            layer.name: dict(zip(("sigma_w2", "sigma_b2"), signal.implied_variances(
                keras.initializers.serialize(layer.kernel_initializer),
                keras.initializers.serialize(layer.bias_initializer) if layer.use_bias else None,
                tuple(layer.kernel.shape)))) for layer in recorded}
        self.input_model = keras.Model(self.model.input, self.model.get_layer(input_layer_name(self.model)).output)
        self.optimizer = build_optimizer(settings.optimizer, learning_rate_schedule(settings), settings.clip_norm)
        self.optimizer.build(self.model.trainable_variables)

    def _compile_steps(self):
        import keras
        import tensorflow as tf

        model, optimizer = self.model, self.optimizer
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        def accuracy(logits, labels):
            return tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels), tf.float32)

        @tf.function(reduce_retracing=True)
        def train_step(images, labels):
            with tf.GradientTape() as tape:
                logits = model(images, training=True)
                loss = loss_fn(labels, logits)
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            return tf.stack([loss, tf.reduce_mean(accuracy(logits, labels))])

        self.train_step, self.evaluator = train_step, Evaluator(model)
        self.probe, self.loss_fn = Probe(self, loss_fn), loss_fn
        # Traced now, so that the first step of the loop is timed like every other.
        shape = self.train_images.shape[1:]
        train_step.get_concrete_function(tf.TensorSpec((self.settings.batch_size, *shape), tf.uint8),
                                         tf.TensorSpec((self.settings.batch_size,), tf.int32))

    def batches(self, start_step):
        """The training batches of steps ``start_step`` + 1, + 2, ... (images, labels), endlessly.

        Each is a function of (batch order seed, step) alone — epoch e is the permutation drawn with the seed
        sequence (seed, e), cut into whole batches — so that a resumed or extended run sees exactly
        the batches an uninterrupted one would, and no shuffle state needs checkpointing.
        """
        size = self.settings.batch_size
        per_epoch = len(self.train_labels) // size
        epoch, order, seed = None, None, self.settings.batch_order_seed()
        for step in itertools.count(start_step):
            current, position = divmod(step, per_epoch)
            if current != epoch:
                epoch = current
                order = np.random.default_rng([seed, epoch]).permutation(len(self.train_labels))
            chosen = order[position * size:(position + 1) * size]
            yield self.train_images[chosen], self.train_labels[chosen]

    def evaluate(self, split="validation"):
        """The model on the whole validation or test split (``actviz.evaluation.Evaluation``)."""
        if split == "test":
            return self.evaluator(in_batches(self.test_images, self.test_labels))
        return self.evaluator(in_batches(self.validation_images, self.validation_labels))

    def weights(self):
        """Every recorded layer's (kernel, bias) as numpy copies (bias None where there is none)."""
        return [(kernel.numpy().copy(), None if bias is None else bias.numpy().copy()) for kernel, bias in self.kernels]


def _log_devices(name, settings, log):
    import tensorflow as tf

    devices = ", ".join(d.name.removeprefix("/physical_device:") for d in tf.config.list_physical_devices())
    log(f"{name}: TensorFlow {tf.__version__} on {devices}; CPU threads: "
        f"{tf.config.threading.get_intra_op_parallelism_threads() or 'all'} per op, "
        f"{tf.config.threading.get_inter_op_parallelism_threads() or 'all'} ops at once; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
        + (f"; SLURM job {os.environ['SLURM_JOB_ID']}" if os.environ.get("SLURM_JOB_ID") else ""))
    if settings.precision == "bfloat16" and not tf.config.list_physical_devices("GPU") and not _cpu_has_bf16():
        log(f"{name}: warning: this CPU has neither AVX512_BF16 nor AMX; bfloat16 is emulated and slower "
            f"than float32 here")
