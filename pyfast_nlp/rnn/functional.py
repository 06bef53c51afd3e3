"""Functional recurrent-network kernels (C++), one layer per call, in PyTorch's layout.

Weights, biases and gate order are those of ``torch.nn.RNN`` / ``LSTM`` / ``GRU``
(``weight_ih_l0`` (G*H, I), ``weight_hh_l0`` (G*H, H), ``bias_ih_l0``, ``bias_hh_l0``, with
gates i, f, g, o for the LSTM and r, z, n for the GRU), so weights move between the two as
they are. Inputs are time-major: ``x`` has shape (T, B, I). Instead of a float ``x`` an int
array of ids (T, B) may be given: the input is then one-hot over ``input_size`` symbols and the
input projection is a row gather.

Each ``*_forward`` returns the outputs and an opaque ``cache``; the matching ``*_backward``
takes the gradient reaching the outputs and returns a dict of gradients (``dx`` is absent for
id input). ``softmax_cross_entropy`` is the fused output layer.

Example:
    >>> import numpy as np
    >>> from pyfast_nlp import nn
    >>> T, B, I, H = 5, 2, 3, 4
    >>> rng = np.random.default_rng(0)
    >>> w = [rng.standard_normal(s).astype(np.float32) * 0.3 for s in [(4*H, I), (4*H, H), (4*H,), (4*H,)]]
    >>> x = rng.standard_normal((T, B, I)).astype(np.float32)
    >>> h0 = c0 = np.zeros((B, H), np.float32)
    >>> y, h_n, c_n, cache = nn.lstm_forward(x, h0, c0, *w)
    >>> y.shape, bool(np.allclose(y[-1], h_n))
    ((5, 2, 4), True)
    >>> grads = nn.lstm_backward(np.ones_like(y), None, None, cache)
    >>> sorted(grads)
    ['db_hh', 'db_ih', 'dc0', 'dh0', 'dw_hh', 'dw_ih', 'dx']
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _core
from .._base import check_memory, resolve_threads
from .core import GATES, layer_backward, layer_forward
from .optim import Optimizer, clip_grad_norm

__all__ = [
    "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "gru_forward", "gru_backward",
    "softmax_cross_entropy", "clip_grad_norm", "Optimizer", "kernel_isa",
]

Array = np.ndarray
LayerCache = Any  # _core.LayerCache


def kernel_isa() -> str:
    """The instruction set the recurrent kernels run with on this CPU ("avx512f", "avx2", "generic")."""
    return _core.rnn_kernel_isa()


def _forward(cell: str, x: Array, h0: Array, c0: Optional[Array], w_ih: Array, w_hh: Array,
             b_ih: Array, b_hh: Array, input_size: Optional[int], num_threads: int, save: bool):
    x = np.asarray(x)
    if x.dtype.kind in "iu":
        if input_size is None:
            input_size = int(np.asarray(w_ih).shape[1]) if np.ndim(w_ih) == 2 else 0
    elif x.dtype.kind != "f":
        raise TypeError(f"x must be float32 (T, B, I) or integer ids (T, B), not {x.dtype}")
    else:
        input_size = x.shape[-1] if x.ndim == 3 else 0
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinity")
    named = (("h0", h0), ("c0", c0), ("w_ih", w_ih), ("w_hh", w_hh), ("b_ih", b_ih), ("b_hh", b_hh))
    for name, a in named:
        if a is None:
            if name == "c0" and cell != "lstm":
                continue
            raise ValueError(f"{name} is required")
        if np.asarray(a).dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or infinity")
    if save and x.ndim >= 2 and np.ndim(w_hh) == 2:  # the cache: gates and states of every step
        G = GATES[cell]
        check_memory(4 * x.shape[0] * x.shape[1] * np.shape(w_hh)[1] * (G + 3),
                     f"the {cell.upper()} cache of {x.shape[0]} steps x {x.shape[1]} sequences",
                     "process the sequence in chunks")
    return layer_forward(cell, x, h0, c0, (w_ih, w_hh, b_ih, b_hh), input_size=int(input_size),
                         threads=resolve_threads(num_threads), save=save)


def _backward(cache: LayerCache, dy, dh_n, dc_n, num_threads: int) -> Dict[str, Array]:
    if not isinstance(cache, _core.LayerCache):
        raise TypeError("cache must be the cache returned by the matching forward call")
    T, B, I, H = cache.shape
    G = GATES[cache.cell.name]
    g = {
        "dh0": np.zeros((B, H), np.float32),
        "dw_ih": np.zeros((G * H, I), np.float32),
        "dw_hh": np.zeros((G * H, H), np.float32),
        "db_ih": np.zeros(G * H, np.float32),
        "db_hh": np.zeros(G * H, np.float32),
    }
    if not cache.ids_input:
        g["dx"] = np.zeros((T, B, I), np.float32)
    if cache.cell == _core.Cell.lstm:
        g["dc0"] = np.zeros((B, H), np.float32)
    layer_backward(cache, dy=dy, dh_n=dh_n, dc_n=dc_n, grads=g, threads=resolve_threads(num_threads))
    return g


def rnn_forward(x: Array, h0: Array, w_ih: Array, w_hh: Array, b_ih: Array, b_hh: Array, *,
                input_size: Optional[int] = None, num_threads: int = -1
                ) -> Tuple[Array, Array, LayerCache]:
    """Vanilla tanh RNN over a sequence: x (T,B,I) or ids (T,B), h0 (B,H) -> (y (T,B,H), h_n, cache)."""
    y, h_n, _, cache = _forward("rnn", x, h0, None, w_ih, w_hh, b_ih, b_hh, input_size, num_threads, True)
    return y, h_n, cache


def rnn_backward(dy: Optional[Array], dh_n: Optional[Array], cache: LayerCache, *,
                 num_threads: int = -1) -> Dict[str, Array]:
    """Gradients of an ``rnn_forward`` call: keys dx, dh0, dw_ih, dw_hh, db_ih, db_hh."""
    return _backward(cache, dy, dh_n, None, num_threads)


def lstm_forward(x: Array, h0: Array, c0: Array, w_ih: Array, w_hh: Array, b_ih: Array, b_hh: Array,
                 *, input_size: Optional[int] = None, num_threads: int = -1
                 ) -> Tuple[Array, Array, Array, LayerCache]:
    """LSTM over a sequence: x (T,B,I) or ids (T,B), h0, c0 (B,H) -> (y, h_n, c_n, cache)."""
    return _forward("lstm", x, h0, c0, w_ih, w_hh, b_ih, b_hh, input_size, num_threads, True)


def lstm_backward(dy: Optional[Array], dh_n: Optional[Array], dc_n: Optional[Array],
                  cache: LayerCache, *, num_threads: int = -1) -> Dict[str, Array]:
    """Gradients of an ``lstm_forward`` call: keys dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh."""
    return _backward(cache, dy, dh_n, dc_n, num_threads)


def gru_forward(x: Array, h0: Array, w_ih: Array, w_hh: Array, b_ih: Array, b_hh: Array, *,
                input_size: Optional[int] = None, num_threads: int = -1
                ) -> Tuple[Array, Array, LayerCache]:
    """GRU over a sequence: x (T,B,I) or ids (T,B), h0 (B,H) -> (y, h_n, cache)."""
    y, h_n, _, cache = _forward("gru", x, h0, None, w_ih, w_hh, b_ih, b_hh, input_size, num_threads, True)
    return y, h_n, cache


def gru_backward(dy: Optional[Array], dh_n: Optional[Array], cache: LayerCache, *,
                 num_threads: int = -1) -> Dict[str, Array]:
    """Gradients of a ``gru_forward`` call: keys dx, dh0, dw_ih, dw_hh, db_ih, db_hh."""
    return _backward(cache, dy, dh_n, None, num_threads)


def softmax_cross_entropy(y: Array, w: Array, b: Array, targets: Array, *, grad: bool = True,
                          reduction: str = "mean", num_threads: int = -1) -> Dict[str, Any]:
    """Fused output layer: logits = y w^T + b, softmax, cross-entropy against ``targets``.

    y (N,H), w (V,H), b (V,), targets (N,) ints. Returns ``{"loss"}`` (mean or sum over rows, in
    nats, like ``torch.nn.functional.cross_entropy``) and with ``grad=True`` also ``dy``, ``dw``,
    ``db``.

    Example:
        >>> import numpy as np
        >>> from pyfast_nlp.nn import softmax_cross_entropy
        >>> out = softmax_cross_entropy(np.zeros((2, 3), np.float32), np.zeros((4, 3), np.float32),
        ...                             np.zeros(4, np.float32), np.array([0, 3]))
        >>> round(out["loss"], 6) == round(float(np.log(4)), 6), out["dw"].shape
        (True, (4, 3))
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', not {reduction!r}")
    y = np.asarray(y)
    n = y.shape[0] if y.ndim == 2 else 0
    if n == 0:
        raise ValueError("y must have shape (N, H) with N >= 1")
    scale = 1.0 / n if reduction == "mean" else 1.0
    out: Dict[str, Any] = {}
    if grad:
        V, H = np.shape(w)
        out["dy"] = np.zeros(y.shape, np.float32)
        out["dw"] = np.zeros((V, H), np.float32)
        out["db"] = np.zeros(V, np.float32)
    loss, _ = _core.softmax_xent(y, w, b, np.asarray(targets), scale=scale, dy=out.get("dy"),
                                 dw=out.get("dw"), db=out.get("db"), threads=resolve_threads(num_threads))
    out["loss"] = loss * scale
    return out
