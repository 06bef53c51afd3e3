"""Turning what a user passes (a dask Bag of texts, a text column of a dask DataFrame, a list
of file paths) into a Bag of text partitions, and a tree reduction of partial results."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
import tempfile
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Sequence

from .partials import merge_all

_MB = 1 << 20


def require_dask() -> Any:
    try:
        import dask  # noqa: F401
        import dask.bag
    except ImportError:
        raise ImportError("pyfast_nlp.dask needs dask: pip install 'pyfast_nlp[dask]'") from None
    return dask


def as_bag(data: Any, blocks_per_worker: int = 4, max_block: int = 64 << 20) -> Any:
    """A ``dask.bag.Bag`` of documents: a Bag as it is, a dask DataFrame column (Series) by
    its partitions, a list of file paths read one document a line (each file checked first, so
    a missing one is a ``FileNotFoundError`` here, not a failure on a worker)."""
    require_dask()
    import dask.bag as db

    if isinstance(data, db.Bag):
        return data
    if type(data).__module__.startswith("dask.dataframe") or type(data).__name__ in ("Series", "DataFrame"):
        if getattr(data, "ndim", 1) != 1:
            raise TypeError("pass one text column of the dask DataFrame (df['text']), not the whole frame")
        return data.to_bag()
    if isinstance(data, (list, tuple)) and data and all(isinstance(p, (str, os.PathLike)) for p in data):
        paths = [os.fspath(p) for p in data]
        for p in paths:
            if not os.path.isfile(p):
                raise FileNotFoundError(f"no such file: {p}")
        # Files are cut into blocks at line ends, of ``blocks_per_worker`` per worker (1 MiB to
        # ``max_block`` each), so every worker gets some.
        total = sum(os.path.getsize(p) for p in paths)
        size = int(min(max_block, max(1 << 20, total // (blocks_per_worker * n_workers()) + 1)))
        blocks = [FileBlock(p, start, min(start + size, n))
                  for p in paths for n in [os.path.getsize(p)] for start in range(0, max(n, 1), size)]
        # a partition holds the block's address, read by the task that uses it: nothing to move
        return db.from_sequence(blocks, npartitions=len(blocks))
    raise TypeError(f"expected a dask.bag.Bag of texts, a dask DataFrame text column or a list of file paths, "
                    f"not {type(data).__name__}")


@dataclass(frozen=True)
class FileBlock:
    """Bytes ``[start, end)`` of a text file, read as the lines that start there."""

    path: str
    start: int
    end: int

    def read(self) -> List[str]:
        return [line for batch in self.batches() for line in batch]

    def batches(self, chunk_bytes: int = 16 << 20) -> Iterator[List[str]]:
        """The lines (UTF-8, newline removed, as a single-machine path is read), about
        ``chunk_bytes`` at a time."""
        with open(self.path, "rb") as f:
            if self.start > 0:
                f.seek(self.start - 1)
                f.readline()  # the line holding byte start - 1 belongs to the block before
            pos = f.tell()
            while pos < self.end:
                data = f.read(min(chunk_bytes, self.end - pos))
                if not data:
                    return
                if not data.endswith(b"\n"):
                    data += f.readline()  # a line that runs past the chunk (or the block) is read whole
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise ValueError(f"{self.path}: invalid UTF-8 at byte {pos + e.start} ({e.reason})") from None
                lines = text.split("\n")
                if lines and lines[-1] == "":
                    lines.pop()
                if "\r" in text:
                    lines = [line.rstrip("\r") for line in lines]
                yield lines
                pos = f.tell()


def read_lines(path: str, start: int, end: int) -> List[str]:
    """The lines that start in bytes ``[start, end)`` of ``path``: a block of a file, cut at line ends."""
    return FileBlock(path, start, end).read()


def file_blocks(docs: Any) -> Optional[List[FileBlock]]:
    """The partition's file blocks, if it is made of them (None otherwise)."""
    docs = list(docs)
    return docs if docs and all(isinstance(d, FileBlock) for d in docs) else None


def worker_addresses() -> List[str]:
    """The current distributed client's workers (sorted), none without one."""
    try:
        from distributed import get_client

        return sorted(get_client().scheduler_info()["workers"])
    except (ImportError, ValueError):
        return []


@contextmanager
def placed(i: int, workers: Sequence[str]) -> Iterator[None]:
    """Tasks made in the block prefer worker ``i mod len(workers)`` (any other if it is gone): so a
    task that takes one piece out of a big result runs where that result is, instead of an idle
    worker fetching the whole result."""
    import dask

    if not workers:
        yield
        return
    with dask.annotate(workers=[workers[i % len(workers)]], allow_other_workers=True):
        yield


def n_workers() -> int:
    try:
        from distributed import get_client

        return max(1, len(get_client().scheduler_info()["workers"]))
    except (ImportError, ValueError):
        return 1


def checked_partition(docs: Any, index: int) -> List[Any]:
    """A partition's documents as a list, all str or all bytes (a clear error otherwise); a
    partition of file blocks is read here."""
    docs = list(docs)
    if file_blocks(docs) is not None:
        docs = [line for block in docs for line in block.read()]
    kinds = {type(d) for d in docs}
    if kinds - {str, bytes}:
        bad = next(d for d in docs if not isinstance(d, (str, bytes)))
        raise TypeError(f"partition {index}: documents must be str or bytes, found {type(bad).__name__}")
    if len(kinds) > 1:
        raise TypeError(f"partition {index} mixes str and bytes documents")
    return docs


def _worker() -> Any:
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def worker_threads(requested: int) -> int:
    """-1 inside a worker means the worker's own thread slots, not every core of the machine
    (several worker processes share it)."""
    if requested != -1:
        return requested
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return -1


def worker_budget() -> Optional[int]:
    """Bytes one task may use inside the current dask worker: its memory limit shared by its
    thread slots; None outside a worker or for a worker without a limit."""
    w = _worker()
    limit = getattr(getattr(w, "memory_manager", None), "memory_limit", None) if w is not None else None
    if not limit:
        return None
    return int(limit) // max(1, int(w.state.nthreads))


def worker_name() -> str:
    w = _worker()
    return f"worker {w.address}" if w is not None else "this process"


def check_fits(nbytes: int, what: str, hint: str) -> None:
    """A clear MemoryError, raised in the worker (dask re-raises it on the client), when ``what``
    needs more than the worker's memory limit allows one task."""
    budget = worker_budget()
    if budget is not None and nbytes > budget:
        raise MemoryError(f"{what} needs about {nbytes / _MB:,.0f} MB, more than the {budget / _MB:,.0f} MB a task may "
                          f"use on {worker_name()} (its memory limit over its threads); {hint}")


@contextmanager
def spill_dir(tmp_dir: Optional[str]) -> Iterator[str]:
    """A folder of this task's own for spill files, in ``tmp_dir`` or the worker's local directory,
    removed with whatever is in it when the task ends, however it ends."""
    w = _worker()
    base = tmp_dir if tmp_dir is not None else getattr(w, "local_directory", None) or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    path = tempfile.mkdtemp(prefix="pyfast-nlp-spill-", dir=base)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def shared(obj: Any) -> Any:
    """``obj`` for use in many tasks, sent to the cluster once (a persisted ``dask.delayed``), not
    with every task. Unlike scattered data it keeps its lineage: the scheduler can send it again
    if the workers holding it die, so a killed worker never cancels the job. (Send word lists as
    numpy object arrays or inside an object: dask serializes a plain list item by item.)"""
    import warnings

    import dask

    with warnings.catch_warnings():  # "Sending large graph": it is sent once, on purpose
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        return dask.persist(dask.delayed(obj, pure=True, traverse=False))[0]


def persist(objs: Sequence[Any], desc: str, progress: bool) -> List[Any]:
    """``dask.persist`` the objects and wait for them (a tqdm bar of finished tasks with
    ``progress`` on a distributed client); a task's exception is raised here."""
    import dask

    # No task fusion: fused into the merge that consumes it, a task taking one shard out of a
    # partition's result would make that merge fetch the whole result from another worker.
    with dask.config.set({"optimization.fuse.active": False}):
        out = list(dask.persist(*objs))
    try:
        from distributed import futures_of, wait
    except ImportError:
        return out
    futures = futures_of(out)
    if not futures:
        return out
    if progress:
        from distributed import as_completed

        from .._base import progress_bar

        with progress_bar(True, total=len(futures), desc=desc, unit="task") as bar:
            for _ in as_completed(futures):
                bar.update(1)
    wait(futures)
    for f in futures:
        if f.status == "error":
            f.result()  # raises the task's exception with its traceback
    return out


def _merge_checked(parts: List[Any]) -> Any:
    merged = merge_all(parts)
    if merged is not None and hasattr(merged, "nbytes"):
        check_fits(3 * merged.nbytes, f"merging partial results ({type(merged).__name__}, "
                   f"{merged.nbytes / _MB:,.0f} MB)", "use workers with more memory, or fewer distinct terms "
                   "(min_df, max_features, a smaller ngram_range)")
    return merged


def tree_reduce(bag: Any, per_partition: Callable[[List[Any]], Any], split_every: int = 8) -> Any:
    """Compute ``per_partition(docs)`` on every partition (inside the workers) and merge the results
    with a tree reduction of fan-in ``split_every``; returns the merged result (computed)."""
    import dask

    parts = bag.to_delayed()
    if not parts:
        return None
    level = [dask.delayed(run_partition)(per_partition, p, i) for i, p in enumerate(parts)]
    return tree_merge(level, split_every).compute()


def tree_merge(level: List[Any], split_every: int) -> Any:
    """A delayed tree reduction of delayed partial results (fan-in ``split_every``)."""
    import dask

    while len(level) > 1:
        level = [dask.delayed(_merge_checked)(level[i:i + split_every]) for i in range(0, len(level), split_every)]
    return level[0]


def run_partition(fn: Callable[[List[Any]], Any], docs: Any, index: int) -> Any:
    return fn(checked_partition(docs, index))
