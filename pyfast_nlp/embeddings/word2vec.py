"""word2vec (Mikolov et al., 2013): skip-gram and CBOW with negative sampling, trained by the
OpenMP kernel in ``csrc/embeddings/word2vec.cpp``."""
from __future__ import annotations

import math
import os
import tempfile
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from .. import _core
from .._base import (ParamsMixin, check_memory, exclusive_fit, memory_budget, progress_bar, resolve_threads,
                     sigterm_as_interrupt)
from .._io import load_model, save_model
from ..exceptions import check_is_fitted
from ..text.corpus import CorpusLike, open_corpus
from ..text.tokenizer import Tokenizer
from ..text.vocab import Vocab
from .word_vectors import WordVectors

__all__ = ["Word2Vec"]

_FORMAT = "pyfast_nlp.word2vec"
_SLICE_WORDS = 1 << 20  # corpus words per kernel call: progress and Ctrl-C between calls


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and math.isfinite(v)


class Word2Vec(ParamsMixin):
    """word2vec word vectors: skip-gram (``sg=1``) or CBOW (``sg=0``) with negative sampling,
    trained in C++ with threads updating shared parameters without locks (Hogwild).

    The semantics are those of the original ``word2vec`` tool and gensim's ``Word2Vec``:

    - the vocabulary keeps words seen ``min_count`` times or more (the ``max_vocab_size`` most
      frequent of them when set), most frequent first;
    - frequent words are dropped at random before windows are drawn, word ``w`` kept with
      probability ``min(1, (sqrt(c_w / t) + 1) t / c_w)``, ``t = sample x corpus words``;
    - each centre word draws its window in ``[1, window]`` (``shrink_windows=True``);
      windows never cross a document (a line of a file), and documents longer than
      ``max_sentence_length`` words are cut, as gensim's ``LineSentence`` cuts them;
    - skip-gram trains each (context word -> centre word) pair, CBOW the mean (``cbow_mean``)
      or sum of the context vectors -> centre word; each against ``negative`` noise words
      drawn from ``count^ns_exponent``;
    - the learning rate falls linearly from ``alpha`` to ``min_alpha`` over the whole run;
    - word vectors start uniform in ``(-0.5, 0.5) / vector_size``, output vectors at zero;
    - the sigmoid is the tools' table: 1000 steps over ``[-6, 6]``, 0 or 1 outside.

    Differences, none of which changes what is learned in expectation: noise words are
    drawn by the alias method (exact, instead of a 1e8-entry table or a binary search); the
    corpus is cut into chunks of about 10,000 words that threads take in turn, chunk ``k``
    drawing from its own random stream seeded by ``(seed, its position)`` and using the learning
    rate of its position (so ``num_threads=1`` gives the same vectors on every run, and more
    threads change only the Hogwild interleaving); the vocabulary orders words of equal count
    by code point, not by first appearance; ``max_vocab_size`` keeps the most frequent words
    after an exact count (gensim's ``max_final_vocab``; gensim's ``max_vocab_size`` prunes
    approximately while counting); hierarchical softmax (``negative=0``) is not offered.

    The corpus is read twice: once to count the vocabulary, once to turn it into ids, which
    are kept for the epochs (4 bytes a word; spilled to a temporary file beside the system's
    temporary directory when they would take more than a quarter of the memory budget). A file
    path is streamed; a generator of texts is first written to a temporary file.

    ``fit`` on a model that is already trained (or loaded) continues training on the new
    corpus for ``epochs`` more epochs, with the learning rate falling from ``alpha`` again, as
    gensim's ``train`` does: ``update=False`` keeps the vocabulary (new words are ignored),
    ``update=True`` adds the corpus's words that reach ``min_count`` (their counts added, new
    rows started at random). A fresh ``Word2Vec`` starts over.

    >>> from pyfast_nlp import Word2Vec
    >>> texts = ["the king rules the land", "the queen rules the land"] * 200
    >>> model = Word2Vec(vector_size=16, min_count=1, epochs=3, num_threads=1).fit(texts, progress=False)
    >>> model.wv["king"].shape, len(model.loss_history_)
    ((16,), 3)
    >>> model.wv.most_similar("king", topn=1)[0][0] in model.wv.index_to_key
    True
    """

    def __init__(self, vector_size: int = 100, window: int = 5, min_count: int = 5,
                 max_vocab_size: Optional[int] = None, sg: int = 0, negative: int = 5, ns_exponent: float = 0.75,
                 sample: float = 1e-3, alpha: float = 0.025, min_alpha: float = 0.0001, epochs: int = 5,
                 cbow_mean: bool = True, shrink_windows: bool = True, num_threads: int = -1, seed: int = 1,
                 tokenizer: Optional[Tokenizer] = None, max_sentence_length: int = 10000) -> None:
        self._store_params(locals())

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        for name, lo, hi in (("vector_size", 1, 1 << 16), ("window", 1, 1 << 20), ("min_count", 1, None),
                             ("epochs", 0, None), ("max_sentence_length", 1, None)):
            v = getattr(self, name)
            if not _is_int(v) or v < lo or (hi is not None and v > hi):
                raise ValueError(f"{name} must be an int >= {lo}{f' and <= {hi}' if hi else ''}, not {v!r}")
        if self.max_vocab_size is not None and (not _is_int(self.max_vocab_size) or self.max_vocab_size < 1):
            raise ValueError(f"max_vocab_size must be None or a positive int, not {self.max_vocab_size!r}")
        if self.sg not in (0, 1) or not isinstance(self.sg, (int, np.integer)):
            raise ValueError(f"sg must be 0 (CBOW) or 1 (skip-gram), not {self.sg!r}")
        if not _is_int(self.negative) or self.negative < 0:
            raise ValueError(f"negative must be a non-negative int, not {self.negative!r}")
        if self.negative == 0:
            raise ValueError("negative=0 (hierarchical softmax) is not supported; use negative sampling (negative >= 1)")
        if self.negative > 64:
            raise ValueError(f"negative must be at most 64, not {self.negative}")
        if not _is_number(self.ns_exponent):
            raise ValueError(f"ns_exponent must be a finite number, not {self.ns_exponent!r}")
        if not _is_number(self.sample) or self.sample < 0:
            raise ValueError(f"sample must be a number >= 0 (0: no subsampling), not {self.sample!r}")
        if not _is_number(self.alpha) or self.alpha <= 0:
            raise ValueError(f"alpha must be a positive number, not {self.alpha!r}")
        if not _is_number(self.min_alpha) or not 0 <= self.min_alpha <= self.alpha:
            raise ValueError(f"min_alpha must be a number in [0, alpha={self.alpha}], not {self.min_alpha!r}")
        for name in ("cbow_mean", "shrink_windows"):
            if not isinstance(getattr(self, name), (bool, np.bool_, int)):
                raise ValueError(f"{name} must be a bool, not {getattr(self, name)!r}")
        if not _is_int(self.seed):
            raise ValueError(f"seed must be an int, not {self.seed!r}")
        if self.tokenizer is not None and not isinstance(self.tokenizer, Tokenizer):
            raise TypeError(f"tokenizer must be a pyfast_nlp Tokenizer, not {type(self.tokenizer).__name__}")
        resolve_threads(self.num_threads)

    @property
    def _stride(self) -> int:
        # rows padded to whole 64-byte cache lines, so no vector load straddles two lines
        return -(-int(self.vector_size) // 16) * 16

    # ------------------------------------------------------------------ training
    def fit(self, corpus: CorpusLike, progress: bool = True, callback: Optional[Callable[[int, float], Any]] = None,
            update: bool = False) -> "Word2Vec":
        """Build the vocabulary from ``corpus`` and train for ``epochs`` epochs (or, on a trained
        model, continue training: see the class docstring).

        ``corpus`` is anything :func:`~pyfast_nlp.text.corpus.open_corpus` takes except id
        arrays: a UTF-8 file path (a line is a document, streamed), texts (tokenized by
        ``tokenizer``, default ``Tokenizer()``), or token lists. ``callback(epoch, loss)`` runs
        after each epoch with the epoch's mean loss per example; returning ``True`` stops.
        Ctrl-C comes back within a couple of seconds, the model keeping what it learned (the
        interrupted epoch partly trained, not counted in ``epochs_done_``).

        Raises ``ValueError`` for an empty corpus or one where no word reaches ``min_count``,
        ``FloatingPointError`` (with the last good epoch's vectors restored) if training
        diverges, ``RuntimeError`` if another ``fit`` on the same object is running.
        """
        with exclusive_fit(self), sigterm_as_interrupt():
            return self._fit(corpus, progress, callback, bool(update))

    def _fit(self, corpus: CorpusLike, progress: bool, callback: Optional[Callable[[int, float], Any]],
             update: bool) -> "Word2Vec":
        self._check_params()
        trained = hasattr(self, "syn0_")
        if update and not trained:
            raise ValueError("update=True adds words to a trained model's vocabulary; this model is not trained yet")
        with _replayable(corpus) as corpus:
            counted = self._count(corpus, progress)
            if not trained:
                self._start(counted)
            elif update:
                self._grow(counted)
            store = _IdStore()
            try:
                self._encode(corpus, store, progress)
                if store.words == 0:
                    raise ValueError("no word of the corpus is in the model's vocabulary")
                return self._train(store, int(self.epochs), progress, callback)
            finally:
                store.close()

    def _count(self, corpus: CorpusLike, progress: bool) -> Vocab:
        vocab = Vocab.build(corpus, self.tokenizer, min_count=int(self.min_count), max_size=self.max_vocab_size,
                            specials=(), num_threads=int(self.num_threads), progress=progress)
        if len(vocab) == 0:
            raise ValueError(f"no word of the corpus occurs min_count={self.min_count} times or more; "
                             "lower min_count")
        return vocab

    def _start(self, vocab: Vocab) -> None:
        n, d = len(vocab), int(self.vector_size)
        # syn0, syn1neg, the last good epoch's copies, the noise and subsampling tables
        check_memory(4 * n * self._stride * 4 + 24 * n,
                     f"word2vec with {n:,} words at vector_size {d}",
                     "lower vector_size, or raise min_count / set max_vocab_size")
        self.vocab_ = vocab
        self.syn0_ = self._random_rows(0, n)
        self.syn1neg_ = np.zeros((n, self._stride), dtype=np.float32)
        self.loss_history_: List[float] = []
        self.epoch_stats_: List[Dict[str, Any]] = []
        self.epochs_done_ = 0
        self.corpus_words_ = 0
        self._wv: Optional[WordVectors] = None

    def _random_rows(self, first: int, last: int) -> np.ndarray:
        # uniform (-0.5, 0.5) / vector_size, as both tools; row i from its own stream, so a word's
        # start does not depend on how many words were added before it
        d = int(self.vector_size)
        rows = np.zeros((last - first, self._stride), dtype=np.float32)
        if last > first:
            rng = np.random.default_rng([int(self.seed) & (2 ** 63 - 1), first, last])
            rows[:, :d] = ((rng.random((last - first, d)) - 0.5) / d).astype(np.float32)
        return rows

    def _grow(self, counted: Vocab) -> None:
        old = self.vocab_
        counts = dict(zip(old.tokens, old.counts.tolist()))
        for w, c in zip(counted.tokens, counted.counts.tolist()):
            counts[w] = counts.get(w, 0) + c
        new = [w for w in counted.tokens if w not in old]
        tokens = old.tokens + new
        self.vocab_ = Vocab(tokens, [counts[w] for w in tokens], specials=())
        n0, n1 = len(old), len(tokens)
        if n1 > n0:
            self.syn0_ = np.concatenate([self.syn0_, self._random_rows(n0, n1)])
            self.syn1neg_ = np.concatenate([self.syn1neg_, np.zeros((n1 - n0, self._stride), np.float32)])
        self._wv = None

    def _encode(self, corpus: CorpusLike, store: "_IdStore", progress: bool) -> None:
        source = open_corpus(corpus, self.tokenizer, accept=("path", "texts", "tokens"), progress=progress,
                             desc="encoding")
        with source.progress_bar() as report:
            for ids, ends in source.id_batches(self.vocab_, report=report):
                store.add(ids, ends)

    def _train(self, store: "_IdStore", epochs: int, progress: bool,
               callback: Optional[Callable[[int, float], Any]]) -> "Word2Vec":
        counts = self.vocab_.counts
        noise = _core.NoiseTable(counts, float(self.ns_exponent))
        keep = _core.word2vec_keep(counts, float(self.sample))
        threads = resolve_threads(self.num_threads)
        total = store.words * epochs
        done = 0
        self.corpus_words_ = store.words
        good0, good1 = self.syn0_.copy(), self.syn1neg_.copy()  # the last good epoch's
        with progress_bar(progress and epochs > 0, total=total, unit="word", unit_scale=True,
                          desc="word2vec " + ("skip-gram" if self.sg else "CBOW")) as bar:
            for _ in range(epochs):
                t0 = time.perf_counter()
                st = {"loss": 0.0, "examples": 0, "words": 0, "effective_words": 0, "alpha": float(self.alpha)}
                for ids, ends in store.slices():
                    got = _core.word2vec_train(
                        self.syn0_, self.syn1neg_, ids, ends, noise, keep, dim=int(self.vector_size),
                        window=int(self.window), negative=int(self.negative), sg=bool(self.sg),
                        cbow_mean=bool(self.cbow_mean), shrink_windows=bool(self.shrink_windows),
                        alpha=float(self.alpha), min_alpha=float(self.min_alpha), threads=threads,
                        words_before=done, total_words=total, seed=int(self.seed) & (2 ** 64 - 1),
                        max_sentence=int(self.max_sentence_length))
                    for k in ("loss", "examples", "words", "effective_words"):
                        st[k] += got[k]
                    st["alpha"] = got["alpha"]
                    done += len(ids)
                    bar.update(len(ids))
                self._wv = None
                mean = st["loss"] / st["examples"] if st["examples"] else 0.0
                if not (math.isfinite(mean) and np.isfinite(self.syn0_).all() and np.isfinite(self.syn1neg_).all()):
                    np.copyto(self.syn0_, good0)
                    np.copyto(self.syn1neg_, good1)
                    raise FloatingPointError(
                        f"training diverged in epoch {self.epochs_done_ + 1} (the loss or the vectors are no longer "
                        f"finite): alpha={self.alpha} is too large, try {self.alpha / 10:g}. The model keeps the "
                        f"vectors of epoch {self.epochs_done_}.")
                np.copyto(good0, self.syn0_)
                np.copyto(good1, self.syn1neg_)
                st["seconds"] = time.perf_counter() - t0
                st["words_per_second"] = st["words"] / st["seconds"] if st["seconds"] > 0 else float("inf")
                self.epoch_stats_.append(st)
                self.loss_history_.append(mean)
                self.epochs_done_ += 1
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(epoch=self.epochs_done_, loss=f"{mean:.4f}")
                if callback is not None and callback(self.epochs_done_, mean) is True:
                    break
        return self

    # ------------------------------------------------------------------ results
    def _check_fitted(self) -> None:
        check_is_fitted(self, "syn0_", "this Word2Vec model is not fitted yet; call fit() first")

    @property
    def wv(self) -> WordVectors:
        """The word vectors as :class:`WordVectors` (gensim's ``KeyedVectors`` queries included)."""
        self._check_fitted()
        if self._wv is None:
            self._wv = WordVectors(self.vocab_.tokens, self.syn0_[:, : int(self.vector_size)])
        return self._wv

    @property
    def syn1neg(self) -> np.ndarray:
        """The output (negative-sampling) vectors, ``(V, vector_size)`` (a copy)."""
        self._check_fitted()
        return self.syn1neg_[:, : int(self.vector_size)].copy()

    @property
    def vocabulary_(self) -> Vocab:
        """The vocabulary, most frequent word first, with its corpus counts."""
        self._check_fitted()
        return self.vocab_

    # ------------------------------------------------------------------ files
    def save(self, path: "os.PathLike[str] | str") -> None:
        """Save everything needed to continue training (both vector tables, the vocabulary with
        its counts, settings, loss history) to one ``.npz``, atomically; a model holding NaN is
        refused and the file already there left as it was."""
        self._check_fitted()
        if not (np.isfinite(self.syn0_).all() and np.isfinite(self.syn1neg_).all()):
            raise FloatingPointError("the model holds NaN or infinity; it was not saved, and any file already "
                                     "there is unchanged")
        params = {k: v for k, v in self.get_params().items() if k != "tokenizer"}
        meta = {"params": params, "words": self.vocab_.tokens, "counts": self.vocab_.counts.tolist(),
                "loss_history": self.loss_history_, "epochs_done": self.epochs_done_,
                "corpus_words": self.corpus_words_,
                "tokenizer": None if self.tokenizer is None else repr(self.tokenizer)}
        d = int(self.vector_size)
        save_model(path, _FORMAT, meta, {"syn0": self.syn0_[:, :d], "syn1neg": self.syn1neg_[:, :d]})

    @classmethod
    def load(cls, path: "os.PathLike[str] | str", tokenizer: Optional[Tokenizer] = None) -> "Word2Vec":
        """A model saved by :meth:`save`, ready for queries (``.wv``) or more training. A custom
        tokenizer is not stored (only its description, in ``loaded_tokenizer_``): pass it again."""
        path = os.fspath(path)
        meta, arrays = load_model(path, _FORMAT, "a saved Word2Vec model")
        try:
            return cls._from_saved(path, arrays, meta, tokenizer)
        except (KeyError, TypeError, IndexError, AttributeError) as e:
            raise ValueError(f"{path}: a damaged Word2Vec file ({type(e).__name__}: {e})") from None

    @classmethod
    def _from_saved(cls, path: str, arrays: Dict[str, np.ndarray], meta: Dict[str, Any],
                    tokenizer: Optional[Tokenizer]) -> "Word2Vec":
        model = cls(**meta["params"], tokenizer=tokenizer)
        model._check_params()
        words, counts = meta["words"], meta["counts"]
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words) or len(counts) != len(words):
            raise ValueError(f"{path}: the vocabulary is damaged")
        d, n = int(model.vector_size), len(words)
        for name in ("syn0", "syn1neg"):
            a = arrays[name]
            if a.dtype != np.float32 or a.shape != (n, d):
                raise ValueError(f"{path}: {name} has shape {a.shape} and dtype {a.dtype}, expected {(n, d)} float32")
            if not np.isfinite(a).all():
                raise ValueError(f"{path}: {name} holds NaN or infinity")
        model.vocab_ = Vocab(words, counts, specials=())
        model.syn0_ = np.zeros((n, model._stride), np.float32)
        model.syn0_[:, :d] = arrays["syn0"]
        model.syn1neg_ = np.zeros((n, model._stride), np.float32)
        model.syn1neg_[:, :d] = arrays["syn1neg"]
        model.loss_history_ = [float(x) for x in meta["loss_history"]]
        model.epoch_stats_ = []
        model.epochs_done_ = int(meta["epochs_done"])
        model.corpus_words_ = int(meta.get("corpus_words", 0))
        model.loaded_tokenizer_ = meta.get("tokenizer")
        model._wv = None
        return model


# ---------------------------------------------------------------------- helpers
class _replayable:
    """The corpus as something that can be read twice (counting, then encoding): a path or a
    list as it is; a one-shot iterator of texts written to a temporary file (newlines inside a
    text become spaces, which no tokenizer pattern keeps); one of token lists read into a list."""

    def __init__(self, corpus: CorpusLike) -> None:
        self.corpus = corpus
        self.tmp: Optional[str] = None

    def __enter__(self) -> CorpusLike:
        c = self.corpus
        if isinstance(c, (str, os.PathLike, list, tuple)) or (isinstance(c, np.ndarray)):
            return c
        source = open_corpus(c, accept=("texts", "tokens"))
        if source.kind == "tokens":
            return list(source.token_lists())
        fd, self.tmp = tempfile.mkstemp(prefix="pyfast_nlp-w2v-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            for _, batch in source.text_batches():
                for doc in batch:
                    if isinstance(doc, bytes):
                        doc = doc.decode("utf-8")
                    f.write(doc.replace("\r", " ").replace("\n", " "))
                    f.write("\n")
        return self.tmp

    def __exit__(self, *exc: Any) -> None:
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass


class _IdStore:
    """The encoded corpus, kept for the epochs: in memory while it takes under a quarter of the
    memory budget, else appended to a temporary file and read back memory-mapped."""

    def __init__(self) -> None:
        self.limit = memory_budget() // 4
        self.batches: List[Tuple[np.ndarray, np.ndarray]] = []
        self.words = 0
        self.bytes = 0
        self.file: Optional[Any] = None
        self.on_disk = 0  # ids written to the file
        self.spans: List[Tuple[int, int, np.ndarray]] = []  # (offset in ids, count, doc_end) per batch on disk

    def add(self, ids: np.ndarray, ends: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        ends = np.ascontiguousarray(ends, dtype=np.int64)
        if self.file is None and self.bytes + ids.nbytes > self.limit:
            self.file = tempfile.TemporaryFile(prefix="pyfast_nlp-w2v-ids-")
            for i, e in self.batches:
                self._write(i, e)
            self.batches = []
        if self.file is not None:
            self._write(ids, ends)
        else:
            self.batches.append((ids, ends))
        self.words += len(ids)
        self.bytes += ids.nbytes + ends.nbytes

    def _write(self, ids: np.ndarray, ends: np.ndarray) -> None:
        self.file.write(ids.tobytes())
        self.spans.append((self.on_disk, len(ids), ends))
        self.on_disk += len(ids)

    def slices(self) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """Batches of about a million words, whole documents each."""
        if self.file is None:
            source: Iterator[Tuple[np.ndarray, np.ndarray]] = iter(self.batches)
        else:
            self.file.flush()
            mm = np.memmap(self.file, dtype=np.int32, mode="r") if self.words else np.zeros(0, np.int32)
            source = ((mm[o:o + n], e) for o, n, e in self.spans)
        for ids, ends in source:
            for b, e in _cut(ends, _SLICE_WORDS):
                lo = int(ends[b - 1]) if b else 0
                yield np.ascontiguousarray(ids[lo:int(ends[e - 1])]), ends[b:e] - lo

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _cut(ends: np.ndarray, words: int) -> Iterator[Tuple[int, int]]:
    """Document ranges [b, e) of about ``words`` words each."""
    n = len(ends)
    b = 0
    while b < n:
        lo = int(ends[b - 1]) if b else 0
        e = int(np.searchsorted(ends, lo + words, side="left")) + 1
        e = min(max(e, b + 1), n)
        yield b, e
        b = e
