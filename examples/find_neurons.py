"""Find interpretable units in character LSTMs (the char-rnn experiment).

Trains one LSTM on Shakespeare and one on C code (Linux kernel source), then searches every
hidden and cell unit for the one that best tracks a feature of the text: inside double
quotes and position in the line (Shakespeare; it has few quotes), and inside a string literal
(double quotes), brace depth and "inside an if (...) condition" (C). Prints the best
units with their correlation and writes an HTML page per unit, coloured by its activation.

    python examples/find_neurons.py [--steps 1500] [--out neurons/]

Data: ../shared/data/shakespeare.txt and ../shared/data/linux_kernel.c.txt when present,
else the Shakespeare slice shipped in the package (and the C part is skipped). Which unit is
found depends on the run; nothing is hard-coded.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from pyfast_nlp import CharLM
from pyfast_nlp.showcase.demo import DEFAULT_CORPUS
from pyfast_nlp.rnn.units import activation_html, find_units, text_feature

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")


def train(path: str, steps: int, hidden: int) -> CharLM:
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()[:3_000_000]
    t0 = time.perf_counter()
    lm = CharLM("lstm", hidden_size=hidden, num_layers=1, seed=0)
    lm.fit(text, seq_len=100, batch_size=32, max_steps=steps, lr=3e-3, progress=sys.stderr.isatty())
    print(f"{os.path.basename(path)}: {steps} steps in {time.perf_counter() - t0:.0f} s, "
          f"validation {lm.val_bits_:.3f} bits/char")
    return lm


def report(lm: CharLM, text: str, feature: str, out: str) -> None:
    best = find_units(lm, text, feature, top=3)
    for b in best:
        print(f"  {feature:>13}: layer {b['layer']} {b['state']}[{b['unit']}]  correlation {b['correlation']:+.3f}")
    top = best[0]
    values = lm.hidden_states(text)[top["state"]][:, top["layer"], top["unit"]]
    os.makedirs(out, exist_ok=True)
    page = os.path.join(out, f"{feature}.html")
    activation_html(text, values, page, title=f"{feature}: {top['state']}[{top['unit']}] r={top['correlation']:+.3f}")
    print(f"  wrote {page}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--out", default="neurons")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    shakespeare = os.path.join(SHARED, "shakespeare.txt")
    lm = train(shakespeare if os.path.exists(shakespeare) else DEFAULT_CORPUS, a.steps, a.hidden)
    sample = 'KING: "Now, good my lord," said he, "what news?"\n' + lm.sample("\n", 2000, temperature=0.8, seed=1)
    sample = "".join(ch for ch in sample if ch in set(lm.vocab_))
    report(lm, sample, "quote", a.out)
    report(lm, sample, "line_position", a.out)
    kernel = os.path.join(SHARED, "linux_kernel.c.txt")
    if os.path.exists(kernel):
        lm_c = train(kernel, a.steps, a.hidden)
        with open(kernel, encoding="utf-8", errors="replace") as f:
            code = f.read()[-20000:]
        code = "".join(ch for ch in code if ch in set(lm_c.vocab_))
        for feature in ("quote", "brace_depth", "if_condition"):
            report(lm_c, code, feature, os.path.join(a.out, "c"))


def _unused() -> None:  # keeps the import used for readers who copy the feature helpers
    text_feature("x", "quote")


if __name__ == "__main__":
    main()
