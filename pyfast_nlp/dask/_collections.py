"""Turning what a user passes (a dask Bag of texts, a text column of a dask DataFrame, a list
of file paths) into a Bag of text partitions, and a tree reduction of partial results."""
from __future__ import annotations

import os
from typing import Any, Callable, List

from .partials import merge_all


def require_dask() -> Any:
    try:
        import dask  # noqa: F401
        import dask.bag
    except ImportError:
        raise ImportError("pyfast_nlp.dask needs dask: pip install 'pyfast_nlp[dask]'") from None
    return dask


def as_bag(data: Any) -> Any:
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
        # a line is a document, as for a single-machine path; the newline is not part of it
        return db.read_text(paths, encoding="utf-8").map(lambda line: line.rstrip("\r\n"))
    raise TypeError(f"expected a dask.bag.Bag of texts, a dask DataFrame text column or a list of file paths, "
                    f"not {type(data).__name__}")


def checked_partition(docs: Any, index: int) -> List[Any]:
    """A partition's documents as a list, all str or all bytes (a clear error otherwise)."""
    docs = list(docs)
    kinds = {type(d) for d in docs}
    if kinds - {str, bytes}:
        bad = next(d for d in docs if not isinstance(d, (str, bytes)))
        raise TypeError(f"partition {index}: documents must be str or bytes, found {type(bad).__name__}")
    if len(kinds) > 1:
        raise TypeError(f"partition {index} mixes str and bytes documents")
    return docs


def tree_reduce(bag: Any, per_partition: Callable[[List[Any]], Any], split_every: int = 8) -> Any:
    """Compute ``per_partition(docs)`` on every partition (inside the workers) and merge the results
    with a tree reduction of fan-in ``split_every``; returns the merged result (computed)."""
    import dask

    parts = bag.to_delayed()
    if not parts:
        return None
    level = [dask.delayed(_run)(per_partition, p, i) for i, p in enumerate(parts)]
    while len(level) > 1:
        level = [dask.delayed(merge_all)(level[i:i + split_every]) for i in range(0, len(level), split_every)]
    return level[0].compute()


def _run(fn: Callable[[List[Any]], Any], docs: Any, index: int) -> Any:
    return fn(checked_partition(docs, index))
