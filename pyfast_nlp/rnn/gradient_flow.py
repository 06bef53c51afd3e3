"""Gradient flow through time: why LSTM and GRU replaced the vanilla RNN.

``toy_rnn`` works the study notes' scalar example by hand; ``gradient_flow`` measures, on a
real model, how the gradient shrinks or grows as it travels back through time, with the C++
backward kernels; ``plot_gradient_flow`` draws several models on one picture.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from .._base import resolve_threads
from .._io import atomic_path
from .core import GATES, LayerStack, layer_backward, layer_forward

__all__ = ["toy_rnn", "gradient_flow", "plot_gradient_flow"]


def toy_rnn(x: Sequence[float], w_hh: float = 3.0, w_xh: float = 2.0, b: float = 1.0, h0: float = 0.0,
            eps: float = 1e-6) -> Dict[str, Any]:
    """The study notes' scalar RNN ``h_t = tanh(w_xh x_t + w_hh h_{t-1} + b)``.

    Returns the states ``h`` (h_0 .. h_T), the nested expression of ``h_T`` written out, the
    chain-rule factors ``w_hh * (1 - h_t^2)`` of d h_t / d h_{t-1}, their running products
    ``dh_T/dh_t`` for t = T-1 .. 0 (``products[k-1]`` is d h_T / d h_{T-k}), and d h_T / d h_1
    computed both by the chain rule and by central finite differences.

    Example:
        >>> r = toy_rnn([1.0, 0.5, -1.0])
        >>> r["expression"]
        'tanh(2*x3 + 3*tanh(2*x2 + 3*tanh(2*x1 + 3*h0 + 1) + 1) + 1)'
        >>> abs(r["dhT_dh1_chain"] - r["dhT_dh1_numeric"]) < 1e-6
        True
    """
    x = [float(v) for v in x]
    if not x:
        raise ValueError("x must hold at least one input")
    if not all(math.isfinite(v) for v in x + [w_hh, w_xh, b, h0]):
        raise ValueError("inputs and weights must be finite numbers")

    def run(start: float, first: int) -> List[float]:
        h = [start]
        for t in range(first, len(x)):
            h.append(math.tanh(w_xh * x[t] + w_hh * h[-1] + b))
        return h

    h = run(h0, 0)
    T = len(x)
    expr = "h0"
    for t in range(1, T + 1):
        expr = f"tanh({_num(w_xh)}*x{t} + {_num(w_hh)}*{expr} + {_num(b)})"
    factors = [w_hh * (1.0 - h[t] ** 2) for t in range(1, T + 1)]  # d h_t / d h_{t-1}
    products, p = [], 1.0
    for t in range(T, 0, -1):
        p *= factors[t - 1]
        products.append(p)  # d h_T / d h_{t-1}
    chain = products[T - 2] if T >= 2 else 1.0  # d h_T / d h_1
    numeric = float("nan")
    if T >= 2:
        plus = run(h[1] + eps, 1)[-1]
        minus = run(h[1] - eps, 1)[-1]
        numeric = (plus - minus) / (2 * eps)
    elif T == 1:
        numeric = 1.0
    return {"h": h, "expression": expr, "factors": factors, "products": products,
            "dhT_dh1_chain": chain, "dhT_dh1_numeric": numeric}


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def gradient_flow(model: Any, text: Optional[str] = None, steps: int = 100, layer: Optional[int] = None,
                  seed: int = 0, num_threads: Optional[int] = 1, inputs: Optional[np.ndarray] = None
                  ) -> Dict[str, np.ndarray]:
    """How gradients travel back through time in a recurrent layer.

    ``model`` is a ``CharLM`` (reading ``text``, at least ``steps + 2`` characters; an unfitted one
    is measured freshly initialised over the text's characters, and is left unfitted) or
    the weights of one layer, ``{"cell": "rnn"|"lstm"|"gru", "w_ih", "w_hh", "b_ih", "b_hh"}``
    in PyTorch's layout (reading ``inputs``: floats (T, I) or integer ids (T,), T >= steps).
    The layer (default: a CharLM's top one) reads its input from a zero state; at the last
    step T two gradients are sent back through its recurrence with the C++ backward kernel:
    a fixed random unit vector u (``jacobian[k-1] = ||d(u . h_T)/d h_{T-k}||``, a probe of
    the Jacobian d h_T / d h_{T-k}) and, for a CharLM's top layer, the gradient of the loss
    of predicting the next character (``loss[k-1]``: its norm reaching h_{T-k}; NaN
    otherwise). Returns ``{"distance": 1..steps, "jacobian", "loss"}``: values shrinking
    towards 0 show vanishing gradients, growing ones exploding gradients.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> w = {"cell": "rnn", "w_ih": rng.normal(0, .3, (8, 3)), "w_hh": rng.normal(0, .3, (8, 8)),
        ...      "b_ih": np.zeros(8), "b_hh": np.zeros(8)}
        >>> r = gradient_flow(w, inputs=rng.normal(size=(30, 3)), steps=20)
        >>> bool(r["jacobian"][-1] < r["jacobian"][0])  # small recurrent weights: vanishing
        True
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, not {steps!r}")
    threads = resolve_threads(num_threads)
    if isinstance(model, Mapping):
        cell, w, layer_in, in_size = _weights_layer(model, inputs, steps)
        return _flow(cell, w, layer_in, in_size, int(steps), seed, threads, None)
    from .charlm import CharLM

    if not isinstance(model, CharLM):
        raise TypeError("model must be a fitted CharLM or a dict of one layer's weights")
    if text is None:
        raise ValueError("a CharLM needs the text to read")
    if not hasattr(model, "params_"):  # a fresh model: PyTorch's initialisation over the text's characters
        model = type(model)(**model.get_params()).fit(text, seq_len=1, batch_size=1, max_steps=0,
                                                      val_fraction=0, progress=False)
    L = int(model.num_layers)
    layer = L - 1 if layer is None else int(layer)
    if not 0 <= layer < L:
        raise ValueError(f"layer must be in [0, {L}), not {layer}")
    ids = model.encode(text)
    if len(ids) < steps + 2:
        raise ValueError(f"text must hold at least steps + 2 = {steps + 2} characters; it has {len(ids)}")
    ids = ids[-(steps + 2):]
    x, target = ids[:-1], int(ids[-1])
    stack = model.layer_stack()
    layer_in = stack.layer_input(x, layer, threads)
    dloss = _loss_grad_at_top(stack, x, target, threads) if layer == L - 1 else None
    return _flow(model.cell, stack.layer_weights(layer), layer_in, len(model.vocab_), int(steps), seed,
                 threads, dloss)


def _weights_layer(w: Mapping[str, Any], inputs: Any, steps: int):
    cell = w.get("cell")
    if cell not in GATES:
        raise ValueError(f"the weights' 'cell' must be 'rnn', 'lstm' or 'gru', not {cell!r}")
    try:
        arrs = [np.ascontiguousarray(w[k], dtype=np.float32) for k in ("w_ih", "w_hh", "b_ih", "b_hh")]
    except KeyError as e:
        raise ValueError(f"the weights need {e.args[0]!r}") from None
    if inputs is None:
        raise ValueError("weights need inputs: floats (T, I) or integer ids (T,)")
    x = np.asarray(inputs)
    in_size = arrs[0].shape[1] if arrs[0].ndim == 2 else 0
    if x.dtype.kind in "iu":
        if x.ndim != 1:
            raise ValueError(f"ids must have shape (T,), not {x.shape}")
        layer_in = x.astype(np.int32).reshape(-1, 1)
    else:
        if x.ndim != 2 or x.shape[1] != in_size:
            raise ValueError(f"inputs must have shape (T, {in_size}), not {x.shape}")
        layer_in = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), 1, in_size)
    if len(layer_in) < steps:
        raise ValueError(f"inputs must hold at least steps = {steps} time steps; they hold {len(layer_in)}")
    return cell, arrs, layer_in, in_size


def _flow(cell: str, w: Sequence[np.ndarray], layer_in: np.ndarray, in_size: int, steps: int, seed: int,
          threads: int, dloss: Optional[np.ndarray]) -> Dict[str, np.ndarray]:
    H = int(w[1].shape[1])
    zero = np.zeros((1, H), np.float32)
    lstm = cell == "lstm"
    y, _, _, cache = layer_forward(cell, layer_in, zero, zero if lstm else None, w, input_size=in_size,
                                   threads=threads, save=False)
    T = len(layer_in)
    hs = [zero] + [np.array(y[t]) for t in range(T)]
    cs: List[np.ndarray] = []
    if lstm:
        cells = cache.cells()
        cs = [zero] + [np.array(cells[t]) for t in range(T)]
    u = np.random.default_rng(seed).standard_normal((1, H)).astype(np.float32)
    u /= np.float32(np.sqrt((u * u).sum()))
    jac = np.empty(steps)
    loss = np.full(steps, np.nan)
    for k in range(1, steps + 1):
        # forward over steps T-k+1 .. T from the saved state h_{T-k}, then back to it
        _, _, _, cache = layer_forward(cell, layer_in[T - k:T], hs[T - k], cs[T - k] if lstm else None, w,
                                       input_size=in_size, threads=threads, save=True)
        for vec, out in ((u, jac), (dloss, loss)):
            if vec is None:
                continue
            dh0 = np.zeros((1, H), np.float32)
            dc0 = np.zeros((1, H), np.float32) if lstm else None
            layer_backward(cache, dh_n=vec, grads={"dh0": dh0, "dc0": dc0}, threads=threads)
            out[k - 1] = float(np.sqrt((dh0.astype(np.float64) ** 2).sum()))
    return {"distance": np.arange(1, steps + 1), "jacobian": jac, "loss": loss}


def _loss_grad_at_top(stack: LayerStack, x: np.ndarray, target: int, threads: int) -> np.ndarray:
    """The gradient of the loss of predicting ``target`` after reading ``x``, at the top layer's
    last output."""
    top, _, _ = stack.forward(x.reshape(-1, 1), stack.zero_state(1), threads)
    dy = np.zeros((1, stack.H), np.float32)
    stack.loss(np.ascontiguousarray(top[-1]), np.array([target], np.int32), threads, dtop=dy)
    return dy


def plot_gradient_flow(results: Mapping[str, Mapping[str, np.ndarray]], path: str, key: str = "jacobian",
                       title: Optional[str] = None) -> str:
    """Draw log10 of the gradient norm against distance back in time for several models on
    one PNG (``results``: label -> a :func:`gradient_flow` result). Needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - exercised only without matplotlib
        raise ImportError("plot_gradient_flow needs matplotlib (pip install matplotlib)") from e
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    for label, r in results.items():
        vals = np.asarray(r[key], dtype=np.float64)
        ok = np.isfinite(vals) & (vals > 0)
        ax.plot(np.asarray(r["distance"])[ok], np.log10(vals[ok]), label=label)
    ax.set_xlabel("distance back in time k (characters)")
    ax.set_ylabel("log10 gradient norm" + (" ||d(u.h_T)/dh_{T-k}||" if key == "jacobian" else " of the loss"))
    ax.set_title(title or "Gradient flow through time")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
