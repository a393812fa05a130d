"""Wall seconds a run spends in each phase (training steps, evaluation, summaries ...), for metrics.json."""

import time
from contextlib import contextmanager


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

