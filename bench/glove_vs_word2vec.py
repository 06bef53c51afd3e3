"""The study notes' claim, measured: GloVe "runs faster than word2vec and works well on less data".

Corpus: 20 Newsgroups (train + test) and Shakespeare (one line a document) from ../shared/data,
tokenized once with the default Tokenizer, documents shuffled with a fixed seed, then nested
slices: the first 0.25, 0.5, 1 and 2 million words, and all of it (about 6 million). On each
slice, with ``--threads`` threads, at vector size 100 and window 5:

  - GloVe with x_max 100 (the paper's) and 10 (better for small corpora): vocabulary +
    co-occurrence counting + training (all of it timed), vectors w + c;
  - word2vec skip-gram and CBOW (negative 5, sample 1e-3): vocabulary + encoding + training;

each at every ``--epochs`` value (default 5, word2vec's usual, and 25, GloVe's), min_count 5
everywhere. Scored by one evaluator (gensim's rules): analogy accuracy on questions-words.txt
(restrict_vocab 30000), WordSim-353 and SimLex-999 Spearman. Plots quality against corpus words
and against seconds into bench/glove_vs_word2vec.png.

    python bench/glove_vs_word2vec.py [--epochs 5 25] [--threads 2] [--slices 0.25 0.5 1 2 0] [--write]

(``--slices`` in millions of words; 0 means the whole corpus.)
"""
import argparse
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
sys.path.insert(0, HERE)

from _machine import update_results  # noqa: E402
from bench_text import machine  # noqa: E402

# GloVe twice: with the paper's x_max = 100, and with x_max = 10, which weighs the few counts of a
# small corpus more fully (the demo's setting).
METHODS = ("GloVe", "GloVe x_max=10", "word2vec skip-gram", "word2vec CBOW")


def corpus_docs():
    from pyfast_nlp import Tokenizer

    texts = []
    for name in ("20newsgroups-train.tsv", "20newsgroups-test.tsv"):
        with open(os.path.join(SHARED, name), encoding="utf-8") as f:
            texts += [line.rstrip("\n").split("\t", 1)[1] for line in f]
    with open(os.path.join(SHARED, "shakespeare.txt"), encoding="utf-8") as f:
        texts += [line for line in f.read().splitlines() if line.strip()]
    docs = [" ".join(t) for t in Tokenizer().tokenize_batch(texts) if t]
    random.Random(0).shuffle(docs)
    return docs


def write_slice(docs, n_words, path):
    """The first documents holding n_words words (0: all); returns the words written."""
    words = 0
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(d + "\n")
            words += d.count(" ") + 1
            if n_words and words >= n_words:
                break
    return words


def scores(wv):
    an = wv.evaluate_analogies(os.path.join(SHARED, "questions-words.txt"))
    ws = wv.evaluate_word_pairs(os.path.join(SHARED, "wordsim353.tsv"))
    sl = wv.evaluate_word_pairs(os.path.join(SHARED, "simlex999.txt"))
    return an["accuracy"], ws["spearman"], sl["spearman"]


def train(method, path, epochs, threads):
    from pyfast_nlp import GloVe, Tokenizer, Vocab, Word2Vec, cooccurrence

    ws = Tokenizer(pattern="whitespace")
    t0 = time.perf_counter()
    if method.startswith("GloVe"):
        vocab = Vocab.build(path, ws, min_count=5, specials=(), num_threads=threads)
        X = cooccurrence(path, vocab, tokenizer=ws, window=5, num_threads=threads, progress=False)
        x_max = 10.0 if "x_max=10" in method else 100.0
        wv = GloVe(dim=100, epochs=epochs, x_max=x_max, num_threads=threads).fit(X, vocab, progress=False).word_vectors()
    else:
        m = Word2Vec(vector_size=100, window=5, min_count=5, sg=int("skip" in method), epochs=epochs,
                     num_threads=threads, tokenizer=ws).fit(path, progress=False)
        wv = m.wv
    return time.perf_counter() - t0, scores(wv)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    metrics = ("analogy accuracy", "WordSim-353 Spearman", "SimLex-999 Spearman")
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), dpi=100)
    colors = {"GloVe": "#d62728", "GloVe x_max=10": "#ff7f0e", "word2vec skip-gram": "#1f77b4",
              "word2vec CBOW": "#2ca02c"}
    styles = {}
    for r in results:
        styles.setdefault(r["epochs"], ["-", "--", ":"][len(styles) % 3])
    for k, metric in enumerate(metrics):
        for row, xkey, xlabel in ((0, "words", "corpus words"), (1, "seconds", "seconds (2 threads, all steps)")):
            ax = axes[row][k]
            for method in METHODS:
                for ep, ls in styles.items():
                    # joined in order of corpus size in both rows
                    pts = [(r[xkey], r["scores"][k]) for r in sorted(results, key=lambda r: r["words"])
                           if r["method"] == method and r["epochs"] == ep]
                    if pts:
                        ax.plot(*zip(*pts), ls, marker="o", ms=4, color=colors[method], label=f"{method}, {ep} epochs")
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xlabel(xlabel)
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("GloVe against word2vec on nested slices of 20 Newsgroups + Shakespeare (vector size 100, window 5)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def results_from_table():
    """The measurements back from RESULTS.md's table (for --replot)."""
    text = open(os.path.join(HERE, "RESULTS.md"), encoding="utf-8").read()
    text = text[text.index("<!-- glove_vs_word2vec start -->"):text.index("<!-- glove_vs_word2vec end -->")]
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 7 and cells[0].replace(",", "").isdigit():
            out.append({"words": int(cells[0].replace(",", "")), "method": cells[1], "epochs": int(cells[2]),
                        "seconds": float(cells[3].rstrip(" s")), "scores": tuple(float(c) for c in cells[4:])})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, nargs="+", default=[5, 25])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--slices", type=float, nargs="+", default=[0.25, 0.5, 1, 2, 0])
    ap.add_argument("--write", action="store_true", help="update bench/RESULTS.md and bench/glove_vs_word2vec.png")
    ap.add_argument("--replot", action="store_true", help="only redraw the plot from the table in RESULTS.md")
    a = ap.parse_args()
    if a.replot:
        plot(results_from_table(), os.path.join(HERE, "glove_vs_word2vec.png"))
        return
    docs = corpus_docs()
    tmp = tempfile.mkdtemp(prefix="glove-w2v-")
    results = []
    print(machine(), flush=True)
    for s in a.slices:
        path = os.path.join(tmp, f"slice{s}.txt")
        words = write_slice(docs, int(s * 1e6), path)
        for epochs in a.epochs:
            for method in METHODS:
                secs, sc = train(method, path, epochs, a.threads)
                results.append({"words": words, "method": method, "epochs": epochs, "seconds": secs, "scores": sc})
                print(f"{words:>10,} words  {method:<19} {epochs:>2} epochs  {secs:7.1f} s  analogy {sc[0]:.4f}  "
                      f"WS353 {sc[1]:.3f}  SimLex {sc[2]:.3f}", flush=True)
        os.remove(path)
    os.rmdir(tmp)
    rows = [f"| {r['words']:,} | {r['method']} | {r['epochs']} | {r['seconds']:.1f} s | {r['scores'][0]:.4f} | "
            f"{r['scores'][1]:.3f} | {r['scores'][2]:.3f} |" for r in results]
    text = "\n".join(["| corpus words | method | epochs | seconds (all steps) | analogy accuracy | WordSim-353 | "
                      "SimLex-999 |", "|---|---|---|---|---|---|---|"] + rows)
    print(text)
    if a.write:
        plot(results, os.path.join(HERE, "glove_vs_word2vec.png"))
        block = (f"### The measurements (`python bench/glove_vs_word2vec.py --write`)\n\n"
                 f"Run on {time.strftime('%Y-%m-%d')}: {machine()}, {a.threads} threads. Vector size 100, window 5, "
                 f"min_count 5; GloVe x_max 100 or 10, learning rate 0.05, vectors w + c, its time including vocabulary "
                 f"and co-occurrence counting; word2vec negative 5, sample 1e-3, its time including vocabulary and "
                 f"encoding. One run each (seed fixed). Plot: `bench/glove_vs_word2vec.png`.\n\n{text}\n")
        print("wrote", update_results("glove_vs_word2vec", block))


if __name__ == "__main__":
    main()
