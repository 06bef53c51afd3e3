"""GloVe word vectors: AdaGrad on a co-occurrence matrix, Hogwild-parallel (C++)."""
from __future__ import annotations

import math
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._base import ParamsMixin, check_memory, exclusive_fit, progress_bar, resolve_threads, sigterm_as_interrupt
from .._io import load_model, save_model
from ..exceptions import check_is_fitted
from ..text.vocab import Vocab
from .word_vectors import WordVectors

__all__ = ["GloVe"]

_FORMAT = "pyfast_nlp.glove"
_SLICE = 1 << 21  # records per kernel call: progress and Ctrl-C between calls


class GloVe(ParamsMixin):
    """GloVe (Pennington et al., 2014) trained in C++: minimises
    ``J = 1/2 sum_ij f(X_ij) (w_i . c_j + b_i + b~_j - log X_ij)^2`` with
    ``f(x) = min(1, (x / x_max) ** alpha)`` over the nonzero entries of a co-occurrence
    matrix, by AdaGrad, with threads updating shared parameters without locks (Hogwild).

    Faithful to the reference ``glove`` tool where it matters for results: weights and
    biases start uniform in ``(-0.5, 0.5) / dim``, AdaGrad sums of squares start at 1,
    each component of the learning-rate-scaled gradient is clipped to ``+-grad_clip``
    (100), biases are not clipped, and an update that is not finite is skipped
    (``skipped_`` counts them). Differences: parameters are float32 (the reference uses
    double), ``log X`` and ``f(X)`` are computed once rather than every epoch, and the
    loss is the mean of ``1/2 f (diff)^2`` per record (what the reference prints).

    ``order`` sets the order records are visited in. ``"shuffle"`` is the reference's:
    shuffled once, then the same order every epoch, each thread taking the next chunk.
    ``"blocked"`` (the default, about twice as fast on 2 cores): words are grouped by id
    (that is, by frequency) into groups whose parameters fit in a core's L2 cache; the
    records of each (word group, context group) tile are shuffled once, and the tiles are
    visited in a new random order every epoch. On 20 Newsgroups both orders give the
    same loss curve to 3 decimals and the same analogy and word-pair scores within noise
    (``bench/RESULTS.md``). With ``num_threads=1`` a given ``seed`` gives the same
    vectors on every run, in either order.

    ``init``: ``None`` (the reference's random start) or a ``WordVectors`` / ``(V, dim)``
    array to start the word vectors from (words missing from a ``WordVectors`` keep the
    random start).

    >>> from pyfast_nlp import GloVe, Vocab, cooccurrence
    >>> texts = ["the king rules the land", "the queen rules the land"] * 50
    >>> vocab = Vocab.build(texts, specials=())
    >>> X = cooccurrence(texts, vocab, window=3, progress=False)
    >>> model = GloVe(dim=8, epochs=5, num_threads=1).fit(X, vocab, progress=False)
    >>> len(model.loss_history_), model.loss_history_[-1] < model.loss_history_[0]
    (5, True)
    >>> model.word_vectors()["king"].shape
    (8,)
    """

    def __init__(self, dim: int = 100, x_max: float = 100.0, alpha: float = 0.75,
                 learning_rate: float = 0.05, epochs: int = 25, num_threads: int = -1,
                 seed: int = 0, init: Any = None, grad_clip: float = 100.0,
                 order: str = "blocked") -> None:
        self.dim = dim
        self.x_max = x_max
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.num_threads = num_threads
        self.seed = seed
        self.init = init
        self.grad_clip = grad_clip
        self.order = order

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, (int, np.integer)) or not 1 <= self.dim <= 1 << 16:
            raise ValueError(f"dim must be an int in [1, 65536], not {self.dim!r}")
        for name in ("x_max", "alpha", "learning_rate", "grad_clip"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or isinstance(v, bool) \
                    or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive number, not {v!r}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)) or self.epochs < 0:
            raise ValueError(f"epochs must be a non-negative int, not {self.epochs!r}")
        resolve_threads(self.num_threads)
        if self.order not in ("shuffle", "blocked"):
            raise ValueError(f"order must be 'shuffle' or 'blocked', not {self.order!r}")

    def _tile_words(self) -> int:
        if self.order == "shuffle":
            return 0
        # A tile's word and context blocks take about 1 MiB: half a typical L2 cache.
        return max(64, (1 << 20) // (8 * _core.glove_block(int(self.dim))))

    def _records(self, cooc: Any, n_words: int) -> "_core.GloveRecords":
        row, col, data = self._entries(cooc, n_words)
        return _core.glove_records(row.astype(np.int32, copy=False), col.astype(np.int32, copy=False),
                                   data.astype(np.float32, copy=False), vocab_size=n_words,
                                   x_max=float(self.x_max), alpha=float(self.alpha),
                                   threads=resolve_threads(self.num_threads), seed=int(self.seed),
                                   tile_words=self._tile_words())

    def _entries(self, cooc: Any, n_words: int) -> tuple:
        """The positive entries of a square matrix of ``n_words`` rows (checked), and the loss
        ceiling they imply."""
        if not sp.issparse(cooc):
            if isinstance(cooc, np.ndarray):
                cooc = sp.coo_matrix(cooc)
            else:
                raise TypeError(f"cooc must be a scipy sparse matrix (from cooccurrence()), not {type(cooc).__name__}")
        if cooc.shape != (n_words, n_words):
            raise ValueError(f"cooc has shape {cooc.shape}, but the vocabulary has {n_words} words")
        coo = cooc.tocoo()
        data = np.asarray(coo.data)
        if data.size and not np.all(np.isfinite(data)):
            k = int(np.flatnonzero(~np.isfinite(data))[0])
            raise ValueError(f"co-occurrence value {data[k]} at ({coo.row[k]}, {coo.col[k]}) is not finite")
        if data.size and data.min() < 0:
            k = int(np.flatnonzero(data < 0)[0])
            raise ValueError(f"co-occurrence value {data[k]} at ({coo.row[k]}, {coo.col[k]}) is negative")
        row, col = coo.row, coo.col
        keep = data > 0  # explicit zeros carry no information (log 0 is undefined)
        if not keep.all():
            row, col, data = row[keep], col[keep], data[keep]
        if data.size == 0:
            raise ValueError("the co-occurrence matrix has no positive entries")
        self._set_loss_ceiling(float(data.min()), float(data.max()))
        return row, col, data

    def _set_loss_ceiling(self, lo: float, hi: float) -> None:
        # an untrained model loses at most 1/2 f(X) (log X + its start)^2 per record, f <= 1
        worst_log = max(abs(math.log(lo)), abs(math.log(hi)))
        self._loss_ceiling = 10.0 * 0.5 * (worst_log + 1.0) ** 2

    @staticmethod
    def _words_of(vocab: Any) -> List[str]:
        if isinstance(vocab, Vocab):
            return vocab.tokens
        if isinstance(vocab, (list, tuple)) and all(isinstance(w, str) for w in vocab):
            return list(vocab)
        raise TypeError(f"vocab must be a Vocab or a list of words, not {type(vocab).__name__}")

    # ------------------------------------------------------------------ training
    def fit(self, cooc: Any, vocab: Union[Vocab, Sequence[str]], progress: bool = True,
            callback: Optional[Callable[[int, float], Any]] = None) -> "GloVe":
        """Train from a fresh start for ``epochs`` epochs. ``cooc`` is a square sparse
        matrix (from :func:`cooccurrence` or :func:`read_cooccurrence`) with a row per word
        of ``vocab``. ``callback(epoch, loss)`` runs after each epoch; returning ``True``
        stops training. Ctrl-C comes back within a fraction of a second; the model stays
        usable, with the interrupted epoch partly trained and not counted in ``epochs_done_``
        (``partial_fit`` continues from there).

        Divergence (a learning rate far too large) stops training with ``FloatingPointError``
        and the parameters of the last good epoch: when a parameter or AdaGrad sum is no longer
        finite, or the loss exceeds ten times the most an untrained model can lose (half the
        largest squared log co-occurrence, plus one). A second ``fit`` on the same object while
        one runs raises ``RuntimeError``."""
        with exclusive_fit(self), sigterm_as_interrupt():
            return self._fit(cooc, vocab, progress, callback)

    def _fit(self, cooc: Any, vocab: Union[Vocab, Sequence[str]], progress: bool,
             callback: Optional[Callable[[int, float], Any]]) -> "GloVe":
        self._check_params()
        words = self._words_of(vocab)
        n = len(words)
        if n == 0:
            raise ValueError("the vocabulary is empty")
        block = _core.glove_block(dim=int(self.dim))
        nnz = int(getattr(cooc, "nnz", 0))
        # parameters (vectors, biases, AdaGrad sums) twice (the last good epoch's are kept) and one
        # 16-byte training record per entry
        check_memory(2 * 2 * n * block * 4 + 16 * nnz, f"GloVe with {n:,} words at dim {self.dim} and {nnz:,} "
                     "co-occurrence entries", "lower dim, or raise min_count to shrink the vocabulary")
        records = self._records(cooc, n)
        self._start(words)
        self._rec, self._rec_key = records, _key(cooc)
        return self._train(records, int(self.epochs), progress, callback)

    def partial_fit(self, cooc: Any, vocab: Optional[Union[Vocab, Sequence[str]]] = None,
                    epochs: int = 1, progress: bool = True,
                    callback: Optional[Callable[[int, float], Any]] = None) -> "GloVe":
        """Continue training (AdaGrad state included) for ``epochs`` more epochs; on an
        unfitted model, start as ``fit`` would. Works after :meth:`load`."""
        with exclusive_fit(self), sigterm_as_interrupt():
            return self._partial_fit(cooc, vocab, epochs, progress, callback)

    def _partial_fit(self, cooc: Any, vocab: Optional[Union[Vocab, Sequence[str]]], epochs: int, progress: bool,
                     callback: Optional[Callable[[int, float], Any]]) -> "GloVe":
        if not hasattr(self, "params_"):
            if vocab is None:
                raise ValueError("the first partial_fit needs the vocabulary")
            saved, self.epochs = self.epochs, epochs
            try:
                return self._fit(cooc, vocab, progress, callback)
            finally:
                self.epochs = saved
        if vocab is not None and self._words_of(vocab) != self.words_:
            raise ValueError("vocab differs from the one the model was trained with")
        return self._continue(cooc, int(epochs), progress, callback)

    def _continue(self, cooc: Any, epochs: int, progress: bool,
                  callback: Optional[Callable[[int, float], Any]]) -> "GloVe":
        """More epochs from the current parameters (records rebuilt only for another matrix)."""
        if getattr(self, "_rec_key", None) != _key(cooc) or getattr(self, "_rec", None) is None:
            self._rec, self._rec_key = self._records(cooc, len(self.words_)), _key(cooc)
        return self._train(self._rec, epochs, progress, callback)

    def _start(self, words: List[str]) -> None:
        """The seeded start (the reference's initialisation, then ``init``), history reset."""
        params = np.empty((2 * len(words), _core.glove_block(dim=int(self.dim))), dtype=np.float32)
        _core.glove_init(params, vocab_size=len(words), dim=int(self.dim), seed=int(self.seed))
        self.words_ = words
        self.params_ = params
        self._apply_init(words)
        self.loss_history_: List[float] = []
        self.epochs_done_ = 0
        self.skipped_ = 0

    def _apply_init(self, words: List[str]) -> None:
        init = self.init
        if init is None:
            return
        d = int(self.dim)
        if isinstance(init, WordVectors):
            if init.dim != d:
                raise ValueError(f"init has dim {init.dim}, the model {d}")
            for i, w in enumerate(words):
                j = init.index(w)
                if j is not None:
                    self.params_[i, :d] = init.vectors[j]
            return
        arr = np.asarray(init, dtype=np.float32)
        if arr.shape != (len(words), d):
            raise ValueError(f"init must have shape ({len(words)}, {d}), not {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("init has values that are not finite")
        self.params_[: len(words), :d] = arr

    def _train(self, records: "_core.GloveRecords", epochs: int, progress: bool,
               callback: Optional[Callable[[int, float], Any]]) -> "GloVe":
        n_rec = len(records)
        sizes = records.tile_sizes()
        threads = resolve_threads(self.num_threads)
        last_good = np.empty_like(self.params_)  # the parameters after the last good epoch
        with progress_bar(progress and epochs > 0, total=epochs * n_rec, unit="rec", unit_scale=True,
                          desc="GloVe") as bar:
            for _ in range(epochs):
                np.copyto(last_good, self.params_)
                if self.order == "blocked":  # a new tile order every epoch
                    order = np.random.default_rng([int(self.seed), self.epochs_done_]).permutation(len(sizes))
                else:  # the records' one shuffled order, as the reference
                    order = np.arange(len(sizes))
                ends = np.cumsum(sizes[order])
                cost, skipped = 0.0, 0
                t0 = time.perf_counter()
                b = 0
                while b < len(order):  # slices of about _SLICE records: progress and Ctrl-C between
                    e = int(np.searchsorted(ends, (ends[b - 1] if b else 0) + _SLICE)) + 1
                    e = min(max(e, b + 1), len(order))
                    c, s = _core.glove_train(self.params_, dim=int(self.dim), records=records,
                                             order=np.ascontiguousarray(order[b:e], dtype=np.int64),
                                             eta=float(self.learning_rate), grad_clip=float(self.grad_clip),
                                             threads=threads)
                    cost += c
                    skipped += s
                    bar.update(int(ends[e - 1] - (ends[b - 1] if b else 0)))
                    b = e
                loss = cost / n_rec
                self._check_diverged(loss, last_good)
                self.loss_history_.append(loss)
                self.epochs_done_ += 1
                self.skipped_ += skipped
                self.last_epoch_seconds_ = time.perf_counter() - t0
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(epoch=self.epochs_done_, loss=f"{loss:.4f}")
                if callback is not None and callback(self.epochs_done_, loss) is True:
                    break
        return self

    def _check_diverged(self, loss: float, last_good: np.ndarray) -> None:
        """After an epoch: a loss no untrained model reaches, or a parameter or AdaGrad sum that
        is no longer finite, means the run diverged; the last good epoch's parameters come back."""
        error = self._divergence(loss, bool(np.all(np.isfinite(self.params_))))
        if error is not None:
            np.copyto(self.params_, last_good)
            raise error

    def _divergence(self, loss: float, finite: bool) -> Optional[FloatingPointError]:
        ceiling = getattr(self, "_loss_ceiling", math.inf)
        if finite and math.isfinite(loss) and loss <= ceiling:
            return None
        why = (f"the loss reached {loss:.4g}" if math.isfinite(loss) and loss > ceiling
               else f"the loss became {loss}" if not math.isfinite(loss) else "parameters became infinite or NaN")
        return FloatingPointError(
            f"training diverged in epoch {self.epochs_done_ + 1} ({why}; an untrained model loses at most "
            f"{ceiling / 10:.3g} per record): learning_rate={self.learning_rate} is too large, try "
            f"{self.learning_rate / 10:g}. The model keeps the parameters of epoch {self.epochs_done_}.")

    # ------------------------------------------------------------------ results
    def _check_fitted(self) -> None:
        check_is_fitted(self, "params_", "this GloVe model is not fitted yet; call fit() first")

    @property
    def word_vectors_(self) -> np.ndarray:
        """Word vectors ``w`` (copy), shape ``(V, dim)``."""
        self._check_fitted()
        return self.params_[: len(self.words_), : self.dim].copy()

    @property
    def context_vectors_(self) -> np.ndarray:
        """Context vectors ``c`` (copy), shape ``(V, dim)``."""
        self._check_fitted()
        return self.params_[len(self.words_):, : self.dim].copy()

    @property
    def biases_(self) -> np.ndarray:
        """Word and context biases, shape ``(2, V)``."""
        self._check_fitted()
        # each row of params_: [w (dim) | bias | AdaGrad sums (dim) | bias sum | padding]
        return self.params_[:, int(self.dim)].reshape(2, len(self.words_)).copy()

    def word_vectors(self, kind: str = "w+c") -> WordVectors:
        """The vectors as :class:`WordVectors`: ``"w+c"`` (the sum, as the reference's
        ``-model 2`` writes and the paper recommends), ``"w"`` or ``"c"``."""
        self._check_fitted()
        if kind == "w+c":
            vec = self.word_vectors_ + self.context_vectors_
        elif kind == "w":
            vec = self.word_vectors_
        elif kind == "c":
            vec = self.context_vectors_
        else:
            raise ValueError(f"kind must be 'w+c', 'w' or 'c', not {kind!r}")
        return WordVectors(self.words_, vec)

    # ------------------------------------------------------------------ files
    def save(self, path: "os.PathLike[str] | str") -> None:
        """Save everything needed to continue training (parameters, AdaGrad state,
        vocabulary, settings, loss history) to one ``.npz``, atomically."""
        self._check_fitted()
        if not np.all(np.isfinite(self.params_)):  # a file that load() would refuse: keep the old one
            raise FloatingPointError("the model holds NaN or infinity (training diverged: try a smaller "
                                     "learning_rate); it was not saved, and any file already there is unchanged")
        # the single-machine class's parameters (a model trained on dask loads on one machine too)
        meta = {"params": {k: v for k, v in self.get_params().items() if k in GloVe._param_names() and k != "init"},
                "words": self.words_, "loss_history": self.loss_history_, "epochs_done": self.epochs_done_,
                "skipped": self.skipped_}
        save_model(path, _FORMAT, meta, {"params": self.params_})

    @classmethod
    def load(cls, path: "os.PathLike[str] | str") -> "GloVe":
        path = os.fspath(path)
        meta, arrays = load_model(path, _FORMAT, "a saved GloVe model")
        try:
            return cls._from_saved(path, arrays["params"], meta)
        except (KeyError, TypeError, IndexError, AttributeError) as e:  # fields missing or of the wrong kind
            raise ValueError(f"{path}: a damaged GloVe file ({type(e).__name__}: {e})") from None

    @classmethod
    def _from_saved(cls, path: str, params: np.ndarray, meta: Dict[str, Any]) -> "GloVe":
        model = cls(**meta["params"])
        model._check_params()
        words = meta["words"]
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{path}: the word list is damaged")
        block = _core.glove_block(int(model.dim))
        if params.dtype != np.float32 or params.shape != (2 * len(words), block):
            raise ValueError(f"{path}: parameters have shape {params.shape}, expected {(2 * len(words), block)}")
        if not np.all(np.isfinite(params)):
            raise ValueError(f"{path}: the parameters hold NaN or infinity")
        model.params_ = np.ascontiguousarray(params)
        model.words_ = list(words)
        model.loss_history_ = list(meta["loss_history"])
        model.epochs_done_ = int(meta["epochs_done"])
        model.skipped_ = int(meta.get("skipped", 0))
        model._rec = None
        model._rec_key = None
        return model


def _key(cooc: Any) -> tuple:
    # Identifies the matrix records were built from, so partial_fit can reuse them.
    return (id(cooc), getattr(cooc, "nnz", None), getattr(cooc, "shape", None))
