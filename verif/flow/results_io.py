"""Results files: the one atomic write (temp file, fsync, rename) and the loading of results.json.

A tool rewrites its results after every run with :func:`atomic_write`, so a
stopped tool always leaves a complete file, never a half-written one.
"""

from __future__ import annotations

import json
import os
import pathlib
import tempfile


def atomic_write(path, text: str) -> pathlib.Path:
    """Write ``text`` to ``path`` all at once: a reader sees the old file or the new one."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_json(path, data, indent: int = 1, newline: bool = True) -> pathlib.Path:
    """``data`` as JSON, atomically (objects JSON does not know are written as strings)."""
    return atomic_write(path, json.dumps(data, indent=indent, default=str) + ("\n" if newline else ""))


def read_json(path):
    """A JSON file; raises ValueError naming the file when it is missing or not JSON."""
    p = pathlib.Path(path)
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{p}: not a readable results file ({exc})") from None


def load_results(path) -> dict:
    """A results.json of an earlier regression; raises ValueError when it is not one."""
    p = pathlib.Path(path)
    data = read_json(p)
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ValueError(f"{p}: not a regression results file (no 'runs')")
    data.setdefault("_path", str(p))
    return data
