"""Naive Bayes classifiers for count features, computed in log space.

``MultinomialNB``, ``BernoulliNB`` and ``ComplementNB`` follow scikit-learn's formulas
and attribute names, so predictions and probabilities agree with scikit-learn's on the
same features. The per-class sums (fit) and the sparse x dense product (predict) are
OpenMP C++ kernels.

``alpha=0`` is allowed and gives the maximum-likelihood estimate: a word never seen in a
class gives that class probability exactly 0 for any document containing it. If a
document gets probability 0 under *every* class (each class lacks one of its words),
the posterior is 0/0; we then fall back to the class prior for that document (as if it
had no words) and emit a ``ZeroLikelihoodWarning`` saying how many documents were
affected, rather than returning NaN.
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any, Optional

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp

from . import _core
from ._base import ParamsMixin, resolve_threads
from .exceptions import InvalidParameterError, check_is_fitted


class ZeroLikelihoodWarning(UserWarning):
    """Every class gave a document probability 0 (possible only with ``alpha=0``)."""


def _check_X(X: Any, name: str) -> sp.csr_matrix:
    if sp.issparse(X):
        X = sp.csr_matrix(X)
    else:
        if isinstance(X, (str, bytes)):
            raise TypeError(f"{name} expects a 2-D array or sparse matrix of counts, got a string")
        try:
            arr = np.asarray(X)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"X must be a 2-D array of numbers; could not convert it ({e})") from None
        if arr.dtype == object:
            raise ValueError("X must be a 2-D array of numbers (got ragged or non-numeric rows)")
        if arr.ndim != 2:
            raise ValueError(f"Expected a 2-D array, got {arr.ndim}-D array of shape {arr.shape}")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"X must be numeric, got dtype {arr.dtype}")
        X = sp.csr_matrix(arr.astype(np.float64))
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    X.sum_duplicates()
    data = X.data.astype(np.float64, copy=False)
    if not np.isfinite(data).all():
        raise ValueError("Input X contains NaN or infinity.")
    if X.shape[1] >= 2**31:
        raise ValueError("too many features (more than 2**31 - 1)")
    return sp.csr_matrix((data, X.indices.astype(np.int32, copy=False),
                          X.indptr.astype(np.int64, copy=False)), shape=X.shape)


class _BaseDiscreteNB(ParamsMixin):
    _estimator_type = "classifier"

    def _check_non_negative(self, X: sp.csr_matrix) -> None:
        if X.nnz and X.data.min() < 0:
            raise ValueError(f"Negative values in data passed to {type(self).__name__} (input X)")

    def _prepare_X(self, X: Any) -> sp.csr_matrix:
        X = _check_X(X, type(self).__name__)
        self._check_non_negative(X)
        return X

    def _check_alpha(self) -> float:
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or not np.isfinite(a) or a < 0:
            raise ValueError(f"alpha must be a finite number >= 0, got {a!r}")
        return float(a)

    def _check_y(self, y: Any, n_rows: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D, got shape {y.shape}")
        if y.shape[0] != n_rows:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: [{n_rows}, {y.shape[0]}]")
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise ValueError("y contains NaN")
        if y.dtype.kind in "fc" and not np.all(np.asarray(y) == np.round(np.real(y))):
            # scikit-learn's check_classification_targets: continuous values are not classes
            raise ValueError("Unknown label type: continuous. Maybe you are trying to fit a classifier, which "
                             "expects discrete classes on a regression target with continuous values.")
        return y

    def _reset(self) -> None:
        for attr in ("classes_", "class_count_", "feature_count_", "n_features_in_"):
            if hasattr(self, attr):
                delattr(self, attr)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "_BaseDiscreteNB":
        """Fit from a document-term matrix ``X`` (n_samples, n_features) and labels ``y``."""
        X = self._prepare_X(X)
        y = self._check_y(y, X.shape[0])
        if X.shape[0] == 0:
            raise ValueError("cannot fit on an empty dataset (0 samples)")
        self._reset()
        return self._partial_fit(X, y, np.unique(y), sample_weight)

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> "_BaseDiscreteNB":
        """Incremental fit on a batch; ``classes`` (all labels) is required on the first call."""
        X = self._prepare_X(X)
        y = self._check_y(y, X.shape[0])
        return self._partial_fit(X, y, classes, sample_weight)

    def _partial_fit(self, X: sp.csr_matrix, y: np.ndarray, classes: Any, sample_weight: Any) -> "_BaseDiscreteNB":
        alpha = self._check_alpha()
        first = not hasattr(self, "classes_")
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.asarray(classes)
            uniq = np.unique(classes)
            if len(uniq) != len(classes):
                raise ValueError("classes contains duplicate labels")
            self.classes_ = uniq
            self.n_features_in_ = X.shape[1]
            self.class_count_ = np.zeros(len(uniq), dtype=np.float64)
            self.feature_count_ = np.zeros((len(uniq), X.shape[1]), dtype=np.float64)
        else:
            if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
                raise ValueError(f"`classes={classes!r}` is not the same as on the first call to partial_fit "
                                 f"(classes_={self.classes_!r}).")
            self._check_n_features(X)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        bad = self.classes_[idx] != y
        if bad.any():
            raise ValueError(f"y contains labels not in classes: {np.unique(y[bad]).tolist()!r}")
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64)
            if w.shape != (X.shape[0],):
                raise ValueError(f"sample_weight has shape {w.shape}, expected ({X.shape[0]},)")
            if not np.isfinite(w).all() or (w < 0).any():
                raise ValueError("sample_weight must be finite and non-negative")
        Xc = self._transform_fit_X(X)
        counts, cc = _core.nb_feature_counts(Xc.indptr, Xc.indices, Xc.data, idx.astype(np.int32),
                                             sample_weight=w, n_classes=len(self.classes_),
                                             n_features=Xc.shape[1],
                                             threads=resolve_threads(getattr(self, "num_threads", -1)))
        self.feature_count_ += counts
        self.class_count_ += cc
        self._update_feature_log_prob(alpha)
        self._update_class_log_prior()
        return self

    def _transform_fit_X(self, X: sp.csr_matrix) -> sp.csr_matrix:
        return X

    def _update_class_log_prior(self) -> None:
        n = len(self.classes_)
        if self.class_prior is not None:
            prior = np.asarray(self.class_prior, dtype=np.float64)
            if prior.shape != (n,):
                raise ValueError("Number of priors must match number of classes.")
            with np.errstate(divide="ignore"):
                self.class_log_prior_ = np.log(prior)
        elif self.fit_prior:
            with np.errstate(divide="ignore"):
                self.class_log_prior_ = np.log(self.class_count_) - np.log(self.class_count_.sum())
        else:
            self.class_log_prior_ = np.full(n, -np.log(n))

    def _check_fitted(self) -> None:
        check_is_fitted(self, "classes_")

    def _check_n_features(self, X: sp.csr_matrix) -> None:
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")

    def _matmul(self, X: sp.csr_matrix, coef: np.ndarray, bias: Optional[np.ndarray]) -> np.ndarray:
        return _core.csr_matmul_dense(X.indptr, X.indices, X.data, np.ascontiguousarray(coef),
                                      bias=bias, threads=resolve_threads(getattr(self, "num_threads", -1)))

    def _jll(self, X: Any) -> np.ndarray:
        self._check_fitted()
        X = self._prepare_X(X)
        self._check_n_features(X)
        jll = self._joint_log_likelihood(X)
        dead = np.isneginf(jll).all(axis=1) if jll.size else np.zeros(0, bool)
        if dead.any():
            warnings.warn(f"{int(dead.sum())} document(s) have probability 0 under every class "
                          "(alpha=0 and words unseen in each class); using the class prior for them",
                          ZeroLikelihoodWarning, stacklevel=3)
            jll[dead] = self.class_log_prior_
        return jll

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each row of ``X``."""
        jll = self._jll(X)
        return self.classes_[np.argmax(jll, axis=1)]

    def predict_log_proba(self, X: Any) -> np.ndarray:
        jll = self._jll(X)
        with np.errstate(invalid="ignore"):
            return jll - logsumexp(jll, axis=1, keepdims=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.exp(self.predict_log_proba(X))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy on ``(X, y)``."""
        y = np.asarray(y)
        hit = (self.predict(X) == y).astype(np.float64)
        return float(np.average(hit, weights=sample_weight))

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags(sparse=True, positive_only=True))


class MultinomialNB(_BaseDiscreteNB):
    """Multinomial Naive Bayes: P(w|c) = (N_wc + alpha) / (N_c + alpha * V).

    >>> from pyfast_nlp import CountVectorizer, MultinomialNB
    >>> docs = ["good great fun", "great acting", "boring bad plot", "bad bad acting"]
    >>> cv = CountVectorizer(); X = cv.fit_transform(docs)
    >>> clf = MultinomialNB().fit(X, ["pos", "pos", "neg", "neg"])
    >>> clf.predict(cv.transform(["great fun", "boring plot"])).tolist()
    ['pos', 'neg']
    """

    def __init__(self, *, alpha: float = 1.0, fit_prior: bool = True, class_prior: Any = None) -> None:
        self.alpha = alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior

    def _update_feature_log_prob(self, alpha: float) -> None:
        smoothed_fc = self.feature_count_ + alpha
        smoothed_cc = smoothed_fc.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.feature_log_prob_ = np.log(smoothed_fc) - np.log(smoothed_cc.reshape(-1, 1))

    def _joint_log_likelihood(self, X: sp.csr_matrix) -> np.ndarray:
        return self._matmul(X, self.feature_log_prob_.T, self.class_log_prior_)


class ComplementNB(_BaseDiscreteNB):
    """Complement Naive Bayes (Rennie et al. 2003), suited to imbalanced text classes:
    each class is scored by how unlike the *other* classes' word distribution a document is.

    >>> import numpy as np
    >>> from pyfast_nlp import ComplementNB
    >>> X = np.array([[3, 0, 1], [2, 0, 0], [0, 4, 1], [0, 3, 0], [0, 2, 2]])
    >>> ComplementNB().fit(X, ["a", "a", "b", "b", "b"]).predict([[1, 0, 0], [0, 1, 1]]).tolist()
    ['a', 'b']
    """

    def __init__(self, *, alpha: float = 1.0, fit_prior: bool = True, class_prior: Any = None,
                 norm: bool = False) -> None:
        self.alpha = alpha
        self.fit_prior = fit_prior
        self.class_prior = class_prior
        self.norm = norm

    def _update_feature_log_prob(self, alpha: float) -> None:
        self.feature_all_ = self.feature_count_.sum(axis=0)
        comp_count = self.feature_all_ + alpha - self.feature_count_
        with np.errstate(divide="ignore", invalid="ignore"):
            logged = np.log(comp_count / comp_count.sum(axis=1, keepdims=True))
        if self.norm:
            self.feature_log_prob_ = logged / logged.sum(axis=1, keepdims=True)
        else:
            self.feature_log_prob_ = -logged

    def _joint_log_likelihood(self, X: sp.csr_matrix) -> np.ndarray:
        bias = self.class_log_prior_ if len(self.classes_) == 1 else None
        return self._matmul(X, self.feature_log_prob_.T, bias)


class BernoulliNB(_BaseDiscreteNB):
    """Bernoulli Naive Bayes over binary word presence (``X > binarize``): absent words
    count as evidence too.

    >>> from pyfast_nlp import BernoulliNB, CountVectorizer
    >>> cv = CountVectorizer(binary=True)
    >>> X = cv.fit_transform(["cheap pills now", "cheap offer now", "meeting at noon", "lunch at noon"])
    >>> nb = BernoulliNB().fit(X, ["spam", "spam", "ham", "ham"])
    >>> nb.predict(cv.transform(["cheap pills", "noon meeting"])).tolist()
    ['spam', 'ham']
    """

    def __init__(self, *, alpha: float = 1.0, binarize: Optional[float] = 0.0, fit_prior: bool = True,
                 class_prior: Any = None) -> None:
        self.alpha = alpha
        self.binarize = binarize
        self.fit_prior = fit_prior
        self.class_prior = class_prior

    def _check_non_negative(self, X: sp.csr_matrix) -> None:
        pass  # any real values are fine: they are thresholded

    def _binarized(self, X: sp.csr_matrix) -> sp.csr_matrix:
        b = self.binarize
        if b is not None and (isinstance(b, bool) or not isinstance(b, numbers.Real)):
            raise InvalidParameterError(f"The 'binarize' parameter of BernoulliNB must be a float or None. "
                                        f"Got {b!r} instead.")
        if self.binarize is None:
            return X
        data = (X.data > self.binarize).astype(np.float64)
        return sp.csr_matrix((data, X.indices, X.indptr), shape=X.shape)

    def _transform_fit_X(self, X: sp.csr_matrix) -> sp.csr_matrix:
        return self._binarized(X)

    def _update_feature_log_prob(self, alpha: float) -> None:
        smoothed_fc = self.feature_count_ + alpha
        smoothed_cc = self.class_count_ + alpha * 2
        with np.errstate(divide="ignore", invalid="ignore"):
            self.feature_log_prob_ = np.log(smoothed_fc) - np.log(smoothed_cc.reshape(-1, 1))

    def _joint_log_likelihood(self, X: sp.csr_matrix) -> np.ndarray:
        X = self._binarized(X)
        with np.errstate(divide="ignore", invalid="ignore"):
            neg_prob = np.log(1 - np.exp(self.feature_log_prob_))
            coef = (self.feature_log_prob_ - neg_prob).T
        return self._matmul(X, coef, self.class_log_prior_ + neg_prob.sum(axis=1))
