"""Distributed Naive Bayes: each block of rows adds its class counts and per-class feature
sums (:class:`~pyfast_nlp.dask.partials.NBCounts`) in its worker; the sums are merged by a tree
reduction and the model is finished on the client by the single-machine code, so it equals the
single-machine model on the same rows to float64 rounding (1e-9). ``predict`` and
``predict_proba`` map the fitted model over the blocks."""
from __future__ import annotations

import math
from functools import partial
from typing import Any, List

import numpy as np

from .. import naive_bayes as single
from ._collections import require_dask
from .partials import NBCounts, merge_all

__all__ = ["MultinomialNB", "ComplementNB", "BernoulliNB"]


def _blocks_of(X: Any, what: str) -> List[Any]:
    """Delayed row blocks of a dask array (one column block), a dask Series/DataFrame or a Bag."""
    require_dask()
    import dask.array as da
    import dask.bag as db

    if isinstance(X, da.Array):
        if X.ndim == 2 and X.numblocks[1] != 1:
            raise ValueError(f"{what} must have one block of columns (rechunk(..., {{1: -1}})), not {X.numblocks[1]}")
        return list(X.to_delayed().ravel())
    if isinstance(X, db.Bag) or hasattr(X, "to_delayed"):
        return list(X.to_delayed())
    raise TypeError(f"{what} must be a dask array, Series or Bag, not {type(X).__name__}")


def _labels(y: Any) -> np.ndarray:
    return np.unique(np.asarray(list(y) if not hasattr(y, "__array__") else y))


def _counts(template: Any, classes: np.ndarray, X: Any, y: Any) -> NBCounts:
    nb = template.__class__(**template.get_params())
    y = np.asarray(list(y) if not hasattr(y, "__array__") else y)
    if X.shape[0] != len(y):
        raise ValueError(f"a block of X has {X.shape[0]} rows but its labels {len(y)}")
    if X.shape[0] == 0:
        return NBCounts(classes, np.zeros(len(classes)), np.zeros((len(classes), X.shape[1])), 0)
    nb.partial_fit(X, y, classes=classes)
    return NBCounts(classes, nb.class_count_, nb.feature_count_, X.shape[0])


class _DaskNB:
    split_every = 8
    _base: Any = None  # the single-machine class

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit on a dask array of row blocks (e.g. a distributed vectorizer's output) and labels
        partitioned the same way (a dask array, Series or Bag with one partition per block)."""
        import dask

        if sample_weight is not None:
            raise NotImplementedError("sample_weight is not supported by the distributed Naive Bayes yet")
        xb, yb = _blocks_of(X, "X"), _blocks_of(y, "y")
        if len(xb) != len(yb):
            raise ValueError(f"X has {len(xb)} row blocks but y {len(yb)} partitions; partition them alike")
        if not xb:
            raise ValueError("cannot fit on an empty dataset (0 samples)")
        self._check_alpha()
        classes = np.unique(np.concatenate(dask.compute(*[dask.delayed(_labels)(b) for b in yb])))
        if len(classes) == 0:
            raise ValueError("cannot fit on an empty dataset (0 samples)")
        level = [dask.delayed(_counts)(self, classes, xbk, ybk) for xbk, ybk in zip(xb, yb)]
        while len(level) > 1:
            level = [dask.delayed(merge_all)(level[i:i + self.split_every])
                     for i in range(0, len(level), self.split_every)]
        total = level[0].compute()
        if total.n_rows == 0:
            raise ValueError("cannot fit on an empty dataset (0 samples)")
        self._reset()
        self.classes_ = classes
        self.n_features_in_ = total.feature_count.shape[1]
        self.class_count_ = total.class_count
        self.feature_count_ = total.feature_count
        self._update_feature_log_prob(self._check_alpha())
        self._update_class_log_prior()
        return self

    def _single(self) -> Any:
        self._check_fitted()
        nb = self._base(**self.get_params())
        nb.__dict__.update({k: v for k, v in self.__dict__.items() if k.endswith("_")})
        return nb

    def _map(self, X: Any, method: str, columns: bool) -> Any:
        import dask
        import dask.array as da

        nb = self._single()
        blocks = _blocks_of(X, "X")
        shape = (math.nan, len(self.classes_)) if columns else (math.nan,)
        dtype = np.float64 if columns else self.classes_.dtype
        parts = [da.from_delayed(dask.delayed(partial(_apply, nb, method))(b), shape=shape, dtype=dtype)
                 for b in blocks]
        return da.concatenate(parts, axis=0)

    def predict(self, X: Any) -> Any:
        """A dask array of the most probable class of each row."""
        return self._map(X, "predict", columns=False)

    def predict_proba(self, X: Any) -> Any:
        return self._map(X, "predict_proba", columns=True)

    def predict_log_proba(self, X: Any) -> Any:
        return self._map(X, "predict_log_proba", columns=True)


def _apply(nb: Any, method: str, X: Any) -> np.ndarray:
    return getattr(nb, method)(X)


class MultinomialNB(_DaskNB, single.MultinomialNB):
    """:class:`pyfast_nlp.MultinomialNB` fitted on dask collections."""

    _base = single.MultinomialNB


class ComplementNB(_DaskNB, single.ComplementNB):
    """:class:`pyfast_nlp.ComplementNB` fitted on dask collections."""

    _base = single.ComplementNB


class BernoulliNB(_DaskNB, single.BernoulliNB):
    """:class:`pyfast_nlp.BernoulliNB` fitted on dask collections."""

    _base = single.BernoulliNB
