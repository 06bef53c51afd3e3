"""Loading word vectors: pyfast_nlp's C++ readers against gensim's ``KeyedVectors`` loaders.

A table of ``--words`` random words (a few of them non-ASCII) x 300 float32 values is written
once in each format by pyfast_nlp; gensim reads the word2vec binary and GloVe text files and
must get the same words and values (checked before timing). Then, alternating ``--reps``
times, medians and the ratio:

  - word2vec binary: ``WordVectors.load_word2vec(binary=True)`` vs
    ``KeyedVectors.load_word2vec_format(binary=True)``;
  - GloVe text: ``WordVectors.load_glove`` vs ``load_word2vec_format(no_header=True)``;
  - memory-mapped: ``WordVectors.load(".npy", mmap="r")`` vs gensim's own format,
    ``KeyedVectors.load(mmap="r")``; then the first lookup, which builds pyfast_nlp's
    word index.

    python bench/bench_vectors_io.py [--words 400000] [--dim 300] [--reps 3] [--cases binary text mmap] [--write]
"""
import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _machine import update_results  # noqa: E402
from bench_text import machine  # noqa: E402


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--words", type=int, default=400000)
    ap.add_argument("--dim", type=int, default=300)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cases", nargs="+", default=["binary", "text", "mmap"], choices=["binary", "text", "mmap"],
                    help="which loads to time (gensim's GloVe text reading of 400,000 words takes about 90 s)")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    logging.disable(logging.WARNING)
    import gensim
    from gensim.models import KeyedVectors

    from pyfast_nlp import WordVectors

    tmp = tempfile.mkdtemp(prefix="bench-vio-")
    try:
        rng = np.random.default_rng(0)
        words = [f"w{i}" if i % 1000 else f"wörd{i}" for i in range(a.words)]
        wv = WordVectors(words, rng.standard_normal((a.words, a.dim)).astype(np.float32))
        binp, txtp, npyp, gsp = (os.path.join(tmp, n) for n in ("v.bin", "v.txt", "v.npy", "v.kv"))
        wv.save_word2vec(binp, binary=True)
        wv.save_glove(txtp)
        wv.save(npyp)
        wv.to_gensim().save(gsp)
        sizes = {k: os.path.getsize(p) for k, p in (("bin", binp), ("txt", txtp), ("npy", npyp))}
        # outputs equal before timing
        g = KeyedVectors.load_word2vec_format(binp, binary=True)
        assert list(g.index_to_key) == words and np.array_equal(g.vectors, wv.vectors)
        g = KeyedVectors.load_word2vec_format(txtp, binary=False, no_header=True)
        assert list(g.index_to_key) == words and np.array_equal(g.vectors, wv.vectors)
        assert np.array_equal(WordVectors.load_glove(txtp).vectors, wv.vectors)
        del g
        cases = [
            ("word2vec binary", lambda: WordVectors.load_word2vec(binp, binary=True),
             lambda: KeyedVectors.load_word2vec_format(binp, binary=True), sizes["bin"]),
            ("GloVe text", lambda: WordVectors.load_glove(txtp),
             lambda: KeyedVectors.load_word2vec_format(txtp, binary=False, no_header=True), sizes["txt"]),
            ("memory-mapped open", lambda: WordVectors.load(npyp, mmap="r"),
             lambda: KeyedVectors.load(gsp, mmap="r"), sizes["npy"]),
            ("memory-mapped open + first lookup", lambda: WordVectors.load(npyp, mmap="r")["w7"],
             lambda: KeyedVectors.load(gsp, mmap="r")["w7"], sizes["npy"]),
        ]
        keep = {"binary": "word2vec", "text": "GloVe", "mmap": "memory"}
        cases = [c for c in cases if any(c[0].startswith(keep[k]) for k in a.cases)]
        rows = []
        for name, ours, theirs, size in cases:
            to, tg = [], []
            for _ in range(a.reps):
                tg.append(timed(theirs)[0])
                to.append(timed(ours)[0])
            mo, mg = statistics.median(to), statistics.median(tg)
            print(f"{name}: pyfast_nlp {mo * 1000:.1f} ms, gensim {mg * 1000:.1f} ms, {mg / mo:.1f}x", flush=True)
            rows.append(f"| {name} | {size / 1e6:,.0f} MB | {mo * 1000:,.1f} ms | {mg * 1000:,.1f} ms | "
                        f"**{mg / mo:.1f}x** |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(["| load | file | pyfast_nlp | gensim | speed-up |", "|---|---|---|---|---|"] + rows)
    print(text)
    if a.write:
        block = (f"## Loading word vectors (`python bench/bench_vectors_io.py --words {a.words} --reps {a.reps}`)\n\n"
                 f"Run on {time.strftime('%Y-%m-%d')}: {machine()}; gensim {gensim.__version__}. {a.words:,} words "
                 f"x {a.dim} float32, written by pyfast_nlp; gensim's reading checked equal before timing. Medians "
                 f"of {a.reps} alternating runs, files in the page cache.\n\n{text}\n")
        print("wrote", update_results("bench_vectors_io_" + "_".join(a.cases), block))


if __name__ == "__main__":
    main()
