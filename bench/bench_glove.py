"""Embeddings: co-occurrence counting and GloVe training, speed and quality.

Corpus: the text column of 20 Newsgroups train + test (../shared/data, about 4.9 M words;
already lower-cased letters, read with the whitespace tokenizer as the reference tool
would), min_count 5, window 10, symmetric, distance-weighted. Checks before timing:
counts equal a plain Python reference on a slice, and the out-of-core path equals the
in-memory one on the whole corpus.

  - co-occurrence: tokens/s (tokenizing included) with 1 and 2 threads, in memory and
    out of core (memory_limit small enough to spill); peak memory; a scaling table over
    1x, 4x, 16x the corpus (by repetition);
  - GloVe: records/s and seconds per epoch at dim 50, 100, 200 with 1 and 2 threads, in
    the default blocked order and the reference's shuffled order; peak memory;
  - quality after 25 epochs at dim 100: analogy accuracy (questions-words.txt, gensim's
    rules) and WordSim-353 / SimLex-999 Spearman, with coverage; against the numpy
    implementation in glove_numpy.py run for a few epochs, loss curves side by side.

The reference C tool and the Cython glove_python are not installable here (no network;
glove_python 0.1.0's generated C does not compile for Python 3.11), so their speeds are
the figures quoted in issue 3: about 1.0 M tokens per CPU-second for `cooccur`, 1.0 M
records per CPU-second per epoch at dim 50 (0.5 M at dim 100) for `glove`, 1.6 M for
glove_python.

    python bench/bench_glove.py [--reps 3] [--numpy-epochs 3] [--quick] [--write]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
sys.path.insert(0, HERE)

from bench_text import machine  # noqa: E402
from glove_numpy import train_glove_numpy  # noqa: E402

from pyfast_nlp import GloVe, Tokenizer, Vocab, cooccurrence  # noqa: E402

TOK = Tokenizer(pattern="whitespace", lowercase=False)
OUT_OF_CORE = "64MB"


def corpus_file(tmp, copies=1):
    path = os.path.join(tmp, f"20news_x{copies}.txt")
    if not os.path.exists(path):
        parts = []
        for name in ("20newsgroups-train.tsv", "20newsgroups-test.tsv"):
            with open(os.path.join(SHARED, name), encoding="utf-8") as f:
                parts.extend(line.rstrip("\n").split("\t", 1)[1] for line in f)
        text = "\n".join(parts) + "\n"
        with open(path, "w", encoding="utf-8") as f:
            for _ in range(copies):
                f.write(text)
    return path


def python_reference(docs, vocab, window=10):
    X = {}
    for d in docs:
        ids = [vocab[t] for t in d.split() if t in vocab]
        for j in range(len(ids)):
            for k in range(1, min(window, j) + 1):
                for a, b in ((ids[j - k], ids[j]), (ids[j], ids[j - k])):
                    X[a, b] = X.get((a, b), 0.0) + 1.0 / k
    return X


def fresh_seconds(code):
    """Seconds `code` takes as the first job of a fresh process (after its setup). On this
    VM, memory a process touches for the first time costs about 4x more than memory it
    reuses (the host backs guest pages lazily), so a first call is slower than a repeat."""
    setup, run = code
    prog = f"import sys, time\nsys.path.insert(0, {HERE!r})\n{setup}\n" \
           f"t0 = time.perf_counter()\n{run}\nprint(time.perf_counter() - t0)"
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def peak_rss(code):
    """Peak resident memory (MB) added while `code` runs, in a fresh process."""
    prog = f"""
import gc, os, sys, threading, time
sys.path.insert(0, {HERE!r})
page = os.sysconf('SC_PAGE_SIZE')
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * page
SETUP
gc.collect(); base = rss(); peak = [base]; done = [False]
def sample():
    while not done[0]:
        peak[0] = max(peak[0], rss()); time.sleep(0.001)
t = threading.Thread(target=sample); t.start()
RUN
peak[0] = max(peak[0], rss()); done[0] = True; t.join()
print((peak[0] - base) / 1e6)
"""
    setup, run = code
    prog = prog.replace("SETUP", setup).replace("RUN", run)
    out = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def count(path, vocab, threads, limit):
    X, st = cooccurrence(path, vocab, tokenizer=TOK, num_threads=threads, memory_limit=limit,
                         progress=False, return_stats=True)
    return X, st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--numpy-epochs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip the scaling table and the quality runs")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    if not os.path.isdir(SHARED):
        sys.exit(f"{SHARED} not found: this benchmark needs ../shared/data (20 Newsgroups, questions-words.txt, ...)")
    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))  # noqa: E731
    tmp = tempfile.mkdtemp(prefix="bench_glove-")
    path = corpus_file(tmp)
    vocab = Vocab.build(path, tokenizer=TOK, min_count=5, specials=())

    # ---- correctness before timing
    with open(path, encoding="utf-8") as f:
        head = [next(f) for _ in range(300)]
    X = cooccurrence(head, vocab, tokenizer=TOK, progress=False).tocoo()
    ref = python_reference(head, vocab)
    got = {(int(r), int(c)): float(v) for r, c, v in zip(X.row, X.col, X.data)}
    assert got.keys() == ref.keys() and all(abs(got[k] - ref[k]) <= 1e-6 * ref[k] for k in ref), "counts differ"
    Xin, st_in = count(path, vocab, 2, "4GB")
    Xout, st_out = count(path, vocab, 2, OUT_OF_CORE)
    assert st_out["spills"] > 0, "the out-of-core run did not spill"
    d = (Xin.tocsr() - Xout.tocsr())
    assert abs(d).max() <= 1e-5 * Xin.data.max(), "out-of-core counts differ"
    tokens = st_in["tokens"]
    say(f"Corpus: 20 Newsgroups text, {os.path.getsize(path) / 1e6:.1f} MB, {tokens:,} tokens, "
        f"{len(vocab):,} words with min_count 5; {Xin.nnz:,} nonzero co-occurrences (window 10). "
        "Counts checked against a plain Python reference (first 300 documents) and out-of-core == in-memory.")
    say()

    # ---- co-occurrence speed
    say("### Co-occurrence counting (`cooccurrence`, window 10, tokenizing included)")
    say()
    say("| path | threads | seconds (median) | M tokens/s | M tokens per CPU-second | first call in a fresh process: "
        "seconds (median) | M tokens/s | peak memory |")
    say("|---|---|---|---|---|---|---|---|")
    cooc_speed = {}
    for limit, name in (("4GB", "in memory"), (OUT_OF_CORE, f"out of core ({OUT_OF_CORE} limit)")):
        for threads in (1, 2):
            ts = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                _, st = count(path, vocab, threads, limit)
                ts.append(time.perf_counter() - t0)
            med = statistics.median(ts)
            cooc_speed[limit, threads] = tokens / med
            job = (f"from pyfast_nlp import Vocab, Tokenizer, cooccurrence\n"
                   f"tok = Tokenizer(pattern='whitespace', lowercase=False)\n"
                   f"v = Vocab.build({path!r}, tokenizer=tok, min_count=5, specials=())",
                   f"X = cooccurrence({path!r}, v, tokenizer=tok, num_threads={threads}, "
                   f"memory_limit={limit!r}, progress=False)")
            fresh = statistics.median(fresh_seconds(job) for _ in range(a.reps))
            mem = peak_rss(job)
            say(f"| {name} | {threads} | {med:.2f} | {tokens / med / 1e6:.2f} | {tokens / med / threads / 1e6:.2f} "
                f"| {fresh:.2f} | {tokens / fresh / 1e6:.2f} | {mem:.0f} MB |")
    say()
    say(f"Out of core / in memory time, 2 threads: {cooc_speed['4GB', 2] / cooc_speed[OUT_OF_CORE, 2]:.2f}x "
        f"(spilled {st_out['spilled_bytes'] / 1e6:.0f} MB in {st_out['spills']} spills). "
        "Reference `cooccur`: about 1.0 M tokens per CPU-second (issue 3).")
    say()

    if not a.quick:
        say("### Scaling with corpus size (2 threads, the corpus repeated)")
        say()
        say(f"| corpus | tokens | in memory: M tokens/s | out of core ({OUT_OF_CORE}): M tokens/s | spilled |")
        say("|---|---|---|---|---|")
        for copies in (1, 4, 16):
            p = corpus_file(tmp, copies)
            res = []
            for limit in ("4GB", OUT_OF_CORE):
                t0 = time.perf_counter()
                _, st = count(p, vocab, 2, limit)
                res.append((time.perf_counter() - t0, st))
            say(f"| {copies}x | {res[0][1]['tokens']:,} | {res[0][1]['tokens'] / res[0][0] / 1e6:.2f} | "
                f"{res[1][1]['tokens'] / res[1][0] / 1e6:.2f} | {res[1][1]['spilled_bytes'] / 1e6:.0f} MB |")
            if copies > 1:
                os.unlink(p)
        say()

    # ---- GloVe speed
    say("### GloVe training (`GloVe.fit`, records = nonzero co-occurrences)")
    say()
    say("| dim | order | threads | s/epoch (median) | M records/s | M records per CPU-second |")
    say("|---|---|---|---|---|---|")
    n_rec = Xin.nnz
    for dim in (50, 100, 200):
        for order in ("blocked", "shuffle"):
            for threads in (1, 2):
                m = GloVe(dim=dim, epochs=0, num_threads=threads, order=order).fit(Xin, vocab, progress=False)
                ts = []
                for _ in range(max(a.reps, 3)):
                    m.partial_fit(Xin, epochs=1, progress=False)
                    ts.append(m.last_epoch_seconds_)
                med = statistics.median(ts)
                say(f"| {dim} | {order} | {threads} | {med:.2f} | {n_rec / med / 1e6:.2f} | "
                    f"{n_rec / med / threads / 1e6:.2f} |")
    xpath = os.path.join(tmp, "X.npz")
    sp.save_npz(xpath, Xin.tocsr(), compressed=False)
    mem = peak_rss((f"import scipy.sparse as sp\nfrom pyfast_nlp import GloVe\n"
                    f"X = sp.load_npz({xpath!r})\nwords = [str(i) for i in range(X.shape[0])]",
                    "GloVe(dim=100, epochs=1, num_threads=2).fit(X, words, progress=False)"))
    say()
    say(f"Peak memory added by `fit` at dim 100, 2 threads (records + parameters + AdaGrad state): {mem:.0f} MB. "
        "Reference `glove`: about 1.0 M records per CPU-second at dim 50, 0.5 M at dim 100; glove_python 1.6 M (issue 3).")
    say()

    if not a.quick:
        quality(a, Xin, vocab, say)

    header = (f"## Embeddings (`python bench/bench_glove.py --reps {a.reps}`)\n\n"
              f"Run on {time.strftime('%Y-%m-%d')}: {machine()}. Medians of {a.reps} runs. "
              "Peers: the reference GloVe C tool is not on the package registries and glove_python 0.1.0 "
              "does not build on Python 3.11 (its generated C predates the current CPython API), so their "
              "speeds are the figures quoted in issue 3; the quality yardstick is bench/glove_numpy.py.\n")
    if a.write:
        res = os.path.join(HERE, "RESULTS.md")
        with open(res, encoding="utf-8") as f:
            text = f.read()
        block = "<!-- bench_glove start -->\n" + header + "\n" + "\n".join(lines) + "\n<!-- bench_glove end -->"
        if "<!-- bench_glove start -->" in text:
            s, e = text.index("<!-- bench_glove start -->"), text.index("<!-- bench_glove end -->")
            text = text[:s] + block + text[e + len("<!-- bench_glove end -->"):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        with open(res, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote {res}")


def evaluate(wv):
    an = wv.evaluate_analogies(os.path.join(SHARED, "questions-words.txt"))
    ws = wv.evaluate_word_pairs(os.path.join(SHARED, "wordsim353.tsv"))
    sl = wv.evaluate_word_pairs(os.path.join(SHARED, "simlex999.txt"))
    sem = [s for n, s in an["sections"].items() if not n.startswith("gram")]
    syn = [s for n, s in an["sections"].items() if n.startswith("gram")]
    acc = lambda secs: sum(s["correct"] for s in secs) / max(1, sum(s["total"] for s in secs))  # noqa: E731
    return an, ws, sl, acc(sem), acc(syn)


def quality(a, X, vocab, say):
    say(f"### Quality: dim 100, {a.epochs} epochs, x_max 100, alpha 0.75, learning rate 0.05, vectors w + c")
    say()
    t0 = time.perf_counter()
    ours = GloVe(dim=100, epochs=a.epochs, num_threads=2, seed=0).fit(X, vocab, progress=False)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref_order = GloVe(dim=100, epochs=a.epochs, num_threads=2, seed=0, order="shuffle").fit(X, vocab, progress=False)
    t_ref = time.perf_counter() - t0
    early = GloVe(dim=100, epochs=a.numpy_epochs, num_threads=2, seed=0).fit(X, vocab, progress=False)
    t0 = time.perf_counter()
    vec_np, loss_np = train_glove_numpy(X, dim=100, epochs=a.numpy_epochs)
    t_np = time.perf_counter() - t0
    from pyfast_nlp import WordVectors

    rows = [(f"pyfast_nlp, {a.epochs} epochs ({t_ours:.0f} s, 2 threads)", ours.word_vectors()),
            (f"pyfast_nlp order='shuffle', {a.epochs} epochs ({t_ref:.0f} s)", ref_order.word_vectors()),
            (f"pyfast_nlp, {a.numpy_epochs} epochs", early.word_vectors()),
            (f"numpy implementation, {a.numpy_epochs} epochs ({t_np:.0f} s)", WordVectors(vocab.tokens, vec_np))]
    say("| vectors | analogies: accuracy (semantic / syntactic) | analogy coverage | WordSim-353 Spearman (coverage) "
        "| SimLex-999 Spearman (coverage) |")
    say("|---|---|---|---|---|")
    for name, wv in rows:
        an, ws, sl, sem, syn = evaluate(wv)
        say(f"| {name} | {an['accuracy']:.4f} ({sem:.3f} / {syn:.3f}) | {an['coverage']:.3f} "
            f"({an['questions'] - an['oov']:,} of {an['questions']:,}) | {ws['spearman']:.4f} ({ws['coverage']:.3f}) "
            f"| {sl['spearman']:.4f} ({sl['coverage']:.3f}) |")
    say()
    say("Loss per record by epoch (mean of 1/2 f(X) diff^2, as the reference prints it):")
    say()
    say("| epoch | pyfast_nlp (blocked) | pyfast_nlp (shuffle) | numpy |")
    say("|---|---|---|---|")
    for e in range(a.epochs):
        npl = f"{loss_np[e]:.5f}" if e < len(loss_np) else ""
        if e < a.numpy_epochs or e in (4, 9, 14, 19, a.epochs - 1):
            say(f"| {e + 1} | {ours.loss_history_[e]:.5f} | {ref_order.loss_history_[e]:.5f} | {npl} |")
    say()


if __name__ == "__main__":
    main()
