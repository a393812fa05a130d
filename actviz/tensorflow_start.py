"""TensorFlow's start without the lines it prints on every CPU machine.

TensorFlow 2.21 logs through Abseil before anything can initialise Abseil's logging, so neither
TF_CPP_MIN_LOG_LEVEL nor Abseil's flags hold these back (measured: levels 0, 1 and 2 print the same
lines), and it prints them twice (two libraries): Abseil's warning that it logs to stderr, the oneDNN
notice, the CPU-instructions notice, "Could not find cuda drivers", and an error line for the failed
cuInit that follows from having no driver. Later, the first training step of a Leaky ReLU network logs
grappler's remapper failing to fuse (E0000, harmless: the graph stays as it was). ``start_tensorflow`` imports
TensorFlow and finds its devices with the process's stderr passed, from then to the process's end, through a
filter process that drops exactly those lines and passes every other line at once (a line ends at a newline or,
for progress bars, a carriage return), so a job's log holds the job's own lines; the cuInit error is dropped only
after TensorFlow said it found no CUDA driver, so on a GPU machine any CUDA error shows. A separate process, not a
thread: if TensorFlow crashes the process, the filter still passes on everything it printed up to then. At a
normal exit the process waits for the filter, so that its log is whole when it ends.
"""

import atexit
import os
import re
import subprocess
import sys

_STAMP = r"[IWE]\d{4} [\d:.]+ +\d+ "  # Abseil's prefix: severity, date, time, thread
NOISE = tuple(re.compile(p) for p in (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    _STAMP + r"port\.cc:\d+\] oneDNN custom operations are on\.",
    _STAMP + r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized to use available CPU instructions",
    r"^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\.$",
    # grappler's remapper on a Leaky ReLU network's training step; any other remapper error stays
    _STAMP + r"meta_optimizer\.cc:\d+\] remapper failed: INVALID_ARGUMENT: Mutation::Apply error: fanout "
             r"'Identity_\d+' exist for missing node 'add_\d+'\.$",
))
NO_DRIVER = re.compile(_STAMP + r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine, GPU will not be "
                                r"used\.$")
CUINIT_FAILED = re.compile(_STAMP + r"cuda_platform\.cc:\d+\] failed call to cuInit: ")


class StartupFilter:
    """Decides line by line what of TensorFlow's start-up output to keep (``keep(line)``)."""

    def __init__(self):
        self.no_driver = False

    def keep(self, line):
        line = line.rstrip("\r\n")
        if NO_DRIVER.match(line):
            self.no_driver = True  # a CPU-only machine: the cuInit error that follows is expected
            return False
        if self.no_driver and CUINIT_FAILED.match(line):
            return False
        return not any(pattern.match(line) for pattern in NOISE)


def start_tensorflow():
    """Import TensorFlow and list its devices with its start-up noise filtered out of stderr (see the module
    docstring); returns the module. Call it first thing in a script: the noise comes with the first import."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    original = os.dup(2)
    try:
        filter_process = subprocess.Popen([sys.executable, "-m", "actviz.tensorflow_start"], stdin=subprocess.PIPE,
                                          stdout=original, stderr=original)
    except OSError:  # no filter: the noise stays, nothing is lost
        os.close(original)
        import tensorflow as tf

        return tf
    os.dup2(filter_process.stdin.fileno(), 2)
    filter_process.stdin.close()
    atexit.register(_close_filter, original, filter_process)
    import tensorflow as tf

    tf.config.list_physical_devices()  # cuInit and its error come with the first device query
    return tf


def _close_filter(original, filter_process):
    """At exit: the filter's last writer gone, it passes what is left and ends before this process does."""
    sys.stderr.flush()
    os.dup2(original, 2)
    os.close(original)
    filter_process.wait(timeout=30)


def main():
    """The filter process: stdin to stdout, line by line, without TensorFlow's noise."""
    startup, pending = StartupFilter(), b""
    while chunk := os.read(0, 65536):
        pending += chunk
        while (end := re.search(rb"[\r\n]", pending)) is not None:  # a progress bar's update ends at a \r
            line, pending = pending[:end.end()], pending[end.end():]
            _pass(startup, line)
    if pending:
        _pass(startup, pending)


def _pass(startup, line):
    if startup.keep(line.decode("utf-8", "replace")):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
