"""Bag-of-words, tf-idf and feature hashing: scikit-learn's text vectorizers, faster.

``CountVectorizer``, ``TfidfTransformer``, ``TfidfVectorizer`` and ``HashingVectorizer`` take
scikit-learn's parameters and give its matrices. One analyzer seam serves all three vectorizers
(:class:`_TextVectorizer`): documents come in through the corpus door and are decoded, then

- on the **compiled path** the C++ kernels tokenize (or cut character n-grams), remove stop
  words, stem, build word n-grams and count or hash, on ``num_threads`` threads. It is taken for
  ``analyzer="word"`` with the token patterns people use most (``(?u)\\b\\w\\w+\\b``, the default;
  ``(?u)\\b\\w+\\b``; ``\\S+``, which splits like ``str.split()``) or a ``pattern``, and for
  ``analyzer="char"`` and ``"char_wb"``; ``strip_accents`` then runs in Python first;
- on the **Python path** (a callable ``analyzer``, ``preprocessor`` or ``tokenizer``, any other
  ``token_pattern``, or a callable ``stemmer``) each document is analyzed in Python exactly as
  scikit-learn's ``build_analyzer()`` does (``re`` for the pattern), then counted or hashed.

Both paths give the same features; :meth:`_TextVectorizer.analysis_path` says which one a
vectorizer takes.
"""
from __future__ import annotations

import itertools
import numbers
import re
import unicodedata
import warnings
from functools import partial
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._base import ParamsMixin, resolve_threads
from ..exceptions import InvalidParameterError, NotFittedError, check_is_fitted
from ..text.corpus import DOCS_PER_BATCH, open_corpus
from ..text.stemmer import Stemmer
from ..text.stop_words import ENGLISH_STOP_WORDS
from ..text.tokenizer import PATTERNS, Tokenizer

__all__ = ["CountVectorizer", "HashingVectorizer", "TfidfTransformer", "TfidfVectorizer",
           "strip_accents_ascii", "strip_accents_unicode"]

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
# token patterns the C++ tokenizer runs: pattern -> (our pattern, shortest token)
COMPILED_TOKEN_PATTERNS = {
    r"(?u)\b\w\w+\b": ("word", 2), r"\b\w\w+\b": ("word", 2),
    r"(?u)\b\w+\b": ("word", 1), r"\b\w+\b": ("word", 1),
    r"(?u)\S+": ("whitespace", 1), r"\S+": ("whitespace", 1),
}
ANALYZERS = ("word", "char", "char_wb")
_WHITE_SPACES = re.compile(r"\s\s+")


def strip_accents_unicode(s: str) -> str:
    """Decompose (NFKD) and drop the combining marks: ``"naïve café"`` -> ``"naive cafe"``.

    >>> strip_accents_unicode("naïve café")
    'naive cafe'
    """
    normalized = unicodedata.normalize("NFKD", s)
    if normalized == s:
        return s
    return "".join(c for c in normalized if not unicodedata.combining(c))


def strip_accents_ascii(s: str) -> str:
    """Decompose (NFKD) and keep the ASCII characters only: ``"ﬁancé Ω"`` -> ``"fiance "``.

    >>> strip_accents_ascii("ﬁancé Ω")
    'fiance '
    """
    return unicodedata.normalize("NFKD", s).encode("ASCII", "ignore").decode("ASCII")


def _invalid(owner: Any, name: str, allowed: str, value: Any) -> InvalidParameterError:
    return InvalidParameterError(f"The {name!r} parameter of {type(owner).__name__} must be {allowed}. "
                                 f"Got {value!r} instead.")


class _Plan(NamedTuple):
    """How a vectorizer analyzes documents: the compiled configuration with an optional Python
    step per document before it (decoding, accents), or a Python function from a batch of
    documents to their lists of features."""
    config: Optional["_core.AnalyzerConfig"]
    prepare: Optional[Callable[[Any], Any]]
    features: Optional[Callable[[List[Any]], List[List[str]]]]


class _TextVectorizer(ParamsMixin):
    """The analyzer seam the three vectorizers share (scikit-learn's ``_VectorizerMixin``):
    decoding, preprocessing, tokenizing, stop words, stemming and n-grams, compiled or in Python.
    Subclasses set the parameters in ``__init__``."""

    # ------------------------------------------------------------------ checks
    def _check_text_params(self) -> None:
        if self.input not in ("content", "filename", "file"):
            raise _invalid(self, "input", "a str among {'content', 'file', 'filename'}", self.input)
        if self.decode_error not in ("strict", "ignore", "replace"):
            raise _invalid(self, "decode_error", "a str among {'ignore', 'replace', 'strict'}", self.decode_error)
        if not (callable(self.analyzer) or self.analyzer in ANALYZERS):
            raise _invalid(self, "analyzer", "a str among {'char', 'char_wb', 'word'} or a callable", self.analyzer)
        if not (self.strip_accents is None or callable(self.strip_accents)
                or self.strip_accents in ("ascii", "unicode")):
            raise _invalid(self, "strip_accents", "a str among {'ascii', 'unicode'}, a callable or None",
                           self.strip_accents)
        for name in ("preprocessor", "tokenizer"):
            v = getattr(self, name)
            if v is not None and not callable(v):
                raise _invalid(self, name, "a callable or None", v)
        nr = self.ngram_range
        if (not isinstance(nr, tuple) or len(nr) != 2 or not all(isinstance(x, numbers.Integral) for x in nr)
                or nr[0] < 1):
            raise _invalid(self, "ngram_range", "a tuple (min_n, max_n) of positive ints", nr)
        if nr[0] > nr[1]:
            raise ValueError(f"Invalid value for ngram_range={nr} lower boundary larger than the upper boundary.")
        if self.token_pattern is not None and not isinstance(self.token_pattern, str):
            raise _invalid(self, "token_pattern", "a str or None", self.token_pattern)
        if self.pattern is not None and self.pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {self.pattern!r}; expected one of {PATTERNS}")
        self._stop_list()
        if self.stemmer is not None and not callable(self.stemmer):
            Stemmer(self.stemmer)  # names an unknown stemmer
        resolve_threads(self.num_threads)

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

    # ------------------------------------------------------------------ scikit-learn's builders
    def decode(self, doc: Any) -> str:
        """A document as ``str``: read from a file name or file object per ``input``, and bytes
        decoded with ``encoding`` and ``decode_error`` (invalid UTF-8 under ``"strict"`` raises
        ``UnicodeDecodeError``, as in scikit-learn)."""
        if self.input == "filename":
            with open(doc, "rb") as fh:
                doc = fh.read()
        elif self.input == "file":
            doc = doc.read()
        if isinstance(doc, (bytes, bytearray)):
            doc = bytes(doc).decode(self.encoding, self.decode_error)
        if doc is np.nan:
            raise ValueError("np.nan is an invalid document, expected byte or unicode string.")
        if not isinstance(doc, str):
            raise TypeError(f"documents must be str or bytes, not {type(doc).__name__}")
        return doc

    def _accent_function(self) -> Optional[Callable[[str], str]]:
        if callable(self.strip_accents):
            return self.strip_accents
        return {"ascii": strip_accents_ascii, "unicode": strip_accents_unicode, None: None}[self.strip_accents]

    def build_preprocessor(self) -> Callable[[str], str]:
        """The text step before tokenizing: lower-casing, then accent stripping (or the user's
        ``preprocessor``, which replaces both)."""
        if self.preprocessor is not None:
            return self.preprocessor
        strip = self._accent_function()
        lower = self.lowercase

        def preprocess(doc: str) -> str:
            if lower:
                doc = doc.lower()
            return strip(doc) if strip is not None else doc
        return preprocess

    def build_tokenizer(self) -> Callable[[str], List[str]]:
        """The user's ``tokenizer``, or ``re.findall`` of ``token_pattern`` (one capturing group
        at most: its text is the token)."""
        if self.tokenizer is not None:
            return self.tokenizer
        if self.pattern is not None:  # the compiled tokenizer (the preprocessor has lower-cased)
            tok = self._compiled_tokenizer(stemmer=None, lowercase=False)
            return lambda doc: tok.tokenize(doc)
        token_pattern = re.compile(self.token_pattern if self.token_pattern is not None else DEFAULT_TOKEN_PATTERN)
        if token_pattern.groups > 1:
            raise ValueError("More than 1 capturing groups in token pattern. Only a single group should be captured.")
        return token_pattern.findall

    def build_analyzer(self) -> Callable[[Any], List[str]]:
        """A function from one document to its features, in Python (the compiled path gives the
        same features, faster)."""
        self._check_text_params()
        if callable(self.analyzer):
            return partial(_checked, self.analyzer, "analyzer", self.decode)
        preprocess = self.build_preprocessor()
        if self.analyzer == "char":
            return lambda doc: _char_ngrams(preprocess(self.decode(doc)), self.ngram_range)
        if self.analyzer == "char_wb":
            return lambda doc: _char_wb_ngrams(preprocess(self.decode(doc)), self.ngram_range)
        tokenize = partial(_checked, self.build_tokenizer(), "tokenizer", None)
        stop = frozenset(self._stop_list() or ())
        stem = self._stem_function()
        return lambda doc: _word_ngrams(tokenize(preprocess(self.decode(doc))), stop, stem, self.ngram_range)

    def _stem_function(self) -> Optional[Callable[[str], str]]:
        if self.stemmer is None:
            return None
        return self.stemmer if callable(self.stemmer) else Stemmer(self.stemmer).stem

    # ------------------------------------------------------------------ the plan
    def _word_pattern(self) -> Optional[Tuple[str, Optional[int]]]:
        """The compiled tokenizer's (pattern, min_token_len) for these settings, or None."""
        if self.pattern is not None:
            return self.pattern, self.min_token_len
        if self.token_pattern is None:
            return "word", self.min_token_len
        hit = COMPILED_TOKEN_PATTERNS.get(self.token_pattern)
        if hit is None:
            return None
        return hit[0], hit[1] if self.min_token_len is None else self.min_token_len

    def _compiled_tokenizer(self, stemmer: Any, lowercase: Optional[bool] = None) -> Tokenizer:
        pattern, min_len = self._word_pattern() or ("word", None)
        return Tokenizer(lowercase=self.lowercase if lowercase is None else lowercase, pattern=pattern,
                         min_token_len=min_len, split_script=self.split_script, stemmer=stemmer,
                         errors=self.errors, num_threads=self.num_threads)

    def analysis_path(self) -> str:
        """``"compiled"`` or ``"python"``: which path these settings take (see the module's
        docstring)."""
        return "compiled" if self._plan().config is not None else "python"

    def _plan(self) -> _Plan:
        self._check_text_params()
        if self.analyzer != "word" and self.stop_words is not None:
            warnings.warn("The parameter 'stop_words' will not be used since 'analyzer' != 'word'", UserWarning)
        compiled = (not callable(self.analyzer) and self.preprocessor is None
                    and (self.analyzer != "word" or (self.tokenizer is None and not callable(self.stemmer)
                                                     and self._word_pattern() is not None)))
        if not compiled:
            if self.analyzer == "word" and callable(self.stemmer) and self.tokenizer is None \
                    and self.preprocessor is None and self._word_pattern() is not None:
                return _Plan(None, None, self._stemmed_in_python)
            analyze = self.build_analyzer()
            return _Plan(None, None, lambda batch: [analyze(doc) for doc in batch])
        strip = self._accent_function()
        prepare: Optional[Callable[[Any], Any]] = None
        lowercase = self.lowercase
        if strip is not None:  # lower-case, then strip accents, in Python (scikit-learn's order)
            lower = self.lowercase
            decode = self.decode
            prepare = lambda doc: strip(decode(doc).lower() if lower else decode(doc))  # noqa: E731
            lowercase = False
        elif self.input != "content" or self.encoding.lower().replace("_", "-") not in ("utf-8", "utf8") \
                or self.decode_error != "strict":
            prepare = self.decode
        stemmer = self.stemmer if self.analyzer == "word" else None
        tok = self._compiled_tokenizer(stemmer=stemmer, lowercase=lowercase)
        stop = self._stop_list() if self.analyzer == "word" else None
        return _Plan(tok.config(stop_words=stop, ngram_range=tuple(self.ngram_range), analyzer=self.analyzer),
                     prepare, None)

    def _stemmed_in_python(self, batch: List[Any]) -> List[List[str]]:
        """A Python stemmer: the corpus door tokenizes in C++ and stems in Python (stop words
        removed first), then word n-grams."""
        tok = self._compiled_tokenizer(stemmer=self.stemmer)
        docs = [self.decode(d) for d in batch] if self.input != "content" or any(
            isinstance(d, (bytes, bytearray)) for d in batch) else batch
        if self.strip_accents is not None:
            strip = self._accent_function()
            docs = [strip(d.lower() if self.lowercase else d) for d in docs]
        source = open_corpus(docs, tok, accept=("texts",), stop_words=self._stop_list())
        return [_word_ngrams(t, frozenset(), None, self.ngram_range) for t in source.token_lists()]

    def _documents(self, raw_documents: Any, batch: Optional[int]) -> Iterator[List[Any]]:
        """Documents through the corpus door, ``batch`` at a time (None: all at once): texts (a
        list, a generator, a numpy array, a pandas Series), or a ``pathlib.Path`` to a file whose
        lines are the documents. ``bytes`` are decoded here (``encoding``, ``decode_error``)."""
        if isinstance(raw_documents, (str, bytes)):
            raise ValueError("Iterable over raw text documents expected, string object received. "
                             "(For a file whose lines are the documents, pass a pathlib.Path.)")
        if self.input != "content":  # file names or file objects, read one by one by decode()
            it = iter(raw_documents)
            while True:
                chunk = list(itertools.islice(it, batch if batch is not None else 1 << 62))
                if not chunk:
                    return
                yield chunk
        source = open_corpus(raw_documents, accept=("path", "texts"))
        if source.kind == "path":
            if batch is None:
                docs: List[Any] = []
                for b in _line_batches(source.path, self.encoding, self.decode_error):
                    docs.extend(b)
                yield docs
            else:
                yield from _line_batches(source.path, self.encoding, self.decode_error)
            return
        if batch is None:
            yield self._decoded(source.texts())
            return
        for _, b in source.text_batches(batch):
            yield self._decoded(b)

    def _decoded(self, docs: List[Any]) -> List[Any]:
        # bytes decoded in Python (invalid UTF-8 is scikit-learn's UnicodeDecodeError), and
        # anything else that is not str named by decode() (np.nan is scikit-learn's ValueError)
        if self.input == "content" and not all(isinstance(d, str) for d in docs):
            out = []
            for i, d in enumerate(docs):
                if not isinstance(d, (str, bytes, bytearray)) and d is not np.nan:
                    raise TypeError(f"documents must be str or bytes; item {i} is {type(d).__name__}")
                try:
                    out.append(d if isinstance(d, str) else self.decode(d))
                except UnicodeDecodeError as e:  # the same error, naming the document
                    raise UnicodeDecodeError(e.encoding, e.object, e.start, e.end, f"{e.reason} (document {i})") from None
            return out
        return docs


def _checked(fn: Callable[..., Any], name: str, decode: Optional[Callable[[Any], str]], doc: Any) -> List[str]:
    out = fn(decode(doc) if decode is not None else doc)
    if isinstance(out, (str, bytes)) or not isinstance(out, Iterable):
        raise TypeError(f"the {name} returned a {type(out).__name__}; it must return a list of str features")
    out = list(out)
    for f in out:
        if not isinstance(f, str):
            raise TypeError(f"the {name} returned a feature of type {type(f).__name__}; features must be str")
    return out


def _word_ngrams(tokens: List[str], stop: frozenset, stem: Optional[Callable[[str], str]],
                 ngram_range: Tuple[int, int]) -> List[str]:
    if stop:
        tokens = [t for t in tokens if t not in stop]
    if stem is not None:
        tokens = [s for s in map(stem, tokens) if s]
    min_n, max_n = ngram_range
    if max_n == 1:
        return tokens if min_n == 1 else []
    out = list(tokens) if min_n == 1 else []
    for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def _char_ngrams(text: str, ngram_range: Tuple[int, int]) -> List[str]:
    text = _WHITE_SPACES.sub(" ", text)
    min_n, max_n = ngram_range
    return [text[i:i + n] for n in range(min_n, min(max_n, len(text)) + 1) for i in range(len(text) - n + 1)]


def _char_wb_ngrams(text: str, ngram_range: Tuple[int, int]) -> List[str]:
    min_n, max_n = ngram_range
    out = []
    for w in _WHITE_SPACES.sub(" ", text).split():
        w = " " + w + " "
        for n in range(min_n, max_n + 1):
            if n >= len(w):
                out.append(w)
                break
            out.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return out


def _line_batches(path: str, encoding: str, decode_error: str) -> Iterator[List[str]]:
    """The lines of a file (without their line ends), DOCS_PER_BATCH at a time."""
    with open(path, "r", encoding=encoding, errors=decode_error, newline="") as f:
        batch: List[str] = []
        for line in f:
            batch.append(line.rstrip("\n").rstrip("\r") if line.endswith("\n") else line)
            if len(batch) == DOCS_PER_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


class CountVectorizer(_TextVectorizer):
    """Convert a collection of texts to a sparse matrix of token counts.

    The scikit-learn estimator interface (``fit``, ``transform``, ``fit_transform``,
    ``get_feature_names_out``, ``vocabulary_``, ``get_params``/``set_params``) with every
    parameter of ``sklearn.feature_extraction.text.CountVectorizer``, and the same
    ``vocabulary_`` and matrix: features sorted by code point, ``min_df``/``max_df``/
    ``max_features`` applied the same way. See the module's docstring for which settings run
    in C++ (on ``num_threads`` threads) and which in Python.

    Beyond scikit-learn's: ``pattern`` (``"word"``, ``"char"`` or ``"whitespace"``: the compiled
    tokenizer, overriding ``token_pattern``) with ``min_token_len`` and ``split_script`` (see
    :class:`~pyfast_nlp.Tokenizer`); ``stop_words="english"`` is this project's list (see
    ``pyfast_nlp.text.stop_words``), matched before stemming; ``stemmer``: ``None``,
    ``"english"``, ``"porter"``, ``"korean"`` or a callable; ``errors``: how the C++ tokenizer
    treats invalid UTF-8 in ``bytes`` it reads itself.

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
    >>> CountVectorizer(analyzer="char_wb", ngram_range=(2, 2)).fit(["ab"]).get_feature_names_out().tolist()
    [' a', 'ab', 'b ']
    """

    def __init__(self, *, input: str = "content", encoding: str = "utf-8", decode_error: str = "strict",
                 strip_accents: Any = None, lowercase: bool = True, preprocessor: Optional[Callable] = None,
                 tokenizer: Optional[Callable] = None, stop_words: Union[None, str, Sequence[str]] = None,
                 token_pattern: Optional[str] = DEFAULT_TOKEN_PATTERN, ngram_range: Tuple[int, int] = (1, 1),
                 analyzer: Union[str, Callable] = "word", max_df: Union[int, float] = 1.0,
                 min_df: Union[int, float] = 1, max_features: Optional[int] = None,
                 vocabulary: Optional[Union[Mapping[str, int], Iterable[str]]] = None, binary: bool = False,
                 dtype: Any = np.int64, pattern: Optional[str] = None, min_token_len: Optional[int] = None,
                 split_script: bool = False, stemmer: Any = None, errors: str = "strict",
                 num_threads: int = -1) -> None:
        self._store_params(locals())

    # ------------------------------------------------------------------ helpers
    def _validate(self) -> None:
        self._check_text_params()
        for name in ("min_df", "max_df"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise InvalidParameterError(f"{name} must be an int or a float, not {type(v).__name__}")
            if isinstance(v, numbers.Integral):
                if v < 0:
                    raise InvalidParameterError(f"{name} must be >= 0, got {v}")
            elif not 0.0 <= v <= 1.0:
                raise InvalidParameterError(f"{name} as a float must be in [0.0, 1.0], got {v}")
        mf = self.max_features
        if mf is not None and (isinstance(mf, bool) or not isinstance(mf, numbers.Integral) or mf < 1):
            raise InvalidParameterError(f"max_features must be a positive int or None, got {mf!r}")

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

    def _counts(self, raw_documents: Any, fit: bool) -> Tuple[sp.csr_matrix, Optional[List[str]], Optional[dict]]:
        """The count matrix of the documents over the fitted vocabulary (``fit=False``), or
        with a vocabulary learnt from them (``fit=True``: its terms sorted, and their index)."""
        plan = self._plan()
        docs = next(self._documents(raw_documents, None))
        threads = resolve_threads(self.num_threads)
        if plan.config is not None:
            if plan.prepare is not None:
                docs = [plan.prepare(d) for d in docs]
            as_float = np.dtype(self.dtype) == np.float64 and not self.binary  # counts as floats in place
            if fit:
                terms, index, (indptr, indices, data) = _core.doc_term_fit(plan.config, docs, threads=threads,
                                                                           float64=as_float)
                return _csr(data, indices, indptr, (len(docs), len(terms))), terms, index
            if self._index is None:
                self._index = _core.StringIndex(self._terms)
            cols = np.arange(len(self._terms), dtype=np.int32)
            indptr, indices, data = _core.doc_term_transform(plan.config, docs, self._index, cols, threads=threads,
                                                             float64=as_float)
            return _csr(data, indices, indptr, (len(docs), len(self._terms))), None, None
        features = plan.features(docs)
        return _count_features(features, None if fit else self.vocabulary_)

    # ------------------------------------------------------------------ API
    def fit(self, raw_documents: Iterable[Any], y: Any = None) -> "CountVectorizer":
        """Learn the vocabulary of ``raw_documents``."""
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Iterable[Any], y: Any = None) -> sp.csr_matrix:
        """Learn the vocabulary and return the document-term matrix."""
        self._validate()
        fixed = self._fixed_vocabulary()
        if fixed is not None:
            self._set_vocabulary(fixed)
            self.fixed_vocabulary_ = True
            return self._finish(self._counts(raw_documents, fit=False)[0])
        self.fixed_vocabulary_ = False
        X, terms, index = self._counts(raw_documents, fit=True)
        if not terms:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        if self.binary:
            X.data.fill(1)
        X, kept = self._limit_features(X, terms, X.shape[0])
        self._set_vocabulary(kept, index if kept is terms else None)
        return X.astype(self.dtype, copy=False)

    def _finish(self, X: sp.csr_matrix) -> sp.csr_matrix:
        if self.binary:
            X.data.fill(1)
        return X.astype(self.dtype, copy=False)

    def _limit_features(self, X: sp.csr_matrix, terms: List[str], n_doc: int):
        if self._nothing_to_prune(n_doc):
            return X, terms  # every fitted term occurs in 1..n_doc documents: nothing to prune
        dfs = np.bincount(X.indices, minlength=X.shape[1])
        mask = self._kept_terms(dfs, lambda: np.asarray(X.astype(self.dtype).sum(axis=0)).ravel(), n_doc)
        if mask.all():
            return X, terms
        return _select_columns(X, mask), [terms[i] for i in np.flatnonzero(mask)]

    def _doc_bounds(self, n_doc: int) -> Tuple[float, float]:
        max_doc = self.max_df if isinstance(self.max_df, numbers.Integral) else self.max_df * n_doc
        min_doc = self.min_df if isinstance(self.min_df, numbers.Integral) else self.min_df * n_doc
        if max_doc < min_doc:
            raise ValueError("max_df corresponds to < documents than min_df")
        return max_doc, min_doc

    def _nothing_to_prune(self, n_doc: int) -> bool:
        max_doc, min_doc = self._doc_bounds(n_doc)
        return max_doc >= n_doc and min_doc <= 1 and self.max_features is None

    def _kept_terms(self, dfs: np.ndarray, tfs: Callable[[], np.ndarray], n_doc: int) -> np.ndarray:
        """Which terms ``min_df``/``max_df``/``max_features`` keep, from each term's document
        frequency and (called only when ``max_features`` cuts) its total count; terms in code-point
        order. Shared with the distributed vectorizers, so ties fall the same way everywhere."""
        max_doc, min_doc = self._doc_bounds(n_doc)
        mask = np.ones(len(dfs), dtype=bool)
        mask &= dfs <= max_doc
        mask &= dfs >= min_doc
        limit = self.max_features
        if limit is not None and mask.sum() > limit:
            tf = tfs()
            # Same expression as scikit-learn, so ties fall the same way.
            mask_inds = (-tf[mask]).argsort()[:limit]
            new_mask = np.zeros(len(dfs), dtype=bool)
            new_mask[np.where(mask)[0][mask_inds]] = True
            mask = new_mask
        if not mask.any():
            raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
        return mask

    def _set_vocabulary(self, terms: List[str], index: Optional[Dict[str, int]] = None) -> None:
        self._terms = list(terms)
        self._index = None
        self.vocabulary_: Dict[str, int] = index if index is not None else dict(zip(self._terms, range(len(self._terms))))

    def transform(self, raw_documents: Iterable[Any]) -> sp.csr_matrix:
        """Document-term matrix of ``raw_documents`` over the fitted vocabulary (unknown
        words are ignored)."""
        self._check_fitted()
        self._validate()
        return self._finish(self._counts(raw_documents, fit=False)[0])

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


def _count_features(features: Iterable[List[str]], vocabulary: Optional[Dict[str, int]]
                    ) -> Tuple[sp.csr_matrix, Optional[List[str]], Optional[dict]]:
    """Counts of documents already analyzed into feature lists (the Python path): over a fixed
    ``vocabulary`` (unknown features ignored), or learning one (returned sorted by code point)."""
    learn = vocabulary is None
    vocab: Dict[str, int] = {} if learn else vocabulary
    indices: List[int] = []
    indptr = [0]
    values: List[int] = []
    for feats in features:
        row: Dict[int, int] = {}
        for f in feats:
            j = vocab.get(f)
            if j is None:
                if not learn:
                    continue
                j = vocab[f] = len(vocab)
            row[j] = row.get(j, 0) + 1
        indices.extend(row)
        values.extend(row.values())
        indptr.append(len(indices))
    n_cols = len(vocab)
    X = sp.csr_matrix((np.asarray(values, np.int64), np.asarray(indices, np.int32), np.asarray(indptr, np.int64)),
                      shape=(len(indptr) - 1, n_cols))
    if not learn:
        X.sort_indices()
        return X, None, None
    terms = sorted(vocab)
    remap = np.empty(n_cols, np.int32)
    for new, t in enumerate(terms):
        remap[vocab[t]] = new
    X.indices = remap[X.indices] if n_cols else X.indices
    X.has_sorted_indices = False
    X.sort_indices()
    return _csr(X.data, X.indices, X.indptr, X.shape), terms, {t: i for i, t in enumerate(terms)}


class TfidfTransformer(ParamsMixin):
    """Transform a count matrix to tf or tf-idf, as scikit-learn's ``TfidfTransformer``.

    idf(t) = ln((1 + n) / (1 + df(t))) + 1 with ``smooth_idf`` (else ln(n / df(t)) + 1); tf is
    replaced by 1 + ln(tf) with ``sublinear_tf``; rows are then scaled to unit ``norm``
    (``"l2"``, ``"l1"`` or None). The weighting runs in C++ over the rows, in place.

    >>> import scipy.sparse as sp
    >>> from pyfast_nlp import TfidfTransformer
    >>> X = sp.csr_matrix([[3, 0, 1], [2, 0, 0], [3, 0, 0], [4, 0, 0], [3, 2, 0], [3, 0, 2]])
    >>> t = TfidfTransformer().fit(X)
    >>> t.idf_.round(3).tolist()
    [1.0, 2.253, 1.847]
    >>> t.transform(X).toarray()[0].round(3).tolist()
    [0.852, 0.0, 0.524]
    """

    def __init__(self, *, norm: Optional[str] = "l2", use_idf: bool = True, smooth_idf: bool = True,
                 sublinear_tf: bool = False, num_threads: int = -1) -> None:
        self._store_params(locals())

    def _check_params(self) -> None:
        if self.norm not in ("l1", "l2", None):
            raise _invalid(self, "norm", "a str among {'l1', 'l2'} or None", self.norm)
        resolve_threads(self.num_threads)

    def fit(self, X: Any, y: Any = None) -> "TfidfTransformer":
        """Learn the idf vector from the count matrix ``X`` (documents x terms)."""
        self._check_params()
        X = _as_csr(X)
        self.n_features_in_ = X.shape[1]
        if self.use_idf:
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
            n_samples = X.shape[0]
            df = np.bincount(X.indices, minlength=X.shape[1]).astype(dtype, copy=False)
            df += float(self.smooth_idf)
            n_samples += int(self.smooth_idf)
            idf = np.full_like(df, fill_value=n_samples, dtype=dtype)
            idf /= df
            np.log(idf, out=idf)
            idf += 1.0
            self.idf_ = idf
        return self

    def transform(self, X: Any, copy: bool = True) -> sp.csr_matrix:
        """tf-idf of the count matrix ``X``: a float CSR matrix."""
        self._check_params()
        if self.use_idf:
            check_is_fitted(self, "idf_")
        X = _as_csr(X)
        if hasattr(self, "n_features_in_") and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        X = X.astype(dtype, copy=copy or X.dtype != dtype)
        X.sum_duplicates()
        return _weight(X, self.idf_ if self.use_idf else None, self.sublinear_tf, self.norm, self.num_threads)

    def fit_transform(self, X: Any, y: Any = None) -> sp.csr_matrix:
        return self.fit(X).transform(X)


def _as_csr(X: Any) -> sp.csr_matrix:
    if not sp.issparse(X):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be a 2-D count matrix, not shape {X.shape}")
        return sp.csr_matrix(X)
    return X.tocsr()


def _weight(X: sp.csr_matrix, idf: Optional[np.ndarray], sublinear: bool, norm: Optional[str],
            num_threads: int) -> sp.csr_matrix:
    """Sublinear tf, idf and row normalisation of a float CSR matrix, in place."""
    if X.dtype == np.float64 and X.data.flags.c_contiguous:
        _core.weight_rows(X.indptr, X.indices, X.data, idf=None if idf is None else idf.astype(np.float64, copy=False),
                          sublinear_tf=bool(sublinear), norm=_core.Norm.__members__[norm or "none"],
                          threads=resolve_threads(num_threads))
        return X
    # float32 (or a non-contiguous copy): numpy, in the matrix's own precision
    if sublinear:
        np.log(X.data, X.data)
        X.data += 1
    if idf is not None:
        X.data *= idf[X.indices]
    if norm is not None:
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        w = X.data.astype(np.float64)
        s = np.bincount(rows, weights=w * w if norm == "l2" else np.abs(w), minlength=X.shape[0])
        s = np.sqrt(s) if norm == "l2" else s
        s[s == 0] = 1.0
        X.data /= s[rows].astype(X.dtype)
    return X


class TfidfVectorizer(CountVectorizer):
    """``CountVectorizer`` followed by ``TfidfTransformer``, as scikit-learn's
    ``TfidfVectorizer``: the same parameters (``norm``, ``use_idf``, ``smooth_idf``,
    ``sublinear_tf`` added), ``idf_`` and matrix.

    >>> from pyfast_nlp import TfidfVectorizer
    >>> tv = TfidfVectorizer()
    >>> X = tv.fit_transform(["the cat sat", "the dog sat", "the cat ran"])
    >>> tv.get_feature_names_out().tolist(), tv.idf_.round(3).tolist()
    (['cat', 'dog', 'ran', 'sat', 'the'], [1.288, 1.693, 1.693, 1.288, 1.0])
    >>> X.toarray()[0].round(3).tolist()
    [0.62, 0.0, 0.0, 0.62, 0.481]
    """

    def __init__(self, *, input: str = "content", encoding: str = "utf-8", decode_error: str = "strict",
                 strip_accents: Any = None, lowercase: bool = True, preprocessor: Optional[Callable] = None,
                 tokenizer: Optional[Callable] = None, analyzer: Union[str, Callable] = "word",
                 stop_words: Union[None, str, Sequence[str]] = None,
                 token_pattern: Optional[str] = DEFAULT_TOKEN_PATTERN, ngram_range: Tuple[int, int] = (1, 1),
                 max_df: Union[int, float] = 1.0, min_df: Union[int, float] = 1, max_features: Optional[int] = None,
                 vocabulary: Optional[Union[Mapping[str, int], Iterable[str]]] = None, binary: bool = False,
                 dtype: Any = np.float64, norm: Optional[str] = "l2", use_idf: bool = True, smooth_idf: bool = True,
                 sublinear_tf: bool = False, pattern: Optional[str] = None, min_token_len: Optional[int] = None,
                 split_script: bool = False, stemmer: Any = None, errors: str = "strict",
                 num_threads: int = -1) -> None:
        self._store_params(locals())

    def _transformer(self) -> TfidfTransformer:
        return TfidfTransformer(norm=self.norm, use_idf=self.use_idf, smooth_idf=self.smooth_idf,
                                sublinear_tf=self.sublinear_tf, num_threads=self.num_threads)

    @property
    def idf_(self) -> np.ndarray:
        """Inverse document frequency of each feature (with ``use_idf``)."""
        if not hasattr(self, "_tfidf"):
            raise NotFittedError("idf_ is not there yet; call fit first")
        return self._tfidf.idf_

    @idf_.setter
    def idf_(self, value: Any) -> None:
        if not self.use_idf:
            raise ValueError("`idf_` cannot be set when `use_idf=False`.")
        idf = np.asarray(value, dtype=np.float64)
        if self.vocabulary is not None and idf.shape != (len(self.vocabulary),):
            raise ValueError(f"idf length = {idf.shape[0] if idf.ndim else 0} must be equal to vocabulary length "
                             f"= {len(self.vocabulary)}")
        self._tfidf = self._transformer()
        self._tfidf.idf_ = idf
        self._tfidf.n_features_in_ = len(idf)

    def fit(self, raw_documents: Iterable[Any], y: Any = None) -> "TfidfVectorizer":
        """Learn the vocabulary and idf of ``raw_documents``."""
        self.fit_transform(raw_documents)
        return self

    def fit_transform(self, raw_documents: Iterable[Any], y: Any = None) -> sp.csr_matrix:
        """Learn the vocabulary and idf; return the tf-idf matrix."""
        self._transformer()._check_params()
        X = super().fit_transform(raw_documents)
        X.has_canonical_format = True  # made here: sorted columns, no duplicates
        self._tfidf = self._transformer().fit(X)
        return self._tfidf.transform(X, copy=False)

    def transform(self, raw_documents: Iterable[Any]) -> sp.csr_matrix:
        """tf-idf of ``raw_documents`` over the fitted vocabulary and idf."""
        check_is_fitted(self, "_tfidf", "The TF-IDF vectorizer is not fitted")
        X = super().transform(raw_documents)
        X.has_canonical_format = True  # made here: sorted columns, no duplicates
        return self._tfidf.transform(X, copy=False)


class HashingVectorizer(_TextVectorizer):
    """Convert texts to a matrix of hashed token counts, as scikit-learn's
    ``HashingVectorizer``: bit-identical matrices (32-bit MurmurHash3, seed 0, of each
    feature's UTF-8 bytes; column |h| mod ``n_features``, sign of h with ``alternate_sign``).

    Stateless: ``fit`` only checks the parameters and ``partial_fit`` does nothing, so
    ``transform`` works on any documents, and streams a generator or a ``pathlib.Path`` (a line
    is a document) batch by batch.

    >>> from pyfast_nlp import HashingVectorizer
    >>> X = HashingVectorizer(n_features=16).transform(["the cat sat on the mat"])
    >>> X.shape, X.nnz, round(float((X.toarray() ** 2).sum()), 6)
    ((1, 16), 4, 1.0)
    """

    def __init__(self, *, input: str = "content", encoding: str = "utf-8", decode_error: str = "strict",
                 strip_accents: Any = None, lowercase: bool = True, preprocessor: Optional[Callable] = None,
                 tokenizer: Optional[Callable] = None, stop_words: Union[None, str, Sequence[str]] = None,
                 token_pattern: Optional[str] = DEFAULT_TOKEN_PATTERN, ngram_range: Tuple[int, int] = (1, 1),
                 analyzer: Union[str, Callable] = "word", n_features: int = 2 ** 20, binary: bool = False,
                 norm: Optional[str] = "l2", alternate_sign: bool = True, dtype: Any = np.float64,
                 pattern: Optional[str] = None, min_token_len: Optional[int] = None, split_script: bool = False,
                 stemmer: Any = None, errors: str = "strict", num_threads: int = -1) -> None:
        self._store_params(locals())

    def _check_params(self) -> None:
        self._check_text_params()
        nf = self.n_features
        if isinstance(nf, bool) or not isinstance(nf, numbers.Integral) or not 1 <= nf <= np.iinfo(np.int32).max:
            raise _invalid(self, "n_features", "an int in the range [1, 2147483647]", nf)
        if self.norm not in ("l1", "l2", None):
            raise _invalid(self, "norm", "a str among {'l1', 'l2'} or None", self.norm)

    def fit(self, X: Any = None, y: Any = None) -> "HashingVectorizer":
        """Only checks the parameters: the vectorizer is stateless."""
        self._check_params()
        return self

    def partial_fit(self, X: Any = None, y: Any = None) -> "HashingVectorizer":
        """Does nothing (the vectorizer is stateless), as in scikit-learn."""
        return self

    def transform(self, X: Any) -> sp.csr_matrix:
        """The hashed, normalised document-term matrix of ``X`` (texts, a generator, or a
        ``pathlib.Path`` whose lines are the documents), built batch by batch."""
        self._check_params()
        plan = self._plan()
        threads = resolve_threads(self.num_threads)
        parts = []
        for batch in self._documents(X, DOCS_PER_BATCH):
            if plan.config is not None:
                docs = [plan.prepare(d) for d in batch] if plan.prepare is not None else batch
                indptr, indices, data = _core.hash_docs(plan.config, docs, n_features=int(self.n_features),
                                                        alternate_sign=bool(self.alternate_sign), threads=threads)
            else:
                indptr, indices, data = _core.hash_term_lists(plan.features(batch), n_features=int(self.n_features),
                                                              alternate_sign=bool(self.alternate_sign))
            parts.append(_csr(data, indices, indptr, (len(indptr) - 1, int(self.n_features))))
        if not parts:
            parts.append(sp.csr_matrix((0, int(self.n_features)), dtype=np.float64))
        X = parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")
        if self.binary:
            X.data.fill(1)
        if self.norm is not None:
            X = _weight(X, None, False, self.norm, self.num_threads)
        return X.astype(self.dtype, copy=False)

    def fit_transform(self, X: Any, y: Any = None) -> sp.csr_matrix:
        return self.fit(X).transform(X)

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    input_tags=InputTags(two_d_array=False, string=True), requires_fit=False)


def _csr(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple) -> sp.csr_matrix:
    """CSR with int32 indices (as scikit-learn makes them) without copying the big arrays."""
    if indptr[-1] <= np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    else:
        indices = indices.astype(np.int64)
    return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)


def _select_columns(X: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
    """Keep the columns where ``mask`` is True, renumbered in order (rows stay sorted)."""
    new_col = np.where(mask, np.cumsum(mask) - 1, -1).astype(np.int64)
    indptr, indices, at = _core.csr_remap_columns(X.indptr.astype(np.int64, copy=False), X.indices, new_col)
    return _csr(X.data[at], indices, indptr, (X.shape[0], int(mask.sum())))