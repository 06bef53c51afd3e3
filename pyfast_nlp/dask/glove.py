"""GloVe trained across dask workers with a stratified block schedule, no parameter server.

Words are split into ``K`` groups by id (word ``r`` is in group ``r % K``, the rows of
co-occurrence shard ``r % K``), so the matrix falls into ``K x K`` blocks (word group, context
group). An epoch is ``K`` sub-epochs; in sub-epoch ``s`` task ``k`` trains block
``(k, (k + s) mod K)`` with the single-machine C++ kernel (AdaGrad, Hogwild over the worker's
threads). The ``K`` tasks of a sub-epoch touch disjoint word rows and disjoint context rows, so
they run in parallel without conflicts (Gemulla et al., 2011, "stratified SGD"). A block's
records never move: they are built once in the worker that holds the shard and reused every
epoch. Word group ``k`` stays with task ``k``; only context groups pass from worker to worker,
one per task per sub-epoch. Every record is trained once an epoch, as on one machine.
"""
from __future__ import annotations

import math
import threading
import time
import uuid
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._base import progress_bar, resolve_threads
from ..embeddings import glove as single
from ..text.vocab import Vocab
from ._collections import check_fits, n_workers, persist, shared, worker_threads
from .cooccur import CooccurMatrix
from .partials import CooccurShard

__all__ = ["GloVe"]

# A worker's training records, built from its blocks on first use and kept for the fit's epochs
# (they are C++ objects: built where the block lies, never sent anywhere).
_RECORDS: Dict[Tuple[str, int, int], Any] = {}
_RECORDS_LOCK = threading.Lock()


def _drop_records(token: Optional[str] = None) -> int:
    """Forget the cached records of fit ``token`` (all with None); runs on every worker at the end."""
    with _RECORDS_LOCK:
        keys = [k for k in _RECORDS if token is None or k[0] == token]
        for k in keys:
            del _RECORDS[k]
    return len(keys)


def _column_block(shard: CooccurShard, group: int, n_groups: int) -> sp.csr_matrix:
    """The columns of context group ``group`` of a shard, numbered within the group (float32)."""
    m = shard.matrix.tocoo()
    keep = (m.col % n_groups) == group
    n_cols = CooccurShard.rows_of(group, n_groups, m.shape[1])
    return sp.csr_matrix((m.data[keep].astype(np.float32), (m.row[keep], m.col[keep] // n_groups)),
                         shape=(m.shape[0], n_cols))


def _extremes(block: sp.csr_matrix) -> Tuple[int, float, float]:
    d = block.data
    return (int(d.size), float(d.min()) if d.size else math.inf, float(d.max()) if d.size else -math.inf)


def _block_seed(cfg: Dict[str, Any], k: int, g: int, epoch: Optional[int] = None) -> Any:
    """Block (k, g)'s records shuffle seed, or its tile order's in ``epoch``. With one block they
    are the single-machine model's, so ``n_blocks=1`` trains exactly as ``pyfast_nlp.GloVe``."""
    if cfg["blocks"] == 1:
        return int(cfg["seed"]) if epoch is None else [int(cfg["seed"]), int(epoch)]
    if epoch is None:
        return int(np.random.SeedSequence([cfg["seed"], k, g]).generate_state(1)[0])
    return [int(cfg["seed"]), int(epoch), k, g]


def _records_of(cfg: Dict[str, Any], block: sp.csr_matrix, k: int, g: int) -> Any:
    key = (cfg["token"], k, g)
    with _RECORDS_LOCK:
        rec = _RECORDS.get(key)
        if rec is None:
            for old in [o for o in _RECORDS if o[0] != cfg["token"]]:  # an earlier fit that stopped midway
                del _RECORDS[old]
    if rec is None:
        check_fits(16 * block.nnz, f"the GloVe records of block ({k}, {g}) ({block.nnz:,} entries)",
                   "use more workers (more, smaller blocks) or workers with more memory")
        m = block.tocoo()
        rec = _core.glove_records(m.row.astype(np.int32), m.col.astype(np.int32), m.data.astype(np.float32),
                                  vocab_size=cfg["rows"], x_max=cfg["x_max"], alpha=cfg["alpha"],
                                  threads=resolve_threads(worker_threads(cfg["num_threads"])),
                                  seed=_block_seed(cfg, k, g),
                                  tile_words=cfg["tile_words"])
        with _RECORDS_LOCK:
            _RECORDS[key] = rec
    return rec


def _train_block(cfg: Dict[str, Any], block: sp.csr_matrix, w: np.ndarray, c: np.ndarray, epoch: int, k: int,
                 g: int) -> Tuple[np.ndarray, np.ndarray, float, int]:
    """One sub-epoch's work of task ``k``: block ``(k, g)`` once, on word group ``k``'s and context
    group ``g``'s parameters; returns them updated, with the block's cost and skipped records. A
    pure function of its inputs (with one thread), so a task rerun after a worker died gives the
    same result."""
    if block.nnz == 0:
        return w, c, 0.0, 0
    rec = _records_of(cfg, block, k, g)
    rows = cfg["rows"]
    params = np.zeros((2 * rows, w.shape[1]), dtype=np.float32)  # the kernel's layout: V words, V contexts
    params[:len(w)] = w
    params[rows:rows + len(c)] = c
    n_tiles = len(rec.tile_sizes())
    if cfg["order"] == "blocked":
        order = np.random.default_rng(_block_seed(cfg, k, g, epoch)).permutation(n_tiles)
    else:
        order = np.arange(n_tiles)
    cost, skipped = _core.glove_train(params, dim=cfg["dim"], records=rec, order=order.astype(np.int64),
                                      eta=cfg["eta"], grad_clip=cfg["grad_clip"],
                                      threads=resolve_threads(worker_threads(cfg["num_threads"])))
    return params[:len(w)].copy(), params[rows:rows + len(c)].copy(), float(cost), int(skipped)


def _sum(values: Sequence[Any]) -> Any:
    return sum(values)


def _all_finite(*arrays: np.ndarray) -> bool:
    return all(bool(np.all(np.isfinite(a))) for a in arrays)


class GloVe(single.GloVe):
    """:class:`pyfast_nlp.GloVe` trained across dask workers: ``fit(cooc, vocab)`` takes a
    :class:`~pyfast_nlp.dask.CooccurMatrix` (from :func:`pyfast_nlp.dask.cooccurrence`, trained
    where its shards lie) or a scipy sparse matrix (cut into shards and sent to the workers).

    ``n_blocks`` is ``K`` of the ``K x K`` block schedule: by default the matrix's ``n_shards``
    (one per worker), which it must equal for a ``CooccurMatrix``. Same parameters, start
    (``seed``) and results as the single-machine class otherwise (``word_vectors()``, ``save``,
    ``load``); the model comes back to the client after the last epoch. With one thread per
    worker the run is deterministic for a given ``seed`` and ``K``, whichever workers run it.
    Quality matches the single-machine model within noise (``bench/RESULTS.md``). ``fit`` and
    ``partial_fit`` behave as the single-machine ones (``callback(epoch, loss)`` on the client after
    each epoch, divergence a ``FloatingPointError`` with the last good epoch's parameters).

    >>> import dask.bag as db
    >>> from pyfast_nlp import Vocab
    >>> from pyfast_nlp.dask import GloVe, cooccurrence
    >>> texts = ["the king rules the land", "the queen rules the land"] * 50
    >>> vocab = Vocab.build(texts, specials=())
    >>> X = cooccurrence(db.from_sequence(texts, npartitions=2), vocab, window=3, n_shards=2, progress=False)
    >>> model = GloVe(dim=8, epochs=5, num_threads=1).fit(X, vocab, progress=False)
    >>> model.loss_history_[-1] < model.loss_history_[0], model.word_vectors()["king"].shape
    (True, (8,))
    """

    def __init__(self, dim: int = 100, x_max: float = 100.0, alpha: float = 0.75,
                 learning_rate: float = 0.05, epochs: int = 25, num_threads: int = -1,
                 seed: int = 0, init: Any = None, grad_clip: float = 100.0,
                 order: str = "blocked", n_blocks: Optional[int] = None) -> None:
        super().__init__(dim=dim, x_max=x_max, alpha=alpha, learning_rate=learning_rate, epochs=epochs,
                         num_threads=num_threads, seed=seed, init=init, grad_clip=grad_clip, order=order)
        self.n_blocks = n_blocks

    # fit / partial_fit are the single-machine ones (checks, Ctrl-C, one fit at a time); the training
    # itself runs on the workers. ``callback(epoch, loss)`` runs on the client after each epoch.
    def _fit(self, cooc: Any, vocab: Union[Vocab, Sequence[str]], progress: bool,
             callback: Optional[Callable[[int, float], Any]]) -> "GloVe":
        self._check_params()
        words = self._words_of(vocab)
        if not words:
            raise ValueError("the vocabulary is empty")
        self._start(words)
        self._rec = self._rec_key = None
        return self._train_on_workers(cooc, int(self.epochs), progress, callback)

    def _continue(self, cooc: Any, epochs: int, progress: bool,
                  callback: Optional[Callable[[int, float], Any]]) -> "GloVe":
        return self._train_on_workers(cooc, epochs, progress, callback)

    # ------------------------------------------------------------------ the schedule
    def _shards(self, cooc: Any, n: int) -> List[Any]:
        if isinstance(cooc, CooccurMatrix):
            if cooc.shape != (n, n):
                raise ValueError(f"cooc has shape {cooc.shape}, but the vocabulary has {n} words")
            if self.n_blocks is not None and int(self.n_blocks) != cooc.n_shards:
                raise ValueError(f"n_blocks={self.n_blocks} but the matrix has {cooc.n_shards} shards: count it "
                                 f"with cooccurrence(..., n_shards={self.n_blocks}) or leave n_blocks unset")
            if not cooc.shards:
                raise ValueError("this CooccurMatrix was released")
            return list(cooc.shards)
        K = int(self.n_blocks) if self.n_blocks is not None else n_workers()
        row, col, data = self._entries(cooc, n)
        return [shared(s) for s in CooccurShard.split(row, col, data, K, n)]

    def _train_on_workers(self, cooc: Any, epochs: int, progress: bool,
                          callback: Optional[Callable[[int, float], Any]]) -> "GloVe":
        import dask

        if self.n_blocks is not None and (isinstance(self.n_blocks, bool) or
                                          not isinstance(self.n_blocks, (int, np.integer)) or self.n_blocks < 1):
            raise ValueError(f"n_blocks must be a positive int, not {self.n_blocks!r}")
        n = len(self.words_)
        shards = self._shards(cooc, n)
        K = len(shards)
        blocks = [[dask.delayed(_column_block)(shards[k], g, K) for g in range(K)] for k in range(K)]
        blocks = persist([b for row in blocks for b in row], "GloVe blocks", False)
        blocks = [blocks[k * K:(k + 1) * K] for k in range(K)]
        sizes = dask.compute(*[dask.delayed(_extremes)(b) for row in blocks for b in row])
        n_rec = sum(s[0] for s in sizes)
        if n_rec == 0:
            raise ValueError("the co-occurrence matrix has no positive entries")
        lo, hi = min(s[1] for s in sizes), max(s[2] for s in sizes)
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0:
            raise ValueError(f"co-occurrence values must be positive and finite; found values from {lo} to {hi}")
        self._set_loss_ceiling(lo, hi)
        cfg = {"token": uuid.uuid4().hex, "rows": -(-n // K), "blocks": K, "dim": int(self.dim), "x_max": float(self.x_max),
               "alpha": float(self.alpha), "eta": float(self.learning_rate), "grad_clip": float(self.grad_clip),
               "seed": int(self.seed), "order": self.order, "tile_words": self._tile_words(),
               "num_threads": self.num_threads}
        W = [shared(self.params_[k:n:K].copy()) for k in range(K)]
        C = [shared(self.params_[n + g::K].copy()) for g in range(K)]
        train = partial(_train_block, cfg)
        try:
            with progress_bar(progress and epochs > 0, total=epochs, unit="epoch", desc="GloVe (dask)") as bar:
                for _ in range(epochs):
                    t0 = time.perf_counter()
                    W_new, C_new, costs, skipped = list(W), list(C), [], []
                    for s in range(K):  # sub-epoch s: task k trains block (k, (k + s) mod K)
                        for k in range(K):
                            g = (k + s) % K
                            out = dask.delayed(train, nout=4)(blocks[k][g], W_new[k], C_new[g],
                                                              self.epochs_done_, k, g)
                            W_new[k], C_new[g] = out[0], out[1]
                            costs.append(out[2])
                            skipped.append(out[3])
                    done = persist(W_new + C_new + [dask.delayed(_sum)(costs), dask.delayed(_sum)(skipped),
                                                    dask.delayed(_all_finite)(*W_new, *C_new)], "", False)
                    cost, n_skipped, finite = dask.compute(*done[2 * K:])
                    loss = float(cost) / n_rec
                    error = self._divergence(loss, bool(finite))
                    if error is not None:
                        raise error  # W, C still hold the last good epoch (gathered below)
                    W, C = done[:K], done[K:2 * K]
                    self.loss_history_.append(loss)
                    self.epochs_done_ += 1
                    self.skipped_ += int(n_skipped)
                    self.last_epoch_seconds_ = time.perf_counter() - t0
                    bar.update(1)
                    if hasattr(bar, "set_postfix"):
                        bar.set_postfix(loss=f"{loss:.4f}")
                    if callback is not None and callback(self.epochs_done_, loss) is True:
                        break
        finally:
            self._gather(W, C, K)
            self._forget_records(cfg["token"])
        return self

    def _gather(self, W: List[Any], C: List[Any], K: int) -> None:
        import dask

        n = len(self.words_)
        for k, w in enumerate(dask.compute(*W)):
            self.params_[k:n:K] = w
        for g, c in enumerate(dask.compute(*C)):
            self.params_[n + g::K] = c

    @staticmethod
    def _forget_records(token: str) -> None:
        _drop_records(token)  # (the threaded scheduler's tasks ran in this process)
        try:
            from distributed import get_client

            get_client().run(_drop_records, token)
        except (ImportError, ValueError):
            pass
