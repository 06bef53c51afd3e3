"""A one-file HTML report: headings, text, tables and PNG figures embedded as data URIs, so
it opens in a browser with no network and no other files."""
from __future__ import annotations

import base64
import html
import os
from typing import Any, List, Optional, Sequence

from .._io import atomic_write
from ..rnn.units import activation_rgb, check_activations

_STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;
     padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em} h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
pre{background:#f6f8fa;padding:.7em;overflow-x:auto;font-size:13px}
table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ccc;padding:.25em .6em;font-size:14px}
th{background:#f0f0f0} img{max-width:100%;border:1px solid #eee}
.act span{font-family:monospace;white-space:pre}
"""

# After loading, mark the page with how many images decoded: a headless browser test reads it.
_CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute('data-images', imgs.length);
  document.body.setAttribute('data-images-ok', ok);
});
</script>"""


class Report:
    """Collects sections and writes them as one self-contained HTML file.

    Example:
        >>> r = Report("demo")
        >>> r.heading("Numbers")
        >>> r.table(["a", "b"], [[1, 2]])
        >>> "<td>2</td>" in r.html()
        True
    """

    def __init__(self, title: str):
        self.title = title
        self.parts: List[str] = []
        self.images = 0

    def heading(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def text(self, text: str) -> None:
        self.parts.append(f"<p>{html.escape(text)}</p>")

    def pre(self, text: str) -> None:
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def table(self, header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
        self.parts.append(f"<table><tr>{head}</tr>{body}</table>")

    def image(self, png_path: str, caption: str = "") -> None:
        with open(png_path, "rb") as f:
            data = f.read()
        if not data.startswith(b"\x89PNG"):
            raise ValueError(f"{png_path} is not a PNG file")
        b64 = base64.b64encode(data).decode("ascii")
        alt = html.escape(caption or os.path.basename(png_path))
        self.parts.append(f'<figure><img src="data:image/png;base64,{b64}" alt="{alt}">'
                          + (f"<figcaption>{alt}</figcaption>" if caption else "") + "</figure>")
        self.images += 1

    def raw_html(self, fragment: str) -> None:
        """A fragment made by this package (e.g. coloured activations); not for user input."""
        self.parts.append(fragment)

    def html(self) -> str:
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
                + html.escape(self.title) + f"</title><style>{_STYLE}</style>{_CHECK}</head><body><h1>"
                + html.escape(self.title) + "</h1>\n" + "\n".join(self.parts) + "\n</body></html>\n")

    def write(self, path: str) -> str:
        with atomic_write(path) as f:
            f.write(self.html())
        return path


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def activation_fragment(text: str, values: Sequence[float], scale: Optional[float] = None) -> str:
    """Inline coloured spans (red positive, blue negative) for embedding in a report."""

    vals = check_activations(text, values)
    s = float(scale) if scale else float(abs(vals).max() or 1.0)
    out = []
    for ch, v in zip(text, vals):
        shown = "\u21b5<br>" if ch == "\n" else html.escape(ch)
        out.append(f'<span style="background:{activation_rgb(v / s)}">{shown}</span>')
    return '<div class="act">' + "".join(out) + "</div>"
