"""pyfast_nlp on a Dask cluster (``pip install "pyfast_nlp[dask]"``): vectorizers, Naive
Bayes, vocabularies and co-occurrences computed partition by partition inside the workers with the same C++
kernels, their partial results merged exactly, so a cluster run equals a single-machine run on
the same documents; GloVe trained across the workers on the co-occurrence shards they hold.

Inputs: a ``dask.bag.Bag`` of texts, a text column of a dask DataFrame, or a list of file
paths (a line is a document)."""
from ._collections import require_dask

require_dask()

from .cooccur import CooccurMatrix, cooccurrence, cooccurrence_to_file  # noqa: E402
from .feature_extraction import CountVectorizer, HashingVectorizer, TfidfVectorizer  # noqa: E402
from .glove import GloVe  # noqa: E402
from .naive_bayes import BernoulliNB, ComplementNB, MultinomialNB  # noqa: E402
from .partials import CooccurShard, NBCounts, TermStats  # noqa: E402
from .vocab import build_vocab  # noqa: E402


def _register_sizes() -> None:
    # Dask schedules (keeps a task near its inputs, limits memory) by the sizes it believes; for
    # an object it does not know it believes ~56 bytes, which would send tasks away from their data.
    from dask.sizeof import sizeof

    for cls in (CooccurShard, NBCounts, TermStats):
        sizeof.register(cls)(lambda x: x.nbytes)


_register_sizes()

__all__ = ["BernoulliNB", "ComplementNB", "CooccurMatrix", "CooccurShard", "CountVectorizer", "GloVe",
           "HashingVectorizer", "MultinomialNB", "NBCounts", "TermStats", "TfidfVectorizer", "build_vocab",
           "cooccurrence", "cooccurrence_to_file"]
