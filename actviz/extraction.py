"""Every layer's activations on a fixed set of test images, from a run's final checkpoint."""

import sys

import h5py
import numpy as np
from tqdm import tqdm

from actviz.atomic import atomic_path, write_csv, write_json
from actviz.errors import UserError
from actviz.formats import read_info, split_batches
from actviz.runs import (
    RUN_PARTS,
    configure_threads,
    float32_layer_outputs,
    package_versions,
    read_run,
    restore_model,
    run_ident,
)
from actviz.stats import LayerStatistics

STATS_COLUMNS = ("dataset", "architecture", "recipe", "activation", "seed", "step", "layer", "units", "count", "mean",
                 "std", "min", "max", "zero_fraction", "dead_fraction", "negative_fraction", "saturated_fraction")


def extract(h5_path, checkpoint_dir, out_path, stats_path, stats_csv_path, settings, batch_size=250, threads=None,
            progress=True):
    """Write the activations of the first ``settings.probe_images`` test images to ``out_path`` (HDF5).

    One float32 dataset per layer, [N, ...layer shape], written batch by batch so memory stays
    flat. Per-layer statistics (mean, std, min, max, zero, negative, saturated and dead fractions)
    go to ``stats_path`` (JSON) and ``stats_csv_path``; the report draws the histograms from the
    activations, on ranges shared by every run. Returns the statistics dict.
    """
    settings.check()
    run = read_run(checkpoint_dir)
    info = read_info(h5_path)
    if run["checksums"] != info["checksums"]:
        raise UserError(f"{checkpoint_dir} was trained on other data than {h5_path}")
    if info["test_size"] < settings.probe_images:
        raise UserError(f"{h5_path}: the test split has {info['test_size']} images, fewer than "
                        f"probe_images={settings.probe_images}")
    if threads:
        configure_threads(threads)
    from actviz.activations import ACTIVATIONS
    from actviz.model import layer_outputs_model, recorded_layer_names

    model, run, latest, step = restore_model(checkpoint_dir, info)
    layers_model, layer_names = layer_outputs_model(model), recorded_layer_names(model)

    saturation = ACTIVATIONS[run["activation"]].saturation
    stats = {name: LayerStatistics(saturation=saturation) for name in layer_names}  # in the model's order
    attrs = {**run_ident({**run, "dataset": info["name"]}), "step": step, "checkpoint": latest}
    correct = _write_activations(h5_path, out_path, float32_layer_outputs(layers_model), stats, attrs,
                                 settings.probe_images, tuple(info["image_shape"]), batch_size, progress)
    result = {
        **{k: attrs[k] for k in (*RUN_PARTS, "step")},
        "probe_images": settings.probe_images, "probe_accuracy": correct / settings.probe_images,
        "layers": {name: {"shape": [int(d) for d in output.shape[1:]], **stats[name].result()}
                   for name, output in zip(layer_names, layers_model.outputs)},
        "layer_order": layer_names,  # the model's, input to output (JSON objects come back sorted)
        "versions": package_versions(),
    }
    write_json(stats_path, result)
    write_csv(stats_csv_path, [
        {**{k: result[k] for k in (*RUN_PARTS, "step")}, "layer": name,
         "units": int(np.prod(layer["shape"])), **layer}
        for name, layer in result["layers"].items()], STATS_COLUMNS)
    return result


def _write_activations(h5_path, out_path, predict, stats, attrs, probe_images, image_shape, batch_size, progress):
    """Run ``predict`` over the first ``probe_images`` test images batch by batch; write every layer's
    float32 outputs and the probe images, labels and predictions to ``out_path``; feed ``stats``.
    Returns how many images were classified correctly."""
    correct = 0
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as f:
        group = f.create_group("activations")
        probe = f.create_group("probe")
        chunk = min(batch_size, probe_images)
        probe.create_dataset("images", shape=(probe_images, *image_shape), dtype="uint8",
                             chunks=(chunk, *image_shape), compression="gzip")
        probe.create_dataset("labels", shape=(probe_images,), dtype="int32")
        probe.create_dataset("predictions", shape=(probe_images,), dtype="int32")
        probe.attrs["selection"] = f"the first {probe_images} images of the test split"
        batches = split_batches(h5_path, "test", batch_size, limit=probe_images)
        for begin, (images, labels) in zip(range(0, probe_images, batch_size),
                                           tqdm(batches, total=-(-probe_images // batch_size), unit="batch",
                                                desc="extract", file=sys.stderr, disable=not progress,
                                                mininterval=1 if sys.stderr.isatty() else 15)):
            outputs = [o.numpy() for o in predict(images)]
            end = begin + len(images)
            for name, values in zip(stats, outputs):
                if name not in group:
                    group.create_dataset(name, shape=(probe_images, *values.shape[1:]), dtype="float32",
                                         chunks=(chunk, *values.shape[1:]),
                                         compression="gzip", compression_opts=1, shuffle=True)
                group[name][begin:end] = values
                stats[name].update(values)
            predictions = outputs[-1].argmax(axis=1)
            probe["images"][begin:end] = images
            probe["labels"][begin:end] = labels
            probe["predictions"][begin:end] = predictions
            correct += int((predictions == labels).sum())
        f.attrs.update(attrs)
    return correct
