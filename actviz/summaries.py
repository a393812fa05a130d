"""TensorBoard summaries built off the training thread: a bounded queue of work for one worker
thread, and each layer's whole record (statistics, histogram, pictures) as one ``Summary`` proto."""

import numpy as np

from actviz.stats import STAT_COLUMNS


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


GRADIENT_TAGS = {"grad_output_std": "output_std", "grad_kernel_norm": "kernel_norm", "update_ratio": "update_ratio"}


def layer_summary(layer, summary, stats, histograms, pictures, gradients=None, signal=None):
    """Every TensorBoard value of one layer at one step, as one serialized ``Summary`` proto.

    The statistics as scalars (``stats``), the gradient statistics (``gradients``, a dict of
    ``stats.GRADIENT_COLUMNS``, or None) as scalars ``grads/LAYER/...``, the signal measurements
    (``signal``, a dict of ``stats.SIGNAL_COLUMNS``, or None) as ``signal/LAYER/...``, the histogram
    (``histograms``) and the two tfplot pictures (RGBA arrays, or None) as PNG images, in the
    formats of ``tf.summary.scalar``, ``histogram`` and ``image``. Built on the summary worker, it is
    written by the training thread with one ``write_raw_pb`` call, where the ``tf.summary`` calls one
    by one cost ~1 ms each.
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
    if gradients:
        scalar = scalar_metadata.create_summary_metadata(display_name=None, description=None)
        values += [Summary.Value(tag=f"grads/{layer}/{GRADIENT_TAGS[key]}", metadata=scalar,
                                 tensor=make_tensor_proto(np.float32(value)))
                   for key, value in gradients.items() if value is not None]
    if signal:
        scalar = scalar_metadata.create_summary_metadata(display_name=None, description=None)
        values += [Summary.Value(tag=f"signal/{layer}/{key}", metadata=scalar,
                                 tensor=make_tensor_proto(np.float32(value)))
                   for key, value in signal.items() if value is not None]
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
