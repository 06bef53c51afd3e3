"""Feature extraction from text: bag-of-words, tf-idf and hashed matrices, as scikit-learn's
``sklearn.feature_extraction.text`` (kernels in ``csrc/text/count.cpp`` and ``weighting.cpp``)."""
from .text import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer

__all__ = ["CountVectorizer", "HashingVectorizer", "TfidfTransformer", "TfidfVectorizer"]
