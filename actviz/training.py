"""Training one (dataset, activation, seed) run: checkpoints that resume, TensorBoard logs, metrics."""

import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from actviz.activations import check_activation
from actviz.atomic import write_json
from actviz.data import read_info, read_split
from actviz.errors import UserError

LR_DECAY_STEPS = 10_000  # the old project halved the learning rate every 10k steps


@dataclass(frozen=True)
class TrainSettings:
    """Everything that defines a training run besides its data and activation."""

    steps: int = 2000
    batch_size: int = 64
    learning_rate: float = 1e-3
    lr_weight_decay: bool = False
    seed: int = 0
    log_every: int = 50  # scalars
    eval_every: int = 500  # test accuracy on the whole test split
    histogram_every: int = 250  # native TensorBoard histograms of every layer
    image_every: int = 1000  # tfplot histogram and grid images of every layer
    checkpoint_every: int = 500
    probe_size: int = 256  # test images whose activations the summaries show
    histogram_range: tuple = (-4.0, 8.0)
    histogram_bins: int = 60

    def check(self):
        for key in ("steps", "batch_size", "log_every", "eval_every", "histogram_every",
                    "image_every", "checkpoint_every", "probe_size", "histogram_bins"):
            if getattr(self, key) < 1:
                raise UserError(f"{key} must be at least 1, got {getattr(self, key)}")
        if not self.learning_rate > 0:
            raise UserError(f"learning_rate must be positive, got {self.learning_rate}")
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


def train(h5_path, activation, settings, checkpoint_dir, log_dir, metrics_path, threads=None,
          progress=True, log=print):
    """Train (or resume) one run and write its metrics JSON; return the metrics dict.

    Checkpoints go to ``checkpoint_dir`` every ``checkpoint_every`` steps and at the end; a later
    call with the same settings resumes from the newest one (and may train further if ``steps``
    grew). TensorBoard logs go to ``log_dir``.
    """
    check_activation(activation)
    settings.check()
    info = read_info(h5_path)
    identity = {"dataset": info["name"], "checksums": info["checksums"], "activation": activation,
                **settings.identity()}

    if threads:
        configure_threads(threads)
    import keras
    import tensorflow as tf

    from actviz.model import LAYER_NAMES, build_model, layer_outputs_model
    from actviz.plots import tensorboard_images

    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()

    train_images, train_labels = read_split(h5_path, "train")
    test_images, test_labels = read_split(h5_path, "test")
    if len(train_images) < settings.batch_size:
        raise UserError(f"{h5_path}: {len(train_images)} train images, fewer than one batch "
                        f"of {settings.batch_size}")
    probe = test_images[: settings.probe_size]

    model = build_model(train_images.shape[1:], info["num_classes"], activation)
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
        return loss, tf.reduce_mean(correct)

    @tf.function(reduce_retracing=True)
    def eval_step(images, labels):
        logits = model(images, training=False)
        loss = loss_fn(labels, logits) * tf.cast(tf.shape(labels)[0], tf.float32)
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels),
                                        tf.int32))
        return loss, correct

    def evaluate():
        """Loss and accuracy on the whole test split."""
        total_loss, total_correct = 0.0, 0
        for begin in range(0, len(test_images), 1000):
            loss, correct = eval_step(test_images[begin:begin + 1000], test_labels[begin:begin + 1000])
            total_loss += float(loss)
            total_correct += int(correct)
        return total_loss / len(test_images), total_correct / len(test_images)

    writer = tf.summary.create_file_writer(str(log_dir))

    def write_layer_summaries(step, images_too):
        outputs = layers_model(probe, training=False)
        for name, values in zip(LAYER_NAMES, outputs):
            tf.summary.histogram(f"activations/{name}", values, step=step)
            if images_too:
                pictures = tensorboard_images(name, values.numpy(), settings.histogram_range,
                                              settings.histogram_bins)
                tf.summary.image(f"activation_histogram/{name}", pictures[:1], step=step)
                tf.summary.image(f"activation_grid/{name}", pictures[1:], step=step)

    history = []
    window = []  # (loss, accuracy) tensors since the last scalar summary; read in one go
    last_loss = last_accuracy = None
    started = time.perf_counter()
    with writer.as_default():
        if start_step == 0:
            write_layer_summaries(0, images_too=True)  # the state at initialisation
        from tqdm import tqdm

        bar = tqdm(total=settings.steps, initial=min(start_step, settings.steps), unit="step",
                   desc=f"{info['name']}/{activation}/seed{settings.seed}", file=sys.stderr,
                   disable=not progress, mininterval=1 if sys.stderr.isatty() else 15)
        batches = iter(dataset)
        for step in range(start_step + 1, settings.steps + 1):
            images, labels = next(batches)
            window.append(train_step(images, labels))
            if step % settings.log_every == 0 or step == settings.steps:
                losses, accuracies = np.array(window, dtype=np.float64).T
                if not np.isfinite(losses).all():
                    first = int(np.argmin(np.isfinite(losses)))
                    raise UserError(f"training diverged at step {step - len(losses) + 1 + first} "
                                    f"(loss {losses[first]}); try a smaller learning_rate")
                last_loss, last_accuracy = float(losses.mean()), float(accuracies.mean())
                tf.summary.scalar("loss/train", last_loss, step=step)
                tf.summary.scalar("accuracy/train", last_accuracy, step=step)
                tf.summary.scalar("learning_rate", float(optimizer.learning_rate), step=step)
                window.clear()
                bar.set_postfix(loss=f"{last_loss:.3f}", acc=f"{last_accuracy:.3f}", refresh=False)
            if step % settings.eval_every == 0 or step == settings.steps:
                test_loss, test_accuracy = evaluate()
                tf.summary.scalar("loss/test", test_loss, step=step)
                tf.summary.scalar("accuracy/test", test_accuracy, step=step)
                history.append({"step": step, "test_loss": test_loss, "test_accuracy": test_accuracy})
            if step % settings.histogram_every == 0 or step == settings.steps:
                write_layer_summaries(step, images_too=step % settings.image_every == 0
                                      or step == settings.steps)
            if step % settings.checkpoint_every == 0 or step == settings.steps:
                manager.save(checkpoint_number=step)
            bar.update(1)
        bar.close()
    writer.flush()
    elapsed = time.perf_counter() - started
    final_step = int(optimizer.iterations)
    if _latest_step(checkpoint_dir) != final_step:
        manager.save(checkpoint_number=final_step)
    if not history or history[-1]["step"] != final_step:
        test_loss, test_accuracy = evaluate()
        history.append({"step": final_step, "test_loss": test_loss, "test_accuracy": test_accuracy})
    trained = final_step - start_step

    metrics = {
        "dataset": info["name"],
        "activation": activation,
        "seed": settings.seed,
        "settings": settings.identity() | {"steps": settings.steps},
        "final_step": final_step,
        "resumed_from_step": start_step,
        "train_loss": last_loss if trained else None,  # mean over the last log_every steps
        "train_accuracy": last_accuracy if trained else None,
        "test_loss": history[-1]["test_loss"],
        "test_accuracy": history[-1]["test_accuracy"],
        "test_size": len(test_images),
        "history": history,
        "checkpoint": manager.latest_checkpoint,
        "train_seconds": elapsed,
        "images_per_second": trained * settings.batch_size / elapsed if trained else None,
    }
    write_json(metrics_path, metrics)
    return metrics
