"""The training loop: build the run, resume from its store, train step by step doing the work due on each step
(``DueWork``), finish, write the records. Reads top to bottom like Keras' custom training loop guide; each piece
it calls has one job (``actviz.training``'s modules)."""

import sys
import time
from dataclasses import dataclass

import numpy as np

from actviz.activations import check_activation
from actviz.atomic import write_json
from actviz.evaluation import write_predictions
from actviz.training.clock import PhaseClock
from actviz.training.observer import Observer
from actviz.training.records import final_metrics, write_layer_tables
from actviz.training.run import TrainingRun
from actviz.training.store import RunStore


def train(h5_path, activation, settings, checkpoint_dir, log_dir, metrics_path, stats_path, histograms_path,
          threads=None, progress=True, log=print, trial=None, final=True, predictions_path=None):
    """Train (or resume) one run; write its metrics JSON and layer statistics CSVs; return the metrics.
    ``trial``: the name of the sweep's trial this run is (recorded, and its TensorBoard HParams session).
    Not ``final`` (a successive-halving rung before the last, which a later job extends): the test split is not
    evaluated (its test numbers are None) and the last step draws no pictures beyond their cadence.

    Checkpoints go to ``checkpoint_dir`` every ``checkpoint_every`` steps and at the end; a later
    call with the same settings resumes from the newest one (and may train further if ``steps``
    grew). TensorBoard logs go to ``log_dir``. Layer statistics of the probe batch, at step 0 and
    every ``stats_every`` steps, go to ``stats_path`` and their histograms to ``histograms_path``. With
    ``predictions_path``, every test image's predicted class and class probabilities of the final evaluation
    (``actviz.evaluation.write_predictions``; no image for a diverged run), written before the metrics.
    """
    check_activation(activation)
    settings.check()
    clock, setup_began = PhaseClock(), time.perf_counter()
    run = TrainingRun.build(h5_path, activation, settings, threads, log)
    run.trial = trial
    store = RunStore(checkpoint_dir, log_dir, run, log, clock)
    observer = Observer(run, store.progress, clock, log_dir)
    observer.weights = store.saved_weights()  # what the next update ratios are measured from
    clock.seconds["setup"] = time.perf_counter() - setup_began
    with observer:
        if store.start_step == 0:
            with clock("initial_state"):
                observer.initial_state()
                observer.flush(to_disk=True)  # records and TensorBoard complete up to the checkpoint
                store.save(0, [], observer.weights)  # even a run that diverges at once has weights to extract
        started = time.perf_counter()
        diverged_at, window = train_steps(run, store, observer, clock, progress, log, final)
        final_step, evaluation = finish(run, store, observer, diverged_at, window, final)
    elapsed = time.perf_counter() - started
    write_layer_tables(run, store.progress.records, stats_path, histograms_path)
    metrics = final_metrics(run, store, final_step, diverged_at, evaluation, elapsed, clock)
    if predictions_path and final:
        write_predictions(predictions_path, evaluation, run.info["num_classes"], run=run.name, split="test",
                          step=final_step, dataset=run.info["name"])
    if diverged_at is None and final:
        observer.final_scalars(metrics)
    write_json(metrics_path, metrics)
    return metrics


def train_steps(run, store, observer, clock, progress=True, log=print, final=True):
    """From the step resumed from to ``steps``: each step's batch, then the work due on it. Returns the step
    where the loss first became NaN or infinite (None: it never did; training stops there) and the loss window."""
    settings = run.settings
    batches, window = run.batches(store.start_step), LossWindow(clock, store.progress.records["window"])
    bar = _progress_bar(run, store.start_step, progress)
    diverged_at = None
    for step in range(store.start_step + 1, settings.steps + 1):
        with clock("train_steps"):
            window.append(run.train_step(*next(batches)))
        due = DueWork.at(step, settings, final)
        if due.any():
            diverged_at = window.first_nonfinite(step)  # before anything is recorded
            if diverged_at is not None:
                log(f"{run.name}: training diverged at step {diverged_at} (loss {window.losses[diverged_at - step - 1]}"
                    f"); stopped there, keeping the checkpoint at step {store.latest_step()}. Try a smaller "
                    f"learning_rate.")
                break
            do_due_work(step, due, store, observer, window, bar)
        bar.update(1)
    bar.close()
    return diverged_at, window


def do_due_work(step, due, store, observer, window, bar):
    """A step's periodic work, in the order that overlaps best: the layers first (their figures are drawn on the
    summary worker while evaluation runs), then the evaluation, then the checkpoint with the records up to it."""
    if due.scalars:
        bar.set_postfix(observer.training_scalars(step, *window.take()), refresh=False)
    if due.any_layers():
        observer.observe_layers(step, **due.layers())
    if due.evaluation:
        observer.evaluate(step)
    if due.checkpoint:
        observer.flush(to_disk=True)  # records and TensorBoard complete up to the checkpoint
        store.save(step, window.pending(step), observer.weights)
    observer.log_ready()


def finish(run, store, observer, diverged_at, window, final=True):
    """After the loop: the final evaluation, every pending summary, the last checkpoint (never of a
    diverged run). Returns the final step and evaluation (None for a diverged run): a diverged run's final step is
    the one where its loss first became NaN or infinite, not the later one where that was seen."""
    trained_to = int(run.optimizer.iterations)
    final_step = trained_to if diverged_at is None else diverged_at
    evaluation = observer.final_evaluation(final_step, test=final) if diverged_at is None else None
    observer.flush()
    store.save(final_step if diverged_at is None and store.latest_step() != final_step else None,
               window.pending(trained_to), observer.weights)
    observer.writer.flush()
    return final_step, evaluation



@dataclass(frozen=True)
class DueWork:
    """Which periodic work falls on a step: each at its cadence, and all of it at the last step (but the pictures
    when the run is not ``final``: a later job extends it and draws them at its own end)."""

    scalars: bool
    evaluation: bool
    checkpoint: bool
    stats: bool
    histograms: bool
    images: bool

    @classmethod
    def at(cls, step, settings, final=True):
        def due(every, at_the_end=True):
            return step % every == 0 or (at_the_end and step == settings.steps)

        return cls(due(settings.log_every), due(settings.eval_every), due(settings.checkpoint_every),
                   due(settings.stats_every), due(settings.histogram_every), due(settings.image_every, final))

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

