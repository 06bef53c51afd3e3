"""The shared floor: scikit-learn style parameters, progress bars, thread counts, memory checks."""
from __future__ import annotations

import inspect
import os
import threading
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

    def _store_params(self, values: Dict[str, Any]) -> None:
        """Set every ``__init__`` parameter from ``values`` (an ``__init__``'s ``locals()``), so
        estimators with many parameters do not list them twice."""
        for name in self._param_names():
            setattr(self, name, values[name])

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


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises ``KeyboardInterrupt`` as Ctrl-C does, so long work stops
    at its next check and cleans up (temporary files, spill files) instead of dying on the spot.
    Only in the main thread, and only where SIGTERM still has its default action."""
    import signal

    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("terminated (SIGTERM)")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


_FIT_LOCK = threading.Lock()


@contextmanager
def exclusive_fit(estimator: Any) -> Iterator[None]:
    """Refuse a second ``fit`` on one object while one runs in another thread (they would mix
    their state); read-only methods stay concurrent."""
    with _FIT_LOCK:
        if estimator.__dict__.get("_fit_running"):
            raise RuntimeError(f"{type(estimator).__name__}.fit is already running on this object in another "
                               "thread; fit a copy (sklearn.base.clone or a new instance) to train in parallel")
        estimator.__dict__["_fit_running"] = True
    try:
        yield
    finally:
        estimator.__dict__.pop("_fit_running", None)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def progress_bar(enabled: bool, **kwargs: Any) -> Any:
    """A tqdm bar when ``enabled`` and tqdm is installed; without tqdm, plain progress lines on
    stderr (every few seconds, and at the end); a silent stand-in when not ``enabled``."""
    if enabled:
        try:
            from tqdm.auto import tqdm

            return tqdm(**kwargs)
        except ImportError:
            return _TextBar(**kwargs)
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
        self.close()


class _TextBar(_NoBar):
    """tqdm's interface, printing a line such as ``counting: 41% (2.1M/5.0M B), 3 s`` at most every
    ``every`` seconds, for users without tqdm (not a dependency)."""

    def __init__(self, total: Optional[float] = None, desc: str = "", unit: str = "it", initial: int = 0,
                 every: float = 5.0, **_: Any) -> None:
        import sys
        import time

        self.total, self.desc, self.unit, self.n = total, desc or "progress", unit, initial
        self._clock, self._out, self._every = time.monotonic, sys.stderr, every
        self._start = self._last = self._clock()
        self._postfix = ""
        self._closed = False

    def _line(self) -> str:
        def num(x: float) -> str:
            for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
                if abs(x) >= div:
                    return f"{x / div:.1f}{suffix}"
            return f"{x:g}"
        done = f"{num(self.n)}/{num(self.total)} {self.unit}" if self.total else f"{num(self.n)} {self.unit}"
        pct = f"{100 * self.n / self.total:.0f}% " if self.total else ""
        return f"{self.desc}: {pct}({done}), {self._clock() - self._start:.0f} s{self._postfix}"

    def update(self, n: int = 1) -> None:
        self.n += n
        if self._clock() - self._last >= self._every:
            self._last = self._clock()
            print(self._line(), file=self._out, flush=True)

    def set_postfix(self, **kw: Any) -> None:
        self._postfix = "".join(f", {k}={v}" for k, v in kw.items())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            print(self._line(), file=self._out, flush=True)
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


def _human(n: float, digits: int = 1) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.{digits}f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.{digits}f} TB"


def _human_pair(a: float, b: float) -> tuple:
    """Two sizes written with enough digits to tell them apart (3.4 GB vs 3.4 GB says nothing)."""
    for digits in (1, 2, 3):
        x, y = _human(a, digits), _human(b, digits)
        if x != y or a == b:
            return x, y
    return f"{int(a):,} bytes", f"{int(b):,} bytes"


def max_line_bytes() -> int:
    """The longest line the file readers accept: ``PYFAST_NLP_MAX_LINE_BYTES`` if set, else 1 GiB,
    or a quarter of the memory available (``PYFAST_NLP_MEMORY_LIMIT`` counts) when that is less.
    A file with no newline (``/dev/zero``, a minified file) is then a clear ``ValueError``."""
    env = os.environ.get("PYFAST_NLP_MAX_LINE_BYTES")
    if env:
        try:
            return max(1, int(float(env)))
        except ValueError:
            raise ValueError(f"PYFAST_NLP_MAX_LINE_BYTES must be a number of bytes, not {env!r}") from None
    return int(max(1 << 20, min(1 << 30, memory_budget() // 4)))


def memory_budget() -> int:
    """Bytes this process may use: :func:`available_memory`, lowered by ``PYFAST_NLP_MEMORY_LIMIT``."""
    avail = available_memory()
    env = os.environ.get("PYFAST_NLP_MEMORY_LIMIT")
    if env:
        try:
            avail = min(avail, int(float(env)))
        except ValueError:
            raise ValueError(f"PYFAST_NLP_MEMORY_LIMIT must be a number of bytes, not {env!r}") from None
    return avail


def check_memory(nbytes: float, what: str, hint: str = "") -> None:
    """Refuse, before allocating, work that needs more memory than the machine has: a clear
    MemoryError instead of swapping or the kernel's OOM killer. ``PYFAST_NLP_MEMORY_LIMIT``
    (bytes) lowers the bound, e.g. on a shared machine."""
    avail = memory_budget()
    if nbytes > avail:
        need, have = _human_pair(nbytes, avail)
        raise MemoryError(f"{what} needs about {need} of memory but only {have} is "
                          f"available" + (f"; {hint}" if hint else ""))
