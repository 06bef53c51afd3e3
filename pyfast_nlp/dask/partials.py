"""Mergeable partial results: what one partition of a corpus contributes, and how two
contributions add up. Every merge is exact (integer counts, or float64 sums of integer-valued
counts), so a result does not depend on how the corpus was partitioned or in which order the
tree reduction merged the pieces. No dask here: these are plain objects a worker builds and
pickles."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

import numpy as np

__all__ = ["TermStats", "NBCounts", "merge_all"]


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
        terms, inverse = np.unique(np.concatenate([self.terms, other.terms]), return_inverse=True)
        tf = np.zeros(len(terms), dtype=np.result_type(self.tf, other.tf))
        df = np.zeros(len(terms), dtype=np.int64)
        np.add.at(tf, inverse, np.concatenate([self.tf, other.tf]))
        np.add.at(df, inverse, np.concatenate([self.df, other.df]))
        return TermStats(terms.astype(object), tf, df, self.n_docs + other.n_docs)

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


def merge_all(parts: List[Any]) -> Any:
    """Merge a list of partial results left to right (the reduction step of a tree)."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p)
    return out
