"""Word embeddings: co-occurrence counting, GloVe, and word vectors with their files, neighbours
and analogies (kernels in ``csrc/embeddings``)."""
from .cooccur import cooccurrence, cooccurrence_to_file, read_cooccurrence
from .glove import GloVe
from .word_vectors import WordVectors

__all__ = ["GloVe", "WordVectors", "cooccurrence", "cooccurrence_to_file", "read_cooccurrence"]
