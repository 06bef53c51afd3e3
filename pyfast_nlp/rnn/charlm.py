"""Character-level language models (vanilla RNN, LSTM, GRU) trained with truncated
backpropagation through time on the C++ kernels of :mod:`pyfast_nlp.nn`."""
from __future__ import annotations

import math
import os
import secrets
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from .._base import ParamsMixin, check_memory, exclusive_fit, progress_bar, resolve_threads, sigterm_as_interrupt
from .._io import load_model, save_model
from ..exceptions import check_is_fitted
from ..text.corpus import read_text
from .core import GATES, LN2, LayerStack
from .optim import Optimizer

__all__ = ["CharLM"]

_FORMAT = "pyfast_nlp.charlm"
TextLike = Union[str, "os.PathLike[str]"]


def _codes(text: str) -> np.ndarray:
    """Unicode code points of ``text`` as uint32 (surrogates rejected)."""
    try:
        return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    except UnicodeEncodeError as e:
        raise ValueError(f"text holds an unpaired surrogate at position {e.start}") from None


class CharLM(ParamsMixin):
    """A character-level recurrent language model (char-rnn), trained and sampled in C++.

    ``cell`` is ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``; ``num_layers`` layers of
    ``hidden_size`` units; the input is one-hot over the characters (``embedding=None``) or an
    ``embedding``-dimensional learned embedding; ``dropout`` is applied to the outputs of every
    layer but the last during training, as ``torch.nn.LSTM(dropout=...)`` does. Weights are laid
    out and initialised as PyTorch's (uniform in +-1/sqrt(hidden_size)), and move to and from a
    PyTorch ``state_dict`` unchanged (:meth:`to_torch_state_dict`, :meth:`from_torch_state_dict`).

    The vocabulary is every character (Unicode code point) of the training text, in code-point
    order (``vocab_``).

    Example (the study notes' "hello"):
        >>> from pyfast_nlp import CharLM
        >>> lm = CharLM("rnn", hidden_size=16, num_layers=1, seed=0)
        >>> lm = lm.fit("hello", seq_len=4, batch_size=1, max_steps=300, lr=0.02,
        ...             val_fraction=0, progress=False)
        >>> lm.vocab_
        ['e', 'h', 'l', 'o']
        >>> lm.sample("h", length=4, top_k=1)
        'hello'
    """

    def __init__(self, cell: str = "lstm", hidden_size: int = 256, num_layers: int = 2,
                 embedding: Optional[int] = None, dropout: float = 0.0, seed: int = 0):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = embedding
        self.dropout = dropout
        self.seed = seed

    # ------------------------------------------------------------------ set-up
    def _check_params(self) -> None:
        if self.cell not in GATES:
            raise ValueError(f"cell must be 'rnn', 'lstm' or 'gru', not {self.cell!r}")
        for name in ("hidden_size", "num_layers"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, not {v!r}")
        if self.embedding is not None and (not isinstance(self.embedding, (int, np.integer)) or self.embedding < 1):
            raise ValueError(f"embedding must be None (one-hot input) or a positive int, not {self.embedding!r}")
        if not (0.0 <= float(self.dropout) < 1.0):
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout!r}")

    def _param_shapes(self, V: int) -> Dict[str, tuple]:
        return LayerStack.param_shapes(self.cell, V, int(self.hidden_size), int(self.num_layers), self.embedding)

    def layer_stack(self) -> LayerStack:
        """The model as the recurrent core sees it: a :class:`~pyfast_nlp.rnn.core.LayerStack`
        over this model's weights (shared, not copied)."""
        self._check_fitted()
        return LayerStack(self.cell, self.params_, len(self.vocab_), int(self.hidden_size), int(self.num_layers),
                          self.embedding)

    def _init_weights(self, V: int) -> None:
        rng = np.random.default_rng(self.seed)
        H = int(self.hidden_size)
        sizes = [int(np.prod(s)) for s in self._param_shapes(V).values()]
        n = sum(sizes)
        # float32 weights, gradients and two optimiser states, and the float64 draw of the largest
        check_memory(4 * 4 * n + 8 * max(sizes),
                     f"a {self.cell.upper()} of {self.num_layers} x {H} units ({n:,} parameters)",
                     "lower hidden_size or num_layers")
        self.params_: Dict[str, np.ndarray] = {}
        for name, shape in self._param_shapes(V).items():
            if name.startswith("decoder"):
                k = 1.0 / math.sqrt(H)  # nn.Linear: kaiming-uniform weight, bias +-1/sqrt(fan_in)
                a = rng.uniform(-k, k, shape)
            elif name == "embedding.weight":
                a = rng.standard_normal(shape)  # nn.Embedding: N(0, 1)
            else:
                k = 1.0 / math.sqrt(H)  # nn.RNN/LSTM/GRU: U(-1/sqrt(H), 1/sqrt(H))
                a = rng.uniform(-k, k, shape)
            self.params_[name] = np.ascontiguousarray(a, dtype=np.float32)
        self._sampler = None

    def _set_vocab(self, text: str) -> None:
        codes = _codes(text)
        uniq, counts = np.unique(codes, return_counts=True)
        self._codes = uniq.astype(np.uint32)
        self._lut = None
        self.vocab_: List[str] = [chr(int(c)) for c in uniq]
        self.char_counts_ = counts.astype(np.int64)

    def encode(self, text: str) -> np.ndarray:
        """Character ids (int32) of ``text``; a character outside ``vocab_`` raises ValueError."""
        self._check_fitted()
        codes = _codes(read_text(text) if not isinstance(text, str) else text)
        lut = getattr(self, "_lut", None)
        if lut is None or len(lut) != int(self._codes[-1]) + 1:
            # code point -> id table (at most 1.1 M entries): one gather instead of a binary search
            lut = np.full(int(self._codes[-1]) + 1, -1, np.int32)
            lut[self._codes] = np.arange(len(self._codes), dtype=np.int32)
            self._lut = lut
        ids = lut[np.minimum(codes, len(lut) - 1)]
        bad = (ids < 0) | (codes >= len(lut))
        if bad.any():
            missing = sorted({chr(int(c)) for c in codes[bad]})
            shown = ", ".join(repr(c) for c in missing[:10])
            raise ValueError(f"{int(bad.sum())} characters are not in the model's vocabulary: {shown}"
                             + (" ..." if len(missing) > 10 else ""))
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        """The text of character ids."""
        self._check_fitted()
        return "".join(self.vocab_[int(i)] for i in ids)

    def _check_fitted(self) -> None:
        check_is_fitted(self, "params_", "this CharLM is not fitted yet; call fit() or CharLM.load()")

    @property
    def num_parameters(self) -> int:
        self._check_fitted()
        return int(sum(p.size for p in self.params_.values()))

    # ------------------------------------------------------------------ training
    def fit(self, text: TextLike, seq_len: int = 100, batch_size: int = 64, epochs: Optional[int] = None,
            max_steps: Optional[int] = None, lr: float = 2e-3, optimizer: str = "adam", clip: Optional[float] = 5.0,
            val_fraction: float = 0.05, num_threads: Optional[int] = -1, progress: bool = True,
            checkpoint: Optional[TextLike] = None, checkpoint_every: int = 1000,
            callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]] = None,
            resume: bool = True, state_reset: Optional[float] = None) -> "CharLM":
        """Train with truncated BPTT, the way char-rnn does.

        ``text`` is the text itself, or a path to a UTF-8 file: an ``os.PathLike``, or a
        ``str`` without newlines that names an existing file (pass a ``pathlib.Path`` to be
        explicit).

        The training text (all but the last ``val_fraction`` of ``text``) is cut into
        ``batch_size`` equal streams, one per batch row. Each step takes the next ``seq_len``
        characters of every stream (the last step of an epoch may be shorter), predicts each
        next character, and updates the weights; the hidden state carries over from one chunk
        to the next (and is reset at the start of each epoch), while the gradient stops at the
        chunk boundary. Losses are reported in bits per character (``history_``).

        Training stops after ``epochs`` epochs or ``max_steps`` steps, whichever comes first
        (default: 1 epoch). Both count from the start of training, so calling ``fit`` again on a
        model loaded from a checkpoint of the same text and settings resumes exactly where it
        stopped (``resume=False`` starts over). ``checkpoint`` is written atomically every
        ``checkpoint_every`` steps, at the end of each epoch and at the end; a step whose loss or
        gradient is not finite raises ``FloatingPointError`` naming the step, before any weight
        is changed, so the last checkpoint stays good. ``callback(info)`` runs after every step
        with ``{"step", "epoch", "loss_bits", "grad_norm"}`` (plus ``"val_bits"`` at the end of
        an epoch); returning True stops training. Ctrl-C (``KeyboardInterrupt``) comes back
        within a step: the model keeps the weights of the last completed step and can sample,
        and the last checkpoint is intact; to continue exactly, ``load`` that checkpoint and
        call ``fit`` again.

        Gradients are clipped by global norm ``clip`` (None: no clipping), as
        ``torch.nn.utils.clip_grad_norm_`` does; ``optimizer`` is "adam", "sgd" or "adagrad"
        (PyTorch's update rules).

        ``state_reset``: at each chunk boundary, each stream's state is set to zero with this
        probability; the default (None) is 0.02 for the GRU and 0 for the RNN and LSTM. Sampling
        and evaluation start from a zero state, but with the state always carried a short run
        (less than an epoch) sees a zero state only at its first step, and a GRU can learn
        dynamics that a zero state throws into a stuck attractor: on the full Shakespeare after
        400 steps its bits per character read 2.89 at batch 1 but 3.75 at batch 16, and greedy
        samples were ``NNZZERS2222...``. With 0.02 the same run gives 2.89 at every batch size and
        text from the first character. The LSTM and RNN did not need it (their 400-step runs agree
        across batch sizes within 0.002 bits either way), so their default carries the state
        always, as char-rnn and PyTorch's examples do (``bench/RESULTS.md``).

        Divergence (a learning rate far too large) stops training with ``FloatingPointError``:
        when a step's loss exceeds 3 log2(V) + 10 bits per character (a fresh model guesses at
        about log2(V)), the weights go back to the last snapshot, taken every
        ``snapshot_every`` steps, and the message suggests a smaller ``lr``. A second ``fit`` on
        the same object while one runs raises ``RuntimeError``.
        """
        with exclusive_fit(self), sigterm_as_interrupt():
            return self._fit(text, seq_len, batch_size, epochs, max_steps, lr, optimizer, clip, val_fraction,
                             num_threads, progress, checkpoint, checkpoint_every, callback, resume, state_reset)

    _SNAPSHOT_EVERY = 100  # steps between in-memory copies of the weights (divergence goes back to one)

    def _fit(self, text: TextLike, seq_len: int, batch_size: int, epochs: Optional[int], max_steps: Optional[int],
             lr: float, optimizer: str, clip: Optional[float], val_fraction: float, num_threads: Optional[int],
             progress: bool, checkpoint: Optional[TextLike], checkpoint_every: int,
             callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]], resume: bool,
             state_reset: float) -> "CharLM":
        self._check_params()
        if state_reset is None:
            state_reset = 0.02 if self.cell == "gru" else 0.0
        if not (isinstance(state_reset, (int, float)) and 0.0 <= float(state_reset) <= 1.0):
            raise ValueError(f"state_reset must be a probability in [0, 1], not {state_reset!r}")
        threads = resolve_threads(num_threads)
        text = read_text(text)
        for name, v in (("seq_len", seq_len), ("batch_size", batch_size)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, not {v!r}")
        if epochs is not None and (not isinstance(epochs, (int, np.integer)) or epochs < 0):
            raise ValueError(f"epochs must be a non-negative int, not {epochs!r}")
        if max_steps is not None and (not isinstance(max_steps, (int, np.integer)) or max_steps < 0):
            raise ValueError(f"max_steps must be a non-negative int, not {max_steps!r}")
        if not (0.0 <= float(val_fraction) < 1.0):
            raise ValueError(f"val_fraction must be in [0, 1), not {val_fraction!r}")
        if clip is not None and not clip > 0:
            raise ValueError(f"clip must be positive or None, not {clip!r}")
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a positive number, not {lr!r}")
        if len(text) < 2:
            raise ValueError(f"the text must hold at least 2 characters to learn from; it has {len(text)}")
        if epochs is None and max_steps is None:
            epochs = 1

        n_val = int(len(text) * float(val_fraction))
        train_text, val_text = text[: len(text) - n_val], text[len(text) - n_val:]
        fingerprint = {"n": len(text), "hash": _text_hash(text), "seq_len": int(seq_len),
                       "batch_size": int(batch_size), "val_fraction": float(val_fraction),
                       "optimizer": optimizer}
        state = getattr(self, "train_state_", None)
        resuming = bool(resume and state is not None and state.get("fingerprint") == fingerprint
                        and hasattr(self, "params_"))
        if not resuming:
            self._set_vocab(text)
            self._init_weights(len(self.vocab_))
            self.history_: List[Dict[str, Any]] = []
        ids = self.encode(train_text)
        n_stream = (len(ids) - 1) // int(batch_size)
        if n_stream < 1:
            raise ValueError(f"the training text ({len(ids)} characters) is too short for batch_size="
                             f"{batch_size}: each stream needs at least 2 characters")
        if int(seq_len) > n_stream:
            raise ValueError(f"seq_len={seq_len} is longer than each of the {batch_size} training streams "
                             f"({n_stream} characters each); use a smaller seq_len or batch_size, or more text")
        # streams: column b is ids[b*n_stream : (b+1)*n_stream + 1]
        data = np.stack([ids[b * n_stream: (b + 1) * n_stream + 1] for b in range(int(batch_size))], axis=1)
        data = np.ascontiguousarray(data)
        G = GATES[self.cell]
        check_memory(4 * int(seq_len) * int(batch_size) * (int(self.num_layers) * int(self.hidden_size) * (G + 4)
                                                           + 2 * len(self.vocab_)),
                     f"the activations of a {seq_len} x {batch_size} chunk", "lower seq_len or batch_size")
        steps_per_epoch = -(-n_stream // int(seq_len))
        val_ids = self.encode(val_text) if len(val_text) >= 2 else None

        stack = self.layer_stack()
        params = list(self.params_.values())
        opt = Optimizer(params, optimizer, lr=lr, num_threads=threads)
        if resuming:
            opt.load_state_dict({"kind": optimizer, "step": state["global_step"],
                                 "state1": self._opt_state[0], "state2": self._opt_state[1]})
            rng = np.random.default_rng()
            rng.bit_generator.state = state["rng"]
            hidden = self._hidden_state
        else:
            rng = np.random.default_rng(self.seed)
            state = {"fingerprint": fingerprint, "epoch": 0, "pos": 0, "global_step": 0,
                     "rng": rng.bit_generator.state}
            hidden = stack.zero_state(int(batch_size))
        self.train_state_ = state
        self._opt_state = (opt.state1, opt.state2)
        total_steps = steps_per_epoch * epochs if epochs is not None else None
        if max_steps is not None:
            total_steps = max_steps if total_steps is None else min(total_steps, max_steps)
        H, L, B = int(self.hidden_size), int(self.num_layers), int(batch_size)
        grads = {k: np.zeros_like(v) for k, v in self.params_.items()}
        caches: Optional[list] = None
        p_drop = float(self.dropout)
        stop = False
        buffers: Dict[str, np.ndarray] = {}

        def buffer(name: str, shape: tuple) -> np.ndarray:
            # scratch kept from step to step: fresh large arrays would be page-faulted in each time
            size = int(np.prod(shape))
            if name not in buffers or buffers[name].size < size:
                buffers[name] = np.empty(size, np.float32)
            return buffers[name][:size].reshape(shape)

        self._sampler = None
        limit_bits = 3.0 * math.log2(max(len(self.vocab_), 2)) + 10.0  # no model still learning loses this much
        snapshot = {k: v.copy() for k, v in self.params_.items()}
        snapshot_step = state["global_step"]
        with progress_bar(progress and state["global_step"] < total_steps, total=total_steps,
                          initial=state["global_step"], unit="step", desc=f"charlm {self.cell}") as bar:
            while state["global_step"] < total_steps and not stop:
                if state["pos"] >= n_stream:  # end of epoch
                    state["epoch"] += 1
                    state["pos"] = 0
                    hidden = stack.zero_state(B)
                    continue
                t0 = state["pos"]
                T = min(int(seq_len), n_stream - t0)
                x = data[t0: t0 + T]
                if state_reset > 0 and t0 > 0:  # some streams start this chunk from a zero state
                    zero = rng.random(B) < state_reset
                    if zero.any():
                        hidden = {k: v.copy() for k, v in hidden.items()}
                        for v in hidden.values():
                            v[:, zero] = 0.0
                masks = None
                if p_drop > 0 and L > 1:
                    masks = [(rng.random((T, B, H), dtype=np.float32) >= p_drop).astype(np.float32) / (1 - p_drop)
                             for _ in range(L - 1)]
                result, caches = stack.train_step(x, data[t0 + 1: t0 + T + 1], hidden, grads, clip, threads, masks,
                                                  caches, buffer)
                loss, norm = result.loss, result.grad_norm
                step = state["global_step"] + 1
                if not (math.isfinite(loss) and math.isfinite(norm)):
                    raise FloatingPointError(
                        f"training diverged at step {step} (epoch {state['epoch']}): loss {loss}, gradient norm "
                        f"{norm}; the weights are those before this step"
                        + (f" and the last checkpoint is {os.fspath(checkpoint)}" if checkpoint else "")
                        + "; try a smaller lr or clip")
                if loss / LN2 > limit_bits:
                    for k, v in snapshot.items():
                        np.copyto(self.params_[k], v)
                    self._sampler = None
                    raise FloatingPointError(
                        f"training diverged at step {step} (epoch {state['epoch']}): {loss / LN2:.4g} bits per "
                        f"character, where guessing uniformly over the {len(self.vocab_)} characters costs "
                        f"{math.log2(len(self.vocab_)):.2f}; lr={lr:g} is too large, try {lr / 10:g}. The weights "
                        f"are those of step {snapshot_step}"
                        + (f"; the last checkpoint is {os.fspath(checkpoint)}" if checkpoint else ""))
                stack.update(opt, grads, result)
                hidden = result.state
                state["global_step"] = step
                state["pos"] = t0 + T
                if step % self._SNAPSHOT_EVERY == 0:
                    for k, v in self.params_.items():
                        np.copyto(snapshot[k], v)
                    snapshot_step = step
                bits = loss / LN2
                info: Dict[str, Any] = {"step": step, "epoch": state["epoch"], "loss_bits": bits,
                                        "grad_norm": norm, "chars": T * B}
                epoch_done = state["pos"] >= n_stream
                if epoch_done and val_ids is not None:
                    info["val_bits"] = stack.evaluate_bits(val_ids, min(B, max(1, len(val_ids) // max(1, int(seq_len)))),
                                                           int(seq_len), threads)
                self.history_.append(info)
                bar.update(1)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(bpc=f"{bits:.3f}", **({"val": f"{info['val_bits']:.3f}"} if "val_bits" in info else {}))
                self._hidden_state = hidden
                state["rng"] = rng.bit_generator.state
                due = checkpoint is not None and (step % int(checkpoint_every) == 0 or epoch_done
                                                  or step >= total_steps)
                if due:  # before the callback, which may change the weights
                    self.save(checkpoint)
                if callback is not None and callback(dict(info)):
                    stop = True
                    if checkpoint is not None and not due:
                        self.save(checkpoint)
        self._hidden_state = hidden
        self._sampler = None
        if self.history_ and val_ids is not None and "val_bits" not in self.history_[-1]:
            self.history_[-1]["val_bits"] = stack.evaluate_bits(
                val_ids, min(B, max(1, len(val_ids) // max(1, int(seq_len)))), int(seq_len), threads)
        return self

    @property
    def val_bits_(self) -> Optional[float]:
        """The latest validation loss in bits per character (None without validation)."""
        for info in reversed(getattr(self, "history_", [])):
            if "val_bits" in info:
                return float(info["val_bits"])
        return None

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, text: TextLike, batch_size: int = 1, seq_len: int = 256,
                 num_threads: Optional[int] = -1) -> float:
        """Bits per character of ``text``: the mean of -log2 p(next char) over its characters
        after the first. With ``batch_size=1`` (default) the text is read as one stream from a
        zero state, exactly; a larger ``batch_size`` cuts it into that many streams (each from a
        zero state, so their first characters see less context), which is faster on long text.
        A character outside the vocabulary raises ValueError."""
        self._check_fitted()
        ids = self.encode(read_text(text))
        if len(ids) < 2:
            raise ValueError("evaluate needs a text of at least 2 characters")
        return self.layer_stack().evaluate_bits(ids, int(batch_size), int(seq_len), resolve_threads(num_threads))

    def hidden_states(self, text: TextLike, num_threads: Optional[int] = -1) -> Dict[str, np.ndarray]:
        """The hidden state of every layer after each character of ``text``, read as one stream
        from a zero state: ``{"h": (T, layers, H)}``, plus ``"c"`` (the cell states) for the LSTM."""
        self._check_fitted()
        ids = self.encode(read_text(text))
        if len(ids) == 0:
            raise ValueError("hidden_states needs a non-empty text")
        return self.layer_stack().hidden_states(ids, resolve_threads(num_threads))

    # ------------------------------------------------------------------ sampling
    def _get_sampler(self, threads: int) -> Any:
        if getattr(self, "_sampler", None) is None or self._sampler[0] != threads:
            self._sampler = (threads, self.layer_stack().sampler(threads))
        return self._sampler[1]

    def sample(self, prime: str = "", length: int = 500, temperature: float = 1.0,
               top_k: Optional[int] = None, seed: Optional[int] = None,
               num_threads: Optional[int] = -1) -> str:
        """Generate ``length`` characters after ``prime`` and return ``prime`` followed by them.

        The whole loop runs in C++ at batch 1. ``prime`` may hold any characters of the
        vocabulary (newlines included; others raise ValueError); with an empty prime the first
        character is drawn from the training text's character frequencies (and counts towards
        ``length``). Each next character is drawn from ``softmax(logits / temperature)``,
        restricted to the ``top_k`` most likely when given (``top_k=1`` is greedy decoding).
        ``seed`` makes the draw reproducible (the same for any ``num_threads``). Large models
        split each step's hidden units over ``num_threads`` threads.
        """
        self._check_fitted()
        if not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(f"length must be a non-negative int, not {length!r}")
        if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a positive number, not {temperature!r} "
                             "(use top_k=1 for greedy decoding)")
        if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise ValueError(f"top_k must be None or a positive int, not {top_k!r}")
        if seed is None:
            seed = secrets.randbits(63)
        if not isinstance(prime, str):
            raise TypeError(f"prime must be a str, not {type(prime).__name__}")
        ids = list(self.encode(prime)) if prime else []
        out = prime
        if not ids:
            if length == 0:
                return ""
            p = self.char_counts_ / self.char_counts_.sum()
            first = int(np.random.default_rng(seed).choice(len(p), p=p))
            ids = [first]
            out = self.vocab_[first]
            length -= 1
        L, H = int(self.num_layers), int(self.hidden_size)
        h = np.zeros((L, H), np.float32)
        c = np.zeros((L, H), np.float32)
        drawn = self._get_sampler(resolve_threads(num_threads)).sample(
            ids, length=int(length), temperature=float(temperature), top_k=int(top_k or 0), seed=int(seed), h=h, c=c)
        return out + "".join(self.vocab_[i] for i in drawn)

    # ------------------------------------------------------------------ files
    def save(self, path: TextLike) -> None:
        """Save weights, vocabulary, settings, optimiser state, training position, hidden state
        and random state to one ``.npz``, atomically (an interrupted save leaves the old file)."""
        self._check_fitted()
        meta: Dict[str, Any] = {"params": self.get_params(), "vocab": self.vocab_,
                                "history": getattr(self, "history_", [])}
        arrays = {f"param/{k}": v for k, v in self.params_.items()}
        arrays["char_counts"] = self.char_counts_
        state = getattr(self, "train_state_", None)
        if state is not None:
            meta["train_state"] = state
            for i, (a, b) in enumerate(zip(*self._opt_state)):
                arrays[f"opt1/{i}"] = a
                arrays[f"opt2/{i}"] = b
            for k, v in self._hidden_state.items():
                arrays[f"hidden/{k}"] = v
        save_model(path, _FORMAT, meta, arrays)

    @classmethod
    def load(cls, path: TextLike) -> "CharLM":
        """Load a model written by :meth:`save`; raises ValueError for a truncated or foreign file."""
        path = os.fspath(path)
        meta, arrays = load_model(path, _FORMAT, "a saved CharLM")
        try:
            return cls._from_saved(path, arrays, meta)
        except (KeyError, TypeError, IndexError, AttributeError) as e:  # fields missing or of the wrong kind
            raise ValueError(f"{path}: a damaged CharLM file ({type(e).__name__}: {e})") from None

    @classmethod
    def _from_saved(cls, path: str, arrays: Dict[str, np.ndarray], meta: Dict[str, Any]) -> "CharLM":
        model = cls(**meta["params"])
        model._check_params()
        vocab = meta["vocab"]
        if not isinstance(vocab, list) or not vocab or any(not isinstance(ch, str) or len(ch) != 1 for ch in vocab):
            raise ValueError(f"{path}: the vocabulary is damaged")
        model._set_vocab("".join(vocab))
        if model.vocab_ != list(vocab):
            raise ValueError(f"{path}: the vocabulary is not in code-point order")
        counts = arrays.get("char_counts", np.ones(len(vocab), np.int64))
        if counts.dtype.kind not in "iu" or counts.shape != (len(vocab),) or (counts < 0).any():
            raise ValueError(f"{path}: the character counts are damaged")
        model.char_counts_ = counts.astype(np.int64)
        model.params_ = {}
        for name, shape in model._param_shapes(len(vocab)).items():
            a = arrays.get(f"param/{name}")
            if a is None or a.shape != shape or a.dtype != np.float32:
                raise ValueError(f"{path}: parameter {name} is missing or has the wrong shape "
                                 f"({None if a is None else a.shape}, expected {shape})")
            if not np.all(np.isfinite(a)):
                raise ValueError(f"{path}: parameter {name} holds NaN or infinity")
            model.params_[name] = np.ascontiguousarray(a)
        model.history_ = list(meta.get("history", []))
        model._sampler = None
        if "train_state" in meta:
            n = len(model.params_)
            try:
                s1 = [np.ascontiguousarray(arrays[f"opt1/{i}"]) for i in range(n)]
                s2 = [np.ascontiguousarray(arrays[f"opt2/{i}"]) for i in range(n)]
                hidden = {k.split("/", 1)[1]: np.ascontiguousarray(v) for k, v in arrays.items() if k.startswith("hidden/")}
            except KeyError as e:
                raise ValueError(f"{path}: the optimiser state is incomplete ({e})") from None
            for i, p in enumerate(model.params_.values()):
                for st in (s1[i], s2[i]):
                    if st.shape != p.shape or st.dtype != np.float32 or not np.all(np.isfinite(st)):
                        raise ValueError(f"{path}: optimiser state {i} is damaged")
            for k, v in hidden.items():
                if (v.dtype != np.float32 or v.ndim != 3 or v.shape[0] != int(model.num_layers)
                        or v.shape[2] != int(model.hidden_size) or not np.all(np.isfinite(v))):
                    raise ValueError(f"{path}: the saved hidden state {k!r} is damaged")
            if not isinstance(meta["train_state"], dict):
                raise ValueError(f"{path}: the training state is damaged")
            model.train_state_ = meta["train_state"]
            model._opt_state = (s1, s2)
            model._hidden_state = hidden
        return model

    # ------------------------------------------------------------------ PyTorch
    def _torch_names(self) -> Dict[str, str]:
        out = {}
        for name in self.params_:
            out[name] = name if name.startswith(("decoder", "embedding")) else f"rnn.{name}"
        return out

    def state_dict(self) -> Dict[str, np.ndarray]:
        """The weights as numpy arrays (copies) under PyTorch's names, the keys of
        :meth:`to_torch_state_dict`, without needing torch."""
        self._check_fitted()
        return {t: self.params_[k].copy() for k, t in self._torch_names().items()}

    def to_torch_state_dict(self) -> Dict[str, Any]:
        """The weights as a PyTorch ``state_dict`` (needs torch) for a module with submodules
        ``rnn`` (``torch.nn.RNN/LSTM/GRU(I, H, num_layers)``), ``decoder``
        (``torch.nn.Linear(H, V)``) and, with an embedding, ``embedding``
        (``torch.nn.Embedding(V, E)``)."""
        import torch

        self._check_fitted()
        return {t: torch.from_numpy(self.params_[k].copy()) for k, t in self._torch_names().items()}

    @classmethod
    def from_torch_state_dict(cls, state_dict: Dict[str, Any], vocab: Sequence[str], cell: str = "lstm",
                              **params: Any) -> "CharLM":
        """A model with the weights of a PyTorch ``state_dict`` laid out as
        :meth:`to_torch_state_dict` writes; ``vocab`` lists the characters in id order (it must
        be sorted by code point, as :class:`CharLM` builds it). Sizes are read from the weights."""
        sd = {k: np.ascontiguousarray(v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v),
                                      dtype=np.float32) for k, v in state_dict.items()}
        if cell not in GATES:
            raise ValueError(f"cell must be 'rnn', 'lstm' or 'gru', not {cell!r}")
        if "rnn.weight_hh_l0" not in sd:
            raise ValueError("state_dict has no 'rnn.weight_hh_l0'")
        H = sd["rnn.weight_hh_l0"].shape[1]
        L = sum(1 for k in sd if k.startswith("rnn.weight_hh_l"))
        emb = sd["embedding.weight"].shape[1] if "embedding.weight" in sd else None
        model = cls(cell=cell, hidden_size=H, num_layers=L, embedding=emb, **params)
        model._check_params()
        model._set_vocab("".join(vocab))
        if model.vocab_ != list(vocab):
            raise ValueError("vocab must be distinct characters in code-point order")
        model.params_ = {}
        for name, shape in model._param_shapes(len(vocab)).items():
            tname = name if name.startswith(("decoder", "embedding")) else f"rnn.{name}"
            a = sd.get(tname)
            if a is None or a.shape != shape:
                raise ValueError(f"state_dict entry {tname} is missing or has shape "
                                 f"{None if a is None else a.shape}, expected {shape}")
            model.params_[name] = a
        model.history_ = []
        model._sampler = None
        return model


def _text_hash(text: str) -> str:
    import hashlib

    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
