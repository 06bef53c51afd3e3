"""A vocabulary counted across workers, equal to :meth:`pyfast_nlp.Vocab.build` on the same
documents."""
from __future__ import annotations

from functools import partial
from typing import Any, List, Optional, Sequence

import numpy as np

from ..text.tokenizer import Tokenizer
from ..text.vocab import Vocab
from ._collections import as_bag, tree_reduce
from .partials import TermStats

__all__ = ["build_vocab"]


def _counted(tokenizer: Optional[Tokenizer], docs: List[Any]) -> TermStats:
    if not docs:
        return TermStats.empty()
    try:
        v = Vocab.build(docs, tokenizer, min_count=1, specials=(), num_threads=1)
    except ValueError as e:
        if "no tokens found" in str(e):
            return TermStats(np.zeros(0, object), np.zeros(0, np.int64), np.zeros(0, np.int64), len(docs))
        raise
    return TermStats.of(v.tokens, v.counts, np.zeros(len(v), np.int64), len(docs))


def build_vocab(data: Any, tokenizer: Optional[Tokenizer] = None, min_count: int = 1,
                max_size: Optional[int] = None, specials: Sequence[str] = ("<unk>",), split_every: int = 8) -> Vocab:
    """Count tokens in each partition of ``data`` (a Bag of texts, a DataFrame text column or a
    list of file paths) inside the workers, merge the counts exactly and keep what
    :meth:`Vocab.build` keeps: tokens seen ``min_count`` times or more, most frequent first
    (ties by code point), at most ``max_size`` entries with ``specials`` first."""
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
        raise ValueError(f"min_count must be a positive int, not {min_count!r}")
    if max_size is not None and (not isinstance(max_size, int) or max_size < len(specials)):
        raise ValueError(f"max_size must be an int >= the number of specials ({len(specials)}), not {max_size!r}")
    stats = tree_reduce(as_bag(data), partial(_counted, tokenizer), split_every=split_every)
    if stats is None or stats.n_docs == 0:
        raise ValueError("empty corpus: no documents")
    if not len(stats.terms):
        raise ValueError(f"no tokens found in {stats.n_docs:,} documents")
    return Vocab.from_counts(list(stats.terms), stats.tf, min_count=min_count, max_size=max_size, specials=specials)
