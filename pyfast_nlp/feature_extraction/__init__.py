"""Feature extraction from text: bag-of-words matrices, as scikit-learn's
``sklearn.feature_extraction.text`` (kernels in ``csrc/text/count.cpp``)."""
from .text import CountVectorizer

__all__ = ["CountVectorizer"]
