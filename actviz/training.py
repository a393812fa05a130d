"""Training one (dataset, architecture, recipe, activation, seed) run: checkpoints that resume, TensorBoard logs,
statistics of every layer over training, and final metrics.

``train`` is the loop; it reads top to bottom over four pieces, each with one job: ``TrainingRun``
(model, optimizer, data and the compiled steps), ``RunStore`` (checkpoints, resume and the records
kept beside them), ``Observer`` (evaluations, layer statistics, histograms and pictures, training
scalars) and ``final_metrics``.
"""

import functools
import itertools
import json
import os
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actviz import signal
from actviz.activations import ACTIVATIONS, check_activation, numpy_function
from actviz.atomic import atomic_path, write_csv, write_json
from actviz.errors import UserError
from actviz.evaluation import Evaluator, in_batches, pack_bits
from actviz.formats import read_info, read_split
from actviz.moments import moment_columns, predict
from actviz.optimizers import build_optimizer
from actviz.runs import (
    configure_threads,
    float32_layer_outputs,
    latest_checkpoint,
    package_versions,
    run_name,
    start_run_dirs,
)
from actviz.splits import split_train, validation_problem
from actviz.stats import (
    GRADIENT_COLUMNS,
    MOMENT_COLUMNS,
    SIGNAL_COLUMNS,
    SIGNAL_PREDICTION_COLUMNS,
    STAT_COLUMNS,
    layer_statistics,
    pair_signal,
)
from actviz.summaries import SummaryQueue, layer_summary

LR_DECAY_STEPS = 10_000  # the old project halved the learning rate every 10k steps
# Beside each checkpoint: the kernels the next update ratios are measured from, one file per checkpoint kept.
RATIO_WEIGHTS = "ratio_weights-{step}.npz"
# The seed of the Jacobian estimate's fixed Gaussian directions (one a probe image), beside the run's seed: the
# SELU paper's arXiv date.
JACOBIAN_SEED = 20170608


def jvp_squares(accumulator, pre):
    """|J v|^2 summed over the images, per tensor of ``pre`` (float32), from a forward accumulator's products: the
    probe's Jacobian estimate (|J|_F^2 in expectation for a Gaussian v; tests/test_training.py makes it exact on
    the scaled basis sqrt(inputs) e_i)."""
    import tensorflow as tf

    return tf.stack([tf.reduce_sum(tf.square(tf.cast(accumulator.jvp(z), tf.float32))) for z in pre])


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


class PhaseClock:
    """Wall seconds spent in each phase of a run (training steps, evaluation, summaries ...).

    A phase timed inside another counts as part of the outer one: the phases never overlap.
    """

    def __init__(self):
        self.seconds = {}
        self.current = None

    @contextmanager
    def __call__(self, phase):
        if self.current is not None:
            yield
            return
        self.current, begin = phase, time.perf_counter()
        try:
            yield
        finally:
            self.current = None
            self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - begin


class TrainingRun:
    """A run's model, optimizer and data, and its compiled training, evaluation and probe steps.

    ``build`` seeds Keras with the run's seed before it makes the model, so that the same settings
    give the same weights, batches and dropout masks.
    """

    def __init__(self, h5_path, activation, settings, info, train_split, test_split):
        self.h5_path, self.activation, self.settings, self.info = h5_path, activation, settings, info
        self.name = run_name(info["name"], settings.architecture, settings.recipe, activation, settings.seed)
        problem = validation_problem(settings.validation_size, len(train_split[1]), settings.batch_size)
        if problem:
            raise UserError(f"{h5_path}: validation_size: {problem}")
        # The held-out images are the same for every run of the dataset, and never in a training batch.
        (self.train_images, self.train_labels), (self.validation_images, self.validation_labels), \
            self.validation = split_train(*train_split, settings.validation_size)
        self.test_images, self.test_labels = test_split
        self.probe = self.test_images[: settings.probe_size]
        self.probe_labels = self.test_labels[: settings.probe_size]
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

        _log_devices(run_name(info["name"], settings.architecture, settings.recipe, activation, settings.seed),
                     settings, log)
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
                "validation_sha256": self.validation["indices_sha256"]}

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
        self.model = build_model(self.train_images.shape[1:], self.info["num_classes"], self.activation,
                                 settings.recipe, settings.dropout, settings.lrelu_slope, mean, std, settings.precision,
                                 settings.architecture, settings.depth, settings.width)
        self.layers_model = layer_outputs_model(self.model)
        self.units = [int(np.prod(output.shape[1:])) for output in self.layers_model.outputs]
        self.input_size = int(np.prod(self.layers_model.input.shape[1:]))  # the image's values
        self.layer_names = recorded_layer_names(self.model)
        recorded = [self.model.get_layer(name) for name in self.layer_names]
        self.kernels = [(layer.kernel, layer.bias) for layer in recorded]
        # For the moment map: each layer's activation (the logits have none) and the batch norm before it.
        act = activation_function(self.activation, settings.lrelu_slope)
        self.functions = [act if layer.activation is not keras.activations.linear else (lambda x: x)
                          for layer in recorded]
        self.behind_batchnorm = behind_batchnorm(self.model)
        # For the signal-propagation theory: the activation on numpy arrays, and which layers it can predict (dense
        # layers with no batch norm before them: conv layers share inputs across positions).
        self.numpy_activation = numpy_function(self.activation, settings.lrelu_slope)
        # The weight and bias variances each layer's initialisers imply (mean-field theory's sigma_w^2, sigma_b^2).
        self.initialisation = {
            layer.name: dict(zip(("sigma_w2", "sigma_b2"), signal.implied_variances(
                keras.initializers.serialize(layer.kernel_initializer),
                keras.initializers.serialize(layer.bias_initializer) if layer.use_bias else None,
                tuple(layer.kernel.shape)))) for layer in recorded}
        self.predictable = [isinstance(layer, keras.layers.Dense) and not self.behind_batchnorm[layer.name]
                            for layer in recorded]
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
        # Statistics in float32 whatever the precision of the layers.
        self.probe_outputs = float32_layer_outputs(self.layers_model)
        self.probe_gradients = self._probe_gradients(loss_fn)
        self.loss_fn = loss_fn
        # Traced now, so that the first step of the loop is timed like every other.
        shape = self.train_images.shape[1:]
        train_step.get_concrete_function(tf.TensorSpec((self.settings.batch_size, *shape), tf.uint8),
                                         tf.TensorSpec((self.settings.batch_size,), tf.int32))

    def batches(self, start_step):
        """The training batches of steps ``start_step`` + 1, + 2, ... (images, labels), endlessly.

        Each is a function of (seed, step) alone — epoch e is the permutation drawn with the seed
        sequence (seed, e), cut into whole batches — so that a resumed or extended run sees exactly
        the batches an uninterrupted one would, and no shuffle state needs checkpointing.
        """
        size = self.settings.batch_size
        per_epoch = len(self.train_labels) // size
        epoch, order = None, None
        for step in itertools.count(start_step):
            current, position = divmod(step, per_epoch)
            if current != epoch:
                epoch = current
                order = np.random.default_rng([self.settings.seed, epoch]).permutation(len(self.train_labels))
            chosen = order[position * size:(position + 1) * size]
            yield self.train_images[chosen], self.train_labels[chosen]

    def evaluate(self, split="validation"):
        """The model on the whole validation or test split (``actviz.evaluation.Evaluation``)."""
        if split == "test":
            return self.evaluator(in_batches(self.test_images, self.test_labels))
        return self.evaluator(in_batches(self.validation_images, self.validation_labels))

    def probe_layers(self):
        """Every recorded layer's float32 output on the probe batch, as numpy arrays."""
        return [o.numpy() for o in self.probe_outputs(self.probe)]

    def _probe_gradients(self, loss_fn, signal=True):
        """A tf.function: on the probe batch (inference mode: no dropout, no random draws), the input as the first
        layer sees it, every recorded layer's output, the std of the loss gradient with respect to each output
        (the back-propagated signal), the L2 norm of each kernel's gradient; and how the signal travels: every
        layer's pre-activations and the squared Frobenius norm of the Jacobian from that input to them,
        estimated as the mean over the probe images of |J v|^2 for a fixed Gaussian direction v each
        (E|J v|^2 = |J|_F^2 for v ~ N(0, I)). One pass of the network's weights (``pre_activation_chain``) gives
        all of it, forward-mode for the Jacobian: one trace and one first call (with the Jacobian in a function
        of its own, they cost 0.4 s more a run on the CNN, 2% of the default run; run eagerly, every call took 3x
        as long). The correlations are numpy's, on the summary worker (``actviz.stats.pair_signal``). Without
        ``signal`` (bench/train_benchmark.py's reference) the Jacobian is left out: its squares are zeros."""
        import contextlib

        import tensorflow as tf

        from actviz.model import pre_activation_chain

        chain, input_model = pre_activation_chain(self.model), self.input_model
        kernels = [kernel for kernel, _ in self.kernels]
        # drawn apart from training's random streams (numpy, a seed of their own): the same directions every step
        directions = np.random.default_rng([JACOBIAN_SEED, self.settings.seed]).standard_normal(
            (len(self.probe), *input_model.output.shape[1:])).astype(np.float32)

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
                    [tf.cast(z, tf.float32) for z in pre], squares / len(self.probe))

        return probe_gradients

    def signal_layers(self, weights):
        """The layers as ``actviz.signal.predict`` takes them, from ``weights`` (``weights()``): each one's weight
        and bias variances, the activation of its input (none for the first), whether the theory can predict it,
        its units and the network input's."""
        below = [lambda x: x] + [self.numpy_activation] * (len(weights) - 1)
        return [(*signal.weight_variances(kernel, bias), phi, predictable, units, self.input_size)
                for (kernel, bias), phi, predictable, units in zip(weights, below, self.predictable, self.units)]

    def probe_with_gradients(self):
        """On the probe batch, numpy: ``(input, outputs, output gradient stds, kernel gradient norms,
        pre-activations, {layer: the mean squared singular value of the Jacobian from the input to them,
        |J|_F^2 / min(inputs, units)})``."""
        inputs, outputs, output_stds, kernel_norms, pre, frobenius = self.probe_gradients(self.probe,
                                                                                           self.probe_labels)
        jacobians = {layer: float(f) / min(self.input_size, units)
                     for layer, f, units in zip(self.layer_names, frobenius.numpy(), self.units)}
        return (inputs.numpy(), [o.numpy() for o in outputs], output_stds.numpy(), kernel_norms.numpy(),
                [z.numpy() for z in pre], jacobians)

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


class Progress:
    """What a run has recorded so far (evaluations, training curve, layer statistics, histograms).

    Saved beside each checkpoint, so that a resumed run keeps what came before the checkpoint.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.records = {"evaluations": [], "training": [], "layer_stats": [], "histograms": [], "moments": [],
                        "window": []}

    def load(self, up_to_step):
        if self.path.exists():
            saved = json.loads(self.path.read_text())
            self.records |= {k: [r for r in v if r["step"] <= up_to_step] for k, v in saved.items()}
            # the losses not logged yet at the checkpoint resumed from (older records have no checkpoint tag)
            self.records["window"] = [r for r in self.records["window"]
                                      if r.get("checkpoint", up_to_step) == up_to_step]
        return self

    def add(self, kind, **record):
        self.records[kind].append(record)

    def save(self):
        write_json(self.path, self.records)


class RunStore:
    """A run's checkpoints: resumes from the newest one made under the same identity, saves new ones
    with the records (``progress``) complete up to them."""

    def __init__(self, checkpoint_dir, log_dir, run, log=print, clock=None):
        import tensorflow as tf

        self.checkpoint_dir, self.clock = Path(checkpoint_dir), clock or PhaseClock()
        start_run_dirs(checkpoint_dir, log_dir, run.identity(), run.settings.steps, log)
        # Keras' dropout seed generators are not in a checkpoint of the model: without their state a
        # resumed run would draw the masks of step 1 again.
        seeds = [v for v in run.model.variables if "seed_generator" in v.path]
        self.checkpoint = tf.train.Checkpoint(model=run.model, optimizer=run.optimizer, dropout_seeds=seeds)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(checkpoint_dir), max_to_keep=2)
        if self.manager.latest_checkpoint:
            self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
            log(f"resumed from {self.manager.latest_checkpoint} at step {int(run.optimizer.iterations)}")
        self.start_step = int(run.optimizer.iterations)
        self.progress = Progress(self.checkpoint_dir / "progress.json").load(up_to_step=self.start_step)

    def save(self, step, pending=None, weights=None):
        """A checkpoint at ``step`` (None: none) and beside it the records, the losses not logged yet
        (``pending``, ``LossWindow.pending``) and the weights the next update ratios are measured from.

        The records go first: a kill between the two leaves them complete up to the checkpoint a
        rerun resumes from (records past it are dropped on load). The window and the weights are kept
        for the newest registered checkpoint too: a kill while TensorFlow writes the new one (its files
        there, the checkpoint list not yet naming it) resumes from the one before, exactly."""
        with self.clock("checkpoints"):
            previous = self.latest_step()
            if pending is not None and step is not None:
                self.progress.records["window"] = [r for r in self.progress.records["window"]
                                                   if r.get("checkpoint") == previous] + [
                    {**r, "checkpoint": step} for r in pending]
            self.progress.save()
            if weights is not None and step is not None:
                path = self.checkpoint_dir / RATIO_WEIGHTS.format(step=step)
                with atomic_path(path) as tmp, open(tmp, "wb") as f:
                    np.savez(f, np.array(step), *[kernel for kernel, _ in weights])
                for stale in self.checkpoint_dir.glob(RATIO_WEIGHTS.format(step="*")):
                    if stale not in (path, self.checkpoint_dir / RATIO_WEIGHTS.format(step=previous)):
                        stale.unlink()
            if step is not None:
                self.manager.save(checkpoint_number=step)

    def saved_weights(self):
        """The weights saved with the checkpoint resumed from, for the update ratios, or None."""
        path = self.checkpoint_dir / RATIO_WEIGHTS.format(step=self.start_step)
        if not self.start_step or not path.exists():
            return None
        with np.load(path) as saved:
            if int(saved["arr_0"]) != self.start_step:
                return None  # saved for another checkpoint
            return [(saved[f"arr_{i}"], None) for i in range(1, len(saved.files))]

    def latest_step(self):
        return latest_checkpoint(self.checkpoint_dir)[1]


class Observer:
    """What a run shows of itself: validation evaluations, training scalars, and every layer's statistics,
    histogram and tfplot pictures on the probe batch, to TensorBoard and to the run's records.

    Statistics and pictures are computed on the summary worker (``SummaryQueue``), while the
    training thread goes on; ``flush`` logs everything pending. Use it as a context manager: inside,
    its TensorBoard writer is the default one.
    """

    def __init__(self, run, progress, clock, log_dir):
        import tensorflow as tf

        from actviz.plots import TensorBoardPictures

        self.run, self.progress, self.clock = run, progress, clock
        self.pictures = TensorBoardPictures(run.probe[0])  # the first probe image: the example the grids show
        self.queue = SummaryQueue()
        self.weights = None  # the recorded layers' weights at the last statistics, for the update ratios
        self.measured = {}  # layer -> (mean, variance) of the statistics being computed (summary worker)
        self.measured_signal = {}  # layer -> (q, corr, jacobian), likewise
        self.writer = tf.summary.create_file_writer(str(log_dir))
        self._contexts = ExitStack()

    def __enter__(self):
        self._contexts.enter_context(self.writer.as_default())
        self._contexts.enter_context(self.queue)
        return self

    def __exit__(self, *error):
        return self._contexts.__exit__(*error)

    def initial_state(self):
        """Hyper-parameters, and the untrained network's layers and validation accuracy (step 0)."""
        from tensorboard.plugins.hparams import api as hparams_api

        run = self.run
        hparams_api.hparams({"dataset": run.info["name"], "activation": run.activation,
                             **run.settings.hparams()}, trial_id=f"{run.name} {run.trial}" if run.trial else run.name)
        self.observe_layers(0, stats=True, histograms=True, images=True)
        self.evaluate(0)

    def evaluate(self, step):
        """Loss and accuracy on the whole validation split, logged and recorded (the learning curves)."""
        import tensorflow as tf

        with self.clock("evaluation"):
            evaluation = self.run.evaluate("validation")
            tf.summary.scalar("loss/validation", evaluation.loss, step=step)
            tf.summary.scalar("accuracy/validation", evaluation.accuracy, step=step)
            # each image's result too (packed bits): a sweep tests its best trial against the runner-up on them
            self.progress.add("evaluations", step=step, validation_loss=evaluation.loss,
                              validation_accuracy=evaluation.accuracy, validation_correct=pack_bits(evaluation.correct))

    def final_evaluation(self, step):
        """The validation evaluation at ``step``, the last one, unless it was recorded already (a run resumed
        at its end), and the one evaluation of the test split: returned, image by image."""
        evaluations = self.progress.records["evaluations"]
        if not evaluations or evaluations[-1]["step"] != step:
            self.evaluate(step)
        with self.clock("evaluation"):
            return self.run.evaluate("test")

    def training_scalars(self, step, losses, accuracies):
        """The mean loss and accuracy of the steps since the last call, and the learning rate; returns
        them for the progress bar."""
        import tensorflow as tf

        with self.clock("scalars"):
            loss, accuracy = float(losses.mean()), float(accuracies.mean())
            tf.summary.scalar("loss/train", loss, step=step)
            tf.summary.scalar("accuracy/train", accuracy, step=step)
            tf.summary.scalar("learning_rate", float(self.run.optimizer.learning_rate), step=step)
            self.progress.add("training", step=step, train_loss=loss, train_accuracy=accuracy)
        return {"loss": f"{loss:.3f}", "acc": f"{accuracy:.3f}"}

    def observe_layers(self, step, stats, histograms, images):
        """Layer statistics, histograms and tfplot images of the probe batch, as due; with the statistics,
        the gradients and the moment map."""
        with self.clock("probe"):
            if stats:
                inputs, outputs, output_stds, kernel_norms, pre, jacobians = self.run.probe_with_gradients()
            else:
                outputs, pre, jacobians = self.run.probe_layers(), [None] * len(self.run.layer_names), {}
        with self.clock("summaries"):
            gradients = self._gradients(output_stds, kernel_norms) if stats else {}
            for layer, values, z in zip(self.run.layer_names, outputs, pre):
                self.queue.submit(step, functools.partial(self._summarise, layer, stats, histograms, images,
                                                          gradients.get(layer), z, jacobians.get(layer)),
                                  functools.partial(self._log_layer, step, layer, stats, gradients.get(layer)), values)
            if stats:  # after the layers: the worker has their measured moments and signals by then
                self.queue.submit(step, functools.partial(self._moment_map, step, self.weights), self._log_moments,
                                  inputs)

    def _gradients(self, output_stds, kernel_norms):
        """Each layer's gradient statistics, and the update since the last statistics relative to the weights."""
        previous, self.weights = self.weights, self.run.weights()
        ratios = [None] * len(self.weights) if previous is None else [
            float(np.linalg.norm(now - before) / max(np.linalg.norm(before), 1e-30))
            for (now, _), (before, _) in zip(self.weights, previous)]
        return {layer: {"grad_output_std": float(std), "grad_kernel_norm": float(norm), "update_ratio": ratio}
                for layer, std, norm, ratio in zip(self.run.layer_names, output_stds, kernel_norms, ratios)}

    def _summarise(self, layer, stats, histograms, images, gradients, pre, jacobian, values):
        """(On the summary worker.) A layer's statistics and histogram, its TensorBoard values, its pictures; with
        the statistics, how the signal travels to it (``pre``: its pre-activations; ``jacobian``)."""
        settings = self.run.settings
        fixed = None if settings.histogram_range == "auto" else settings.histogram_range  # None: the step's own
        summary = layer_statistics(values, fixed, settings.histogram_bins, self.run.saturation, percentiles=stats)
        signals = None
        if stats:
            self.measured[layer] = (summary["mean"], summary["std"] ** 2)
            signals = summary["signal"] = {**dict(zip(("q", "corr"), pair_signal(pre))), "jacobian": jacobian}
            self.measured_signal[layer] = tuple(signals[k] for k in SIGNAL_COLUMNS)
        histogram = summary["histogram"]
        drawn = self.pictures(layer, histogram["counts"], histogram["edges"], values[0]) if images else None
        return summary, layer_summary(layer, summary, stats, histograms, drawn, gradients, signals)

    def _log_layer(self, step, layer, stats, gradients, result):
        import tensorflow as tf

        summary, proto = result
        if stats:
            self.progress.add("layer_stats", step=step, layer=layer, **{key: summary[key] for key in STAT_COLUMNS},
                              **gradients, **summary["signal"])
            self.progress.add("histograms", step=step, layer=layer, counts=summary["histogram"]["counts"],
                              edges=summary["histogram"]["edges"])
        tf.summary.experimental.write_raw_pb(proto, step=step)

    def _moment_map(self, step, weights, inputs):
        """(On the summary worker, after the step's layers.) The moment map's and the signal-propagation theory's
        one-step and path predictions."""
        run = self.run
        layers = [(kernel, bias, function, run.behind_batchnorm[name])
                  for (kernel, bias), function, name in zip(weights, run.functions, run.layer_names)]
        measured = [self.measured[name] for name in run.layer_names]
        inputs = inputs.astype(np.float64)
        moments = predict(layers, measured, (float(inputs.mean()), float(inputs.var())))
        measured = [self.measured_signal[name] for name in run.layer_names]
        return step, moments, signal.predict(run.signal_layers(weights), measured, pair_signal(inputs))

    def _log_moments(self, result):
        step, moments, theories = result
        for layer, prediction, theory in zip(self.run.layer_names, moments, theories):
            self.progress.add("moments", step=step, layer=layer, **moment_columns(prediction),
                              **signal.prediction_columns(theory))

    def log_ready(self):
        with self.clock("summaries"):
            self.queue.log_ready()

    def flush(self, to_disk=False):
        """Log every pending summary (so that the records are complete up to now); ``to_disk``: and
        write TensorBoard's buffered events out, so that a kill after a checkpoint loses none before it."""
        with self.clock("summaries_wait"):
            self.queue.flush()
            if to_disk:
                self.writer.flush()

    def final_scalars(self, metrics):
        """The final metrics under their own tags, for TensorBoard's HParams dashboard."""
        import tensorflow as tf

        with self.writer.as_default():
            for key in ("test_accuracy", "test_loss", "validation_accuracy", "validation_loss"):
                tf.summary.scalar(f"final/{key}", metrics[key], step=metrics["final_step"])
        self.writer.flush()


@dataclass(frozen=True)
class DueWork:
    """Which periodic work falls on a step: each at its cadence, and all of it at the last step."""

    scalars: bool
    evaluation: bool
    checkpoint: bool
    stats: bool
    histograms: bool
    images: bool

    @classmethod
    def at(cls, step, settings):
        def due(every):
            return step % every == 0 or step == settings.steps

        return cls(due(settings.log_every), due(settings.eval_every), due(settings.checkpoint_every),
                   due(settings.stats_every), due(settings.histogram_every), due(settings.image_every))

    def layers(self):
        return {"stats": self.stats, "histograms": self.histograms, "images": self.images}

    def any_layers(self):
        return self.stats or self.histograms or self.images

    def any(self):
        return self.scalars or self.evaluation or self.checkpoint or self.any_layers()


class LossWindow:
    """The [loss, accuracy] of every step since the training scalars were last logged, kept as
    tensors and read in one go when something is recorded (reading each step would stall it).

    ``pending``: the window a checkpoint kept (``pending()``), so that a resumed run logs the same means.
    """

    def __init__(self, clock, pending=()):
        self.clock, self.losses, self.accuracies = clock, None, None
        self.steps = [np.array([r["loss"], r["accuracy"]], dtype=np.float32) for r in pending]

    def append(self, loss_and_accuracy):
        self.steps.append(loss_and_accuracy)

    def first_nonfinite(self, step):
        """The step of the first NaN or infinite loss of the window (which ends at ``step``), or None."""
        import tensorflow as tf

        with self.clock("scalars"):
            self.losses, self.accuracies = tf.stack(self.steps).numpy().astype(np.float64).T
        finite = np.isfinite(self.losses)
        return None if finite.all() else step - len(self.losses) + 1 + int(np.argmin(finite))

    def take(self):
        """(losses, accuracies) as last read, and a new window."""
        self.steps = []
        return self.losses, self.accuracies

    def pending(self, step):
        """The steps not logged yet, up to ``step``, as records a checkpoint keeps."""
        import tensorflow as tf

        values = tf.stack(self.steps).numpy().tolist() if self.steps else []
        return [{"step": step - len(values) + 1 + i, "loss": loss, "accuracy": accuracy}
                for i, (loss, accuracy) in enumerate(values)]


def _progress_bar(run, start_step, progress):
    from tqdm import tqdm

    return tqdm(total=run.settings.steps, initial=min(start_step, run.settings.steps), unit="step", desc=run.name,
                file=sys.stderr, disable=not progress, mininterval=1 if sys.stderr.isatty() else 15)


def train(h5_path, activation, settings, checkpoint_dir, log_dir, metrics_path, stats_path, histograms_path,
          threads=None, progress=True, log=print, trial=None):
    """Train (or resume) one run; write its metrics JSON and layer statistics CSVs; return the metrics.
    ``trial``: the name of the sweep's trial this run is (recorded, and its TensorBoard HParams session).

    Checkpoints go to ``checkpoint_dir`` every ``checkpoint_every`` steps and at the end; a later
    call with the same settings resumes from the newest one (and may train further if ``steps``
    grew). TensorBoard logs go to ``log_dir``. Layer statistics of the probe batch, at step 0 and
    every ``stats_every`` steps, go to ``stats_path`` and their histograms to ``histograms_path``.
    """
    check_activation(activation)
    settings.check()
    clock, setup_began = PhaseClock(), time.perf_counter()
    run = TrainingRun.build(h5_path, activation, settings, threads, log)
    run.trial = trial
    store = RunStore(checkpoint_dir, log_dir, run, log, clock)
    observer = Observer(run, store.progress, clock, log_dir)
    observer.weights = store.saved_weights()  # what the next update ratios are measured from
    batches = run.batches(store.start_step)
    clock.seconds["setup"] = time.perf_counter() - setup_began
    window = LossWindow(clock, store.progress.records["window"])
    with observer:
        if store.start_step == 0:
            with clock("initial_state"):
                observer.initial_state()
                observer.flush(to_disk=True)  # records and TensorBoard complete up to the checkpoint
                store.save(0, [], observer.weights)  # even a run that diverges at once has weights to extract
        bar = _progress_bar(run, store.start_step, progress)
        diverged_at, started = None, time.perf_counter()
        for step in range(store.start_step + 1, settings.steps + 1):
            with clock("train_steps"):
                window.append(run.train_step(*next(batches)))
            due = DueWork.at(step, settings)
            if due.any():
                diverged_at = window.first_nonfinite(step)  # before anything is recorded
                if diverged_at is not None:
                    loss = window.losses[diverged_at - step - 1]
                    log(f"{run.name}: training diverged at step {diverged_at} (loss {loss}); stopped there, keeping "
                        f"the checkpoint at step {store.latest_step()}. Try a smaller learning_rate.")
                    break
                if due.scalars:
                    bar.set_postfix(observer.training_scalars(step, *window.take()), refresh=False)
                if due.any_layers():  # first, so that the figures are drawn while evaluation runs
                    observer.observe_layers(step, **due.layers())
                if due.evaluation:
                    observer.evaluate(step)
                if due.checkpoint:
                    observer.flush(to_disk=True)  # records and TensorBoard complete up to the checkpoint
                    store.save(step, window.pending(step), observer.weights)
                observer.log_ready()
            bar.update(1)
        bar.close()
        final_step, evaluation = finish(run, store, observer, diverged_at, window)
    elapsed = time.perf_counter() - started
    write_layer_tables(run, store.progress.records, stats_path, histograms_path)
    metrics = final_metrics(run, store, final_step, diverged_at, evaluation, elapsed, clock)
    if diverged_at is None:
        observer.final_scalars(metrics)
    write_json(metrics_path, metrics)
    return metrics


def finish(run, store, observer, diverged_at, window):
    """After the loop: the final evaluation, every pending summary, the last checkpoint (never of a
    diverged run). Returns the final step and evaluation (None for a diverged run)."""
    final_step = int(run.optimizer.iterations)
    evaluation = observer.final_evaluation(final_step) if diverged_at is None else None
    observer.flush()
    store.save(final_step if diverged_at is None and store.latest_step() != final_step else None,
               window.pending(final_step), observer.weights)
    observer.writer.flush()
    return final_step, evaluation


def write_layer_tables(run, records, stats_path, histograms_path):
    """The layer statistics and histograms over training as tidy CSVs (one row per step and layer / bin)."""
    settings = run.settings
    ident = {"dataset": run.info["name"], "architecture": settings.architecture, "recipe": settings.recipe,
             "activation": run.activation, "seed": settings.seed}
    moments = {(r["step"], r["layer"]): r for r in records["moments"]}
    columns = (*STAT_COLUMNS, *GRADIENT_COLUMNS, *MOMENT_COLUMNS, *SIGNAL_COLUMNS, *SIGNAL_PREDICTION_COLUMNS)
    write_csv(stats_path, [{**ident, "step": r["step"], "layer": r["layer"],
                            **{k: {**r, **moments.get((r["step"], r["layer"]), {})}.get(k) for k in columns}}
                           for r in records["layer_stats"]], (*ident, "step", "layer", *columns))
    write_csv(histograms_path, [{**ident, "step": r["step"], "layer": r["layer"], "bin_low": r["edges"][i],
                                 "bin_high": r["edges"][i + 1], "count": count}
                                for r in records["histograms"] for i, count in enumerate(r["counts"])],
              (*ident, "step", "layer", "bin_low", "bin_high", "count"))


def final_metrics(run, store, final_step, diverged_at, evaluation, elapsed, clock):
    """The run's metrics.json: identity, final test and train numbers (with each test image's result
    and the confusion matrix), curves, timings, versions."""
    records, settings = store.progress.records, run.settings
    last_training = records["training"][-1] if records["training"] else {}
    final = records["evaluations"][-1] if diverged_at is None else {}
    trained = final_step - store.start_step
    return {
        "dataset": run.info["name"],
        "architecture": settings.architecture,
        "recipe": settings.recipe,
        "activation": run.activation,
        "seed": settings.seed,
        "run": run.name,
        "trial": run.trial,  # the sweep's trial this run is, or None
        "settings": settings.as_dict(),
        "final_step": final_step,
        "diverged_at_step": diverged_at,  # None unless the loss became NaN or infinite
        "resumed_from_step": store.start_step,
        "train_loss": last_training.get("train_loss"),  # mean over the last log_every steps
        "train_accuracy": last_training.get("train_accuracy"),
        # Where settings are chosen: the held-out train images at the last step.
        "validation_loss": final.get("validation_loss"),
        "validation_accuracy": final.get("validation_accuracy"),
        "validation_size": len(run.validation_labels),
        "validation_correct": final.get("validation_correct"),  # each validation image's result, packed bits
        # What is compared: the test split, evaluated once, at the end.
        "test_loss": None if evaluation is None else evaluation.loss,
        "test_accuracy": None if evaluation is None else evaluation.accuracy,
        "test_size": len(run.test_images),
        "validation": run.validation,  # which train images were held out, with checksums
        # The last evaluation image by image (None for a diverged run): per-class results, paired tests.
        "final_evaluation": None if evaluation is None else {
            "split": "test", "step": final_step, **evaluation.summary(run.info["num_classes"])},
        "evaluations": records["evaluations"],
        "training": records["training"],
        "checkpoint": store.manager.latest_checkpoint,
        # The training loop's wall time, every summary included (setup and the step-0 state are not).
        "train_seconds": elapsed,
        "images_per_second": trained * settings.batch_size / elapsed if trained else None,
        "seconds": {phase: round(seconds, 3) for phase, seconds in clock.seconds.items()},
        "versions": package_versions(),  # of the process that finished the run
        "initialisation": run.initialisation,  # per layer, the sigma_w2 and sigma_b2 its initialisers imply
    }
