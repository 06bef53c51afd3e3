"""The recurrent core: one layer and one layer stack over the C++ kernels (``csrc/rnn``), with
named steps (forward, loss, backward, update) as in llm.c.

Everything recurrent runs on this module: :class:`~pyfast_nlp.CharLM` (training, evaluation,
hidden states, sampling), the functional API :mod:`pyfast_nlp.nn` (one layer per call), and
gradient flow. Weights are PyTorch's layout and names (``weight_ih_l0`` (G*H, I),
``weight_hh_l0`` (G*H, H), ``bias_ih_l0``, ``bias_hh_l0``; ``decoder.weight`` (V, H),
``decoder.bias``; ``embedding.weight`` (V, E)), with G gate blocks per cell (:data:`GATES`).

>>> import numpy as np
>>> shapes = LayerStack.param_shapes("lstm", vocab_size=5, hidden_size=3, num_layers=1)
>>> params = {k: np.full(s, 0.1, np.float32) for k, s in shapes.items()}
>>> stack = LayerStack("lstm", params, vocab_size=5, hidden_size=3, num_layers=1)
>>> top, state, caches = stack.forward(np.zeros((4, 2), np.int32), stack.zero_state(2))
>>> top.shape, sorted(state)
((4, 2, 3), ['c', 'h'])
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .optim import Optimizer, clip_grad_norm, global_norm

__all__ = ["GATES", "LayerStack", "StepResult", "cell_kind", "layer_forward", "layer_backward"]

GATES: Dict[str, int] = {"rnn": 1, "lstm": 4, "gru": 3}
"""Gate blocks per layer: the tanh RNN has one, the LSTM four (i, f, g, o), the GRU three (r, z, n)."""

LN2 = math.log(2.0)


def cell_kind(cell: str) -> "_core.Cell":
    """The compiled cell called ``cell`` (``"rnn"``, ``"lstm"`` or ``"gru"``)."""
    if cell not in GATES:
        raise ValueError(f"cell must be 'rnn', 'lstm' or 'gru', not {cell!r}")
    return _core.Cell.__members__[cell]


# ---------------------------------------------------------------------- one layer
def layer_forward(cell: str, x: np.ndarray, h0: np.ndarray, c0: Optional[np.ndarray],
                  weights: Sequence[np.ndarray], *, input_size: int = 0, threads: int = -1,
                  save: bool = True, reuse: Any = None) -> Tuple[np.ndarray, np.ndarray, Optional[np.ndarray], Any]:
    """One layer over a sequence: x (T,B,I) floats or ids (T,B) over ``input_size`` symbols ->
    ``(y (T,B,H), h_n, c_n (LSTM) or None, cache)``. ``weights`` is (w_ih, w_hh, b_ih, b_hh).
    The outputs are read-only views into the cache; ``reuse`` hands an earlier cache's memory to
    this call (its outputs then change)."""
    w_ih, w_hh, b_ih, b_hh = weights
    return _core.layer_forward(cell_kind(cell), x, h0=h0, c0=c0, w_ih=w_ih, w_hh=w_hh, b_ih=b_ih, b_hh=b_hh,
                               input_size=int(input_size), threads=threads, save=save, reuse=reuse)


def layer_backward(cache: Any, *, dy: Optional[np.ndarray] = None, dh_n: Optional[np.ndarray] = None,
                   dc_n: Optional[np.ndarray] = None, grads: Mapping[str, Optional[np.ndarray]],
                   threads: int = -1) -> None:
    """Backward through one layer from the gradients reaching its outputs (``dy``) and final
    state (``dh_n``, ``dc_n``). ``grads`` maps any of dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh to
    a float32 array that the gradient is added into; a name left out is not computed."""
    unknown = set(grads) - {"dx", "dh0", "dc0", "dw_ih", "dw_hh", "db_ih", "db_hh"}
    if unknown:
        raise ValueError(f"unknown gradient names: {sorted(unknown)}")
    _core.layer_backward(cache, dy=dy, dh_n=dh_n, dc_n=dc_n, threads=threads, **grads)


class StepResult(NamedTuple):
    """What one training step computed: the mean loss (nats per symbol), the gradients' global
    norm before clipping, the factor clipping scales them by, and the state after the chunk."""
    loss: float
    grad_norm: float
    grad_scale: float
    state: Dict[str, np.ndarray]


# ---------------------------------------------------------------------- the stack
class LayerStack:
    """``num_layers`` recurrent layers of ``hidden_size`` units over ``vocab_size`` symbols (one-hot
    input, or an ``embedding``-dimensional learned embedding), and a softmax output layer.

    ``params`` holds the weights by their PyTorch names (see :meth:`param_shapes`); the stack reads
    and the optimiser updates them in place, so an owner (``CharLM``) keeps them in its own dict.
    """

    def __init__(self, cell: str, params: Dict[str, np.ndarray], vocab_size: int, hidden_size: int,
                 num_layers: int, embedding: Optional[int] = None) -> None:
        cell_kind(cell)
        self.cell = cell
        self.params = params
        self.V, self.H, self.L = int(vocab_size), int(hidden_size), int(num_layers)
        self.embedding = int(embedding) if embedding else None

    @staticmethod
    def param_shapes(cell: str, vocab_size: int, hidden_size: int, num_layers: int,
                     embedding: Optional[int] = None) -> Dict[str, tuple]:
        """Name -> shape of every weight, in PyTorch's layout and order."""
        G, H, V = GATES[cell], int(hidden_size), int(vocab_size)
        shapes: Dict[str, tuple] = {}
        for layer in range(int(num_layers)):
            I = (int(embedding) if embedding else V) if layer == 0 else H
            shapes[f"weight_ih_l{layer}"] = (G * H, I)
            shapes[f"weight_hh_l{layer}"] = (G * H, H)
            shapes[f"bias_ih_l{layer}"] = (G * H,)
            shapes[f"bias_hh_l{layer}"] = (G * H,)
        shapes["decoder.weight"] = (V, H)
        shapes["decoder.bias"] = (V,)
        if embedding:
            shapes["embedding.weight"] = (V, int(embedding))
        return shapes

    def layer_weights(self, layer: int) -> List[np.ndarray]:
        """(w_ih, w_hh, b_ih, b_hh) of ``layer``."""
        return [self.params[f"{k}_l{layer}"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def zero_state(self, batch: int) -> Dict[str, np.ndarray]:
        """``{"h": (L, B, H)}`` zeros, and ``"c"`` for the LSTM."""
        state = {"h": np.zeros((self.L, batch, self.H), np.float32)}
        if self.cell == "lstm":
            state["c"] = np.zeros((self.L, batch, self.H), np.float32)
        return state

    def _input(self, x: np.ndarray) -> np.ndarray:
        return self.params["embedding.weight"][x] if self.embedding else x

    # ------------------------------------------------------------------ forward
    def forward(self, x: np.ndarray, state: Dict[str, np.ndarray], threads: int = -1, save: bool = False,
                caches: Optional[list] = None, masks: Optional[list] = None
                ) -> Tuple[np.ndarray, Dict[str, np.ndarray], list]:
        """ids x (T,B) from ``state`` -> (top layer's outputs (T,B,H), the state after the last step,
        one cache per layer). ``save`` keeps what backward needs; ``caches`` from the previous call
        are reused for their memory; ``masks`` (dropout) multiply the outputs of every layer but
        the last."""
        inp = self._input(x)
        new_state = {k: np.empty_like(v) for k, v in state.items()}
        out_caches = []
        for layer in range(self.L):
            c0 = state["c"][layer] if self.cell == "lstm" else None
            y, h_n, c_n, cache = layer_forward(self.cell, inp, state["h"][layer], c0, self.layer_weights(layer),
                                               input_size=self.V, threads=threads, save=save,
                                               reuse=caches[layer] if caches else None)
            new_state["h"][layer] = h_n
            if c_n is not None:
                new_state["c"][layer] = c_n
            out_caches.append(cache)
            if masks is not None and layer < self.L - 1:
                y = y * masks[layer]
            inp = y
        return inp, new_state, out_caches

    def layer_input(self, x: np.ndarray, layer: int, threads: int = -1) -> np.ndarray:
        """The input that ``layer`` reads for the single stream of ids ``x`` (T,) from a zero state:
        ids (T, 1) for a one-hot first layer, else floats (T, 1, I)."""
        inp: np.ndarray = self._input(x.reshape(-1, 1))
        h = np.zeros((1, self.H), np.float32)
        for below in range(layer):
            y, _, _, _ = layer_forward(self.cell, inp, h, h if self.cell == "lstm" else None,
                                       self.layer_weights(below), input_size=self.V, threads=threads, save=False)
            inp = np.array(y)
        return inp

    def hidden_states(self, ids: np.ndarray, threads: int = -1, chunk: int = 4096) -> Dict[str, np.ndarray]:
        """Every layer's state after each id of the single stream ``ids`` (T,), from a zero state:
        ``{"h": (T, L, H)}``, and ``"c"`` (the cell states) for the LSTM."""
        out = {"h": np.empty((len(ids), self.L, self.H), np.float32)}
        if self.cell == "lstm":
            out["c"] = np.empty((len(ids), self.L, self.H), np.float32)
        state = self.zero_state(1)
        for t0 in range(0, len(ids), chunk):
            x = ids[t0: t0 + chunk].reshape(-1, 1)
            inp = self._input(x)
            for layer in range(self.L):
                c0 = state["c"][layer] if self.cell == "lstm" else None
                y, h_n, c_n, cache = layer_forward(self.cell, inp, state["h"][layer], c0, self.layer_weights(layer),
                                                   input_size=self.V, threads=threads, save=False)
                out["h"][t0: t0 + len(x), layer] = y[:, 0]
                if self.cell == "lstm":
                    out["c"][t0: t0 + len(x), layer] = cache.cells()[:, 0]
                    state["c"][layer] = c_n
                state["h"][layer] = h_n
                inp = np.array(y)
        return out

    # ------------------------------------------------------------------ loss
    def loss(self, top: np.ndarray, targets: np.ndarray, threads: int = -1, *, scale: float = 1.0,
             dtop: Optional[np.ndarray] = None, grads: Optional[Mapping[str, np.ndarray]] = None) -> float:
        """Summed cross-entropy (nats) of predicting ``targets`` (N,) from ``top`` (N, H). With
        ``dtop`` (N, H) the gradient of ``scale * loss`` is written there and, with ``grads``, added
        into ``grads["decoder.weight"]`` and ``grads["decoder.bias"]``."""
        total, _ = _core.softmax_xent(top, self.params["decoder.weight"], self.params["decoder.bias"], targets,
                                      scale=scale, dy=dtop,
                                      dw=grads["decoder.weight"] if grads is not None else None,
                                      db=grads["decoder.bias"] if grads is not None else None,
                                      threads=threads)
        return total

    def evaluate_bits(self, ids: np.ndarray, batch_size: int, seq_len: int, threads: int = -1) -> float:
        """Bits per symbol of the ids (T,) cut into ``batch_size`` streams, each read from a zero
        state ``seq_len`` steps at a time."""
        n = (len(ids) - 1) // batch_size
        if n < 1:
            raise ValueError(f"the text is too short to evaluate with batch_size={batch_size}")
        data = np.ascontiguousarray(np.stack([ids[b * n: (b + 1) * n + 1] for b in range(batch_size)], axis=1))
        state = self.zero_state(batch_size)
        total = 0.0
        for t0 in range(0, n, seq_len):
            T = min(seq_len, n - t0)
            top, state, _ = self.forward(data[t0: t0 + T], state, threads)
            state = {k: v.copy() for k, v in state.items()}
            total += self.loss(top.reshape(T * batch_size, self.H), data[t0 + 1: t0 + T + 1].reshape(-1), threads)
        return total / (n * batch_size) / LN2

    # ------------------------------------------------------------------ backward
    def backward(self, x: np.ndarray, caches: list, dtop: np.ndarray, grads: Dict[str, np.ndarray],
                 threads: int = -1, masks: Optional[list] = None,
                 buffer: Optional[Any] = None) -> None:
        """Add the gradients of every layer (and the embedding) into ``grads``, from ``dtop``
        (T, B, H) reaching the top layer's outputs. ``buffer(name, shape)`` supplies scratch
        arrays kept from step to step (default: fresh ones)."""
        T, B = x.shape[0], x.shape[1]
        scratch = buffer or (lambda name, shape: np.empty(shape, np.float32))
        dout = dtop
        for layer in reversed(range(self.L)):
            cache = caches[layer]
            dx = None
            if layer > 0 or self.embedding:  # backward adds into dx
                dx = scratch(f"dx{layer}", (T, B, cache.shape[2]))
                dx.fill(0.0)
            layer_backward(cache, dy=dout, threads=threads,
                           grads={"dx": dx, "dw_ih": grads[f"weight_ih_l{layer}"],
                                  "dw_hh": grads[f"weight_hh_l{layer}"], "db_ih": grads[f"bias_ih_l{layer}"],
                                  "db_hh": grads[f"bias_hh_l{layer}"]})
            if layer > 0 and masks is not None:
                dx *= masks[layer - 1]
            dout = dx
        if self.embedding:
            np.add.at(grads["embedding.weight"], x.reshape(-1), dout.reshape(T * B, -1))

    # ------------------------------------------------------------------ a training step
    def train_step(self, x: np.ndarray, y: np.ndarray, state: Dict[str, np.ndarray], grads: Dict[str, np.ndarray],
                   clip: Optional[float], threads: int = -1, masks: Optional[list] = None,
                   caches: Optional[list] = None, buffer: Optional[Any] = None) -> Tuple[StepResult, list]:
        """Forward, loss, backward and clipping on one chunk: ids ``x`` (T, B) predicting ``y``
        (T, B) from ``state``. Gradients (of the mean loss) replace what ``grads`` held. Returns the
        step's result and the caches (pass them back next step to reuse their memory). The weights
        are not changed: call :meth:`update` when the result is good."""
        top, new_state, caches = self.forward(x, state, threads, True, caches, masks)
        for g in grads.values():
            g.fill(0.0)
        T, B = x.shape
        N = T * B
        scratch = buffer or (lambda name, shape: np.empty(shape, np.float32))
        dtop = scratch("dy", (N, self.H))  # overwritten by the output layer
        loss = self.loss(top.reshape(N, self.H), y.reshape(N), threads, scale=1.0 / N, dtop=dtop, grads=grads)
        loss /= N
        self.backward(x, caches, dtop.reshape(T, B, self.H), grads, threads, masks, buffer)
        glist = list(grads.values())
        norm, scale = clip_grad_norm(glist, clip) if clip is not None else (global_norm(glist), 1.0)
        return StepResult(loss, norm, scale, new_state), caches

    @staticmethod
    def update(opt: Optimizer, grads: Dict[str, np.ndarray], result: StepResult) -> None:
        """Apply a step's gradients, clipped by its ``grad_scale``."""
        opt.step(list(grads.values()), result.grad_scale)

    # ------------------------------------------------------------------ sampling
    def sampler(self, threads: int = -1) -> "_core.Sampler":
        """The whole stack packed for generating one symbol at a time (``_core.Sampler``)."""
        layers = [tuple(self.layer_weights(layer)) for layer in range(self.L)]
        return _core.Sampler(cell_kind(self.cell), vocab=self.V, hidden=self.H,
                             embedding=self.params.get("embedding.weight"), layers=layers,
                             w_out=self.params["decoder.weight"], b_out=self.params["decoder.bias"], threads=threads)
