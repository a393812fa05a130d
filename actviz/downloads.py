"""Where a dataset's raw files come from: its sources in order (local folders first, so that a machine without
network never waits on a dead host), each file verified against its checksum (as published, ``archive``, or for
gzip files the decompressed bytes, ``content``, so that a re-compressed mirror such as Debian's validates too),
downloads with retries and progress, and the manifest of what was verified. The datasets themselves:
``actviz.datasets``."""

import gzip
import hashlib
import http.client
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from actviz.atomic import atomic_path, write_json
from actviz.errors import UserError


def is_url(source):
    return "://" in str(source)


def ordered_sources(spec, mirrors=()):
    """The sources to try for ``spec``: the user's mirrors, then the built-in ones; local ones first."""
    sources = [str(s) for s in mirrors] + [str(s) for s in spec.sources]
    unique = list(dict.fromkeys(sources))
    return [s for s in unique if not is_url(s)] + [s for s in unique if is_url(s)]


def verify(path, raw_file):
    """Check ``path`` against ``raw_file``'s checksums.

    Returns ``(True, what matched)`` or ``(False, what was found instead)``.
    """
    path = Path(path)
    found = []
    if raw_file.archive:
        algorithm, expected = raw_file.archive.split(":", 1)
        with open(path, "rb") as f:
            actual = hashlib.file_digest(f, algorithm).hexdigest()
        if actual == expected:
            return True, f"archive {raw_file.archive}"
        found.append(f"archive {algorithm} {actual}")
    if raw_file.content:
        algorithm, expected = raw_file.content.split(":", 1)
        try:
            with gzip.open(path, "rb") as f:
                actual = hashlib.file_digest(f, algorithm).hexdigest()
        except (OSError, EOFError) as error:
            found.append(f"not a readable gzip file ({error})")
        else:
            if actual == expected:
                return True, f"content {raw_file.content}"
            found.append(f"content {algorithm} {actual}")
    return False, ", ".join(found) or "no checksum known"


RETRIES = 3  # attempts per URL before the next source is tried
BACKOFF_SECONDS = 1.0  # wait before the 2nd attempt; doubled before each later one


def _download_once(url, part, timeout, progress):
    """Stream ``url`` into ``part``, continuing a partial file where the server honours Range."""
    from tqdm import tqdm

    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "actviz"}
    if have:
        headers["Range"] = f"bytes={have}-"
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
        if not (have and response.status == 206):
            have = 0  # no partial file, or the server ignored Range: start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        with open(part, "ab" if have else "wb") as out, tqdm(
                total=total, initial=have, unit="B", unit_scale=True, desc=PurePosixPath(url).name,
                file=sys.stderr, disable=not progress, leave=False) as bar:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                out.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise OSError(f"transfer ended after {size} of {total} bytes")


def download(url, part, timeout=30.0, progress=True, retries=None, backoff=None):
    """Download ``url`` to ``part``: resume, retry with back-off, give up after ``retries`` attempts.

    A 4xx answer (the file is not there) is not retried. Raises OSError saying what went wrong.
    """
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_SECONDS if backoff is None else backoff
    last = None
    for attempt in range(1, retries + 1):
        try:
            _download_once(url, part, timeout, progress)
            return
        except urllib.error.HTTPError as error:
            if error.code == 416:  # our partial file is not a prefix of theirs: start over
                part.unlink(missing_ok=True)
            elif 400 <= error.code < 500:
                raise OSError(f"HTTP {error.code} {error.reason}") from None
            last = f"HTTP {error.code} {error.reason}"
        except urllib.error.URLError as error:
            last = str(error.reason)
        except (OSError, http.client.HTTPException) as error:
            last = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if attempt < retries:
            time.sleep(backoff * 2 ** (attempt - 1))
    raise OSError(f"{last} (gave up after {retries} attempts)")


def _fetch_from(source, raw_file, target, timeout, progress):
    """Put a verified copy of ``raw_file`` from ``source`` at ``target``, or raise OSError/ValueError."""
    if is_url(source):
        # A stable name, so that a later run resumes what a killed one left.
        part = target.with_name(target.name + ".part")
        download(source.rstrip("/") + "/" + raw_file.name, part, timeout, progress)
        ok, what = verify(part, raw_file)
        if not ok:
            part.unlink()
            raise ValueError(f"checksum mismatch: {what}")
        os.replace(part, target)
        return what
    src = Path(source) / raw_file.name
    if not src.is_file():
        raise FileNotFoundError(f"{src} not found")
    ok, what = verify(src, raw_file)  # check before copying: a wrong file is never copied
    if not ok:
        raise ValueError(f"checksum mismatch: {what}")
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
    return what


def fetch(spec, raw_dir, mirrors=(), timeout=30.0, progress=True, log=print):
    """Make every raw file of ``spec`` present and verified in ``raw_dir``.

    A file already there is kept if it verifies. Otherwise each source is tried in order (local
    folders first) and the first copy that verifies is kept. Returns ``{file name: what matched}``.
    Raises ``UserError`` naming the file and what every source gave when none has a valid copy.
    """
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    verified = {}
    for raw_file in spec.files.values():
        target = raw_dir / raw_file.name
        if target.exists():
            ok, what = verify(target, raw_file)
            if ok:
                verified[raw_file.name] = what
                continue
            log(f"{target}: existing file fails its checksum ({what}); fetching it again")
            target.unlink()
        attempts = []
        for source in ordered_sources(spec, mirrors):
            try:
                what = _fetch_from(source, raw_file, target, timeout, progress)
            except (OSError, ValueError) as error:
                attempts.append(f"{source}: {error}")
                continue
            log(f"{raw_file.name}: from {source}, {what}")
            verified[raw_file.name] = what
            break
        else:
            tried = "; ".join(attempts) or "no sources"
            raise UserError(f"{spec.name}: no valid copy of {raw_file.name} (tried {tried})")
    return verified


def verify_all(spec, raw_dir):
    """Verify every raw file of ``spec`` in ``raw_dir``; return ``{name: what matched}`` or raise."""
    verified = {}
    for raw_file in spec.files.values():
        path = Path(raw_dir) / raw_file.name
        if not path.exists():
            raise UserError(f"{path}: raw file missing (run the download step)")
        ok, what = verify(path, raw_file)
        if not ok:
            raise UserError(f"{path}: fails its checksum ({what}); refusing to convert it")
        verified[raw_file.name] = what
    return verified


def write_manifest(path, spec, raw_dir, verified):
    """Record which raw files were fetched and verified (the download step's output)."""
    write_json(path, {"dataset": spec.name, "raw_dir": str(raw_dir), "verified": verified})
