"""Word-word co-occurrence matrices (C++ kernel, bounded memory), with the semantics of
the reference GloVe tool's ``cooccur``, and its binary record files."""
from __future__ import annotations

import os
import re
import stat
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._base import max_line_bytes, resolve_threads, sigterm_as_interrupt
from .._io import atomic_path, check_file
from ..text.corpus import DOCS_PER_BATCH, CorpusLike, open_corpus
from ..text.tokenizer import Tokenizer
from ..text.vocab import Vocab

__all__ = ["cooccurrence", "cooccurrence_to_file", "read_cooccurrence", "parse_bytes"]

_RECORD = np.dtype([("w1", "<i4"), ("w2", "<i4"), ("val", "<f8")])


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


def _count(corpus: CorpusLike, vocab: Vocab, tokenizer: Optional[Tokenizer], window: int,
           symmetric: bool, distance_weighting: bool, num_threads: int,
           memory_limit: Union[int, str], tmp_dir: Optional[str], progress: bool,
           dense_bytes: int = 0) -> "_core.CooccurCounter":
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive int, not {window!r}")
    vocab = _check_vocab(vocab)
    if len(vocab) == 0:
        raise ValueError("the vocabulary is empty")
    tmp_dir = os.fspath(tmp_dir) if tmp_dir is not None else tempfile.gettempdir()
    if not os.path.isdir(tmp_dir):
        raise ValueError(f"tmp_dir {tmp_dir!r} is not a directory")
    with sigterm_as_interrupt(), _named_memory_error(memory_limit):  # SIGTERM stops it as Ctrl-C does
        return _count_corpus(corpus, vocab, tokenizer, window, symmetric, distance_weighting, num_threads,
                             memory_limit, tmp_dir, progress, dense_bytes)


@contextmanager
def _named_memory_error(memory_limit: Union[int, str]) -> Iterator[None]:
    """The C++ allocator's bare ``MemoryError: std::bad_alloc``, said with what ran out and why."""
    try:
        yield
    except MemoryError as e:
        if str(e) not in ("", "std::bad_alloc"):
            raise
        raise MemoryError(f"counting co-occurrences ran out of memory (std::bad_alloc) although memory_limit="
                          f"{memory_limit!r}: the process may allocate less than that (ulimit -v, a container "
                          "limit, other processes); lower memory_limit or num_threads") from None


def _count_corpus(corpus: CorpusLike, vocab: Vocab, tokenizer: Optional[Tokenizer], window: int,
                  symmetric: bool, distance_weighting: bool, num_threads: int,
                  memory_limit: Union[int, str], tmp_dir: str, progress: bool,
                  dense_bytes: int) -> "_core.CooccurCounter":
    source = open_corpus(corpus, tokenizer, progress=progress, desc="co-occurrences")
    counter = _core.CooccurCounter(_rank_of_id(vocab), window=int(window), symmetric=bool(symmetric),
                                   distance_weighting=bool(distance_weighting),
                                   memory_limit=parse_bytes(memory_limit), tmp_dir=tmp_dir,
                                   threads=resolve_threads(num_threads), dense_bytes=int(dense_bytes))
    cfg = source.tokenizer.cfg
    if source.kind == "path":
        with source.progress_bar() as report:
            counter.add_file(cfg, vocab.index, source.path, progress=report, max_line_bytes=max_line_bytes())
    elif source.kind == "texts":
        with source.progress_bar(min_docs=DOCS_PER_BATCH) as report:
            for start, batch in source.text_batches():
                counter.add_texts(cfg, vocab.index, batch, first_doc=start)
                report(start + len(batch))
    else:  # token lists (encoded with the vocabulary, unknown words dropped) or id arrays
        for ids, ends in source.id_batches(vocab):
            counter.add_ids(ids, ends)
    return counter


def _finish_stats(counter: "_core.CooccurCounter") -> Dict[str, int]:
    return checked_stats(dict(counter.stats()))


def checked_stats(st: Dict[str, int]) -> Dict[str, int]:
    """The counter's statistics, or a clear error for a corpus that gave no pair."""
    if st["tokens"] == 0:
        if st["documents"] == 0:
            raise ValueError("empty corpus: no documents")
        raise ValueError("no token of the corpus is in the vocabulary (empty corpus, or the "
                         "vocabulary was built with another tokenizer?)")
    return st


def cooccurrence(corpus: CorpusLike, vocab: Union[Vocab, Sequence[str]], tokenizer: Optional[Tokenizer] = None,
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
    with _named_memory_error(memory_limit):
        row, col, val = counter.to_coo(threads=resolve_threads(num_threads))
    st = _finish_stats(counter)
    n = len(vocab)
    m = sp.coo_matrix((val, (row, col)), shape=(n, n))
    return (m, st) if return_stats else m


def cooccurrence_to_file(corpus: CorpusLike, vocab: Union[Vocab, Sequence[str]], path: "os.PathLike[str] | str",
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
        records = counter.to_file(tmp)
        st = _finish_stats(counter)
    st["records"] = int(records)
    return st


def read_cooccurrence(path: "os.PathLike[str] | str", vocab_size: Optional[int] = None) -> sp.coo_matrix:
    """Read a reference-format co-occurrence file (``int32 w1, int32 w2, float64 value``
    records, ids from 1) into a float32 ``coo_matrix``; row ``w1 - 1``, column ``w2 - 1``.
    ``vocab_size`` (default: the largest id in the file) sets the shape; ids beyond it,
    ids below 1, and values that are not positive, finite and within float32's range raise
    ``ValueError``."""
    path = check_file(path)
    if not stat.S_ISREG(os.stat(path).st_mode):  # /dev/zero, a FIFO: no size to check records against
        raise ValueError(f"{path} is not a regular file, so not a co-occurrence file")
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
