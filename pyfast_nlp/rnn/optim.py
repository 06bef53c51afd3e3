"""Optimisers and gradient clipping over lists of float32 arrays, updated in place by the C++
kernels (``csrc/rnn/optim.cpp``), with PyTorch's update rules."""
from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

from .. import _core
from .._base import resolve_threads

__all__ = ["Optimizer", "clip_grad_norm", "global_norm"]


def global_norm(grads: Sequence[np.ndarray]) -> float:
    """The L2 norm of all of ``grads`` together (summed in double)."""
    return float(np.sqrt(_core.sum_squares(list(grads))))


def clip_grad_norm(grads: Iterable[np.ndarray], max_norm: float) -> Tuple[float, float]:
    """Global L2 norm of ``grads`` and the factor that brings it to ``max_norm`` (1 when under).

    As ``torch.nn.utils.clip_grad_norm_``: factor = max_norm / (norm + 1e-6) when that is < 1.
    The factor is returned, not applied: ``Optimizer.step`` takes it as ``grad_scale``.
    """
    norm = global_norm(list(grads))
    if not np.isfinite(norm):
        return norm, 1.0
    coef = max_norm / (norm + 1e-6)
    return norm, min(1.0, coef)


class Optimizer:
    """SGD (with momentum), Adagrad or Adam over a list of float32 arrays, updated in place.

    The update rules are PyTorch's (``torch.optim.SGD``, ``Adagrad``, ``Adam`` with default
    options apart from those given here).

    Example:
        >>> import numpy as np
        >>> from pyfast_nlp.nn import Optimizer
        >>> p = np.ones(3, np.float32)
        >>> opt = Optimizer([p], "sgd", lr=0.5)
        >>> opt.step([np.ones(3, np.float32)])
        >>> p.tolist()
        [0.5, 0.5, 0.5]
    """

    DEFAULT_LR = {"sgd": 0.01, "adagrad": 0.01, "adam": 2e-3}

    def __init__(self, params: Iterable[np.ndarray], kind: str = "adam", lr: Optional[float] = None,
                 momentum: float = 0.0, betas: Tuple[float, float] = (0.9, 0.999), eps: Optional[float] = None,
                 weight_decay: float = 0.0, num_threads: int = -1) -> None:
        if kind not in self.DEFAULT_LR:
            raise ValueError(f"optimizer must be 'sgd', 'adagrad' or 'adam', not {kind!r}")
        self.params = list(params)
        for p in self.params:
            if not (isinstance(p, np.ndarray) and p.dtype == np.float32 and p.flags.c_contiguous):
                raise TypeError("parameters must be C-contiguous float32 arrays")
        self.kind = kind
        self.lr = float(self.DEFAULT_LR[kind] if lr is None else lr)
        if not self.lr > 0:
            raise ValueError("lr must be positive")
        self.momentum = float(momentum)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float((1e-10 if kind == "adagrad" else 1e-8) if eps is None else eps)
        self.weight_decay = float(weight_decay)
        self.num_threads = resolve_threads(num_threads)
        self.step_count = 0
        self.state1 = [np.zeros_like(p) for p in self.params]
        self.state2 = [np.zeros_like(p) for p in self.params] if kind == "adam" else \
            [np.zeros(p.shape, np.float32) for p in self.params]

    def _config(self) -> "_core.OptimConfig":
        return _core.OptimConfig(kind=_core.Optimizer.__members__[self.kind], lr=self.lr, momentum=self.momentum,
                                 beta1=self.betas[0], beta2=self.betas[1], eps=self.eps,
                                 weight_decay=self.weight_decay)

    def step(self, grads: Iterable[np.ndarray], grad_scale: float = 1.0) -> None:
        """Applies one update with ``grads`` (same shapes as the parameters) times ``grad_scale``."""
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"expected {len(self.params)} gradients, got {len(grads)}")
        self.step_count += 1
        _core.optim_step(self._config(), self.params, grads, self.state1, self.state2, step=self.step_count,
                         grad_scale=float(grad_scale), threads=self.num_threads)

    def state_dict(self) -> Dict[str, Any]:
        return {"kind": self.kind, "step": self.step_count, "state1": self.state1, "state2": self.state2}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        if state["kind"] != self.kind:
            raise ValueError(f"optimizer state is for {state['kind']!r}, not {self.kind!r}")
        for dst, src in zip(self.state1 + self.state2, list(state["state1"]) + list(state["state2"])):
            if dst.shape != np.shape(src):
                raise ValueError("optimizer state does not match the parameters' shapes")
            dst[...] = src
        self.step_count = int(state["step"])
