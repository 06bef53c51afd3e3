"""Tokenizer and stemmers (C++ kernels, parallel over documents with the GIL released)."""
from __future__ import annotations

import os
import unicodedata
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Union

from . import _core
from ._base import progress_bar, resolve_threads

Text = Union[str, bytes]
StemmerArg = Union[None, str, Callable[[str], str]]

_PATTERNS = ("word", "char", "whitespace")
_STEMMERS = ("english", "porter", "korean")


class Stemmer:
    """Word stemmer: ``"english"`` (Snowball English, "Porter2", output identical to
    PyStemmer's), ``"porter"`` (the original 1980 Porter algorithm, as Snowball's
    ``porter``), or ``"korean"`` (a light particle/ending stripper; see the README).

    >>> from pyfast_nlp import Stemmer
    >>> Stemmer("english").stem_batch(["running", "generously", "skies"])
    ['run', 'generous', 'sky']
    >>> Stemmer("korean").stem("합니다")
    '하'
    """

    def __init__(self, language: str = "english", num_threads: int = -1) -> None:
        if language not in _STEMMERS:
            raise ValueError(f"unknown stemmer {language!r}; expected one of {_STEMMERS}")
        self.language = language
        self.num_threads = resolve_threads(num_threads)

    def stem(self, word: str) -> str:
        if not isinstance(word, str):
            raise TypeError(f"word must be str, not {type(word).__name__}")
        return _core.stem(self.language, word)

    def stem_batch(self, words: Sequence[str]) -> List[str]:
        if isinstance(words, (str, bytes)):
            raise TypeError("stem_batch expects a sequence of words, not a single string")
        return _core.stem_many(self.language, list(words), self.num_threads)

    def __call__(self, word: str) -> str:
        return self.stem(word)

    def __repr__(self) -> str:
        return f"Stemmer({self.language!r})"


class Tokenizer:
    """Split text into tokens.

    ``pattern="word"`` gives exactly scikit-learn's default ``(?u)\\b\\w\\w+\\b`` tokens
    (runs of Unicode word characters, at least ``min_token_len`` long: 2 by default,
    1 for ``"char"``/``"whitespace"``); ``"char"`` yields code points; ``"whitespace"``
    splits like ``str.split()``. Lower-casing is Python's ``str.lower``.
    ``split_script=True`` splits a word where the script changes (``"GIMP에서"`` ->
    ``"gimp"``, ``"에서"``); ``korean=True`` is a shortcut for that plus
    ``min_token_len=1``. ``normalize="NFC"`` composes str input first (NFC only: Hangul
    is never decomposed into jamo). Input is ``str`` or UTF-8 ``bytes``; invalid UTF-8
    raises ``ValueError`` naming the byte offset unless ``errors="replace"``. A token that
    a stemmer reduces to nothing (Porter stems ``"s"`` to ``""``) is dropped.

    >>> from pyfast_nlp import Tokenizer
    >>> Tokenizer().tokenize("John really, REALLY loves this movie!")
    ['john', 'really', 'really', 'loves', 'this', 'movie']
    >>> Tokenizer(korean=True).tokenize("GIMP에서 이미지를 엽니다")
    ['gimp', '에서', '이미지를', '엽니다']
    >>> Tokenizer(stemmer="english").tokenize("The runners were running")
    ['the', 'runner', 'were', 'run']
    """

    def __init__(self, lowercase: bool = True, pattern: str = "word",
                 min_token_len: Optional[int] = None, split_script: bool = False,
                 korean: bool = False, stemmer: StemmerArg = None, errors: str = "strict",
                 normalize: Optional[str] = None, num_threads: int = -1) -> None:
        if pattern not in _PATTERNS:
            raise ValueError(f"unknown pattern {pattern!r}; expected one of {_PATTERNS}")
        if errors not in ("strict", "replace"):
            raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")
        if normalize not in (None, "NFC"):
            raise ValueError("normalize must be None or 'NFC' (decomposing forms would split Hangul into jamo)")
        if min_token_len is not None and (not isinstance(min_token_len, int) or min_token_len < 1):
            raise ValueError(f"min_token_len must be a positive int, not {min_token_len!r}")
        if stemmer is not None and not callable(stemmer) and stemmer not in _STEMMERS:
            raise ValueError(f"unknown stemmer {stemmer!r}; expected one of {_STEMMERS} or a callable")
        self.lowercase = lowercase
        self.pattern = pattern
        self.korean = korean
        self.split_script = split_script or korean
        if min_token_len is None:
            min_token_len = 1 if (korean or pattern != "word") else 2
        self.min_token_len = min_token_len
        self.stemmer = stemmer
        self.errors = errors
        self.normalize = normalize
        self.num_threads = resolve_threads(num_threads)
        self._cfg = None

    # The compiled config is rebuilt on demand (it does not pickle).
    def _config(self, stop_words: Optional[Sequence[str]] = None, ngram_range=(1, 1)) -> "_core.AnalyzerConfig":
        stemmer = self.stemmer if isinstance(self.stemmer, str) else ""
        return _core.AnalyzerConfig(self.lowercase, self.pattern, self.min_token_len,
                                    self.split_script, self.errors, stemmer,
                                    ngram_range[0], ngram_range[1],
                                    list(stop_words) if stop_words is not None else None)

    @property
    def cfg(self) -> "_core.AnalyzerConfig":
        if self._cfg is None:
            self._cfg = self._config()
        return self._cfg

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cfg"] = None
        return state

    def _prep(self, text: Text, index: Optional[int] = None) -> Text:
        if isinstance(text, str):
            return unicodedata.normalize("NFC", text) if self.normalize else text
        if isinstance(text, (bytes, bytearray, memoryview)):
            return bytes(text)
        where = "text" if index is None else f"texts must be str or bytes; item {index}"
        raise TypeError(f"{where} must be str or bytes, not {type(text).__name__}" if index is None
                        else f"{where} is {type(text).__name__}")

    def _post(self, tokens: List[str]) -> List[str]:
        if callable(self.stemmer):
            return [s for s in map(self.stemmer, tokens) if s]  # as in C++: no empty tokens
        return tokens

    def tokenize(self, text: Text) -> List[str]:
        """Tokens of one text."""
        return self._post(_core.tokenize(self.cfg, self._prep(text)))

    __call__ = tokenize

    def tokenize_batch(self, texts: Iterable[Text], num_threads: Optional[int] = None) -> List[List[str]]:
        """Tokens of each text, computed in parallel."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("tokenize_batch expects a list of texts, not a single string")
        if self.normalize:
            docs = [self._prep(t, i) for i, t in enumerate(texts)]
        else:  # the kernel takes str and bytes as they are and names a bad item itself
            docs = texts if isinstance(texts, list) else list(texts)
        threads = self.num_threads if num_threads is None else resolve_threads(num_threads)
        out = _core.tokenize_many(self.cfg, docs, threads)
        return [self._post(t) for t in out] if callable(self.stemmer) else out

    def tokenize_file(self, path: "os.PathLike[str] | str", progress: bool = False,
                      chunk_bytes: int = 1 << 24) -> Iterator[List[str]]:
        """Stream a UTF-8 text file, yielding the tokens of each line (a line is a
        document). Memory stays bounded by ``chunk_bytes`` however large the file is.
        The file is read as it is (``normalize`` does not apply)."""
        path = _check_file(path)
        reader = _core.LineReader(path, chunk_bytes)
        with progress_bar(progress, total=reader.total_bytes, unit="B", unit_scale=True,
                          desc=os.path.basename(path)) as bar:
            done = 0
            while True:
                batch = reader.tokenize_next(self.cfg, self.num_threads)
                if batch is None:
                    break
                bar.update(reader.bytes_done - done)
                done = reader.bytes_done
                for toks in batch:
                    yield self._post(toks)

    def __repr__(self) -> str:
        return (f"Tokenizer(lowercase={self.lowercase}, pattern={self.pattern!r}, "
                f"min_token_len={self.min_token_len}, split_script={self.split_script}, "
                f"stemmer={self.stemmer!r})")


def _check_file(path: "os.PathLike[str] | str") -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"is a directory, not a text file: {path}")
    return path
