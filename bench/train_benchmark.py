#!/usr/bin/env python3
"""Training throughput: a bare Keras loop against the project's trainer, and against the CPU's ceiling.

For the 28x28x1 and 32x32x3 model shapes (ReLU, snn recipe, batch 64, synthetic data held in
memory), prints in one process run: images/s of a bare tf.function training loop on the same
model and tf.data pipeline, images/s of actviz.training.train with every summary at the default
cadences, their ratio, the achieved GFLOP/s (an analytic count of the model's multiply-adds, x3
for forward + backward) against a measured fp32 4096x4096 matmul, and the process's peak memory.

    python bench/train_benchmark.py [--threads 2] [--steps 400]
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from actviz.errors import run_cli  # noqa: E402

SHAPES = ((28, 28, 1), (32, 32, 3))
BATCH = 64
CLASSES = 10


def model_flops(model):
    """Multiply-adds x 2 of one example's forward pass, counted from the conv and dense layers."""
    import keras

    flops = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, channels_out = layer.output.shape
            kernel_h, kernel_w, channels_in, _ = layer.kernel.shape
            flops += 2 * height * width * kernel_h * kernel_w * channels_in * channels_out
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return flops


def matmul_gflops(size=4096, repeats=5):
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    tf.matmul(a, b).numpy()  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        tf.matmul(a, b).numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def bare_loop(images, labels, steps):
    """Images/s of a plain tf.function loop on the project's model and input pipeline."""
    import keras
    import tensorflow as tf

    from actviz.model import build_model, input_statistics

    keras.utils.set_random_seed(0)
    mean, std = input_statistics(images)
    model = build_model(images.shape[1:], CLASSES, "relu", "snn", 0.05, 0.2, mean, std)
    optimizer = keras.optimizers.Adam(1e-3, global_clipnorm=20.0)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    batches = iter(tf.data.Dataset.from_tensor_slices((images, labels)).shuffle(len(images), seed=0)
                   .repeat().batch(BATCH, drop_remainder=True).prefetch(tf.data.AUTOTUNE))

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    for _ in range(20):
        step(*next(batches))
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(*next(batches))
    float(loss)
    return steps * BATCH / (time.perf_counter() - start), model_flops(model)


def project_trainer(images, labels, steps, threads, workdir):
    """Images/s of actviz.training.train with its default summary cadences."""
    from actviz.data import write_dataset_h5
    from actviz.training import TrainSettings, train

    h5 = Path(workdir) / f"bench{images.shape[1]}.h5"
    write_dataset_h5(h5, {"train": (images, labels), "test": (images[:2000], labels[:2000])},
                     {"name": "bench", "classes": [str(c) for c in range(CLASSES)], "num_classes": CLASSES,
                      "checksums": {}})
    run = Path(workdir) / f"run{images.shape[1]}"
    metrics = train(h5, "relu", TrainSettings(steps=steps), run / "ckpt", run / "logs", run / "metrics.json",
                    threads=threads, progress=False, log=lambda *_: None)
    return metrics["images_per_second"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="TensorFlow threads (default: all)")
    parser.add_argument("--steps", type=int, default=400, help="timed training steps per measurement")
    args = parser.parse_args(argv)
    from actviz.training import configure_threads

    configure_threads(args.threads)
    ceiling = matmul_gflops()
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for shape in SHAPES:
            images = rng.integers(0, 256, (4096, *shape), dtype=np.uint8)
            labels = rng.integers(0, CLASSES, 4096).astype(np.int64)
            bare, flops = bare_loop(images, labels, args.steps)
            trainer = project_trainer(images, labels, args.steps, args.threads, workdir)
            rows.append((shape, bare, trainer, flops))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"{args.threads} TensorFlow threads, batch {BATCH}, {args.steps} timed steps; "
          f"fp32 matmul ceiling {ceiling:.0f} GFLOP/s\n")
    print(f"{'input':<10}{'bare img/s':>12}{'trainer img/s':>15}{'ratio':>8}{'MFLOP/img':>11}"
          f"{'bare GFLOP/s':>14}{'of ceiling':>12}")
    for shape, bare, trainer, flops in rows:
        achieved = bare * 3 * flops / 1e9  # forward + backward ~ 3x the forward pass
        print(f"{'x'.join(map(str, shape)):<10}{bare:>12.0f}{trainer:>15.0f}{trainer / bare:>8.2f}"
              f"{flops / 1e6:>11.1f}{achieved:>14.1f}{achieved / ceiling:>12.0%}")
    print(f"\npeak memory of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    run_cli(main)
