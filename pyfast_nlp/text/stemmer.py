"""Stemmers (C++ kernels: Snowball English, Porter, a light Korean stemmer)."""
from __future__ import annotations

from typing import List, Sequence

from .. import _core
from .._base import resolve_threads

__all__ = ["Stemmer", "STEMMERS", "stemmer_kind"]

STEMMERS = ("english", "porter", "korean")


def stemmer_kind(name: str) -> "_core.StemmerKind":
    """The compiled stemmer called ``name`` (one of :data:`STEMMERS`)."""
    if name not in STEMMERS:
        raise ValueError(f"unknown stemmer {name!r}; expected one of {STEMMERS}")
    return _core.StemmerKind.__members__[name]


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
        self._kind = stemmer_kind(language)
        self.language = language
        self.num_threads = resolve_threads(num_threads)

    def stem(self, word: str) -> str:
        if not isinstance(word, str):
            raise TypeError(f"word must be str, not {type(word).__name__}")
        return _core.stem(self._kind, word)

    def stem_batch(self, words: Sequence[str]) -> List[str]:
        if isinstance(words, (str, bytes)):
            raise TypeError("stem_batch expects a sequence of words, not a single string")
        return _core.stem_many(self._kind, list(words), threads=self.num_threads)

    def __call__(self, word: str) -> str:
        return self.stem(word)

    def __repr__(self) -> str:
        return f"Stemmer({self.language!r})"
