"""What training and extraction share: a run's record (run.json) and checkpoints, TensorFlow's
threads, the float32 outputs of every recorded layer, and the package versions a run ran under."""

import json
import os
import platform
import shutil
from importlib import metadata
from pathlib import Path

from actviz.atomic import write_json
from actviz.errors import UserError

RUN_FILE = "run.json"  # in the checkpoint folder: the identity (data, activation, settings) it was trained under
PACKAGES = ("tensorflow", "keras", "tensorboard", "tensorflow-plot", "numpy", "h5py", "matplotlib")


RUN_PARTS = ("dataset", "architecture", "recipe", "activation", "seed")  # what names a run


def run_name(dataset, architecture, recipe, activation, seed, order_seed=None):
    """The run's name in logs, TensorBoard and metrics (the workflow's run path has the same parts): its last part
    seedN, or seedN-orderM for a batch order of its own (a crossed design's cell)."""
    order = "" if order_seed is None else f"-order{order_seed}"
    return f"{dataset}/{architecture}/{recipe}/{activation}/seed{seed}{order}"


def run_ident(run):
    """A run's naming parts from its run.json (runs from before architectures were a choice: the CNN), with its
    batch order's seed when it has one of its own (``run_name``'s arguments)."""
    order = {"order_seed": run["order_seed"]} if run.get("order_seed") is not None else {}
    return {"architecture": "cnn", **{k: run[k] for k in RUN_PARTS if k in run}, **order}


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


def read_run(checkpoint_dir):
    """The identity (dataset, activation, settings) a checkpoint folder was trained under."""
    run_file = Path(checkpoint_dir) / RUN_FILE
    if not run_file.exists():
        raise UserError(f"{checkpoint_dir}: no training run here ({RUN_FILE} missing); train first")
    return json.loads(run_file.read_text())


def latest_checkpoint(checkpoint_dir):
    """``(path prefix, step)`` of the newest checkpoint in ``checkpoint_dir`` (named ckpt-STEP), or (None, None)."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(str(checkpoint_dir))
    return (latest, int(latest.rsplit("-", 1)[1])) if latest else (None, None)


def start_run_dirs(checkpoint_dir, log_dir, identity, steps, log=print):
    """Keep what ``checkpoint_dir`` holds only if it was trained under ``identity``, else start both folders anew.

    A checkpoint from a longer run than ``steps`` is not resumed either: the run starts over.
    """
    checkpoint_dir, log_dir = Path(checkpoint_dir), Path(log_dir)
    if (checkpoint_dir / RUN_FILE).exists():
        previous = read_run(checkpoint_dir)
        _, latest = latest_checkpoint(checkpoint_dir)
        if previous == identity and (latest is None or latest <= steps):
            return
        if previous != identity:
            changed = sorted(k for k in set(previous) | set(identity) if previous.get(k) != identity.get(k))
            log(f"settings changed since the last checkpoint ({', '.join(changed)}): starting from step 0")
        else:
            log(f"the checkpoint is at step {latest}, past steps={steps}: starting from step 0")
    for stale in (checkpoint_dir, log_dir):
        if stale.exists():
            shutil.rmtree(stale)
    checkpoint_dir.mkdir(parents=True)
    write_json(checkpoint_dir / RUN_FILE, identity)


def restore_model(checkpoint_dir, info):
    """The model a run trained (its run.json) for data described by ``info`` (``formats.read_info``),
    with the newest checkpoint's weights: ``(model, run, checkpoint path, step)``."""
    import tensorflow as tf

    from actviz.activations import activation_parameter
    from actviz.model import build_model

    run = read_run(checkpoint_dir)
    if [*info["image_shape"]] != run.get("image_shape", info["image_shape"]) or \
            info["num_classes"] != run.get("num_classes", info["num_classes"]):
        raise UserError(f"{checkpoint_dir} was trained on {run['image_shape']} images of {run['num_classes']} "
                        f"classes; this dataset has {info['image_shape']} images of {info['num_classes']}")
    latest, step = latest_checkpoint(checkpoint_dir)
    if latest is None:
        raise UserError(f"{checkpoint_dir}: no checkpoint found; train first")
    # The input standardisation training used, recorded with its checkpoint.
    model = build_model(tuple(info["image_shape"]), info["num_classes"], run["activation"], run["recipe"],
                        run["dropout"], activation_parameter(run["activation"], run), run["input_mean"],
                        run["input_std"],
                        run.get("precision", "float32"), run.get("architecture", "cnn"), run.get("depth"),
                        run.get("width"))
    tf.train.Checkpoint(model=model).restore(latest).expect_partial().assert_existing_objects_matched()
    return model, run, latest, step


def float32_layer_outputs(layers_model):
    """A tf.function giving every output of ``layers_model`` in float32, whatever the layers compute in."""
    import tensorflow as tf

    return tf.function(lambda x: [tf.cast(o, tf.float32) for o in layers_model(x, training=False)],
                       reduce_retracing=True)


# The CPU features that change TensorFlow's kernels (and so the last digits of a run's numbers).
CPU_FEATURES = ("avx2", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")
# The threads numpy's BLAS may use (Snakemake sets them to a job's threads): they change the order of its sums, and
# so the last digits of the layer statistics.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def machine():
    """What computed a run: the processor (architecture, vendor, family, model, name) and its features that change
    TensorFlow's kernels. Runs are bit-identical only on the same kind (Linux: /proc/cpuinfo; elsewhere less)."""
    record = {"architecture": platform.machine(), "threads": {v: os.environ.get(v) for v in THREAD_VARIABLES}}
    try:
        lines = Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines()
    except OSError:
        return record
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    record.update({"vendor": fields.get("vendor_id"), "family": fields.get("cpu family"), "model": fields.get("model"),
                   "name": fields.get("model name"), "features": [f for f in CPU_FEATURES if f in flags]})
    return record


def package_versions(packages=PACKAGES):
    """The versions of Python and of ``packages`` (by default those that compute a run's numbers)."""
    versions = {"python": platform.python_version()}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions
