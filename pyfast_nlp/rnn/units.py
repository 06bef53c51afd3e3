"""Looking inside a character model: text coloured by one unit's activation, and a search for
units that track a feature of the text (inside quotes, brace depth, ...)."""
from __future__ import annotations

import html
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from .._io import atomic_path, atomic_write

__all__ = ["activation_html", "activation_png", "find_units", "text_feature", "FEATURES", "activation_rgb",
           "check_activations"]


def activation_rgb(v: float) -> str:
    """Red for positive, blue for negative, white for zero (|v| <= 1)."""
    v = max(-1.0, min(1.0, float(v)))
    if v >= 0:
        g = int(round(255 * (1 - v)))
        return f"rgb(255,{g},{g})"
    g = int(round(255 * (1 + v)))
    return f"rgb({g},{g},255)"


def check_activations(text: str, values: Any) -> np.ndarray:
    """``values`` as float64, checked to be one finite number per character of ``text``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    vals = np.asarray(values, dtype=np.float64)
    if vals.ndim != 1 or len(vals) != len(text):
        raise ValueError(f"values must have one number per character: {len(text)} characters, "
                         f"values of shape {vals.shape}")
    if not np.all(np.isfinite(vals)):
        raise ValueError("values hold NaN or infinity")
    return vals


def activation_html(text: str, values: Sequence[float], path: Optional[Union[str, "os.PathLike[str]"]] = None,
                    title: str = "", scale: Optional[float] = None) -> str:
    """Each character of ``text`` on a background coloured by ``values`` (one per character):
    red positive, blue negative, white zero, as in the char-rnn visualisations. Values are
    divided by ``scale`` (default: the largest absolute value). Returns the HTML (a
    self-contained page, no scripts or network) and writes it to ``path`` when given.

    Example:
        >>> page = activation_html('say "hi"', [0, 0, 0, 0, 1, 1, 1, 0])
        >>> 'rgb(255,0,0)' in page and page.count("<span") == 8
        True
    """
    vals = check_activations(text, values)
    s = float(scale) if scale else float(np.abs(vals).max() or 1.0)
    spans = []
    for ch, v in zip(text, vals):
        if ch == "\n":
            spans.append(f'<span style="background:{activation_rgb(v / s)}">\u21b5</span><br>')
            continue
        shown = "&nbsp;" if ch == " " else html.escape(ch)
        spans.append(f'<span style="background:{activation_rgb(v / s)}" title="{v:.3f}">{shown}</span>')
    page = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.escape(title or "activations")
            + "</title><style>body{font-family:monospace;font-size:14px;line-height:1.6}"
            "span{padding:0 1px}</style></head><body>"
            + (f"<h3>{html.escape(title)}</h3>" if title else "") + "<div>" + "".join(spans)
            + "</div></body></html>\n")
    if path is not None:
        with atomic_write(path) as f:
            f.write(page)
    return page


def activation_png(text: str, values: Sequence[float], path: Union[str, "os.PathLike[str]"], width: int = 80,
                   title: str = "", scale: Optional[float] = None) -> str:
    """The same picture as :func:`activation_html` as a PNG (for reports); needs matplotlib.
    Lines are wrapped at ``width`` characters."""
    vals = check_activations(text, values)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError as e:  # pragma: no cover
        raise ImportError("activation_png needs matplotlib (pip install matplotlib)") from e
    s = float(scale) if scale else float(np.abs(vals).max() or 1.0)
    cells = []  # (row, col, char, value)
    row = col = 0
    for ch, v in zip(text, vals):
        cells.append((row, col, "\u21b5" if ch == "\n" else ch, v))
        col += 1
        if ch == "\n" or col >= width:
            row, col = row + 1, 0
    rows = max(1, row + (col > 0))
    fig = plt.figure(figsize=(width * 0.11 + 0.4, rows * 0.22 + (0.5 if title else 0.2)), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-0.5, width + 0.5)
    ax.set_ylim(rows + (1.5 if title else 0.5), -0.5)
    ax.axis("off")
    for r, c, ch, v in cells:
        x = max(-1.0, min(1.0, v / s))
        color = (1.0, 1 - x, 1 - x) if x >= 0 else (1 + x, 1 + x, 1.0)
        ax.add_patch(Rectangle((c, r + (1 if title else 0)), 1, 1, color=color, linewidth=0))
        ax.text(c + 0.5, r + 0.5 + (1 if title else 0), ch, ha="center", va="center", fontsize=8, family="monospace")
    if title:
        ax.text(0, 0.5, title, fontsize=9, va="center")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return os.fspath(path)


# ---------------------------------------------------------------------------- features
def _inside_quotes(text: str) -> np.ndarray:
    out, inside = np.zeros(len(text)), False
    for i, ch in enumerate(text):
        if ch == '"':
            inside = not inside
            out[i] = 1.0
        else:
            out[i] = float(inside)
    return out


def _depth(text: str, open_ch: str, close_ch: str, binary: bool) -> np.ndarray:
    out, d = np.zeros(len(text)), 0
    for i, ch in enumerate(text):
        if ch == open_ch:
            d += 1
        out[i] = float(d > 0) if binary else float(d)
        if ch == close_ch:
            d = max(0, d - 1)
    return out


def _line_position(text: str) -> np.ndarray:
    out, pos = np.zeros(len(text)), 0
    for i, ch in enumerate(text):
        out[i] = pos
        pos = 0 if ch == "\n" else pos + 1
    return out


def _if_condition(text: str) -> np.ndarray:
    """1 inside the parentheses of ``if (...)`` (nesting counted), else 0."""
    out = np.zeros(len(text))
    i = 0
    n = len(text)
    while i < n:
        j = text.find("if", i)
        if j < 0:
            break
        before = text[j - 1] if j > 0 else " "
        k = j + 2
        while k < n and text[k] in " \t":
            k += 1
        if (before.isalnum() or before == "_") or k >= n or text[k] != "(":
            i = j + 2
            continue
        depth = 0
        m = k
        while m < n:
            if text[m] == "(":
                depth += 1
            elif text[m] == ")":
                depth -= 1
            out[m] = 1.0
            if depth == 0:
                break
            m += 1
        i = m + 1
    return out


FEATURES: Dict[str, Callable[[str], np.ndarray]] = {
    "quote": _inside_quotes,
    "parens": lambda t: _depth(t, "(", ")", True),
    "brace_depth": lambda t: _depth(t, "{", "}", False),
    "line_position": _line_position,
    "if_condition": _if_condition,
}


def text_feature(text: str, name: str) -> np.ndarray:
    """A built-in per-character feature of ``text``: ``"quote"`` (inside double quotes, the
    quotes included), ``"parens"`` (inside parentheses), ``"brace_depth"`` (nesting depth of
    ``{}`` as in C code), ``"line_position"`` (column in the line) or ``"if_condition"``
    (inside the parentheses of an ``if (...)``).

    Example:
        >>> text_feature('a "b" c', "quote").tolist()
        [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    """
    if name not in FEATURES:
        raise ValueError(f"unknown feature {name!r}; built-in features are {sorted(FEATURES)}")
    return FEATURES[name](text)


def find_units(model: Any, text: str, feature: Union[str, Sequence[float]], top: int = 5,
               num_threads: Optional[int] = -1) -> List[Dict[str, Any]]:
    """Correlate every hidden unit (and, for the LSTM, every cell unit) of every layer of a
    fitted ``CharLM`` with a per-character ``feature`` of ``text`` (a built-in name, see
    :func:`text_feature`, or one number per character), and return the ``top`` units with
    the largest absolute Pearson correlation, best first:
    ``[{"layer", "unit", "state" ("h" or "c"), "correlation"}, ...]``. Constant units and a
    constant feature give correlation 0."""
    from .charlm import CharLM

    if not isinstance(model, CharLM):
        raise TypeError("model must be a fitted CharLM")
    if not model.num_layers:
        raise ValueError("the model has no recurrent layer")
    feat = text_feature(text, feature) if isinstance(feature, str) else np.asarray(feature, dtype=np.float64)
    if feat.ndim != 1 or len(feat) != len(text):
        raise ValueError(f"the feature must have one value per character: {len(text)} characters, "
                         f"feature of shape {feat.shape}")
    if not np.all(np.isfinite(feat)):
        raise ValueError("the feature holds NaN or infinity")
    if feat.size and np.all(feat == feat[0]):
        import warnings

        warnings.warn("the feature is constant over this text, so every unit correlates 0 with it; "
                      "use a text where it changes", RuntimeWarning, stacklevel=2)
    states = model.hidden_states(text, num_threads=num_threads)
    f = feat - feat.mean()
    fn = np.sqrt((f * f).sum())
    found = []
    for kind, arr in states.items():
        a = arr.astype(np.float64)  # (T, L, H)
        a = a - a.mean(axis=0)
        num = np.einsum("t,tlh->lh", f, a)
        den = np.sqrt((a * a).sum(axis=0)) * fn
        corr = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        for layer in range(corr.shape[0]):
            for unit in range(corr.shape[1]):
                found.append({"layer": layer, "unit": unit, "state": kind, "correlation": float(corr[layer, unit])})
    found.sort(key=lambda d: -abs(d["correlation"]))
    return found[: int(top)]
