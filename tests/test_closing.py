"""What the terminal ends with (the Snakefile's onsuccess and onerror), and TensorFlow's start-up noise kept
out of the job logs."""

import json
import os
import subprocess
import sys
import time

from actviz.closing import after_failure, after_success, last_error_line
from actviz.tensorflow_start import StartupFilter

# What TensorFlow 2.21 prints on a CPU machine when it is imported and asked for its devices (twice the first
# three: two libraries), as a job log held it.
CPU_STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796010876.431778    4832 port.cc:153] oneDNN custom operations are on. You may see slightly different \
numerical results due to floating-point round-off errors from different computation orders. To turn them off, set \
the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796010876.432125    4832 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not \
be used.
I0000 00:00:1796011468.923610    6487 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use available \
CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 AVX512_FP16 AVX_VNNI FMA, in other \
operations, rebuild TensorFlow with the appropriate compiler flags.
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796010878.367520    4832 port.cc:153] oneDNN custom operations are on. You may see slightly different \
numerical results due to floating-point round-off errors from different computation orders. To turn them off, set \
the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796010878.368099    4832 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not \
be used.
E0000 00:00:1796010879.251855    4832 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call \
to cuInit: UNKNOWN ERROR (303)
"""


def test_the_start_up_noise_of_a_cpu_machine_is_dropped_and_nothing_else():
    startup = StartupFilter()
    assert [line for line in CPU_STARTUP.splitlines() if startup.keep(line)] == []
    kept = ["FashionMNIST-sample/cnn/snn/relu/seed0: TensorFlow 2.21.0 on CPU:0; CPU threads: 1 per op",
            "W0000 00:00:1796010879.251855    4832 some_op.cc:12] a warning of the job's own",
            "Traceback (most recent call last):", "ValueError: the job's real error", ""]
    assert all(startup.keep(line) for line in kept)


def test_the_leaky_relu_remapper_line_is_dropped_and_no_other_remapper_error():
    startup = StartupFilter()
    lrelu = ("E0000 00:00:1796396629.726095    3779 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: "
             "Mutation::Apply error: fanout 'Identity_10' exist for missing node 'add_1'.")
    assert not startup.keep(lrelu)
    other = ("E0000 00:00:1796396629.726095    3779 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: "
             "Mutation::Apply error: something else went wrong.")
    assert startup.keep(other) and startup.keep("E0000 00:00:1.2    1 meta_optimizer.cc:967] layout failed: x")


def test_a_job_is_filtered_to_its_end_and_its_progress_passes_as_it_comes(tmp_path):
    # after TensorFlow started: a noise line logged late (as the remapper's at the first training step) is dropped,
    # a progress bar's carriage-return updates pass at once, and the last line is there when the job has ended
    script = tmp_path / "job.py"
    script.write_text(
        "import os, sys, time\nfrom actviz.tensorflow_start import start_tensorflow\nstart_tensorflow()\n"
        "os.write(2, b\"E0000 00:00:1.2    9 meta_optimizer.cc:967] remapper failed: INVALID_ARGUMENT: Mutation::Apply"
        " error: fanout 'Identity_3' exist for missing node 'add_4'.\\n\")\n"
        "sys.stderr.write('step 1/2\\r'); sys.stderr.flush(); time.sleep(3)\n"
        "sys.stderr.write('step 2/2\\n'); print('the end', file=sys.stderr)\n")
    job = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE)
    first = b""
    while b"step 1/2" not in first:  # before the job sleeps out: the update without a newline came through
        first += os.read(job.stderr.fileno(), 1024)
    assert job.poll() is None
    rest = job.stderr.read()
    assert job.wait(timeout=60) == 0
    assert (first + rest).decode() == "step 1/2\rstep 2/2\nthe end\n"


def test_a_cuda_error_on_a_machine_with_a_driver_is_kept():
    cuinit = CPU_STARTUP.splitlines()[-1]
    assert StartupFilter().keep(cuinit)  # no "Could not find cuda drivers" before it: a real GPU problem


def test_a_script_that_starts_tensorflow_prints_only_its_own_lines(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import sys\nfrom actviz.tensorflow_start import start_tensorflow\n"
                      "print('before', file=sys.stderr, flush=True)\ntf = start_tensorflow()\n"
                      "print('devices', [d.device_type for d in tf.config.list_physical_devices()], file=sys.stderr)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["before", "devices ['CPU']"]


def test_a_crash_while_tensorflow_starts_loses_no_line(tmp_path):
    # a stand-in TensorFlow that dies mid-import, as a native crash would: the filter is a process of its own,
    # so what the dying process printed still reaches the log
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(
        "import os\nos.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to "
        "STDERR\\nnative crash report\\n')\nos._exit(3)\n")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", "from actviz.tensorflow_start import start_tensorflow\n"
                             "start_tensorflow()"], capture_output=True, text=True, timeout=60, env=environment)
    assert result.returncode == 3 and result.stderr == "native crash report\n"


def _report(tmp_path, verdicts):
    html, numbers = tmp_path / "report.html", tmp_path / "report.json"
    html.write_text("<html></html>")
    numbers.write_text(json.dumps({"verdicts": verdicts}))
    return html, numbers


def test_a_run_that_wrote_the_report_ends_with_its_path_and_verdicts(tmp_path):
    sentence = ("cnn/snn: selu, relu and lrelu are not distinguishable at this budget (1 seed, 800 steps, 2,000 test "
                "images): selu − relu = +0.4 points (95% CI −1.2 to +2.0, McNemar p = 0.67).")
    html, numbers = _report(tmp_path, {"FashionMNIST-sample": [sentence]})
    lines = after_success(html, numbers, since=time.time() - 5)
    assert lines[1] == f"The report: {html}  (open it in a browser)"
    assert "make tensorboard" in lines[2] and lines[3] == "FashionMNIST-sample:"
    assert " ".join(line.strip() for line in lines[4:]) == sentence and all(len(line) <= 100 for line in lines[3:])


def test_a_run_that_did_not_write_the_report_says_nothing_of_it(tmp_path):
    html, numbers = _report(tmp_path, {"x": ["old verdict"]})
    os.utime(html, (time.time() - 60, time.time() - 60))
    assert after_success(html, numbers, since=time.time() - 5) == []  # an old report: not this run's
    assert after_success(tmp_path / "missing.html", numbers, since=0) == []


SNAKEMAKE_LOG = """\
[Mon Nov 30 03:54:46 2026]
localrule report:
    input: results/runs/FashionMNIST-sample/cnn/snn/relu/seed0/metrics.json
RuleException:
Error in rule report:
    message: None
    jobid: 0
    output: results/report.html, results/tables/accuracy.csv
    log: {report_log} (check log file(s) for error details)
    shell:
        python scripts/report.py ... > {report_log} 2>&1
        (command exited with non-zero exit code)
Error in rule train:
    jobid: 3
    log: {train_log} (check log file(s) for error details)
Error in rule download:
    jobid: 5
Shutting down, this might take some time.
"""


def test_a_failed_run_ends_with_each_failed_job_its_log_and_why(tmp_path):
    report_log, train_log = tmp_path / "report.log", tmp_path / "train.log"
    report_log.write_text("Traceback (most recent call last):\n  File \"figures.py\", line 73, in layer_figure\n"
                          "    vmin = min(float(e.min()) for e in examples.values())\n"
                          "ValueError: min() arg is an empty sequence\n")
    train_log.write_text("relu: TensorFlow 2.21.0 on CPU:0\nerror: results/data/x.h5: the test split has 5 images, "
                         "fewer than probe_size=128\n\n")
    log = tmp_path / "snakemake.log"
    log.write_text(SNAKEMAKE_LOG.format(report_log=report_log, train_log=train_log))
    assert after_failure([str(log)]) == after_failure(log) == [
        "", "3 jobs failed:",
        "  report: ValueError: min() arg is an empty sequence", f"    log: {report_log}",
        "  train: error: results/data/x.h5: the test split has 5 images, fewer than probe_size=128",
        f"    log: {train_log}",
        "  download: no log; see the lines above"]


def test_the_reason_is_the_last_error_line_or_else_the_last_line(tmp_path):
    log = tmp_path / "job.log"
    log.write_text("started\nsegfault somewhere\n")
    assert last_error_line(log) == "segfault somewhere"
    log.write_text("KeyboardInterrupt\nfinal words\n")
    assert last_error_line(log) == "KeyboardInterrupt"
    assert last_error_line(tmp_path / "none.log") is None
    assert after_failure(tmp_path / "no-snakemake.log") == [] and after_failure(None) == []
