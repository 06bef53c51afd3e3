"""Classification metrics (plain numpy; match scikit-learn's definitions)."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np


def accuracy(y_true: Any, y_pred: Any) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}")
    if y_true.size == 0:
        raise ValueError("no samples")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true: Any, y_pred: Any, labels: Optional[Any] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Counts C[i, j] of samples of true class labels[i] predicted as labels[j]."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    ti = np.searchsorted(labels, y_true)
    pi = np.searchsorted(labels, y_pred)
    n = len(labels)
    cm = np.bincount(ti * n + pi, minlength=n * n).reshape(n, n)
    return cm, labels


def macro_f1(y_true: Any, y_pred: Any) -> float:
    """Unweighted mean of per-class F1 (a class with no true and no predicted samples
    counts as F1 = 0, as scikit-learn's ``zero_division=0``)."""
    cm, _ = confusion_matrix(y_true, y_pred)
    tp = np.diag(cm).astype(float)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1.mean())
