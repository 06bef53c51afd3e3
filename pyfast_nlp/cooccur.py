"""Word-word co-occurrence matrices (C++ kernel, bounded memory), with the semantics of
the reference GloVe tool's ``cooccur``, and its binary record files."""
from __future__ import annotations

import os
import re
import tempfile
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp

from . import _core
from ._base import atomic_path, progress_bar, resolve_threads
from .text import Tokenizer, _check_file
from .vocab import Vocab

Corpus = Union[str, "os.PathLike[str]", Sequence[str], Iterable[Sequence[str]], Iterable[np.ndarray]]

_RECORD = np.dtype([("w1", "<i4"), ("w2", "<i4"), ("val", "<f8")])
_BATCH = 20000  # documents handed to the kernel per call (in-memory corpora)


def parse_bytes(size: Union[int, str]) -> int:
    """``4096``, ``"512MB"``, ``"4GB"``, ``"1.5GiB"`` -> bytes (K, M, G, T are powers of 1024,
    as in the reference tool's ``-memory``)."""
    if isinstance(size, bool):
        raise TypeError("memory_limit must be an int (bytes) or a string such as '4GB'")
    if isinstance(size, (int, np.integer)):
        n = int(size)
    elif isinstance(size, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?B)?\s*", size, re.IGNORECASE)
        if not m:
            raise ValueError(f"cannot read the size {size!r}; write e.g. '512MB' or '4GB'")
        n = int(float(m.group(1)) * 1024 ** "BKMGT".index((m.group(2) or "B").upper()))
    else:
        raise TypeError("memory_limit must be an int (bytes) or a string such as '4GB'")
    if n < 16 << 20:
        raise ValueError(f"memory_limit must be at least 16MB, not {size!r}")
    return n


def _rank_of_id(vocab: Vocab) -> np.ndarray:
    # Frequent words first (their pairs go to the dense block); ties keep id order.
    order = np.argsort(-vocab.counts, kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank


def _check_vocab(vocab: Any) -> Vocab:
    if isinstance(vocab, Vocab):
        return vocab
    if isinstance(vocab, (list, tuple)):
        return Vocab(list(vocab), specials=())
    raise TypeError(f"vocab must be a Vocab or a list of words, not {type(vocab).__name__}")


def _count(corpus: Corpus, vocab: Vocab, tokenizer: Optional[Tokenizer], window: int,
           symmetric: bool, distance_weighting: bool, num_threads: int,
           memory_limit: Union[int, str], tmp_dir: Optional[str], progress: bool,
           dense_bytes: int = 0) -> "_core.CooccurCounter":
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive int, not {window!r}")
    vocab = _check_vocab(vocab)
    if len(vocab) == 0:
        raise ValueError("the vocabulary is empty")
    tok = tokenizer if tokenizer is not None else Tokenizer()
    tmp_dir = os.fspath(tmp_dir) if tmp_dir is not None else tempfile.gettempdir()
    if not os.path.isdir(tmp_dir):
        raise ValueError(f"tmp_dir {tmp_dir!r} is not a directory")
    counter = _core.CooccurCounter(_rank_of_id(vocab), int(window), bool(symmetric),
                                   bool(distance_weighting), parse_bytes(memory_limit), tmp_dir,
                                   resolve_threads(num_threads), int(dense_bytes))
    if isinstance(corpus, (str, os.PathLike)):
        path = _check_file(corpus)
        if callable(tok.stemmer):  # a Python stemmer: tokenize in Python, count ids
            for ids in _id_batches(vocab.encode(t, unknown="drop") for t in tok.tokenize_file(path)):
                counter.add_ids(*ids)
        else:
            with progress_bar(progress, total=os.path.getsize(path), unit="B", unit_scale=True,
                              desc="co-occurrences") as bar:
                def report(done: int, total: int) -> None:
                    bar.update(done - bar.n)
                counter.add_file(tok.cfg, vocab._index, path, report)
    else:
        if isinstance(corpus, bytes):
            raise TypeError("corpus must be a path, a list of texts, token lists or id arrays")
        docs = corpus if isinstance(corpus, (list, tuple)) else list(corpus)
        first = next((d for d in docs if len(d)), docs[0] if len(docs) else None)  # the kind of item
        if first is None or isinstance(first, (str, bytes)):
            if callable(tok.stemmer):
                gen = (vocab.encode(t, unknown="drop") for t in tok.tokenize_batch(list(docs)))
                for ids in _id_batches(gen):
                    counter.add_ids(*ids)
            else:
                with progress_bar(progress and len(docs) > _BATCH, total=len(docs), unit="doc",
                                  desc="co-occurrences") as bar:
                    for b in range(0, len(docs), _BATCH):
                        batch = docs[b:b + _BATCH]
                        counter.add_texts(tok.cfg, vocab._index, batch, b)
                        bar.update(len(batch))
        elif isinstance(first, np.ndarray) or (isinstance(first, (list, tuple)) and first
                                                and not isinstance(first[0], str)):
            for ids in _id_batches(_ids_of(d, i) for i, d in enumerate(docs)):
                counter.add_ids(*ids)
        else:  # token lists
            gen = (vocab.encode(list(t), unknown="drop") for t in docs)
            for ids in _id_batches(gen):
                counter.add_ids(*ids)
    return counter


def _ids_of(doc: Any, i: int) -> np.ndarray:
    a = np.asarray(doc)
    if a.ndim != 1:
        raise ValueError(f"document {i}: id arrays must be 1-D, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"document {i}: ids must be integers, got dtype {a.dtype}")
    if a.size and a.min() < 0:
        raise ValueError(f"document {i}: negative id {a.min()}")
    return a.astype(np.int32, copy=False)


def _id_batches(docs: Iterable[np.ndarray]) -> Iterable[Tuple[np.ndarray, np.ndarray]]:
    buf, n = [], 0
    for d in docs:
        buf.append(d)
        n += len(d)
        if n >= 1 << 20:  # about a quarter of a second of counting per call: Ctrl-C is checked between calls
            yield _flatten(buf)
            buf, n = [], 0
    if buf:
        yield _flatten(buf)


def _flatten(docs: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    ends = np.cumsum([len(d) for d in docs], dtype=np.int64)
    ids = np.concatenate(docs).astype(np.int32, copy=False) if docs else np.zeros(0, np.int32)
    return ids, ends


def _finish_stats(counter: "_core.CooccurCounter") -> Dict[str, int]:
    st = dict(counter.stats())
    if st["tokens"] == 0:
        if st["documents"] == 0:
            raise ValueError("empty corpus: no documents")
        raise ValueError("no token of the corpus is in the vocabulary (empty corpus, or the "
                         "vocabulary was built with another tokenizer?)")
    return st


def cooccurrence(corpus: Corpus, vocab: Union[Vocab, Sequence[str]], tokenizer: Optional[Tokenizer] = None,
                 window: int = 10, symmetric: bool = True, distance_weighting: bool = True,
                 num_threads: int = -1, memory_limit: Union[int, str] = "4GB",
                 tmp_dir: Optional[str] = None, progress: bool = True,
                 return_stats: bool = False) -> Union[sp.coo_matrix, Tuple[sp.coo_matrix, Dict[str, int]]]:
    """Count word-word co-occurrences in C++ (parallel, bounded memory).

    Returns a ``scipy.sparse.coo_matrix`` of float32 values, shape ``(len(vocab),
    len(vocab))``: ``X[i, j]`` is the weight with which word ``j`` appears after word ``i``
    (and, with ``symmetric=True``, before it too). The semantics are those of the
    reference GloVe ``cooccur`` tool:

    - a newline ends a document (for a list, each item is one) and the window never
      crosses it;
    - out-of-vocabulary words are removed *before* windowing, so distances count
      in-vocabulary tokens only;
    - each word looks ``window`` words to its left; a pair at distance ``d`` adds ``1/d``
      (``1`` with ``distance_weighting=False``);
    - ``symmetric=True`` adds each pair in both directions (so ``X`` is symmetric and a
      word next to itself adds ``2/d`` to the diagonal); ``symmetric=False`` adds only
      ``X[left word, right word]``.

    ``corpus`` is a file path (streamed in chunks, any size), a list of texts, a list of
    token lists, or a list of int id arrays. Texts are tokenized with ``tokenizer``
    (default ``Tokenizer()``; ``Tokenizer(pattern="whitespace", lowercase=False)`` reads a
    corpus exactly as the reference tool does). Counts beyond ``memory_limit`` (``"4GB"``,
    ``"512MB"`` or bytes) are spilled as sorted runs to ``tmp_dir`` (default: the system's)
    and merged at the end; spill files are unlinked as soon as they are created, so
    nothing is left behind, whatever happens. Entries come in no particular order (call
    ``.tocsr()`` for a canonical form). ``return_stats=True`` also returns a dict:
    documents, tokens (kept), sparse_updates, spills, spilled_bytes, peak_bytes (the
    counter's own memory).

    >>> from pyfast_nlp import Vocab, cooccurrence
    >>> v = Vocab(["the", "cat", "sat"], specials=())
    >>> X = cooccurrence(["the cat sat", "the dog sat"], v, window=2, progress=False)
    >>> X.toarray()   # "dog" is removed before windowing: "the sat" are at distance 1
    array([[0. , 1. , 1.5],
           [1. , 0. , 1. ],
           [1.5, 1. , 0. ]], dtype=float32)
    """
    vocab = _check_vocab(vocab)
    counter = _count(corpus, vocab, tokenizer, window, symmetric, distance_weighting, num_threads,
                     memory_limit, tmp_dir, progress)
    row, col, val = counter.to_coo(bool(symmetric), resolve_threads(num_threads))
    st = _finish_stats(counter)
    n = len(vocab)
    m = sp.coo_matrix((val, (row, col)), shape=(n, n))
    return (m, st) if return_stats else m


def cooccurrence_to_file(corpus: Corpus, vocab: Union[Vocab, Sequence[str]], path: "os.PathLike[str] | str",
                         tokenizer: Optional[Tokenizer] = None, window: int = 10,
                         symmetric: bool = True, distance_weighting: bool = True,
                         num_threads: int = -1, memory_limit: Union[int, str] = "4GB",
                         tmp_dir: Optional[str] = None, progress: bool = True) -> Dict[str, int]:
    """Like :func:`cooccurrence`, but streams the matrix to ``path`` in the reference GloVe
    tool's binary format (records of ``int32 w1, int32 w2, float64 value``, word ids
    starting at 1: id ``i`` of ``vocab`` is written as ``i + 1``), without holding it in
    memory. The file is written atomically. Returns the statistics dict, with ``records``.
    Build the vocabulary with ``specials=()`` to number words as the reference tool does.
    """
    vocab = _check_vocab(vocab)
    path = os.fspath(path)
    counter = _count(corpus, vocab, tokenizer, window, symmetric, distance_weighting, num_threads,
                     memory_limit, tmp_dir, progress)
    with atomic_path(path) as tmp:
        records = counter.to_file(tmp, bool(symmetric))
        st = _finish_stats(counter)
    st["records"] = int(records)
    return st


def read_cooccurrence(path: "os.PathLike[str] | str", vocab_size: Optional[int] = None) -> sp.coo_matrix:
    """Read a reference-format co-occurrence file (``int32 w1, int32 w2, float64 value``
    records, ids from 1) into a float32 ``coo_matrix``; row ``w1 - 1``, column ``w2 - 1``.
    ``vocab_size`` (default: the largest id in the file) sets the shape; ids beyond it,
    ids below 1, and values that are not positive, finite and within float32's range raise
    ``ValueError``."""
    path = _check_file(path)
    size = os.path.getsize(path)
    if size % _RECORD.itemsize:
        raise ValueError(f"{path}: size {size} is not a multiple of the {_RECORD.itemsize}-byte "
                         "record (truncated or not a co-occurrence file)")
    rec = np.fromfile(path, dtype=_RECORD)
    w1, w2, val = rec["w1"], rec["w2"], rec["val"]
    if rec.size:
        lo = min(int(w1.min()), int(w2.min()))
        if lo < 1:
            k = int(np.flatnonzero((w1 < 1) | (w2 < 1))[0])
            raise ValueError(f"{path}: record {k} has word id {min(w1[k], w2[k])}; ids start at 1")
        bad = ~(np.isfinite(val) & (val > 0) & (val <= np.finfo(np.float32).max))  # float32 must hold it
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{path}: record {k} has value {val[k]}; values must be positive, finite "
                             "and within float32's range")
    hi = max(int(w1.max()), int(w2.max())) if rec.size else 0
    if vocab_size is None:
        vocab_size = hi
    elif hi > vocab_size:
        raise ValueError(f"{path}: word id {hi} is beyond the vocabulary size {vocab_size}")
    return sp.coo_matrix((val.astype(np.float32), (w1 - 1, w2 - 1)), shape=(vocab_size, vocab_size))
