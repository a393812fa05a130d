"""The summary queue: work done off the training thread, logged in order, nothing lost."""

import numpy as np

from actviz.summaries import SummaryQueue


def test_summary_queue_bounds_its_backlog_and_logs_every_result_in_order():
    import threading
    import time

    logged, workers = [], set()

    def slow_work(values):
        time.sleep(0.02)
        workers.add(threading.current_thread().name)
        return int(values[0])

    with SummaryQueue(max_pending=2) as queue:
        for step in range(5):
            for layer in ("conv1", "dense1"):
                queue.submit(step, slow_work, lambda result, layer=layer: logged.append((result, layer)),
                             np.full(3, step))
                assert len({s for s, _, _ in queue.pending}) <= 2
            queue.log_ready()
    assert logged == [(step, layer) for step in range(5) for layer in ("conv1", "dense1")]  # none lost
    assert workers and threading.current_thread().name not in workers  # computed off this thread


def test_summary_queue_works_on_a_copy_of_the_arrays():

    values, results = np.zeros(4), []
    with SummaryQueue() as queue:
        queue.submit(0, lambda v: v.sum(), results.append, values)
        values += 1  # the training thread reuses its buffers
    assert results == [0.0]

