"""The report's work spread over processes: reading every run's activations and drawing the figures
are independent of one another, so ``Workers(n)`` runs them on ``n`` cores while the main process
goes on; with ``n == 1`` everything runs in order in the main process (the same results)."""

import os
from concurrent.futures import Future, ProcessPoolExecutor


def available_cores():
    """The cores this process may run on (a SLURM job's or taskset's share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Workers:
    """``submit(function, *args)`` returns a Future; ``map(function, items)`` a list of results, in
    order; ``resolve(value)`` replaces every Future inside dicts and lists with its result. Functions
    and arguments must pickle (module-level functions, numpy arrays, plain data)."""

    def __init__(self, processes=1):
        self.processes = max(1, int(processes))
        self.pool = None if self.processes == 1 else ProcessPoolExecutor(self.processes)

    def submit(self, function, *args):
        if self.pool is not None:
            return self.pool.submit(function, *args)
        future = Future()
        future.set_result(function(*args))
        return future

    def map(self, function, items):
        if self.pool is None:
            return [function(item) for item in items]
        return list(self.pool.map(function, items, chunksize=1))

    def resolve(self, value):
        if isinstance(value, Future):
            return value.result()
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def __enter__(self):
        return self

    def __exit__(self, *error):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=error[0] is not None)


SERIAL = Workers(1)  # everything in order in this process: holds no pool, so one instance serves every caller
