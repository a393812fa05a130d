"""Training one (dataset, architecture, recipe, activation, seed) run: checkpoints that resume, TensorBoard logs,
statistics of every layer over training, and final metrics. A package by role:

- ``loop``: ``train``, the loop, top to bottom (the work due on each step, the loss window, finishing);
- ``run``: ``TrainingRun``, the model, optimizer and data, and the compiled training step;
- ``probe``: ``Probe``, what is measured on the probe batch (layer outputs, gradients, signal, Jacobian);
- ``store``: ``RunStore``, checkpoints, exact resume and the records kept beside them;
- ``observer``: ``Observer``, evaluations, statistics, histograms and pictures to TensorBoard and the records;
- ``records``: metrics.json and the layer tables a run writes at the end;
- ``clock``: the seconds spent in each phase.
"""

from actviz.training.loop import train
from actviz.training.probe import jvp_squares
from actviz.training.run import TrainingRun, learning_rate_schedule

__all__ = ["TrainingRun", "jvp_squares", "learning_rate_schedule", "train"]
