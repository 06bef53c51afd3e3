"""pyfast_nlp: classic NLP, fast.

Tokenizer, stemmers, vocabulary, bag-of-words and Naive Bayes; co-occurrence matrices,
GloVe and word vectors; character-level RNN/LSTM/GRU language models (``CharLM``, and the
functional kernels in ``pyfast_nlp.nn``); with the hot loops in OpenMP C++ kernels (``pyfast_nlp._core``,
private).
"""
from typing import Any, Dict

from . import _core, nn
from .charlm import CharLM
from .cooccur import cooccurrence, cooccurrence_to_file, read_cooccurrence
from .feature_extraction import CountVectorizer, NotFittedError
from .glove import GloVe
from .naive_bayes import BernoulliNB, ComplementNB, MultinomialNB, ZeroLikelihoodWarning
from .stop_words import ENGLISH_STOP_WORDS
from .text import Stemmer, Tokenizer
from .vocab import Vocab
from .word_vectors import WordVectors

__version__ = "0.1.0"

__all__ = [
    "BernoulliNB", "CharLM", "ComplementNB", "CountVectorizer", "ENGLISH_STOP_WORDS", "GloVe", "MultinomialNB",
    "NotFittedError", "Stemmer", "Tokenizer", "Vocab", "WordVectors", "ZeroLikelihoodWarning",
    "build_info", "cooccurrence", "cooccurrence_to_file", "read_cooccurrence", "nn", "__version__",
]


def build_info() -> Dict[str, Any]:
    """How this build was made and what it runs with: version, compiler, OpenMP and its
    thread count, the SIMD level the CPU dispatch picked at run time, and whether this is a
    sanitizer (testing) build.

    >>> info = build_info()
    >>> sorted(info)
    ['compiler', 'max_threads', 'native', 'openmp', 'sanitize', 'simd', 'version']
    """
    info = dict(_core.build_info())
    info["version"] = __version__
    return info
