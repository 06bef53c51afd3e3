"""Co-occurrence counting across dask workers, equal to :func:`pyfast_nlp.cooccurrence`.

Each partition of the corpus is counted inside its worker by the single-machine C++ counter,
under that worker's memory limit and spilling to a folder of its own; its entries, with float64
values, are cut into row shards (word ``r`` goes to shard ``r % n_shards``), and the pieces of
each shard are added up by a tree reduction. The result stays on the workers as
:class:`CooccurMatrix`: ``n_shards`` CSR matrices, none of them ever the whole matrix, and
never on the client unless asked for (``to_scipy``).
"""
from __future__ import annotations

import itertools
import os
from functools import partial
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from .._base import resolve_threads
from .._io import atomic_path
from ..embeddings import cooccur as single
from ..text.tokenizer import Tokenizer
from ..text.vocab import Vocab
from ._collections import (n_workers, as_bag, file_blocks, placed, worker_addresses, check_fits, checked_partition, persist, shared, spill_dir, tree_merge,
                           worker_budget, worker_name, worker_threads)
from .partials import CooccurShard

__all__ = ["CooccurMatrix", "cooccurrence", "cooccurrence_to_file"]

_STATS = ("documents", "tokens", "sparse_updates", "compactions", "spills", "spilled_bytes")
_MB = 1 << 20


def _vocab_bytes(vocab: Vocab) -> int:
    # a worker holds the word list (Python str), the C++ string map and the counter's rank arrays
    return sum(len(w) for w in vocab.tokens) * 3 + 200 * len(vocab)


def _counting_limit(memory_limit: Union[int, str, None], vocab: Vocab) -> int:
    """The counter's memory limit in this worker: the one asked for, or half of what the worker's
    limit leaves one task once the vocabulary is in memory (4 GB without a limit). A vocabulary
    that leaves too little is a MemoryError here, in the worker."""
    need = _vocab_bytes(vocab)
    hint = ("use workers with more memory (or fewer threads per worker), or a smaller vocabulary "
            "(a higher min_count or a max_size)")
    if memory_limit is not None:
        limit = single.parse_bytes(memory_limit)
        check_fits(need + limit, f"counting co-occurrences with a vocabulary of {len(vocab):,} words and "
                   f"memory_limit={memory_limit!r}", hint + ", or a lower memory_limit")
        return limit
    budget = worker_budget()
    if budget is None:
        return 4 << 30
    left = (budget - need) // 2
    if left < 16 * _MB:
        raise MemoryError(f"a vocabulary of {len(vocab):,} words takes about {need / _MB:,.0f} MB in each worker, "
                          f"which leaves less than the 32 MB counting needs of the {budget / _MB:,.0f} MB a task may "
                          f"use on {worker_name()} (its memory limit over its threads); {hint}")
    return int(min(left, 4 << 30))


def _count_partition(settings: Dict[str, Any], vocab: Vocab, docs: Any, index: int) -> List[Any]:
    """One partition's co-occurrences as ``n_shards`` :class:`CooccurShard` pieces, then its stats."""
    n_shards = settings["n_shards"]
    blocks = file_blocks(docs)
    if blocks is not None:  # streamed from the file, a batch at a time, never held whole
        lines = (line for block in blocks for batch in block.batches() for line in batch)
        first = next(lines, None)
        docs = [] if first is None else itertools.chain([first], lines)
    else:
        docs = checked_partition(docs, index)
    if not docs:
        return [CooccurShard.empty(s, n_shards, len(vocab)) for s in range(n_shards)] + [dict.fromkeys(_STATS, 0)]
    limit = _counting_limit(settings["memory_limit"], vocab)
    threads = resolve_threads(worker_threads(settings["num_threads"]))
    with spill_dir(settings["tmp_dir"]) as tmp:
        counter = single._count(docs, vocab, settings["tokenizer"], settings["window"], settings["symmetric"],
                                settings["distance_weighting"], threads, limit, tmp, False)
        with single._named_memory_error(limit):
            shards = counter.to_csr_shards(n_shards, threads=threads)
    stats = {k: int(v) for k, v in counter.stats().items() if k in _STATS}
    del counter
    return [CooccurShard.from_csr(s, n_shards, len(vocab), *arrays[1:]) for s, arrays in enumerate(shards)] + [stats]


def _add_stats(parts: Sequence[Dict[str, int]]) -> Dict[str, int]:
    return {k: sum(int(p[k]) for p in parts) for k in _STATS}


def _shard_nnz(shard: CooccurShard) -> int:
    return int(shard.matrix.nnz)


class CooccurMatrix:
    """A co-occurrence matrix held by the dask workers as ``n_shards`` row shards
    (:class:`~pyfast_nlp.dask.partials.CooccurShard`; word ``r``'s row is in shard
    ``r % n_shards``). ``shards`` are persisted dask objects; ``stats`` are the counter's
    statistics summed over the partitions, with ``nnz``.

    ``to_scipy()`` gathers it into one ``scipy.sparse.coo_matrix`` (float32, as
    :func:`pyfast_nlp.cooccurrence` returns) on the client; ``to_file(path)`` writes the reference
    tool's record file one shard at a time; :class:`pyfast_nlp.dask.GloVe` trains on it where it
    lies."""

    def __init__(self, shards: List[Any], vocab_size: int, stats: Dict[str, int]) -> None:
        self.shards = shards
        self.n_shards = len(shards)
        self.shape = (int(vocab_size), int(vocab_size))
        self.stats = stats

    @property
    def nnz(self) -> int:
        return int(self.stats["nnz"])

    def __repr__(self) -> str:
        return f"<CooccurMatrix {self.shape[0]:,} x {self.shape[1]:,}, {self.nnz:,} entries in {self.n_shards} shards>"

    def to_scipy(self) -> sp.coo_matrix:
        """The whole matrix on the client, as :func:`pyfast_nlp.cooccurrence` returns it."""
        import dask

        from .._base import check_memory

        check_memory(16 * self.nnz, f"gathering a co-occurrence matrix of {self.nnz:,} entries",
                     "keep it on the workers: to_file(), or pyfast_nlp.dask.GloVe")
        rows, cols, vals = [], [], []
        for shard in self.shards:
            r, c, v = dask.compute(dask.delayed(CooccurShard.to_coo)(shard))[0]
            rows.append(r)
            cols.append(c)
            vals.append(v.astype(np.float32))
        return sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=self.shape)

    def to_file(self, path: "os.PathLike[str] | str") -> int:
        """Write the reference GloVe tool's binary records (``int32 w1, int32 w2, float64 value``,
        ids from 1), fetching one shard at a time; atomically. Returns the record count."""
        import dask

        records = 0
        with atomic_path(os.fspath(path)) as tmp, open(tmp, "wb") as f:
            for shard in self.shards:
                rec = dask.compute(dask.delayed(CooccurShard.records)(shard))[0]
                rec.tofile(f)
                records += len(rec)
        return records

    def release(self) -> None:
        """Let the workers drop the shards."""
        self.shards = []


def cooccurrence(data: Any, vocab: Union[Vocab, Sequence[str]], tokenizer: Optional[Tokenizer] = None,
                 window: int = 10, symmetric: bool = True, distance_weighting: bool = True,
                 num_threads: int = -1, memory_limit: Union[int, str, None] = None, tmp_dir: Optional[str] = None,
                 n_shards: Optional[int] = None, split_every: int = 8, progress: bool = True) -> CooccurMatrix:
    """:func:`pyfast_nlp.cooccurrence` over a dask collection (a Bag of texts, a DataFrame text
    column or a list of file paths, a line a document): the same matrix, kept on the workers as
    ``n_shards`` row shards (default: one per worker).

    Each partition is counted in its worker with ``memory_limit`` (default: half of what the
    worker's memory limit leaves one task once the vocabulary is loaded; 4 GB for a worker
    without a limit), spilling to a folder of its own under ``tmp_dir`` (default: the worker's
    local directory) that is removed when the task ends. Partial counts are float64 and added
    in float64, so the result does not depend on how the corpus is partitioned; it equals the
    single-machine matrix exactly for integer counts (``distance_weighting=False``) and to
    float32 rounding otherwise (as the single-machine result does across ``num_threads``).
    A vocabulary too large for a worker's memory limit is a ``MemoryError`` naming the worker.

    >>> import dask.bag as db
    >>> from pyfast_nlp import Vocab
    >>> from pyfast_nlp.dask import cooccurrence
    >>> docs = ["the cat sat", "the dog sat"]
    >>> m = cooccurrence(db.from_sequence(docs, npartitions=2), Vocab(["the", "cat", "sat"], specials=()),
    ...                  window=2, progress=False)
    >>> m.to_scipy().toarray()
    array([[0. , 1. , 1.5],
           [1. , 0. , 1. ],
           [1.5, 1. , 0. ]], dtype=float32)
    """
    import dask

    vocab = single._check_vocab(vocab)
    if len(vocab) == 0:
        raise ValueError("the vocabulary is empty")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive int, not {window!r}")
    if memory_limit is not None:
        single.parse_bytes(memory_limit)  # a bad value is an error here, not in every worker
    n_shards = n_workers() if n_shards is None else n_shards
    if isinstance(n_shards, bool) or not isinstance(n_shards, (int, np.integer)) or n_shards < 1:
        raise ValueError(f"n_shards must be a positive int, not {n_shards!r}")
    if not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"split_every must be an int >= 2, not {split_every!r}")
    resolve_threads(num_threads)
    tokenizer = tokenizer if tokenizer is not None else Tokenizer()
    # Each partition's counts are merged and emitted once, so fewer, larger blocks of a file cost less:
    # one per worker, at most 256 MiB (the counter's memory stays bounded by memory_limit).
    bag = as_bag(data, blocks_per_worker=1, max_block=256 << 20)
    parts = bag.to_delayed()
    if not parts:
        raise ValueError("empty corpus: the collection has no partitions")
    settings = {"n_shards": int(n_shards), "memory_limit": memory_limit, "tmp_dir": tmp_dir, "window": int(window),
                "symmetric": bool(symmetric), "distance_weighting": bool(distance_weighting), "tokenizer": tokenizer,
                "num_threads": num_threads}
    shared_vocab = shared(vocab)  # sent once, not with every task
    pieces = []
    workers = worker_addresses()
    for i, p in enumerate(parts):
        with placed(i, workers):  # the partition and its cutting into pieces on one worker
            c = dask.delayed(partial(_count_partition, settings), nout=n_shards + 1)(shared_vocab, p, i)
            pieces.append([c[s] for s in range(n_shards + 1)])
    shards = [tree_merge([pc[s] for pc in pieces], split_every) for s in range(n_shards)]
    stats = dask.delayed(_add_stats)([pc[n_shards] for pc in pieces])
    nnz = [dask.delayed(_shard_nnz)(s) for s in shards]
    out = persist(shards + [stats] + nnz, "co-occurrences", progress)
    shards, (stats, *nnz) = out[:n_shards], dask.compute(*out[n_shards:])
    stats = dict(stats)
    stats["nnz"] = int(sum(nnz))
    return CooccurMatrix(shards, len(vocab), single.checked_stats(stats))


def cooccurrence_to_file(data: Any, vocab: Union[Vocab, Sequence[str]], path: "os.PathLike[str] | str",
                         **kwargs: Any) -> Dict[str, int]:
    """:func:`cooccurrence`, written to ``path`` in the reference tool's binary record format (as
    :func:`pyfast_nlp.cooccurrence_to_file`), one shard at a time: the client never holds more than
    one shard. Returns the statistics, with ``records``."""
    m = cooccurrence(data, vocab, **kwargs)
    try:
        stats = dict(m.stats)
        stats["records"] = m.to_file(path)
    finally:
        m.release()
    return stats
