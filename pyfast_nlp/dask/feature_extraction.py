"""Distributed ``CountVectorizer``, ``TfidfVectorizer`` and ``HashingVectorizer``: the
single-machine classes, with ``fit`` and ``transform`` taking a dask collection.

``fit`` counts each partition inside its worker (the same C++ kernels, without pruning) into
a :class:`~pyfast_nlp.dask.partials.TermStats`, merges them by a tree reduction, and applies
``min_df``/``max_df``/``max_features`` once to the exact totals with the single-machine code, so
``vocabulary_`` and ``idf_`` are the ones a single machine computes on the same documents, ties
included. ``transform`` returns a dask array with one CSR block per partition, row for row the
single-machine matrix.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import scipy.sparse as sp

from .. import _core
from ..feature_extraction import text as single
from ._collections import (as_bag, checked_partition, persist, require_dask, run_partition, tree_merge, tree_reduce,
                           worker_threads)
from .partials import TermStats

__all__ = ["CountVectorizer", "TfidfVectorizer", "HashingVectorizer"]

_NO_PRUNING = {"max_df": 1.0, "min_df": 1, "max_features": None, "vocabulary": None}


def _term_stats(params: Dict[str, Any], docs: List[Any]) -> TermStats:
    """One partition's term totals, counted by the single-machine vectorizer without pruning."""
    return _counted_block(params, docs)[0]


def _counted_block(params: Dict[str, Any], docs: List[Any]) -> Tuple[TermStats, sp.csr_matrix]:
    """One partition's term totals and its count matrix over its own terms (code-point order)."""
    cv = single.CountVectorizer(**{**params, **_NO_PRUNING, "num_threads": worker_threads(params["num_threads"])})
    dtype = np.dtype(params["dtype"])
    if not docs:
        return TermStats.empty(dtype), sp.csr_matrix((0, 0), dtype=dtype)
    try:
        X = cv.fit_transform(docs)
    except ValueError as e:
        if "empty vocabulary" in str(e):  # this partition holds only stop words or nothing
            return (TermStats(np.zeros(0, object), np.zeros(0, dtype), np.zeros(0, np.int64), len(docs)),
                    sp.csr_matrix((len(docs), 0), dtype=dtype))
        raise
    terms = np.asarray(cv.get_feature_names_out(), dtype=object)
    df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.int64)
    tf = np.asarray(X.astype(dtype).sum(axis=0)).ravel()
    return TermStats(terms, tf, df, X.shape[0]), X


def _first(pair: Tuple[Any, Any]) -> Any:
    return pair[0]


def _pruned(params: Dict[str, Any], stats: TermStats) -> TermStats:
    """The merged totals cut as the single-machine vectorizer cuts them (``min_df``, ``max_df``,
    ``max_features``, ties included: the same code)."""
    if stats is None or stats.n_docs == 0:
        raise ValueError("empty corpus: no documents")
    if not len(stats.terms):
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    cv = single.CountVectorizer(**params)
    if cv._nothing_to_prune(stats.n_docs):
        return stats
    mask = cv._kept_terms(stats.df, lambda: stats.tf, stats.n_docs)
    return TermStats(stats.terms[mask], stats.tf[mask], stats.df[mask], stats.n_docs)


def _idf(df: np.ndarray, n_docs: int, smooth_idf: bool, dtype: Any) -> np.ndarray:
    """The single-machine expression (TfidfTransformer.fit), on merged document frequencies."""
    dtype = np.dtype(dtype) if np.dtype(dtype) in (np.float32, np.float64) else np.float64
    df = df.astype(dtype, copy=True)
    df += float(smooth_idf)
    idf = np.full_like(df, fill_value=n_docs + int(smooth_idf), dtype=dtype)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def _tfidf_of(params: Dict[str, Any], pruned: TermStats) -> single.TfidfTransformer:
    tfidf = single.TfidfTransformer(norm=params["norm"], use_idf=params["use_idf"], smooth_idf=params["smooth_idf"],
                                    sublinear_tf=params["sublinear_tf"], num_threads=worker_threads(params["num_threads"]))
    if params["use_idf"]:
        tfidf.idf_ = _idf(pruned.df, pruned.n_docs, params["smooth_idf"], params["dtype"])
    tfidf.n_features_in_ = len(pruned.terms)
    return tfidf


def _remapped(counted: Tuple[TermStats, sp.csr_matrix], pruned: TermStats,
              tfidf: Optional[single.TfidfTransformer]) -> sp.csr_matrix:
    """A partition's count block renumbered to the fitted vocabulary (``pruned.terms``, in
    code-point order; the partition's own terms are too, so each row stays sorted), pruned terms
    dropped, then weighted by ``tfidf`` when given."""
    stats, X = counted
    n = len(pruned.terms)
    if len(stats.terms):
        new_col = _core.sorted_positions(pruned.terms.tolist(), stats.terms.tolist())
        indptr, cols, at = _core.csr_remap_columns(X.indptr.astype(np.int64, copy=False), X.indices, new_col)
        X = single._csr(X.data[at], cols, indptr, (X.shape[0], n))
    else:
        X = sp.csr_matrix((X.shape[0], n), dtype=X.dtype)
    X.has_canonical_format = True
    return tfidf.transform(X, copy=False) if tfidf is not None else X


def _transform_block(vectorizer: Any, docs: Any, index: int) -> sp.csr_matrix:
    """One partition's rows, by the fitted single-machine vectorizer (inside the worker)."""
    docs = checked_partition(docs, index)
    if not docs:
        n = int(vectorizer.n_features) if hasattr(vectorizer, "n_features") else len(vectorizer.get_feature_names_out())
        return sp.csr_matrix((0, n), dtype=vectorizer.dtype)
    vectorizer.num_threads = worker_threads(vectorizer.num_threads)
    return vectorizer.transform(docs)


def _blocks(bag: Any, fn: Any, n_features: int, dtype: Any) -> Any:
    """A dask array of one CSR block per partition (row counts unknown until computed)."""
    import dask

    parts = bag.to_delayed()
    if not parts:
        raise ValueError("empty corpus: the collection has no partitions")
    return _stack([dask.delayed(fn)(p, i) for i, p in enumerate(parts)], n_features, dtype)


def _stack(blocks: List[Any], n_features: int, dtype: Any) -> Any:
    """Delayed CSR blocks as one dask array (row counts unknown until computed)."""
    import dask.array as da

    meta = sp.csr_matrix((0, n_features), dtype=dtype)
    return da.concatenate([da.from_delayed(b, shape=(math.nan, n_features), dtype=dtype, meta=meta) for b in blocks],
                          axis=0)


class CountVectorizer(single.CountVectorizer):
    """:class:`pyfast_nlp.CountVectorizer` on a dask collection: a ``dask.bag.Bag`` of texts, a
    text column of a dask DataFrame, or a list of file paths (a line is a document). Same
    parameters; ``split_every`` is the fan-in of the merge tree. ``num_threads=-1`` means each
    worker's own thread count.

    ``fit`` gives the very ``vocabulary_`` a single machine learns from the same documents;
    ``transform`` returns a dask array of CSR blocks, one per partition
    (``.compute()`` stacks them into one ``scipy.sparse`` matrix).
    """

    split_every = 8

    def fit(self, raw_documents: Any, y: Any = None) -> "CountVectorizer":
        """Learn the vocabulary of the collection (one pass, counted in the workers)."""
        self._validate()
        bag = as_bag(raw_documents)
        fixed = self._fixed_vocabulary()
        if fixed is not None:
            self._set_vocabulary(fixed)
            self.fixed_vocabulary_ = True
            return self
        params = self.get_params()
        self._learn(_pruned(params, tree_reduce(bag, partial(_term_stats, params), split_every=self.split_every)))
        return self

    def _learn(self, pruned: TermStats) -> None:
        """Take the vocabulary of the merged, pruned totals."""
        self._set_vocabulary(pruned.terms.tolist())
        self.fixed_vocabulary_ = False
        self.n_documents_ = pruned.n_docs
        self._df = pruned.df

    def _fit_blocks(self, bag: Any, tfidf_params: Optional[Dict[str, Any]] = None) -> List[Any]:
        """One pass over the corpus, as one graph: each partition is counted once over its own
        terms and its block kept in its worker, the totals are merged and pruned in a worker, and
        each block is renumbered to the vocabulary (and weighted with ``tfidf_params``) where it
        lies. Learns the vocabulary; returns the blocks, persisted."""
        import dask

        parts = bag.to_delayed()
        if not parts:
            raise ValueError("empty corpus: the collection has no partitions")
        params = self.get_params()
        counted = [dask.delayed(run_partition)(partial(_counted_block, params), p, i) for i, p in enumerate(parts)]
        pruned = dask.delayed(_pruned)(params, tree_merge([dask.delayed(_first)(c) for c in counted],
                                                          self.split_every))
        tfidf = dask.delayed(_tfidf_of)(tfidf_params, pruned) if tfidf_params is not None else None
        out = persist([dask.delayed(_remapped)(c, pruned, tfidf) for c in counted] + [pruned], "vectorizing", False)
        self._learn(dask.compute(out[-1])[0])
        return out[:-1]

    def fit_transform(self, raw_documents: Any, y: Any = None) -> Any:
        """``fit`` and ``transform`` in one pass over the corpus (each partition analysed once);
        the blocks are computed and kept on the workers."""
        self._validate()
        bag = as_bag(raw_documents)
        if self._fixed_vocabulary() is not None:
            return self.fit(bag).transform(bag)
        return _stack(self._fit_blocks(bag), len(self._terms), np.dtype(self.dtype))

    def _single(self) -> single.CountVectorizer:
        """The fitted model as the single-machine class (what each worker transforms with)."""
        self._check_fitted()
        cv = single.CountVectorizer(**self.get_params())
        cv._set_vocabulary(self._terms)
        cv.fixed_vocabulary_ = self.fixed_vocabulary_
        return cv

    def transform(self, raw_documents: Any) -> Any:
        """A dask array (documents x features) of CSR blocks, one per partition."""
        self._validate()
        return _blocks(as_bag(raw_documents), partial(_transform_block, self._single()), len(self._terms),
                       np.dtype(self.dtype))



class TfidfVectorizer(single.TfidfVectorizer):
    """:class:`pyfast_nlp.TfidfVectorizer` on a dask collection: the same ``vocabulary_`` and
    ``idf_`` as a single machine (the document frequencies are merged exactly), and a dask array
    of tf-idf CSR blocks from ``transform``."""

    split_every = 8

    def fit(self, raw_documents: Any, y: Any = None) -> "TfidfVectorizer":
        self._transformer()._check_params()
        counter = self._counter()
        counter.fit(raw_documents)
        self._adopt(counter)
        return self

    def _counter(self) -> CountVectorizer:
        counter = CountVectorizer(**{k: v for k, v in self.get_params().items()
                                     if k in single.CountVectorizer._param_names()})
        counter.split_every = self.split_every
        return counter

    def _adopt(self, counter: CountVectorizer) -> None:
        """The vocabulary and idf of a fitted distributed counter."""
        self._set_vocabulary(counter._terms)
        self.fixed_vocabulary_ = counter.fixed_vocabulary_
        tfidf = self._transformer()
        n = len(counter._terms)
        if self.use_idf:
            if counter.fixed_vocabulary_:
                raise NotImplementedError("a fixed vocabulary with use_idf=True needs the document frequencies; "
                                          "fit without vocabulary=, or use the single-machine class")
            tfidf.idf_ = _idf(counter._df, counter.n_documents_, self.smooth_idf, self.dtype)
        tfidf.n_features_in_ = n
        self._tfidf = tfidf
        self.n_documents_ = getattr(counter, "n_documents_", None)

    def _single(self) -> single.TfidfVectorizer:
        from ..exceptions import check_is_fitted

        check_is_fitted(self, "_tfidf", "The TF-IDF vectorizer is not fitted")
        tv = single.TfidfVectorizer(**self.get_params())
        tv._set_vocabulary(self._terms)
        tv.fixed_vocabulary_ = self.fixed_vocabulary_
        tv._tfidf = self._tfidf
        return tv

    def transform(self, raw_documents: Any) -> Any:
        tv = self._single()
        out = np.float32 if np.dtype(self.dtype) == np.float32 else np.float64  # as TfidfTransformer's output
        return _blocks(as_bag(raw_documents), partial(_transform_block, tv), len(self._terms), out)

    def fit_transform(self, raw_documents: Any, y: Any = None) -> Any:
        """``fit`` and ``transform`` in one pass over the corpus (each partition analysed once)."""
        self._transformer()._check_params()
        bag = as_bag(raw_documents)
        counter = self._counter()
        counter._validate()
        if counter._fixed_vocabulary() is not None:
            return self.fit(bag).transform(bag)
        blocks = counter._fit_blocks(bag, tfidf_params=self.get_params())
        self._adopt(counter)
        out = np.float32 if np.dtype(self.dtype) == np.float32 else np.float64  # as TfidfTransformer's output
        return _stack(blocks, len(self._terms), out)


class HashingVectorizer(single.HashingVectorizer):
    """:class:`pyfast_nlp.HashingVectorizer` on a dask collection: stateless, so ``transform``
    maps the single-machine class over the partitions (bit-identical blocks)."""

    def transform(self, X: Any) -> Any:
        self._check_params()
        require_dask()
        hv = single.HashingVectorizer(**self.get_params())
        return _blocks(as_bag(X), partial(_transform_block, hv), int(self.n_features), np.dtype(self.dtype))

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return self.transform(X)
