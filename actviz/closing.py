"""What the terminal ends with after a workflow run (the Snakefile's onsuccess and onerror handlers): where
the report is and what it found, or which job failed and the line of its log that says why."""

import json
import re
import textwrap
from pathlib import Path

WIDTH = 100


def after_success(html, numbers_json, since):
    """Lines naming the report, how to see training in TensorBoard and the report's verdicts, if this run
    wrote the report (``html`` modified at or after ``since``, seconds since the epoch); else none."""
    html, numbers_json = Path(html), Path(numbers_json)
    if not html.exists() or html.stat().st_mtime < since or not numbers_json.exists():
        return []
    try:
        verdicts = json.loads(numbers_json.read_text()).get("verdicts", {})
    except (OSError, json.JSONDecodeError):
        verdicts = {}
    lines = ["", f"The report: {html}  (open it in a browser)",
             "Training in TensorBoard: make tensorboard  (or: tensorboard --logdir results/logs)"]
    for dataset, sentences in verdicts.items():
        lines.append(f"{dataset}:")
        lines += [line for s in sentences for line in textwrap.wrap(s, WIDTH, initial_indent="  ",
                                                                      subsequent_indent="    ")]
    return lines


FAILED_JOB = re.compile(r"^Error in rule (?P<rule>\S+):")
JOB_LOG = re.compile(r"^\s+log: (?P<paths>.+?)(?: \(check log file\(s\) for error details\))?$")
# The line of a job's log that says why it failed: our one-line user errors, a Python exception, a kill.
ERROR_LINE = re.compile(r"^(error: |Error: |Traceback|Killed|(\w+\.)*\w*(Error|Exception|Interrupt)\b(:|$))")


def after_failure(snakemake_logs):
    """Lines naming each failed job's rule, its log and the last line of that log that says why it failed
    (the last line of the log when none does), from Snakemake's own log of the run: a path, or the list of
    paths Snakemake 9 hands its onerror handler."""
    paths = [snakemake_logs] if isinstance(snakemake_logs, (str, Path)) else list(snakemake_logs or [])
    lines = []
    for path in paths:
        try:
            lines += Path(path).read_text(errors="replace").splitlines()
        except OSError:
            continue
    failed = []
    for index, line in enumerate(lines):
        match = FAILED_JOB.match(line)
        if not match:
            continue
        logs = []
        for following in lines[index + 1:index + 12]:
            found = JOB_LOG.match(following)
            if found:
                logs = [p for p in found.group("paths").split(", ") if p]
                break
        failed.append((match.group("rule"), logs))
    if not failed:
        return []
    out = ["", f"{len(failed)} job{'s' if len(failed) != 1 else ''} failed:"]
    for rule, logs in failed:
        why = next((reason for reason in map(last_error_line, logs) if reason), None)
        out.append(f"  {rule}: {why or 'no log; see the lines above'}")
        out += [f"    log: {path}" for path in logs]
    return out


def last_error_line(path):
    """The last line of a job's log that says why it failed, or its last non-empty line; None if unreadable."""
    try:
        lines = [line.rstrip() for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return None
    errors = [line for line in lines if ERROR_LINE.match(line)]
    return (errors or lines or [None])[-1]
