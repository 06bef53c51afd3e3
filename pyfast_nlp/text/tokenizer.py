"""The tokenizer (C++ kernel, parallel over documents with the GIL released)."""
from __future__ import annotations

import os
import unicodedata
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .. import _core
from .._base import max_line_bytes, progress_bar, resolve_threads
from .._io import check_file
from .stemmer import STEMMERS, stemmer_kind

__all__ = ["Tokenizer", "PATTERNS"]

Text = Union[str, bytes]
StemmerArg = Union[None, str, Callable[[str], str]]

PATTERNS = ("word", "char", "whitespace")


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
        if pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {pattern!r}; expected one of {PATTERNS}")
        if errors not in ("strict", "replace"):
            raise ValueError(f"errors must be 'strict' or 'replace', not {errors!r}")
        if normalize not in (None, "NFC"):
            raise ValueError("normalize must be None or 'NFC' (decomposing forms would split Hangul into jamo)")
        if min_token_len is not None and (not isinstance(min_token_len, int) or min_token_len < 1):
            raise ValueError(f"min_token_len must be a positive int, not {min_token_len!r}")
        if stemmer is not None and not callable(stemmer) and stemmer not in STEMMERS:
            raise ValueError(f"unknown stemmer {stemmer!r}; expected one of {STEMMERS} or a callable")
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

    def config(self, stop_words: Optional[Sequence[str]] = None, ngram_range: Tuple[int, int] = (1, 1),
               analyzer: str = "word") -> "_core.AnalyzerConfig":
        """The compiled analyzer configuration the C++ kernels run: these settings, plus
        ``stop_words`` (matched before stemming) and n-grams of words, or with ``analyzer="char"``
        / ``"char_wb"`` of characters (scikit-learn's analyzers; only ``lowercase`` and ``errors``
        apply to those). A Python ``stemmer`` is not part of it (the corpus door applies it)."""
        stemmer = stemmer_kind(self.stemmer) if isinstance(self.stemmer, str) else _core.StemmerKind.none
        return _core.AnalyzerConfig(unit=_core.Unit.__members__[analyzer], lowercase=bool(self.lowercase), pattern=_core.Pattern.__members__[self.pattern],
                                    min_token_len=int(self.min_token_len), split_script=bool(self.split_script),
                                    replace_errors=self.errors == "replace", stemmer=stemmer,
                                    ngram_min=int(ngram_range[0]), ngram_max=int(ngram_range[1]),
                                    stop_words=list(stop_words) if stop_words is not None else None)

    @property
    def cfg(self) -> "_core.AnalyzerConfig":
        """:meth:`config` with no stop words or n-grams, built once (it does not pickle)."""
        if self._cfg is None:
            self._cfg = self.config()
        return self._cfg

    @property
    def python_stemmer(self) -> Optional[Callable[[str], str]]:
        """The stemmer when it is a Python callable (applied token by token after the C++
        tokenizer), else None."""
        return self.stemmer if callable(self.stemmer) else None

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
        out = _core.tokenize_many(self.cfg, docs, threads=threads)
        return [self._post(t) for t in out] if callable(self.stemmer) else out

    def tokenize_file(self, path: "os.PathLike[str] | str", progress: bool = False,
                      chunk_bytes: int = 1 << 24) -> Iterator[List[str]]:
        """Stream a UTF-8 text file, yielding the tokens of each line (a line is a
        document). Memory stays bounded by ``chunk_bytes`` however large the file is.
        The file is read as it is (``normalize`` does not apply)."""
        path = check_file(path)
        reader = _core.LineReader(path, chunk_bytes, max_line_bytes=max_line_bytes())
        with progress_bar(progress, total=reader.total_bytes, unit="B", unit_scale=True,
                          desc=os.path.basename(path)) as bar:
            done = 0
            while True:
                batch = reader.tokenize_next(self.cfg, threads=self.num_threads)
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

