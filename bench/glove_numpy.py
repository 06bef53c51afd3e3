"""A straightforward numpy GloVe, the quality yardstick for bench_glove.py.

The same algorithm as the reference tool (and pyfast_nlp.GloVe): AdaGrad on
J = 1/2 sum f(X_ij) (w_i.c_j + b_i + b~_j - log X_ij)^2, weights and biases uniform in
(-0.5, 0.5)/dim, AdaGrad sums starting at 1, each component of the eta-scaled gradient
clipped to +-100, records shuffled once. In float64, and vectorised over mini-batches of
records: the records of a batch all see the parameters as they were at its start, and
the updates of a word that appears several times in a batch are summed (with a sparse
indicator matrix, which numpy does fast, instead of np.add.at). With batches of a few
thousand records out of millions, this is SGD for all practical purposes.
"""
from typing import Callable, List, Optional

import numpy as np
import scipy.sparse as sp


def train_glove_numpy(X: sp.coo_matrix, dim: int = 100, epochs: int = 5, eta: float = 0.05,
                      x_max: float = 100.0, alpha: float = 0.75, seed: int = 0, batch: int = 8192,
                      callback: Optional[Callable[[int, float], None]] = None):
    """Returns (word vectors w + c, per-epoch mean loss per record)."""
    X = X.tocoo()
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    W = (rng.random((2 * n, dim)) - 0.5) / dim  # rows [0, n) words, [n, 2n) contexts
    b = (rng.random(2 * n) - 0.5) / dim
    GW = np.ones((2 * n, dim))
    Gb = np.ones(2 * n)
    row, col = X.row.astype(np.int64), X.col.astype(np.int64) + n
    x = X.data.astype(np.float64)
    logx = np.log(x)
    f = np.minimum(1.0, (x / x_max) ** alpha)
    order = rng.permutation(len(x))
    row, col, logx, f = row[order], col[order], logx[order], f[order]
    losses: List[float] = []
    for epoch in range(epochs):
        cost = 0.0
        for s in range(0, len(x), batch):
            i, j = row[s:s + batch], col[s:s + batch]
            wi, cj = W[i], W[j]
            diff = np.einsum("ij,ij->i", wi, cj) + b[i] + b[j] - logx[s:s + batch]
            fdiff = f[s:s + batch] * diff
            cost += 0.5 * float(fdiff @ diff)
            fdiff *= eta
            gi = np.clip(fdiff[:, None] * cj, -100, 100)
            gj = np.clip(fdiff[:, None] * wi, -100, 100)
            idx = np.concatenate([i, j])
            grad = np.concatenate([gi, gj])
            step = grad / np.sqrt(GW[idx])
            bstep = np.concatenate([fdiff, fdiff]) / np.sqrt(Gb[idx])
            # Sum the rows of each parameter that occurs several times in the batch.
            uniq, inv = np.unique(idx, return_inverse=True)
            S = sp.csr_matrix((np.ones(len(idx)), (inv, np.arange(len(idx)))), shape=(len(uniq), len(idx)))
            W[uniq] -= S @ step
            GW[uniq] += S @ (grad * grad)
            b[uniq] -= S @ bstep
            Gb[uniq] += S @ np.concatenate([fdiff * fdiff, fdiff * fdiff])
        losses.append(cost / len(x))
        if callback is not None:
            callback(epoch + 1, losses[-1])
    return (W[:n] + W[n:]).astype(np.float32), losses
