#!/usr/bin/env python3
"""Throughput of training, extraction and the report, against a bare loop and the CPU's ceiling.

In one process run, for the 28x28x1 and 32x32x3 model shapes (ReLU, snn recipe, batch 64,
synthetic data as large as the default data: 10,000 train and 2,000 test images), prints: images/s
of a bare tf.function training loop on the same model and tf.data pipeline (the mean of a run
before and one after the trainer's); images/s of actviz.training.train with every summary on at the
default cadences (its training loop, summaries, evaluations and checkpoints included; the
one-off set-up and step-0 summaries are shown apart); their ratio; the GFLOP/s achieved (an
analytic count of the model's multiply-adds, x3 for forward + backward) against the best of
several fp32 4096x4096 matmuls; where the trainer's time went; and the peak memory. Then times
extraction (images/s and peak memory of a fresh process at 1,000 and 10,000 probe images) and
the rendering of a report of three runs; and what the gradient statistics and the moment map cost
per statistics step, and what the signal-propagation measurements cost (per statistics step and once a run).

With ``--threads N`` below the machine's cores the process is pinned to N of them (as a SLURM job of
N cpus is): the trainer's summary worker then shares the training thread's cores, as it does in a
one-core job. ``--repeats R`` measures the trainer R times between bare loops and prints the median
ratio (the machine's speed drifts by a few % from minute to minute).

    python bench/train_benchmark.py [--threads 2] [--steps 800] [--precision bfloat16] [--repeats 3]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from actviz.errors import run_cli

SHAPES = ((28, 28, 1), (32, 32, 3))
BATCH = 64
CLASSES = 10
EXTRACTION_SIZES = (1000, 10000)
REPORT_ACTIVATIONS = ("relu", "lrelu", "selu")


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
    """The best GFLOP/s of ``repeats`` fp32 ``size`` x ``size`` matmuls (the machine's ceiling)."""
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    tf.matmul(a, b).numpy()  # warm up
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def bare_loop(images, labels, steps, precision="float32"):
    """Images/s of a plain tf.function loop on the project's model and input pipeline."""
    import keras
    import tensorflow as tf

    from actviz.model import build_model, input_statistics
    from actviz.settings import TrainSettings

    keras.utils.set_random_seed(0)
    mean, std = input_statistics(images)
    model = build_model(images.shape[1:], CLASSES, "relu", "snn", 0.05, 0.2, mean, std, precision)
    defaults = TrainSettings()
    optimizer = keras.optimizers.Adam(defaults.learning_rate, global_clipnorm=defaults.clip_norm)
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


def synthetic_dataset(path, shape, rng, train=10000, test=2000):
    """Random images and labels, as many as the default data (the Fashion-MNIST sample) has."""
    from actviz.formats import write_dataset_h5

    def split(n):
        return rng.integers(0, 256, (n, *shape), dtype=np.uint8), rng.integers(0, CLASSES, n).astype(np.int64)

    write_dataset_h5(path, {"train": split(train), "test": split(test)},
                     {"name": f"bench{shape[0]}", "description": "random images, random labels",
                      "classes": [str(c) for c in range(CLASSES)],
                      "num_classes": CLASSES, "checksums": {}})
    return path


def project_trainer(h5, activation, settings, threads, workdir):
    """The metrics of actviz.training.train (images_per_second, seconds per phase)."""
    from actviz.training import train

    run = Path(workdir) / f"{Path(h5).stem}-{activation}"
    return train(h5, activation, settings, run / "ckpt", run / "logs", run / "metrics.json",
                 run / "training_stats.csv", run / "training_histograms.csv", threads=threads, progress=False,
                 log=lambda *_: None)


def gradient_cost(h5, settings, threads, repeats=20):
    """Milliseconds of the probe batch's forward pass alone, with the gradient statistics (forward and
    backward, on the training thread), and of the moment map (on the summary worker), mean of ``repeats``."""
    import numpy as np

    from actviz.moments import predict
    from actviz.training import TrainingRun

    run = TrainingRun.build(h5, "relu", settings, threads, log=lambda *_: None)

    def timed_ms(function):
        function()  # traced before it is timed
        start = time.perf_counter()
        for _ in range(repeats):
            result = function()
        return (time.perf_counter() - start) / repeats * 1e3, result

    plain, _ = timed_ms(run.probe.layers)
    full, (inputs, outputs, *_) = timed_ms(run.probe.with_gradients)
    layers = [(kernel, bias, function, run.behind_batchnorm[name]) for (kernel, bias), function, name in
              zip(run.weights(), run.functions, run.layer_names)]
    measured = [(float(np.mean(o)), float(np.var(o))) for o in outputs]
    moments, _ = timed_ms(lambda: predict(layers, measured, (float(inputs.mean()), float(inputs.var()))))
    return plain, full, moments


def signal_cost(h5, settings, threads, repeats=20):
    """What the signal measurements add: milliseconds a statistics step on the training thread (the probe with
    the forward-mode Jacobian against without it) and on the summary worker (the correlations of every layer and
    the mean-field predictions), and seconds of the first call (with against without), each in a run of its own
    so that both first calls are cold."""
    from actviz import signal
    from actviz.stats import pair_signal
    from actviz.training import TrainingRun
    from actviz.training.probe import Probe

    def first_and_mean(function):
        start = time.perf_counter()
        result = function()
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        return first, (time.perf_counter() - start) / repeats * 1e3, result

    with_signal = TrainingRun.build(h5, "relu", settings, threads, log=lambda *_: None)
    first, full, (inputs, _, _, _, pre, jacobians) = first_and_mean(with_signal.probe.with_gradients)
    without = TrainingRun.build(h5, "relu", settings, threads, log=lambda *_: None)
    bare = Probe(without, without.loss_fn, signal=False)
    first_bare, plain, _ = first_and_mean(lambda: [t for t in bare.gradients(bare.images, bare.labels)])
    layers = with_signal.probe.signal_layers(with_signal.weights())

    def worker():
        measured = [(*pair_signal(z), jacobians[name]) for name, z in zip(with_signal.layer_names, pre)]
        return signal.predict(layers, measured, pair_signal(inputs))

    _, worker_ms, _ = first_and_mean(worker)
    return full - plain, worker_ms, first - first_bare


def peak_memory_mb():
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def extraction_child(args):
    """(Run in a fresh process.) Extract ``--probe-images`` images; print seconds and peak memory."""
    from actviz.extraction import extract
    from actviz.runs import configure_threads
    from actviz.settings import ExtractSettings

    configure_threads(args.threads)
    import tensorflow as tf  # imported before the clock, as in the extraction job

    tf.constant(0)
    rss_before = peak_memory_mb()
    out = Path(args.extraction_child)
    start = time.perf_counter()
    extract(args.h5, args.checkpoint_dir, out / "act.h5", out / "stats.json", out / "stats.csv",
            ExtractSettings(probe_images=args.probe_images), progress=False)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": peak_memory_mb(),
                      "peak_before_mb": rss_before}))


def measure_extraction(h5, checkpoint_dir, probe_images, threads, workdir):
    out = Path(workdir) / f"extract{probe_images}"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, __file__, "--extraction-child", str(out), "--h5", str(h5), "--checkpoint-dir",
         str(checkpoint_dir), "--probe-images", str(probe_images), "--threads", str(threads)],
        capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def time_report(h5, runs, workdir):
    """Seconds to extract (500 images) and render the report of ``runs`` ({activation: metrics})."""
    from dataclasses import fields

    from actviz.extraction import extract
    from actviz.report.render import ReportInputs, ReportOutputs, render_report
    from actviz.settings import ExtractSettings, ReportSettings

    paths = {key: [] for key in ("metrics", "stats", "activations", "training_stats")}
    for activation in runs:
        run = Path(workdir) / f"{Path(h5).stem}-{activation}"
        extract(h5, run / "ckpt", run / "act.h5", run / "stats.json", run / "stats.csv", ExtractSettings(),
                progress=False)
        for key, name in (("metrics", "metrics.json"), ("stats", "stats.json"), ("activations", "act.h5"),
                          ("training_stats", "training_stats.csv")):
            paths[key].append(run / name)
    out = Path(workdir) / "report"
    start = time.perf_counter()
    outputs = ReportOutputs(**{spec.name: out / spec.name.replace("_csv", ".csv").replace("_json", ".json")
                               for spec in fields(ReportOutputs)} | {"html": out / "report.html"})
    render_report(ReportInputs(datasets=[h5], **paths), ReportSettings(), {"activations": list(runs)}, outputs)
    return time.perf_counter() - start, Path(outputs.html).stat().st_size


def main(argv=None):
    from actviz.settings import TrainSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="TensorFlow threads (default: all)")
    parser.add_argument("--steps", type=int, default=TrainSettings().steps,
                        help="training steps per measurement (default: the default run's)")
    parser.add_argument("--repeats", type=int, default=1, help="trainer measurements between bare loops, per shape")
    parser.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                        help="precision of the layers, for the bare loop and the trainer alike")
    for hidden in ("--extraction-child", "--h5", "--checkpoint-dir"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--probe-images", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.extraction_child:
        return extraction_child(args)

    from actviz.formats import read_split
    from actviz.runs import configure_threads

    cores = sorted(os.sched_getaffinity(0))
    if args.threads < len(cores):  # a job of N cores: the summary worker gets no spare one
        os.sched_setaffinity(0, cores[:args.threads])
    configure_threads(args.threads)
    ceiling = matmul_gflops()
    print(f"{args.threads} TensorFlow threads, batch {BATCH}, {args.steps} steps, {args.precision}, summaries at "
          f"the default cadences; fp32 matmul ceiling {ceiling:.0f} GFLOP/s\n")
    print(f"{'input':<10}{'bare img/s':>11}{'trainer img/s':>14}{'ratio':>7}{'MFLOP/img':>10}"
          f"{'bare GFLOP/s':>13}{'trainer GFLOP/s':>16}{'of ceiling':>12}", flush=True)
    rng = np.random.default_rng(0)
    settings = TrainSettings(steps=args.steps, precision=args.precision)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for shape in SHAPES:
            h5 = synthetic_dataset(Path(workdir) / f"bench{shape[0]}.h5", shape, rng)
            # Bare loops before and after each trainer run: each ratio against the mean of its two neighbours,
            # since the machine's speed drifts by a few %; the median of the ratios.
            bares, ratios, all_metrics = [], [], []
            bares.append(bare_loop(*read_split(h5, "train"), args.steps, args.precision))
            flops = bares[0][1]
            for repeat in range(args.repeats):
                all_metrics.append(project_trainer(h5, "relu", settings, args.threads,
                                                   Path(workdir) / (f"repeat{repeat}" if repeat else "")))
                bares.append(bare_loop(*read_split(h5, "train"), args.steps, args.precision))
                ratios.append(all_metrics[-1]["images_per_second"] / ((bares[-2][0] + bares[-1][0]) / 2))
            order = sorted(range(len(ratios)), key=ratios.__getitem__)
            middle = order[len(order) // 2]
            metrics, ratio = all_metrics[middle], ratios[middle]
            bare = metrics["images_per_second"] / ratio
            rows.append((shape, metrics))
            trainer = metrics["images_per_second"]
            bare_gflops, trainer_gflops = (rate * 3 * flops / 1e9 for rate in (bare, trainer))
            if args.repeats > 1:
                print(f"  ratios of the {args.repeats} trainer runs: {', '.join(f'{r:.3f}' for r in ratios)}")
            print(f"{'x'.join(map(str, shape)):<10}{bare:>11.0f}{trainer:>14.0f}{trainer / bare:>7.3f}"
                  f"{flops / 1e6:>10.1f}{bare_gflops:>13.1f}{trainer_gflops:>16.1f}"
                  f"{f'{bare_gflops / ceiling:.0%} / {trainer_gflops / ceiling:.0%}':>12}", flush=True)
        print("\nwhere the trainer's time went, seconds (the loop: everything but set-up and the step-0 state):")
        phases = sorted(rows[0][1]["seconds"], key=lambda p: -rows[0][1]["seconds"][p])
        print(f"{'input':<10}{'loop':>7}" + "".join(f"{p:>{max(len(p) + 2, 8)}}" for p in phases))
        for shape, metrics in rows:
            print(f"{'x'.join(map(str, shape)):<10}{metrics['train_seconds']:>7.2f}"
                  + "".join(f"{metrics['seconds'].get(p, 0):>{max(len(p) + 2, 8)}.2f}" for p in phases))
        print(f"peak memory of this process after training: {peak_memory_mb():.0f} MB", flush=True)
        print("\ngradient statistics and moment map, per statistics step (the default run has "
              f"{args.steps // settings.stats_every + 1} of them):")
        print(f"{'input':<10}{'probe ms':>9}{'+ gradients ms':>15}{'moment map ms':>14}{'share of the loop':>19}")
        for shape, metrics in rows:
            h5 = Path(workdir) / f"bench{shape[0]}.h5"
            plain, full, moments = gradient_cost(h5, settings, args.threads)
            share = (full - plain) * (args.steps // settings.stats_every + 1) / 1e3 / metrics["train_seconds"]
            print(f"{'x'.join(map(str, shape)):<10}{plain:>9.1f}{full:>15.1f}{moments:>14.1f}{share:>19.1%}",
                  flush=True)

        print("\nsignal propagation (q, corr, the Jacobian and their mean-field predictions), per statistics step: "
              "on the training thread (the forward-mode pass beside the gradients), on the summary worker "
              "(correlations, predictions), and once a run (the bigger first call: trace and graph set-up)")
        print(f"{'input':<10}{'forward ms':>11}{'worker ms':>10}{'first call s':>13}{'share of the loop':>19}")
        for shape, metrics in rows:
            h5 = Path(workdir) / f"bench{shape[0]}.h5"
            forward, worker, first = signal_cost(h5, settings, args.threads)
            calls = args.steps // settings.stats_every + 1
            share = ((forward + worker) * calls / 1e3 + first) / metrics["train_seconds"]
            print(f"{'x'.join(map(str, shape)):<10}{forward:>11.1f}{worker:>10.1f}{first:>13.2f}{share:>19.1%}",
                  flush=True)

        first_h5 = Path(workdir) / f"bench{SHAPES[0][0]}.h5"
        # Same image shape and (empty) checksums, so the checkpoint extracts from it: 10,000 test images.
        extraction_h5 = synthetic_dataset(Path(workdir) / "extraction.h5", SHAPES[0], rng, train=64,
                                          test=max(EXTRACTION_SIZES))
        checkpoint_dir = Path(workdir) / f"{first_h5.stem}-relu" / "ckpt"
        print(f"\nextraction ({'x'.join(map(str, SHAPES[0]))}, batches of 250, a fresh process each):")
        print(f"{'probe images':>13}{'seconds':>9}{'img/s':>8}{'peak MB':>9}{'at start MB':>13}", flush=True)
        peaks = []
        for size in EXTRACTION_SIZES:
            result = measure_extraction(extraction_h5, checkpoint_dir, size, args.threads, workdir)
            peaks.append(result["peak_mb"])
            print(f"{size:>13}{result['seconds']:>9.2f}{size / result['seconds']:>8.0f}{result['peak_mb']:>9.0f}"
                  f"{result['peak_before_mb']:>13.0f}", flush=True)
        print(f"peak memory growth from {EXTRACTION_SIZES[0]:,} to {EXTRACTION_SIZES[-1]:,} images: "
              f"{peaks[-1] - peaks[0]:+.0f} MB")

        short = TrainSettings(steps=100)
        runs = {"relu": rows[0][1]} | {a: project_trainer(first_h5, a, short, args.threads, workdir)
                                       for a in REPORT_ACTIVATIONS if a != "relu"}
        report_seconds, report_bytes = time_report(first_h5, runs, workdir)
        print(f"\nreport of {len(runs)} runs (500 probe images each): rendered in {report_seconds:.2f} s, "
              f"{report_bytes / 1e6:.1f} MB of HTML")


if __name__ == "__main__":
    run_cli(main)
