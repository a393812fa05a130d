"""Training one (dataset, recipe, activation, seed) run: checkpoints that resume, TensorBoard logs,
statistics of every layer over training, and final metrics."""

import functools
import json
import os
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from actviz.activations import ACTIVATIONS, check_activation
from actviz.atomic import write_csv, write_json
from actviz.data import read_info, read_split
from actviz.errors import UserError
from actviz.recipes import check_precision, check_recipe
from actviz.stats import PERCENTILES, layer_statistics

LR_DECAY_STEPS = 10_000  # the old project halved the learning rate every 10k steps
STAT_COLUMNS = ("mean", "std", *(f"p{q}" for q in PERCENTILES), "zero_fraction", "dead_fraction",
                "negative_fraction", "saturated_fraction")


@dataclass(frozen=True)
class TrainSettings:
    """Everything that defines a training run besides its data and activation."""

    steps: int = 800
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_weight_decay: bool = False
    seed: int = 0
    recipe: str = "snn"
    dropout: float = 0.05  # the snn recipe's dropout rate (AlphaDropout for SELU)
    lrelu_slope: float = 0.2
    log_every: int = 50  # scalars
    eval_every: int = 400  # test accuracy on the whole test split
    stats_every: int = 200  # layer statistics on the probe batch (CSV and TensorBoard scalars)
    histogram_every: int = 200  # native TensorBoard histograms of every layer
    image_every: int = 800  # tfplot histogram and grid images of every layer
    checkpoint_every: int = 400
    probe_size: int = 128  # test images whose activations the summaries show
    histogram_range: tuple = (-4.0, 8.0)
    histogram_bins: int = 60
    precision: str = "float32"  # or "bfloat16": layers compute in bfloat16, the logits and statistics in float32

    def check(self):
        check_recipe(self.recipe)
        for key in ("steps", "batch_size", "log_every", "eval_every", "stats_every", "histogram_every",
                    "image_every", "checkpoint_every", "probe_size", "histogram_bins"):
            if getattr(self, key) < 1:
                raise UserError(f"{key} must be at least 1, got {getattr(self, key)}")
        if not self.learning_rate > 0:
            raise UserError(f"learning_rate must be positive, got {self.learning_rate}")
        check_precision(self.precision)
        if not 0 <= self.dropout < 1:
            raise UserError(f"dropout must be in [0, 1), got {self.dropout}")
        low, high = self.histogram_range
        if not low < high:
            raise UserError(f"histogram_range must be [low, high] with low < high, got {low}, {high}")

    def identity(self):
        """The settings a checkpoint can be resumed under: all but the length of the run."""
        ident = asdict(self)
        del ident["steps"]
        ident["histogram_range"] = list(ident["histogram_range"])
        return ident


def learning_rate_schedule(settings):
    """The learning rate, halved every 10,000 steps (staircase) when ``lr_weight_decay`` is set."""
    if not settings.lr_weight_decay:
        return settings.learning_rate
    import keras

    return keras.optimizers.schedules.ExponentialDecay(settings.learning_rate, LR_DECAY_STEPS, 0.5,
                                                       staircase=True)


def configure_threads(threads):
    """Make TensorFlow use ``threads`` CPU threads.

    Only possible before TensorFlow's first op in this process (the scripts call it first thing);
    returns False, changing nothing, when it is too late.
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        return False
    return True


def _cpu_has_bf16():
    """Whether this CPU computes bfloat16 natively (Linux: the flags in /proc/cpuinfo)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # unknown: no warning
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _latest_step(checkpoint_dir):
    """The step of the newest checkpoint in ``checkpoint_dir`` (named ckpt-STEP), or None."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(checkpoint_dir))
    return int(latest.rsplit("-", 1)[1]) if latest else None


def _prepare_run_dirs(checkpoint_dir, log_dir, identity, steps, log):
    """Keep a checkpoint to resume only if it was made under the same settings and data.

    A checkpoint from a longer run than ``steps`` is not resumed either: the run starts over.
    """
    checkpoint_dir, log_dir = Path(checkpoint_dir), Path(log_dir)
    run_file = checkpoint_dir / "run.json"
    if run_file.exists():
        previous = json.loads(run_file.read_text())
        latest = _latest_step(checkpoint_dir)
        if previous == identity and (latest is None or latest <= steps):
            return
        if previous != identity:
            changed = sorted(k for k in set(previous) | set(identity)
                             if previous.get(k) != identity.get(k))
            log(f"settings changed since the last checkpoint ({', '.join(changed)}): "
                f"starting from step 0")
        else:
            log(f"the checkpoint is at step {latest}, past steps={steps}: starting from step 0")
    for stale in (checkpoint_dir, log_dir):
        if stale.exists():
            shutil.rmtree(stale)
    checkpoint_dir.mkdir(parents=True)
    write_json(run_file, identity)


class SummaryQueue:
    """Computes summaries on a worker thread; the training thread logs each once it is ready.

    ``submit(step, work, log, *arrays)`` runs ``work(*copies of arrays)`` on the worker, then
    ``log(result)`` on the training thread (inside the summary writer's context), in submission
    order. Layer statistics (percentiles and histograms of ~800k values) and tfplot figures
    (~20 ms each, 12 per image step) done inline would stall training; on the worker they run
    while the training thread waits on TensorFlow. At most ``max_pending`` steps wait at once (then
    ``submit`` logs the oldest, waiting for it); ``flush`` and ``close`` log everything, so nothing
    is lost.
    """

    def __init__(self, max_pending=2):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="summaries")
        self.pending = []  # (step, log, future), oldest first
        self.max_pending = max_pending

    def submit(self, step, work, log, *arrays):
        while len({s for s, _, _ in self.pending}) >= self.max_pending and step not in {
                s for s, _, _ in self.pending}:
            self._log(self.pending.pop(0))
        copies = [np.array(a) for a in arrays]
        self.pending.append((step, log, self.pool.submit(work, *copies)))

    def log_ready(self):
        """Log the results already computed."""
        while self.pending and self.pending[0][2].done():
            self._log(self.pending.pop(0))

    def flush(self):
        """Log every pending result, waiting for each."""
        while self.pending:
            self._log(self.pending.pop(0))

    def close(self):
        """Log every pending result and stop the worker."""
        self.flush()
        self.pool.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, error_type, error, traceback):
        if error_type is None:
            self.close()  # inside the summary writer's context when nested in it
        else:
            self.pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _log(item):
        _, log, future = item
        log(future.result())


def histogram_buckets(summary):
    """``layer_statistics``' histogram as TensorBoard histogram buckets [k, 3] (left, right, count).

    The fixed-range bins as they are, and the values outside the range in one bucket on either
    side (from the minimum, to the maximum): the same counts the report shows, without a second
    pass over the values as ``tf.summary.histogram`` would make.
    """
    histogram = summary["histogram"]
    edges, counts = histogram["edges"], histogram["counts"]
    buckets = [(low, high, count) for low, high, count in zip(edges[:-1], edges[1:], counts)]
    if histogram["below"]:
        buckets.insert(0, (summary["min"], edges[0], histogram["below"]))
    if histogram["above"]:
        buckets.append((edges[-1], summary["max"], histogram["above"]))
    return np.array(buckets, dtype=np.float64)


def layer_summary(layer, summary, stats, histograms, pictures):
    """Every TensorBoard value of one layer at one step, as one serialized ``Summary`` proto.

    The statistics as scalars (``stats``), the histogram (``histograms``) and the two tfplot
    pictures (RGBA arrays, or None) as PNG images, in the formats of ``tf.summary.scalar``,
    ``histogram`` and ``image``. Built on the summary worker, it is written by the training thread
    with one ``write_raw_pb`` call, where the ``tf.summary`` calls one by one cost ~1 ms each.
    """
    import tensorflow as tf
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.histogram import metadata as histogram_metadata
    from tensorboard.plugins.image import metadata as image_metadata
    from tensorboard.plugins.scalar import metadata as scalar_metadata
    from tensorboard.util.tensor_util import make_tensor_proto

    values = []
    if stats:
        scalar = scalar_metadata.create_summary_metadata(display_name=None, description=None)
        values += [Summary.Value(tag=f"stats/{layer}/{key}", metadata=scalar,
                                 tensor=make_tensor_proto(np.float32(summary[key])))
                   for key in STAT_COLUMNS if summary[key] is not None]
    if histograms:
        values.append(Summary.Value(tag=f"activations/{layer}", tensor=make_tensor_proto(histogram_buckets(summary)),
                                    metadata=histogram_metadata.create_summary_metadata(None, None)))
    if pictures is not None:
        image = image_metadata.create_summary_metadata(display_name=None, description=None)
        for kind, picture in zip(("histogram", "grid"), pictures):
            height, width = picture.shape[:2]
            png = tf.io.encode_png(picture).numpy()
            values.append(Summary.Value(tag=f"activation_{kind}/{layer}", metadata=image,
                                        tensor=make_tensor_proto(np.array([str(width).encode(), str(height).encode(),
                                                                           png], dtype=object))))
    return Summary(value=values).SerializeToString()


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


class Progress:
    """What a run has recorded so far (evaluations, training curve, layer statistics, histograms).

    Saved beside each checkpoint, so that a resumed run keeps what came before the checkpoint.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.records = {"evaluations": [], "training": [], "layer_stats": [], "histograms": []}

    def load(self, up_to_step):
        if self.path.exists():
            saved = json.loads(self.path.read_text())
            self.records = {k: [r for r in v if r["step"] <= up_to_step] for k, v in saved.items()}
        return self

    def add(self, kind, **record):
        self.records[kind].append(record)

    def save(self):
        write_json(self.path, self.records)


def run_name(dataset, recipe, activation, seed):
    return f"{dataset}/{recipe}/{activation}/seed{seed}"


def train(h5_path, activation, settings, checkpoint_dir, log_dir, metrics_path, stats_path=None,
          histograms_path=None, threads=None, progress=True, log=print):
    """Train (or resume) one run; write its metrics JSON and layer statistics CSVs; return the metrics.

    Checkpoints go to ``checkpoint_dir`` every ``checkpoint_every`` steps and at the end; a later
    call with the same settings resumes from the newest one (and may train further if ``steps``
    grew). TensorBoard logs go to ``log_dir``. Layer statistics of the probe batch, at step 0 and
    every ``stats_every`` steps, go to ``stats_path`` (default: training_stats.csv beside the
    metrics) and their histograms to ``histograms_path`` (training_histograms.csv).
    """
    check_activation(activation)
    settings.check()
    clock = PhaseClock()
    setup_began = time.perf_counter()
    metrics_path = Path(metrics_path)
    stats_path = Path(stats_path or metrics_path.with_name("training_stats.csv"))
    histograms_path = Path(histograms_path or metrics_path.with_name("training_histograms.csv"))
    info = read_info(h5_path)
    identity = {"dataset": info["name"], "checksums": info["checksums"], "activation": activation,
                **settings.identity()}
    name = run_name(info["name"], settings.recipe, activation, settings.seed)

    if threads:
        configure_threads(threads)
    import keras
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hparams_api

    from actviz.model import LAYER_NAMES, build_model, input_statistics, layer_outputs_model

    devices = ", ".join(d.name.removeprefix("/physical_device:") for d in tf.config.list_physical_devices())
    log(f"{name}: TensorFlow {tf.__version__} on {devices}; CPU threads: "
        f"{tf.config.threading.get_intra_op_parallelism_threads() or 'all'} per op, "
        f"{tf.config.threading.get_inter_op_parallelism_threads() or 'all'} ops at once; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
        + (f"; SLURM job {os.environ['SLURM_JOB_ID']}" if os.environ.get("SLURM_JOB_ID") else ""))
    if settings.precision == "bfloat16" and not tf.config.list_physical_devices("GPU") and not _cpu_has_bf16():
        log(f"{name}: warning: this CPU has neither AVX512_BF16 nor AMX; bfloat16 is emulated and slower "
            f"than float32 here")
    from actviz.plots import TensorBoardPictures

    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()

    train_images, train_labels = read_split(h5_path, "train")
    test_images, test_labels = read_split(h5_path, "test")
    if len(train_images) < settings.batch_size:
        raise UserError(f"{h5_path}: {len(train_images)} train images, fewer than one batch "
                        f"of {settings.batch_size}")
    probe = test_images[: settings.probe_size]
    saturation = ACTIVATIONS[activation].saturation

    mean, std = input_statistics(train_images)
    # Recorded with the checkpoint, so that extraction standardises exactly as training did.
    identity.update(input_mean=[float(m) for m in mean], input_std=[float(s) for s in std])
    model = build_model(train_images.shape[1:], info["num_classes"], activation, settings.recipe,
                        settings.dropout, settings.lrelu_slope, mean, std, settings.precision)
    layers_model = layer_outputs_model(model)
    # Clipping the global gradient norm at 20 as the old project did.
    optimizer = keras.optimizers.Adam(learning_rate_schedule(settings), global_clipnorm=20.0)
    optimizer.build(model.trainable_variables)

    _prepare_run_dirs(checkpoint_dir, log_dir, identity, settings.steps, log)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir), max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        log(f"resumed from {manager.latest_checkpoint} at step {int(optimizer.iterations)}")
    start_step = int(optimizer.iterations)
    record = Progress(Path(checkpoint_dir) / "progress.json").load(up_to_step=start_step)

    dataset = (tf.data.Dataset.from_tensor_slices((train_images, train_labels))
               .shuffle(len(train_images), seed=settings.seed + start_step,
                        reshuffle_each_iteration=True)
               .repeat()
               .batch(settings.batch_size, drop_remainder=True)
               .prefetch(tf.data.AUTOTUNE))
    if threads:
        options = tf.data.Options()
        options.threading.private_threadpool_size = threads
        dataset = dataset.with_options(options)

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function(reduce_retracing=True)
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            loss = loss_fn(labels, logits)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        correct = tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels), tf.float32)
        return tf.stack([loss, tf.reduce_mean(correct)])

    @tf.function(reduce_retracing=True)
    def eval_step(images, labels):
        logits = model(images, training=False)
        loss = loss_fn(labels, logits) * tf.cast(tf.shape(labels)[0], tf.float32)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels),
                                        tf.int32))
        return loss, correct

    # Statistics in float32 whatever the precision of the layers.
    probe_outputs = tf.function(lambda x: [tf.cast(o, tf.float32) for o in layers_model(x, training=False)],
                                reduce_retracing=True)
    # Traced now, so that the first step of the loop is timed like every other.
    train_step.get_concrete_function(tf.TensorSpec((settings.batch_size, *train_images.shape[1:]), tf.uint8),
                                     tf.TensorSpec((settings.batch_size,), tf.int32))

    def evaluate(step):
        """Loss and accuracy on the whole test split, logged and recorded."""
        with clock("evaluation"):
            total_loss, total_correct = 0.0, 0
            for begin in range(0, len(test_images), 1000):
                loss, correct = eval_step(test_images[begin:begin + 1000], test_labels[begin:begin + 1000])
                total_loss += float(loss)
                total_correct += int(correct)
            test_loss, test_accuracy = total_loss / len(test_images), total_correct / len(test_images)
            tf.summary.scalar("loss/test", test_loss, step=step)
            tf.summary.scalar("accuracy/test", test_accuracy, step=step)
            record.add("evaluations", step=step, test_loss=test_loss, test_accuracy=test_accuracy)

    pictures = TensorBoardPictures()

    def summarise(layer, stats, histograms, images, values):
        """(On the summary worker.) A layer's statistics and histogram, its TensorBoard values, its pictures."""
        summary = layer_statistics(values, settings.histogram_range, settings.histogram_bins, saturation,
                                   percentiles=stats)
        histogram = summary["histogram"]
        drawn = pictures(layer, histogram["counts"], histogram["edges"], values[0]) if images else None
        return summary, layer_summary(layer, summary, stats, histograms, drawn)

    def log_layer(step, layer, stats, result):
        summary, proto = result
        if stats:
            record.add("layer_stats", step=step, layer=layer, **{key: summary[key] for key in STAT_COLUMNS})
            record.add("histograms", step=step, layer=layer, counts=summary["histogram"]["counts"])
        tf.summary.experimental.write_raw_pb(proto, step=step)

    def observe_layers(step, stats, histograms, images):
        """Layer statistics, histograms and tfplot images of the probe batch, as due."""
        with clock("probe"):
            outputs = [o.numpy() for o in probe_outputs(probe)]
        with clock("summaries"):
            for layer, values in zip(LAYER_NAMES, outputs):
                summaries.submit(step, functools.partial(summarise, layer, stats, histograms, images),
                                 functools.partial(log_layer, step, layer, stats), values)

    def due(step, every):
        return step % every == 0 or step == settings.steps

    summaries = SummaryQueue()
    writer = tf.summary.create_file_writer(str(log_dir))
    window = []  # [loss, accuracy] tensors since the last scalar summary; read in one go
    clock.seconds["setup"] = time.perf_counter() - setup_began
    with writer.as_default(), summaries:
        if start_step == 0:
            with clock("initial_state"):
                hparams_api.hparams({"dataset": info["name"], "recipe": settings.recipe, "activation": activation,
                                     "seed": settings.seed, "learning_rate": settings.learning_rate,
                                     "batch_size": settings.batch_size, "dropout": settings.dropout,
                                     "lrelu_slope": settings.lrelu_slope,
                                     "lr_weight_decay": settings.lr_weight_decay,
                                     "precision": settings.precision}, trial_id=name)
                observe_layers(0, stats=True, histograms=True, images=True)  # the state at initialisation
                evaluate(0)
                # A first checkpoint, so that even a run that diverges at once has finite weights to extract.
                manager.save(checkpoint_number=0)
        from tqdm import tqdm

        bar = tqdm(total=settings.steps, initial=min(start_step, settings.steps), unit="step", desc=name,
                   file=sys.stderr, disable=not progress, mininterval=1 if sys.stderr.isatty() else 15)
        batches = iter(dataset)
        started = time.perf_counter()
        diverged_at = None
        for step in range(start_step + 1, settings.steps + 1):
            with clock("train_steps"):
                images, labels = next(batches)
                window.append(train_step(images, labels))
            log_due, eval_due, checkpoint_due = (due(step, every) for every in (
                settings.log_every, settings.eval_every, settings.checkpoint_every))
            observe = {"stats": due(step, settings.stats_every),
                       "histograms": due(step, settings.histogram_every),
                       "images": due(step, settings.image_every)}
            if not (log_due or eval_due or checkpoint_due or any(observe.values())):
                bar.update(1)
                continue
            # Before anything is recorded: the losses since the last record must be finite.
            with clock("scalars"):
                losses, accuracies = tf.stack(window).numpy().astype(np.float64).T
            if not np.isfinite(losses).all():
                first = int(np.argmin(np.isfinite(losses)))
                diverged_at = step - len(losses) + 1 + first
                log(f"{name}: training diverged at step {diverged_at} (loss {losses[first]}); stopped there, "
                    f"keeping the checkpoint at step {_latest_step(checkpoint_dir)}. Try a smaller learning_rate.")
                break
            if log_due:
                with clock("scalars"):
                    loss, accuracy = float(losses.mean()), float(accuracies.mean())
                    tf.summary.scalar("loss/train", loss, step=step)
                    tf.summary.scalar("accuracy/train", accuracy, step=step)
                    tf.summary.scalar("learning_rate", float(optimizer.learning_rate), step=step)
                    record.add("training", step=step, train_loss=loss, train_accuracy=accuracy)
                    window.clear()
                bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.3f}", refresh=False)
            if any(observe.values()):  # first, so that the figures are drawn while evaluation runs
                observe_layers(step, **observe)
            if eval_due:
                evaluate(step)
            if checkpoint_due:
                with clock("summaries_wait"):
                    summaries.flush()  # the records saved beside the checkpoint are complete up to it
                with clock("checkpoints"):
                    manager.save(checkpoint_number=step)
                    record.save()
            with clock("summaries"):
                summaries.log_ready()
            bar.update(1)
        bar.close()
        final_step = int(optimizer.iterations)
        if diverged_at is None and (not record.records["evaluations"]
                                    or record.records["evaluations"][-1]["step"] != final_step):
            evaluate(final_step)
        with clock("summaries_wait"):
            summaries.close()
        with clock("checkpoints"):
            if diverged_at is None and _latest_step(checkpoint_dir) != final_step:
                manager.save(checkpoint_number=final_step)  # never the weights of a diverged run
            record.save()
        writer.flush()
    elapsed = time.perf_counter() - started
    trained = final_step - start_step

    records = record.records
    ident = {"dataset": info["name"], "recipe": settings.recipe, "activation": activation, "seed": settings.seed}
    write_csv(stats_path, [{**ident, "step": r["step"], "layer": r["layer"], **{k: r[k] for k in STAT_COLUMNS}}
                            for r in records["layer_stats"]], (*ident, "step", "layer", *STAT_COLUMNS))
    edges = np.linspace(*settings.histogram_range, settings.histogram_bins + 1)
    write_csv(histograms_path, [{**ident, "step": r["step"], "layer": r["layer"], "bin_low": float(edges[i]),
                                  "bin_high": float(edges[i + 1]), "count": count}
                                 for r in records["histograms"] for i, count in enumerate(r["counts"])],
               (*ident, "step", "layer", "bin_low", "bin_high", "count"))
    last_training = records["training"][-1] if records["training"] else {}
    final = records["evaluations"][-1] if diverged_at is None else {"test_loss": None, "test_accuracy": None}
    metrics = {
        "dataset": info["name"],
        "recipe": settings.recipe,
        "activation": activation,
        "seed": settings.seed,
        "run": name,
        "settings": settings.identity() | {"steps": settings.steps},
        "final_step": final_step,
        "diverged_at_step": diverged_at,  # None unless the loss became NaN or infinite
        "resumed_from_step": start_step,
        "train_loss": last_training.get("train_loss"),  # mean over the last log_every steps
        "train_accuracy": last_training.get("train_accuracy"),
        "test_loss": final["test_loss"],
        "test_accuracy": final["test_accuracy"],
        "test_size": len(test_images),
        "evaluations": records["evaluations"],
        "training": records["training"],
        "checkpoint": manager.latest_checkpoint,
        # The training loop's wall time, every summary included (setup and the step-0 state are not).
        "train_seconds": elapsed,
        "images_per_second": trained * settings.batch_size / elapsed if trained else None,
        "seconds": {phase: round(seconds, 3) for phase, seconds in clock.seconds.items()},
    }
    if diverged_at is None:
        with writer.as_default():
            # The final metrics under their own tags, for TensorBoard's HParams dashboard.
            tf.summary.scalar("final/test_accuracy", metrics["test_accuracy"], step=final_step)
            tf.summary.scalar("final/test_loss", metrics["test_loss"], step=final_step)
        writer.flush()
    write_json(metrics_path, metrics)
    return metrics
