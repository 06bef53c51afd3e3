"""Vocabulary: token <-> id, counts, encoding and one-hot vectors."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._base import check_memory, max_line_bytes, resolve_threads
from .._io import atomic_write, check_file
from .corpus import CorpusLike, open_corpus
from .tokenizer import Tokenizer

__all__ = ["Vocab"]

_FORMAT = "pyfast_nlp.vocab"


class Vocab:
    """A fixed token <-> id mapping with counts.

    Special tokens (``specials``, default ``("<unk>",)``) come first with fixed ids
    0, 1, ...; the other tokens follow by count, descending, then by token (code point
    order), so the order is deterministic. ``encode`` maps unknown words to ``<unk>``
    (or drops them, or raises, by option).

    >>> from pyfast_nlp import Vocab
    >>> v = Vocab.build(["the cat sat", "the cat ran", "a dog"], specials=("<unk>", "<pad>"))
    >>> v.tokens[:4]
    ['<unk>', '<pad>', 'cat', 'the']
    >>> v.encode(["the", "cat", "flew"]).tolist()
    [3, 2, 0]
    >>> v.decode([3, 2])
    ['the', 'cat']
    >>> v.one_hot([2, 3]).toarray()[:, :4]
    array([[0., 0., 1., 0.],
           [0., 0., 0., 1.]], dtype=float32)
    """

    def __init__(self, tokens: Sequence[str], counts: Optional[Sequence[int]] = None,
                 specials: Sequence[str] = ("<unk>",), unk_token: Optional[str] = "<unk>") -> None:
        specials = list(specials)
        tokens = list(tokens)
        if tokens[:len(specials)] != specials:
            tokens = specials + [t for t in tokens if t not in set(specials)]
        for t in tokens:
            if not isinstance(t, str):
                raise TypeError(f"tokens must be str, found {type(t).__name__}")
        if counts is None:
            counts = [0] * len(tokens)
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != (len(tokens),):
            raise ValueError(f"counts has {counts.shape[0] if counts.ndim else 0} entries for {len(tokens)} tokens")
        self._tokens = tokens
        self._counts = counts
        self.specials = tuple(specials)
        self.unk_token = unk_token if unk_token in specials else None
        self._index = _core.StringIndex(tokens)  # raises on duplicates
        self.unk_id = self._index.find(self.unk_token) if self.unk_token is not None else None

    def __reduce__(self) -> tuple:
        # the C++ index is rebuilt from the tokens (pickling sends a Vocab to dask workers)
        return (Vocab, (self._tokens, self._counts, self.specials, self.unk_token))

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, corpus: CorpusLike, tokenizer: Optional[Tokenizer] = None, min_count: int = 1,
              max_size: Optional[int] = None, specials: Sequence[str] = ("<unk>",),
              num_threads: int = -1, progress: bool = False) -> "Vocab":
        """Count tokens in ``corpus`` (in C++) and keep those seen ``min_count`` times or
        more, at most ``max_size`` entries in all (specials included).

        ``corpus`` is a file path (streamed line by line, so it may exceed memory), an
        iterable of texts (a generator is counted batch by batch, never held whole), or an
        iterable of token lists (already tokenized). ``tokenizer=None`` means ``Tokenizer()``.
        """
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be a positive int, not {min_count!r}")
        if max_size is not None and (not isinstance(max_size, int) or max_size < len(specials)):
            raise ValueError(f"max_size must be an int >= the number of specials ({len(specials)}), not {max_size!r}")
        source = open_corpus(corpus, tokenizer, accept=("path", "texts", "tokens"), progress=progress,
                             desc="counting")
        counter = _core.TermCounter(source.tokenizer.cfg, threads=resolve_threads(num_threads))
        if source.kind == "path":
            with source.progress_bar() as report:
                counter.add_file(source.path, progress=report, max_line_bytes=max_line_bytes())
        elif source.kind == "texts":
            with source.progress_bar() as report:
                for start, batch in source.text_batches():
                    counter.add_texts(batch)
                    report(start + len(batch))
        else:
            counter.add_token_lists(source.token_lists())
        terms, counts, _ = counter.result()
        if len(terms) == 0:
            if counter.documents == 0:
                raise ValueError("empty corpus: no documents")
            tok = source.tokenizer
            hint = ""
            if tok.pattern == "word" and tok.min_token_len > 1:
                hint = (f"; the tokenizer keeps words of {tok.min_token_len} or more characters "
                        "(Tokenizer(min_token_len=1) keeps one-letter words)")
            n = counter.documents
            raise ValueError(f"no tokens found in {n:,} document{'s' if n != 1 else ''}" + hint)
        return cls.from_counts(terms, counts, min_count=min_count, max_size=max_size, specials=specials)

    @classmethod
    def from_counts(cls, terms: Sequence[str], counts: Any, min_count: int = 1, max_size: Optional[int] = None,
                    specials: Sequence[str] = ("<unk>",)) -> "Vocab":
        """The vocabulary :meth:`build` keeps from terms and their corpus counts (any order): those
        seen ``min_count`` times or more, most frequent first, ties by code point, at most
        ``max_size`` entries with ``specials`` first."""
        counts = np.asarray(counts, dtype=np.int64)
        special_set = set(specials)
        keep = [i for i, t in enumerate(terms) if counts[i] >= min_count and t not in special_set]
        keep.sort(key=lambda i: (-counts[i], terms[i]))
        if max_size is not None:
            keep = keep[:max_size - len(specials)]
        tokens = list(specials) + [terms[i] for i in keep]
        cnt = [0] * len(specials) + [int(counts[i]) for i in keep]
        return cls(tokens, cnt, specials=specials,
                   unk_token="<unk>" if "<unk>" in special_set else None)

    # ------------------------------------------------------------------ access
    @property
    def tokens(self) -> List[str]:
        """Tokens by id."""
        return list(self._tokens)

    @property
    def index(self) -> "_core.StringIndex":
        """The compiled token -> id map that the C++ kernels read."""
        return self._index

    @property
    def counts(self) -> np.ndarray:
        """Corpus count of each token, by id (0 for specials)."""
        return self._counts.copy()

    def __len__(self) -> int:
        return len(self._tokens)

    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and self._index.find(token) >= 0

    def __getitem__(self, token: str) -> int:
        i = self._index.find(token) if isinstance(token, str) else -1
        if i < 0:
            raise KeyError(token)
        return i

    def get(self, token: str, default: Optional[int] = None) -> Optional[int]:
        i = self._index.find(token) if isinstance(token, str) else -1
        return default if i < 0 else i

    def to_dict(self) -> Dict[str, int]:
        return {t: i for i, t in enumerate(self._tokens)}

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={self.specials!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Vocab) and self._tokens == other._tokens
                and np.array_equal(self._counts, other._counts) and self.specials == other.specials)

    # ------------------------------------------------------------------ coding
    def encode(self, tokens: Sequence[str], unknown: str = "unk") -> np.ndarray:
        """Ids (int32) of ``tokens``. ``unknown``: ``"unk"`` maps unknown words to
        ``<unk>``, ``"drop"`` removes them, ``"error"`` raises ``KeyError``."""
        if isinstance(tokens, (str, bytes)):
            raise TypeError("encode expects a list of tokens; tokenize the text first")
        if unknown not in ("unk", "drop", "error"):
            raise ValueError(f"unknown must be 'unk', 'drop' or 'error', not {unknown!r}")
        if unknown == "unk":
            if self.unk_id is None:
                raise ValueError("this vocabulary has no <unk> token; use unknown='drop' or 'error'")
            return self._index.encode(tokens, unk_id=self.unk_id)
        tokens = list(tokens)
        ids = self._index.encode(tokens, unk_id=-1)
        if unknown == "error" and len(ids) != len(tokens):
            missing = next(t for t in tokens if self._index.find(t) < 0)
            raise KeyError(f"token {missing!r} is not in the vocabulary")
        return ids

    def _check_ids(self, ids: Union[Sequence[int], np.ndarray]) -> np.ndarray:
        arr = np.asarray(ids)
        if arr.ndim != 1:
            raise ValueError(f"ids must be 1-D, got shape {arr.shape}")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"ids must be integers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64, copy=False)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self)):
            bad = arr[(arr < 0) | (arr >= len(self))][0]
            raise IndexError(f"id {bad} is out of range for a vocabulary of size {len(self)}")
        return arr

    def decode(self, ids: Union[Sequence[int], np.ndarray]) -> List[str]:
        """Tokens of ``ids``."""
        arr = self._check_ids(ids)
        return [self._tokens[i] for i in arr.tolist()]

    def one_hot(self, ids: Union[Sequence[int], np.ndarray], dense: bool = False,
                dtype: type = np.float32) -> Union[sp.csr_matrix, np.ndarray]:
        """One row per id, a single 1 in column ``id``: a ``(len(ids), len(vocab))``
        ``scipy.sparse.csr_matrix`` (``dense=True``: ``numpy`` array)."""
        arr = self._check_ids(ids)
        n = arr.shape[0]
        m = sp.csr_matrix((np.ones(n, dtype=dtype), arr.astype(np.int32), np.arange(n + 1)),
                          shape=(n, len(self)))
        if dense:
            check_memory(n * len(self) * np.dtype(dtype).itemsize, f"a dense {n:,} x {len(self):,} one-hot matrix",
                         "use the sparse result (dense=False)")
            return m.toarray()
        return m

    # ------------------------------------------------------------------ files
    def save(self, path: "os.PathLike[str] | str") -> None:
        """Write JSON atomically: an interrupted save leaves the old file untouched."""
        payload = {"format": _FORMAT, "version": 1, "tokens": self._tokens,
                   "counts": self._counts.tolist(), "specials": list(self.specials),
                   "unk_token": self.unk_token}
        with atomic_write(path) as f:
            json.dump(payload, f, ensure_ascii=False)

    @classmethod
    def load(cls, path: "os.PathLike[str] | str") -> "Vocab":
        path = check_file(path, regular=True)
        try:
            with open(path, encoding="utf-8") as f:
                payload = json.load(f)
        except UnicodeDecodeError as e:
            raise ValueError(f"{path} is not a vocabulary file (not UTF-8 text: {e})") from None
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not a valid vocabulary file (bad or truncated JSON: {e})") from None
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a pyfast_nlp vocabulary file")
        try:
            tokens, counts = payload["tokens"], payload["counts"]
            specials, unk = payload["specials"], payload["unk_token"]
        except KeyError as e:
            raise ValueError(f"{path} is missing the field {e.args[0]!r}") from None
        if not isinstance(tokens, list) or not isinstance(counts, list) or len(tokens) != len(counts):
            raise ValueError(f"{path}: 'tokens' and 'counts' must be lists of equal length")
        if not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"{path}: 'tokens' must hold strings only")
        if not all(type(c) is int and 0 <= c < 2**63 for c in counts):
            raise ValueError(f"{path}: 'counts' must hold non-negative 64-bit integers only")
        if not isinstance(specials, list) or not all(isinstance(t, str) for t in specials):
            raise ValueError(f"{path}: 'specials' must be a list of strings")
        if unk is not None and not isinstance(unk, str):
            raise ValueError(f"{path}: 'unk_token' must be a string or null")
        try:
            return cls(tokens, counts, specials=specials, unk_token=unk)
        except (TypeError, ValueError) as e:  # duplicate tokens and the like
            raise ValueError(f"{path} is not a valid vocabulary file ({e})") from None

