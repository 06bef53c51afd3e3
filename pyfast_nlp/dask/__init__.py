"""pyfast_nlp on a Dask cluster (``pip install "pyfast_nlp[dask]"``): vectorizers, Naive
Bayes and vocabularies computed partition by partition inside the workers with the same C++
kernels, their partial results merged exactly, so a cluster run equals a single-machine run on
the same documents.

Inputs: a ``dask.bag.Bag`` of texts, a text column of a dask DataFrame, or a list of file
paths (a line is a document)."""
from ._collections import require_dask

require_dask()

from .feature_extraction import CountVectorizer, HashingVectorizer, TfidfVectorizer  # noqa: E402
from .naive_bayes import BernoulliNB, ComplementNB, MultinomialNB  # noqa: E402
from .partials import NBCounts, TermStats  # noqa: E402
from .vocab import build_vocab  # noqa: E402

__all__ = ["BernoulliNB", "ComplementNB", "CountVectorizer", "HashingVectorizer", "MultinomialNB", "NBCounts",
           "TermStats", "TfidfVectorizer", "build_vocab"]
