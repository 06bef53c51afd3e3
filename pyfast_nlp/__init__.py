"""pyfast_nlp: classic NLP, fast.

Tokenizer, stemmers, vocabulary, bag-of-words and Naive Bayes; co-occurrence matrices,
GloVe and word vectors; character-level RNN/LSTM/GRU language models (``CharLM``, and the
functional kernels in ``pyfast_nlp.nn``); with the hot loops in OpenMP C++ kernels (``pyfast_nlp._core``,
private).

The package mirrors ``csrc/``: ``text`` (tokenizer, stemmers, vocabulary, the corpus door),
``feature_extraction`` (bag-of-words), ``naive_bayes``, ``embeddings`` (co-occurrence, GloVe, word
vectors), ``rnn`` (the recurrent core, CharLM, gradient flow, units), and the ``showcase`` (demo,
report) on top.
"""
from typing import Any, Dict

try:
    from . import _core
except ImportError as e:  # most often: Python started in the project's source tree, without a build there
    import os as _os

    raise ImportError(
        f"pyfast_nlp's compiled module (_core) cannot be imported from {_os.path.dirname(__file__)} ({e}). "
        "If that is the project's source tree, it shadows the installed package: run Python from another "
        "directory, or install it with `pip install .`") from e
from . import _compat
from ._version import __version__
from .embeddings import GloVe, Word2Vec, WordVectors, cooccurrence, cooccurrence_to_file, read_cooccurrence
from .exceptions import NotFittedError
from .feature_extraction import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer
from .naive_bayes import BernoulliNB, ComplementNB, MultinomialNB, ZeroLikelihoodWarning
from .rnn import CharLM
from .rnn import functional as nn
from .text import ENGLISH_STOP_WORDS, Stemmer, Tokenizer, Vocab

_compat.install()  # the flat layout's module names (pyfast_nlp.nn, pyfast_nlp.charlm, ...) still import

__all__ = [
    "BernoulliNB", "CharLM", "ComplementNB", "CountVectorizer", "ENGLISH_STOP_WORDS", "GloVe", "HashingVectorizer",
    "MultinomialNB", "NotFittedError", "Stemmer", "TfidfTransformer", "TfidfVectorizer", "Tokenizer", "Vocab",
    "Word2Vec", "WordVectors", "ZeroLikelihoodWarning",
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
