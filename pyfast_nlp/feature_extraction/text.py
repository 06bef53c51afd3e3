"""Bag-of-words: a drop-in, faster ``CountVectorizer``."""
from __future__ import annotations

import numbers
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._base import ParamsMixin, resolve_threads
from ..exceptions import check_is_fitted
from ..text.corpus import open_corpus
from ..text.stop_words import ENGLISH_STOP_WORDS
from ..text.tokenizer import Tokenizer

__all__ = ["CountVectorizer"]


class CountVectorizer(ParamsMixin):
    """Convert a collection of texts to a sparse matrix of token counts.

    The scikit-learn estimator interface (``fit``, ``transform``, ``fit_transform``,
    ``get_feature_names_out``, ``vocabulary_``, ``get_params``/``set_params``), and with
    the settings scikit-learn also has, the same ``vocabulary_`` and the same matrix as
    ``sklearn.feature_extraction.text.CountVectorizer``: features sorted by code point,
    ``min_df``/``max_df``/``max_features`` applied the same way. Tokenizing, stop-word
    removal, stemming, n-grams and counting run in C++ on ``num_threads`` threads.

    ``pattern``: ``"word"`` (scikit-learn's default ``token_pattern``), ``"char"`` or
    ``"whitespace"``; ``stop_words``: ``None``, ``"english"`` (this project's list, see
    ``pyfast_nlp.stop_words``) or a list, matched before stemming; ``stemmer``:
    ``None``, ``"english"``, ``"porter"``, ``"korean"`` or a callable (slower: tokens go
    through Python).

    >>> from pyfast_nlp import CountVectorizer
    >>> docs = ["John really really loves this movie", "Jane really likes this song"]
    >>> vocab = {w: i for i, w in enumerate(
    ...     ["John", "really", "loves", "this", "movie", "Jane", "likes", "song"])}
    >>> cv = CountVectorizer(lowercase=False, vocabulary=vocab)
    >>> cv.fit_transform(docs).toarray()
    array([[1, 2, 1, 1, 1, 0, 0, 0],
           [0, 1, 0, 1, 0, 1, 1, 1]])
    >>> CountVectorizer().fit(docs).get_feature_names_out().tolist()
    ['jane', 'john', 'likes', 'loves', 'movie', 'really', 'song', 'this']
    """

    def __init__(self, *, lowercase: bool = True, pattern: str = "word",
                 min_token_len: Optional[int] = None, split_script: bool = False,
                 ngram_range: tuple = (1, 1), min_df: Union[int, float] = 1,
                 max_df: Union[int, float] = 1.0, max_features: Optional[int] = None,
                 vocabulary: Optional[Union[Mapping[str, int], Iterable[str]]] = None,
                 binary: bool = False, stop_words: Union[None, str, Sequence[str]] = None,
                 stemmer: Any = None, errors: str = "strict", dtype: Any = np.int64,
                 num_threads: int = -1) -> None:
        self.lowercase = lowercase
        self.pattern = pattern
        self.min_token_len = min_token_len
        self.split_script = split_script
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.vocabulary = vocabulary
        self.binary = binary
        self.stop_words = stop_words
        self.stemmer = stemmer
        self.errors = errors
        self.dtype = dtype
        self.num_threads = num_threads

    # ------------------------------------------------------------------ helpers
    def _validate(self) -> None:
        nr = self.ngram_range
        if (not isinstance(nr, (tuple, list)) or len(nr) != 2
                or not all(isinstance(x, numbers.Integral) for x in nr) or not 1 <= nr[0] <= nr[1]):
            raise ValueError(f"ngram_range must be a pair (min_n, max_n) with 1 <= min_n <= max_n, got {nr!r}")
        for name in ("min_df", "max_df"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{name} must be an int or a float, not {type(v).__name__}")
            if isinstance(v, numbers.Integral):
                if v < 0:
                    raise ValueError(f"{name} must be >= 0, got {v}")
            elif not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} as a float must be in [0.0, 1.0], got {v}")
        mf = self.max_features
        if mf is not None and (isinstance(mf, bool) or not isinstance(mf, numbers.Integral) or mf < 1):
            raise ValueError(f"max_features must be a positive int or None, got {mf!r}")
        self._tokenizer()  # checks pattern, stemmer, errors, min_token_len and num_threads

    def _stop_list(self) -> Optional[List[str]]:
        sw = self.stop_words
        if sw is None:
            return None
        if isinstance(sw, str):
            if sw == "english":
                return sorted(ENGLISH_STOP_WORDS)
            raise ValueError(f"not a built-in stop list: {sw!r} (use 'english' or pass a list)")
        words = list(sw)
        if not all(isinstance(w, str) for w in words):
            raise TypeError("stop_words must contain only str")
        return words

    def _tokenizer(self) -> Tokenizer:
        return Tokenizer(lowercase=self.lowercase, pattern=self.pattern,
                         min_token_len=self.min_token_len, split_script=self.split_script,
                         stemmer=self.stemmer, errors=self.errors, num_threads=self.num_threads)

    def _analyze(self, raw_documents: Any) -> Tuple[List[Any], "_core.AnalyzerConfig"]:
        """The documents, through the corpus door, and the analyzer configuration to count
        them with."""
        if isinstance(raw_documents, (str, bytes)):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        tok = self._tokenizer()
        source = open_corpus(raw_documents, tok, accept=("texts", "tokens"), stop_words=self._stop_list())
        if source.kind == "texts":
            return source.texts(), tok.config(stop_words=self._stop_list(), ngram_range=tuple(self.ngram_range))
        # A Python stemmer: the door gives stemmed token lists; the n-gram and counting kernels
        # read them back as texts split on single spaces (tokens never hold whitespace).
        docs = [" ".join(toks) for toks in source.token_lists()]
        plain = Tokenizer(lowercase=False, pattern="whitespace", min_token_len=1, errors=self.errors)
        return docs, plain.config(ngram_range=tuple(self.ngram_range))

    def _fixed_vocabulary(self) -> Optional[List[str]]:
        v = self.vocabulary
        if v is None:
            return None
        if isinstance(v, Mapping):
            items = dict(v)
            indices = sorted(items.values())
            if len(set(indices)) != len(indices):
                raise ValueError("Vocabulary contains repeated indices.")
            for i, idx in enumerate(indices):
                if idx != i:
                    raise ValueError(f"Vocabulary of size {len(indices)} doesn't contain index {i}.")
            terms = [""] * len(items)
            for t, i in items.items():
                terms[i] = t
        else:
            terms = list(v)
            if len(set(terms)) != len(terms):
                raise ValueError("Duplicate term in vocabulary")
        if not terms:
            raise ValueError("empty vocabulary passed to fit")
        return terms

    # ------------------------------------------------------------------ API
    def fit(self, raw_documents: Iterable[Any], y: Any = None) -> "CountVectorizer":
        """Learn the vocabulary of ``raw_documents``."""
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Iterable[Any], y: Any = None) -> sp.csr_matrix:
        """Learn the vocabulary and return the document-term matrix."""
        self._validate()
        docs, cfg = self._analyze(raw_documents)
        threads = resolve_threads(self.num_threads)
        fixed = self._fixed_vocabulary()
        if fixed is not None:
            self._set_vocabulary(fixed)
            self.fixed_vocabulary_ = True
            return self._transform_docs(docs, cfg)
        self.fixed_vocabulary_ = False
        terms, index, (indptr, indices, data) = _core.doc_term_fit(cfg, docs, threads=threads)
        if not terms:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        X = _csr(data, indices, indptr, (len(docs), len(terms)))
        if self.binary:
            X.data.fill(1)
        X, kept = self._limit_features(X, terms, len(docs))
        self._set_vocabulary(kept, index if kept is terms else None)
        return X.astype(self.dtype, copy=False)

    def _limit_features(self, X: sp.csr_matrix, terms: List[str], n_doc: int):
        max_doc = self.max_df if isinstance(self.max_df, numbers.Integral) else self.max_df * n_doc
        min_doc = self.min_df if isinstance(self.min_df, numbers.Integral) else self.min_df * n_doc
        if max_doc < min_doc:
            raise ValueError("max_df corresponds to < documents than min_df")
        if max_doc >= n_doc and min_doc <= 1 and self.max_features is None:
            return X, terms  # every fitted term occurs in 1..n_doc documents: nothing to prune
        dfs = np.bincount(X.indices, minlength=X.shape[1])
        mask = np.ones(len(dfs), dtype=bool)
        mask &= dfs <= max_doc
        mask &= dfs >= min_doc
        limit = self.max_features
        if limit is not None and mask.sum() > limit:
            tfs = np.asarray(X.astype(self.dtype).sum(axis=0)).ravel()
            # Same expression as scikit-learn, so ties fall the same way.
            mask_inds = (-tfs[mask]).argsort()[:limit]
            new_mask = np.zeros(len(dfs), dtype=bool)
            new_mask[np.where(mask)[0][mask_inds]] = True
            mask = new_mask
        if mask.all():
            return X, terms
        kept = np.flatnonzero(mask)
        if kept.size == 0:
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        return _select_columns(X, mask), [terms[i] for i in kept]

    def _set_vocabulary(self, terms: List[str], index: Optional[Dict[str, int]] = None) -> None:
        self._terms = list(terms)
        self._index = None
        self.vocabulary_: Dict[str, int] = index if index is not None else dict(zip(self._terms, range(len(self._terms))))

    def _transform_docs(self, docs: List[Any], cfg: "_core.AnalyzerConfig") -> sp.csr_matrix:
        if self._index is None:
            self._index = _core.StringIndex(self._terms)
        cols = np.arange(len(self._terms), dtype=np.int32)
        indptr, indices, data = _core.doc_term_transform(cfg, docs, self._index, cols,
                                                         threads=resolve_threads(self.num_threads))
        X = _csr(data, indices, indptr, (len(docs), len(self._terms)))
        if self.binary:
            X.data.fill(1)
        return X.astype(self.dtype, copy=False)

    def transform(self, raw_documents: Iterable[Any]) -> sp.csr_matrix:
        """Document-term matrix of ``raw_documents`` over the fitted vocabulary (unknown
        words are ignored)."""
        self._check_fitted()
        self._validate()
        docs, cfg = self._analyze(raw_documents)
        return self._transform_docs(docs, cfg)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        self._check_fitted()
        return np.asarray(self._terms, dtype=object)

    def inverse_transform(self, X: Any) -> List[np.ndarray]:
        """Terms with a non-zero count in each row of ``X``."""
        self._check_fitted()
        X = sp.csr_matrix(X)
        names = np.asarray(self._terms, dtype=object)
        return [names[X.indices[X.indptr[i]:X.indptr[i + 1]]] for i in range(X.shape[0])]

    def _check_fitted(self) -> None:
        if not hasattr(self, "_terms"):
            if self.vocabulary is not None:
                self._set_vocabulary(self._fixed_vocabulary())
                self.fixed_vocabulary_ = True
                return
            check_is_fitted(self, "_terms")

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_index"] = None
        return state

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    input_tags=InputTags(two_d_array=False, string=True))


def _csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple) -> sp.csr_matrix:
    """CSR with int32 indices (as scikit-learn makes them) without copying the big arrays."""
    if indptr[-1] <= np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    else:
        indices = indices.astype(np.int64)
    return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)


def _select_columns(X: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
    """Keep the columns where ``mask`` is True, renumbered in order (rows stay sorted)."""
    new_index = np.cumsum(mask) - 1
    keep = mask[X.indices]
    indices = new_index[X.indices[keep]].astype(np.int32)
    data = X.data[keep]
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    counts = np.bincount(rows[keep], minlength=X.shape[0])
    indptr = np.concatenate(([0], np.cumsum(counts)))
    return _csr(data, indices, indptr, (X.shape[0], int(mask.sum())))
