"""Word embeddings: co-occurrence counting, GloVe, and word vectors with their files, neighbours
and analogies (kernels in ``csrc/embeddings``)."""
from .cooccur import cooccurrence, cooccurrence_to_file, read_cooccurrence
from .glove import GloVe
from .word2vec import Word2Vec
from .word_vectors import WordVectors

__all__ = ["GloVe", "Word2Vec", "WordVectors", "cooccurrence", "cooccurrence_to_file", "read_cooccurrence"]
