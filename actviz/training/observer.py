"""What a run shows of itself while it trains: validation evaluations, training scalars, and every layer's
statistics, histogram, pictures and signal on the probe batch, to TensorBoard and to the run's records."""

import functools
from contextlib import ExitStack

import numpy as np

from actviz import signal
from actviz.evaluation import pack_bits
from actviz.moments import moment_columns, predict
from actviz.stats import SIGNAL_COLUMNS, STAT_COLUMNS, layer_statistics, pair_signal
from actviz.summaries import SummaryQueue, layer_summary


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
        self.pictures = TensorBoardPictures(run.probe.images[0])  # the first probe image: the example the grids show
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

    def final_evaluation(self, step, test=True):
        """The validation evaluation at ``step``, the last one, unless it was recorded already (a run resumed
        at its end), and the one evaluation of the test split: returned, image by image (None without ``test``)."""
        evaluations = self.progress.records["evaluations"]
        if not evaluations or evaluations[-1]["step"] != step:
            self.evaluate(step)
        if not test:
            return None
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
                inputs, outputs, output_stds, kernel_norms, pre, jacobians = self.run.probe.with_gradients()
            else:
                outputs, pre, jacobians = self.run.probe.layers(), [None] * len(self.run.layer_names), {}
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
        return step, moments, signal.predict(run.probe.signal_layers(weights), measured, pair_signal(inputs))

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
