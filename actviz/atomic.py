"""Write files so that a crash never leaves one that looks finished."""

import contextlib
import csv
import json
import math
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make results unreadable to a group
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path, obj, strict=False):
    """Write ``obj`` as indented JSON to ``path`` atomically. ``strict``: NaN and infinite floats are
    written as null (``json_safe``), so that any JSON reader takes the file; else as Python writes them."""
    with atomic_path(path) as tmp:
        text = json.dumps(json_safe(obj), indent=2, sort_keys=True, allow_nan=False) if strict else \
            json.dumps(obj, indent=2, sort_keys=True)
        tmp.write_text(text + "\n")


def json_safe(obj):
    """``obj`` with every NaN or infinite float (in dicts, lists and tuples) replaced by None: JSON has no
    such numbers, and Python's json module would write the non-standard ``NaN``."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: json_safe(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(value) for value in obj]
    return obj


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_csv(path, rows, columns):
    """Write dict ``rows`` as CSV with the header ``columns`` atomically; lists become "a;b;c"."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (";".join(map(str, v)) if isinstance(v, list) else v) for k, v in row.items()})
