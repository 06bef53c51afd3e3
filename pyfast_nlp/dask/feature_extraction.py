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
from typing import Any, Dict, List

import numpy as np
import scipy.sparse as sp

from ..feature_extraction import text as single
from ._collections import as_bag, require_dask, tree_reduce
from .partials import TermStats

__all__ = ["CountVectorizer", "TfidfVectorizer", "HashingVectorizer"]

_NO_PRUNING = {"max_df": 1.0, "min_df": 1, "max_features": None, "vocabulary": None}


def _threads(requested: int) -> int:
    """-1 inside a worker means the worker's own thread slots, not every core of the machine
    (several worker processes share it)."""
    if requested != -1:
        return requested
    try:
        from distributed import get_worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return -1


def _term_stats(params: Dict[str, Any], docs: List[Any]) -> TermStats:
    """One partition's term totals, counted by the single-machine vectorizer without pruning."""
    cv = single.CountVectorizer(**{**params, **_NO_PRUNING, "num_threads": _threads(params["num_threads"])})
    dtype = np.dtype(params["dtype"])
    if not docs:
        return TermStats.empty(dtype)
    try:
        X = cv.fit_transform(docs)
    except ValueError as e:
        if "empty vocabulary" in str(e):  # this partition holds only stop words or nothing
            return TermStats(np.zeros(0, object), np.zeros(0, dtype), np.zeros(0, np.int64), len(docs))
        raise
    terms = np.asarray(cv.get_feature_names_out(), dtype=object)
    df = np.bincount(X.indices, minlength=X.shape[1]).astype(np.int64)
    tf = np.asarray(X.astype(dtype).sum(axis=0)).ravel()
    return TermStats(terms, tf, df, X.shape[0])


def _transform_block(vectorizer: Any, docs: Any, index: int) -> sp.csr_matrix:
    """One partition's rows, by the fitted single-machine vectorizer (inside the worker)."""
    from ._collections import checked_partition

    docs = checked_partition(docs, index)
    if not docs:
        n = int(vectorizer.n_features) if hasattr(vectorizer, "n_features") else len(vectorizer.get_feature_names_out())
        return sp.csr_matrix((0, n), dtype=vectorizer.dtype)
    vectorizer.num_threads = _threads(vectorizer.num_threads)
    return vectorizer.transform(docs)


def _blocks(bag: Any, fn: Any, n_features: int, dtype: Any) -> Any:
    """A dask array of one CSR block per partition (row counts unknown until computed)."""
    import dask
    import dask.array as da

    meta = sp.csr_matrix((0, n_features), dtype=dtype)
    parts = bag.to_delayed()
    if not parts:
        raise ValueError("empty corpus: the collection has no partitions")
    blocks = [da.from_delayed(dask.delayed(fn)(p, i), shape=(math.nan, n_features), dtype=dtype, meta=meta)
              for i, p in enumerate(parts)]
    return da.concatenate(blocks, axis=0)


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
        stats = self._stats(bag)
        mask = None if self._nothing_to_prune(stats.n_docs) else self._kept_terms(stats.df, lambda: stats.tf,
                                                                                   stats.n_docs)
        terms = stats.terms if mask is None else stats.terms[mask]
        self._set_vocabulary(list(terms))
        self.fixed_vocabulary_ = False
        self.n_documents_ = stats.n_docs
        self._df = stats.df if mask is None else stats.df[mask]
        return self

    def _stats(self, bag: Any) -> TermStats:
        params = self.get_params()
        stats = tree_reduce(bag, partial(_term_stats, params), split_every=self.split_every)
        if stats is None or stats.n_docs == 0:
            raise ValueError("empty corpus: no documents")
        if not len(stats.terms):
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        return stats

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

    def fit_transform(self, raw_documents: Any, y: Any = None) -> Any:
        bag = as_bag(raw_documents)
        return self.fit(bag).transform(bag)


class TfidfVectorizer(single.TfidfVectorizer):
    """:class:`pyfast_nlp.TfidfVectorizer` on a dask collection: the same ``vocabulary_`` and
    ``idf_`` as a single machine (the document frequencies are merged exactly), and a dask array
    of tf-idf CSR blocks from ``transform``."""

    split_every = 8

    def fit(self, raw_documents: Any, y: Any = None) -> "TfidfVectorizer":
        self._transformer()._check_params()
        counter = CountVectorizer(**{k: v for k, v in self.get_params().items()
                                     if k in single.CountVectorizer._param_names()})
        counter.split_every = self.split_every
        counter.fit(raw_documents)
        self._set_vocabulary(counter._terms)
        self.fixed_vocabulary_ = counter.fixed_vocabulary_
        tfidf = self._transformer()
        n = len(counter._terms)
        if self.use_idf:
            if counter.fixed_vocabulary_:
                raise NotImplementedError("a fixed vocabulary with use_idf=True needs the document frequencies; "
                                          "fit without vocabulary=, or use the single-machine class")
            # the single-machine expression (TfidfTransformer.fit), on the merged document frequencies
            dtype = np.dtype(self.dtype) if np.dtype(self.dtype) in (np.float32, np.float64) else np.float64
            df = counter._df.astype(dtype, copy=True)
            df += float(self.smooth_idf)
            n_samples = counter.n_documents_ + int(self.smooth_idf)
            idf = np.full_like(df, fill_value=n_samples, dtype=dtype)
            idf /= df
            np.log(idf, out=idf)
            idf += 1.0
            tfidf.idf_ = idf
        tfidf.n_features_in_ = n
        self._tfidf = tfidf
        self.n_documents_ = getattr(counter, "n_documents_", None)
        return self

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
        bag = as_bag(raw_documents)
        return self.fit(bag).transform(bag)


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
