"""Small shared helpers: scikit-learn style parameters, atomic files, progress bars."""
from __future__ import annotations

import inspect
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional


class ParamsMixin:
    """``get_params``/``set_params`` read from ``__init__``'s signature, as scikit-learn's
    ``BaseEstimator`` does, so estimators work with ``clone``, ``Pipeline`` and
    ``GridSearchCV`` without scikit-learn being a dependency."""

    @classmethod
    def _param_names(cls) -> list:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "ParamsMixin":
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {valid!r}.")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for name in self._param_names():
            value = getattr(self, name)
            default = sig.parameters[name].default
            if value is not default and not _equal(value, default):
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: "os.PathLike[str] | str") -> Iterator[str]:
    """A temporary file name beside ``path`` for the block to write (by any means); it is
    renamed over ``path`` only when the block finishes, and removed if it fails."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
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


def progress_bar(enabled: bool, **kwargs: Any) -> Any:
    """A tqdm bar when ``enabled`` and tqdm is installed, else a silent stand-in."""
    if enabled:
        try:
            from tqdm.auto import tqdm

            return tqdm(**kwargs)
        except ImportError:
            pass
    return _NoBar()


class _NoBar:
    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass

    def __enter__(self) -> "_NoBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def resolve_threads(num_threads: Optional[int]) -> int:
    if num_threads is None:
        return -1
    if not isinstance(num_threads, (int,)) or isinstance(num_threads, bool):
        raise TypeError(f"num_threads must be an int, not {type(num_threads).__name__}")
    if num_threads == 0 or num_threads < -1:
        raise ValueError(f"num_threads must be -1 (all cores) or a positive int, not {num_threads}")
    return num_threads


def available_memory() -> int:
    """Bytes this process can still allocate without swapping or the OOM killer: the kernel's
    MemAvailable, capped by a cgroup (container) limit and by ``ulimit -v``."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return 1 << 62  # cannot tell: do not refuse anything
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file) as f:
                raw = f.read().strip()
            with open(usage_file) as f:
                used = int(f.read().strip())
            if raw != "max" and int(raw) < (1 << 60):
                avail = min(avail, max(int(raw) - used, 0))
            break
        except (OSError, ValueError):
            continue
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            avail = min(avail, soft)  # (not minus what is mapped already: a loose bound)
    except (ImportError, ValueError, OSError):
        pass
    return int(avail)


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TB"


def check_memory(nbytes: float, what: str, hint: str = "") -> None:
    """Refuse, before allocating, work that needs more memory than the machine has: a clear
    MemoryError instead of swapping or the kernel's OOM killer. ``PYFAST_NLP_MEMORY_LIMIT``
    (bytes) lowers the bound, e.g. on a shared machine."""
    avail = available_memory()
    env = os.environ.get("PYFAST_NLP_MEMORY_LIMIT")
    if env:
        try:
            avail = min(avail, int(float(env)))
        except ValueError:
            raise ValueError(f"PYFAST_NLP_MEMORY_LIMIT must be a number of bytes, not {env!r}") from None
    if nbytes > avail:
        raise MemoryError(f"{what} needs about {_human(nbytes)} of memory but only {_human(avail)} is "
                          f"available" + (f"; {hint}" if hint else ""))


def read_npz(path: str, what: str) -> Dict[str, Any]:
    """Every array of an ``.npz`` file, read in full. A damaged or foreign file is a ValueError
    naming ``what`` was expected: zipfile and numpy raise a dozen different exceptions for bad
    archives (BadZipFile, zlib.error, NotImplementedError, struct.error, EOFError, ...)."""
    import numpy as np

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
    import json

    import numpy as np

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
    import numpy as np

    if a.ndim != 1 or a.dtype.kind != "U":
        raise ValueError(f"{path}: '{name}' must be a 1-D array of strings, not {a.dtype} {a.shape}")
    cp = np.ascontiguousarray(a).view(np.uint32)
    if cp.size and (cp.max() > 0x10FFFF or ((cp >= 0xD800) & (cp <= 0xDFFF)).any()):
        raise ValueError(f"{path}: '{name}' holds code points that are not valid Unicode text")
    return a.tolist()
