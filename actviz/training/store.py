"""A run's store: its checkpoints, the exact resume from the newest one, and the records kept beside them
(``Progress``: what the run has recorded so far; the losses not logged yet; the weights the next update ratios are
measured from)."""

import json
from pathlib import Path

import numpy as np

from actviz.atomic import atomic_path, write_json
from actviz.runs import latest_checkpoint, start_run_dirs
from actviz.training.clock import PhaseClock

# Beside each checkpoint: the kernels the next update ratios are measured from, one file per checkpoint kept.
RATIO_WEIGHTS = "ratio_weights-{step}.npz"


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
