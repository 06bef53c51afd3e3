"""The shared floor for files: path checks, atomic writes, and the one ``.npz`` model format
(arrays plus JSON metadata) that every saved model uses."""
from __future__ import annotations

import json
import os
import re
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Tuple

import numpy as np


def check_file(path: "os.PathLike[str] | str", regular: bool = False) -> str:
    """``path`` as a str, after checking that it names an existing file (not a directory); with
    ``regular``, not a FIFO or a device either (what is read whole must end)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"is a directory, not a text file: {path}")
    if regular and not os.path.isfile(path):
        raise ValueError(f"{path} is not a regular file (a FIFO or a device such as /dev/zero cannot be read whole)")
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Temporaries are named .tmp-<pid>-<random>-<target name>: a process killed with SIGKILL cannot
# remove its own, so the next save of the same target removes those whose process is gone.
_TMP_NAME = re.compile(r"\.tmp-(\d+)-[A-Za-z0-9_]+-(.+)\Z", re.S)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _remove_stale_temporaries(directory: str, name: str) -> None:
    try:
        entries = [e.name for e in os.scandir(directory) if e.name.startswith(".tmp-") and e.name.endswith("-" + name)]
    except OSError:
        return
    for entry in entries:
        m = _TMP_NAME.match(entry)
        if m and m.group(2) == name and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:
                pass


@contextmanager
def atomic_path(path: "os.PathLike[str] | str") -> Iterator[str]:
    """A temporary file name beside ``path`` for the block to write (by any means); it is
    renamed over ``path`` only when the block finishes, and removed if it fails (SIGTERM counts
    as a failure, as Ctrl-C does). Temporaries that an earlier process killed with SIGKILL left
    for the same ``path`` are removed first."""
    from ._base import sigterm_as_interrupt

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(directory, os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix="-" + os.path.basename(path), dir=directory)
    os.close(fd)
    try:
        with sigterm_as_interrupt():
            yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and e.errno is not None and e.filename == tmp:
            # a writer failed on the hidden temporary: name the file the user asked for
            raise OSError(e.errno, e.strerror, path) from None
        raise


@contextmanager
def atomic_write(path: "os.PathLike[str] | str", mode: str = "w", encoding: Optional[str] = "utf-8") -> Iterator[Any]:
    """Write to a temporary file beside ``path`` and rename it over ``path`` only when the
    block finishes, so an interrupted write never leaves a broken or half-written file."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding if "b" not in mode else None) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def read_npz(path: str, what: str) -> Dict[str, Any]:
    """Every array of an ``.npz`` file, read in full. A damaged or foreign file is a ValueError
    naming ``what`` was expected: zipfile and numpy raise a dozen different exceptions for bad
    archives (BadZipFile, zlib.error, NotImplementedError, struct.error, EOFError, ...)."""
    try:
        # our own file object: np.load on a damaged zip would leak the handle it opened
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as e:
        raise ValueError(f"{path} is not {what} ({type(e).__name__}: {e})") from None


def json_meta(arrays: Dict[str, Any], path: str, what: str, fmt: str) -> Dict[str, Any]:
    """The JSON metadata stored as uint8 bytes (or a str array) under ``meta``, checked to be
    a dict of the expected ``format``."""
    try:
        raw = arrays["meta"]
        text = str(raw) if raw.dtype.kind == "U" else np.ascontiguousarray(raw, np.uint8).tobytes().decode("utf-8")
        meta = json.loads(text)
    except (KeyError, ValueError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not {what} (its metadata is missing or damaged: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise ValueError(f"{path} is not {what}")
    return meta


def str_array(a: Any, path: str, name: str) -> list:
    """A 1-D numpy string array from a file as a list of str, refusing code points that no
    Python string can hold (numpy's tolist would make broken str objects of them) and
    lone surrogates (not text)."""
    if a.ndim != 1 or a.dtype.kind != "U":
        raise ValueError(f"{path}: '{name}' must be a 1-D array of strings, not {a.dtype} {a.shape}")
    cp = np.ascontiguousarray(a).view(np.uint32)
    if cp.size and (cp.max() > 0x10FFFF or ((cp >= 0xD800) & (cp <= 0xDFFF)).any()):
        raise ValueError(f"{path}: '{name}' holds code points that are not valid Unicode text")
    return a.tolist()


def save_model(path: "os.PathLike[str] | str", fmt: str, meta: Dict[str, Any], arrays: Dict[str, np.ndarray],
               compressed: bool = False) -> None:
    """Write a model as one ``.npz``, atomically: ``arrays`` plus ``meta`` (with ``format`` and
    ``version`` added) as UTF-8 JSON bytes under the key ``meta``."""
    payload = {"format": fmt, "version": 1, **meta}
    blob = np.frombuffer(json.dumps(payload).encode("utf-8"), dtype=np.uint8)
    with atomic_write(path, "wb") as f:
        (np.savez_compressed if compressed else np.savez)(f, meta=blob, **arrays)


def load_model(path: "os.PathLike[str] | str", fmt: str, what: str) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a file written by :func:`save_model` with format ``fmt``; a missing,
    damaged or foreign file is a clear error naming ``what`` was expected."""
    path = check_file(path, regular=True)
    arrays = read_npz(path, what)
    meta = json_meta(arrays, path, what, fmt)
    arrays.pop("meta")
    return meta, arrays
