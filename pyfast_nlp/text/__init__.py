"""Text: the tokenizer, stemmers, vocabulary, stop words, and the corpus door every consumer
reads its input through (kernels in ``csrc/text``)."""
from .corpus import Corpus, Text, open_corpus, read_text
from .stemmer import Stemmer
from .stop_words import ENGLISH_STOP_WORDS
from .tokenizer import Tokenizer
from .vocab import Vocab

__all__ = ["Corpus", "ENGLISH_STOP_WORDS", "Stemmer", "Text", "Tokenizer", "Vocab", "open_corpus", "read_text"]
