"""Mergeable partial results: what one partition of a corpus contributes, and how two
contributions add up. Every merge is exact (integer counts, or float64 sums of integer-valued
counts), so a result does not depend on how the corpus was partitioned or in which order the
tree reduction merged the pieces. No dask here: these are plain objects a worker builds and
pickles."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse as sp

__all__ = ["TermStats", "NBCounts", "CooccurShard", "merge_all"]

# The reference GloVe tool's binary record: int32 word, int32 context (both from 1), float64 value.
RECORD = np.dtype([("w1", "<i4"), ("w2", "<i4"), ("val", "<f8")])


@dataclass
class TermStats:
    """Per-term totals of some documents: ``terms`` sorted by code point (a numpy object
    array of str), each term's total count ``tf`` (in the vectorizer's dtype) and document
    frequency ``df``; ``n_docs`` documents in all.

    >>> a = TermStats.of(["b", "a"], tf=[1, 2], df=[1, 1], n_docs=2)
    >>> b = TermStats.of(["c", "b"], tf=[5, 1], df=[1, 1], n_docs=1)
    >>> m = a.merge(b)
    >>> m.terms.tolist(), m.tf.tolist(), m.df.tolist(), m.n_docs
    (['a', 'b', 'c'], [2, 2, 5], [1, 2, 1], 3)
    """

    terms: np.ndarray
    tf: np.ndarray
    df: np.ndarray
    n_docs: int

    @classmethod
    def of(cls, terms: Sequence[str], tf: Sequence[Any], df: Sequence[int], n_docs: int) -> "TermStats":
        """From unsorted parallel lists (a term listed once)."""
        t = np.asarray(list(terms), dtype=object)
        order = np.argsort(t, kind="stable") if len(t) else np.zeros(0, np.int64)
        return cls(t[order], np.asarray(tf)[order], np.asarray(df, dtype=np.int64)[order], int(n_docs))

    @classmethod
    def empty(cls, dtype: Any = np.int64) -> "TermStats":
        return cls(np.zeros(0, dtype=object), np.zeros(0, dtype=dtype), np.zeros(0, np.int64), 0)

    def merge(self, other: "TermStats") -> "TermStats":
        if not len(other.terms):
            return TermStats(self.terms, self.tf, self.df, self.n_docs + other.n_docs)
        if not len(self.terms):
            return TermStats(other.terms, other.tf, other.df, self.n_docs + other.n_docs)
        from .. import _core  # a linear merge of the two sorted term lists (C++)

        terms, pos_a, pos_b = _core.merge_sorted_terms(self.terms.tolist(), other.terms.tolist())
        tf = np.zeros(len(terms), dtype=np.result_type(self.tf, other.tf))
        df = np.zeros(len(terms), dtype=np.int64)
        tf[pos_a] = self.tf
        tf[pos_b] += other.tf
        df[pos_a] = self.df
        df[pos_b] += other.df
        out = np.empty(len(terms), dtype=object)
        out[:] = terms
        return TermStats(out, tf, df, self.n_docs + other.n_docs)

    @property
    def nbytes(self) -> int:
        return int(self.tf.nbytes + self.df.nbytes + sum(len(t) + 49 for t in self.terms))


@dataclass
class NBCounts:
    """Naive Bayes sufficient statistics of some rows: per-class weighted row counts and
    per-class feature sums (float64), over ``classes`` (sorted)."""

    classes: np.ndarray
    class_count: np.ndarray
    feature_count: np.ndarray
    n_rows: int = 0
    extra: Optional[dict] = field(default=None)

    def merge(self, other: "NBCounts") -> "NBCounts":
        if not np.array_equal(self.classes, other.classes) or self.feature_count.shape != other.feature_count.shape:
            raise ValueError("cannot merge Naive Bayes counts over different classes or features")
        return NBCounts(self.classes, self.class_count + other.class_count, self.feature_count + other.feature_count,
                        self.n_rows + other.n_rows)

    @property
    def nbytes(self) -> int:
        return int(self.classes.nbytes + self.class_count.nbytes + self.feature_count.nbytes)


@dataclass
class CooccurShard:
    """Co-occurrence counts of the rows ``r`` with ``r % n_shards == index`` (a hash partition by
    row): ``matrix`` is a float64 CSR matrix whose local row ``k`` is word ``k * n_shards + index``,
    with a column per word of the vocabulary. Shards of the same rows add up exactly (float64 sums
    of the kernel's float64 partial sums), whatever the partitioning of the corpus.

    >>> parts = CooccurShard.split([0, 1, 2], [1, 0, 2], [1.0, 1.0, 0.5], n_shards=2, vocab_size=3)
    >>> [p.matrix.toarray().tolist() for p in parts]
    [[[0.0, 1.0, 0.0], [0.0, 0.0, 0.5]], [[1.0, 0.0, 0.0]]]
    >>> parts[0].merge(parts[0]).to_coo()[2].tolist()
    [2.0, 1.0]
    """

    index: int
    n_shards: int
    matrix: sp.csr_matrix

    @staticmethod
    def rows_of(index: int, n_shards: int, vocab_size: int) -> int:
        return len(range(index, vocab_size, n_shards))

    @classmethod
    def empty(cls, index: int, n_shards: int, vocab_size: int) -> "CooccurShard":
        shape = (cls.rows_of(index, n_shards, vocab_size), vocab_size)
        return cls(index, n_shards, sp.csr_matrix(shape, dtype=np.float64))

    @classmethod
    def from_csr(cls, index: int, n_shards: int, vocab_size: int, indptr: np.ndarray, indices: np.ndarray,
                 data: np.ndarray) -> "CooccurShard":
        """From the counter's CSR arrays of this shard's rows (no repeated column in a row; columns
        in no particular order)."""
        if indptr[-1] <= np.iinfo(np.int32).max:
            indptr = indptr.astype(np.int32)  # scipy would otherwise widen the indices to int64
        else:
            indices = indices.astype(np.int64)
        return cls(index, n_shards, sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, vocab_size),
                                                  copy=False))

    @classmethod
    def split(cls, row: Any, col: Any, val: Any, n_shards: int, vocab_size: int) -> List["CooccurShard"]:
        """COO entries (global ids, no repeated pair) cut into the ``n_shards`` row shards."""
        row = np.asarray(row, dtype=np.int64)
        col = np.asarray(col, dtype=np.int32)
        val = np.asarray(val, dtype=np.float64)
        shard = row % n_shards
        order = np.argsort(shard, kind="stable")
        bounds = np.searchsorted(shard[order], np.arange(n_shards + 1))
        out = []
        for s in range(n_shards):
            take = order[bounds[s]:bounds[s + 1]]
            shape = (cls.rows_of(s, n_shards, vocab_size), vocab_size)
            m = sp.csr_matrix((val[take], (row[take] // n_shards, col[take])), shape=shape)
            m.sum_duplicates()
            out.append(cls(s, n_shards, m))
        return out

    def merge(self, other: "CooccurShard") -> "CooccurShard":
        if (self.index, self.n_shards, self.matrix.shape) != (other.index, other.n_shards, other.matrix.shape):
            raise ValueError(f"cannot add co-occurrence shard {other.index}/{other.n_shards} to shard "
                             f"{self.index}/{self.n_shards}: they hold different rows")
        if not other.matrix.nnz:
            return self
        if not self.matrix.nnz:
            return other
        return CooccurShard(self.index, self.n_shards, (self.matrix + other.matrix).tocsr())

    def to_coo(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, value) with global word ids, float64 values."""
        m = self.matrix.tocoo()
        return (m.row.astype(np.int64) * self.n_shards + self.index).astype(np.int32), m.col, m.data

    def records(self) -> np.ndarray:
        """The entries as the reference tool's records (ids from 1)."""
        row, col, val = self.to_coo()
        rec = np.empty(len(val), dtype=RECORD)
        rec["w1"], rec["w2"], rec["val"] = row + 1, col + 1, val
        return rec

    @property
    def nbytes(self) -> int:
        m = self.matrix
        return int(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes)


def merge_all(parts: List[Any]) -> Any:
    """Merge a list of partial results left to right (the reduction step of a tree)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p)
    return out
