"""word2vec against gensim's fastest mode (``corpus_file=``): words per second and quality.

Corpus: the text column of 20 Newsgroups train + test (../shared/data, about 4.7 M words,
already lower-cased letters), written once as one document a line and read by both from that
file (pyfast_nlp with the whitespace tokenizer, so both see the same tokens). Settings as
issue 22 asks: vector_size 100, window 5, 5 epochs, negative 5, min_count 5, sample 1e-3.

For skip-gram and CBOW, with 1 and 2 threads, gensim and pyfast_nlp alternate ``--reps`` times
(seed = repetition, for both). Recorded per run:

  - training words per second: corpus words (all of them, as gensim counts) x epochs / the
    seconds of training proper (gensim's ``train``; the sum of pyfast_nlp's epochs);
  - end-to-end seconds: vocabulary + training (+ encoding the corpus, for pyfast_nlp);
  - quality, both scored by the same evaluator (pyfast_nlp's, gensim's rules): analogy
    accuracy on questions-words.txt (restrict_vocab 30000) and WordSim-353 Spearman.

Medians and the ratio are reported; the quality columns give the median and the range over
the repetitions (each a different seed), which is the run-to-run noise.

    python bench/bench_word2vec.py [--reps 3] [--threads 1 2] [--epochs 5] [--write]
"""
import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
sys.path.insert(0, HERE)

from _machine import update_results  # noqa: E402
from bench_text import machine  # noqa: E402


def write_corpus(path):
    from pyfast_nlp import Tokenizer

    tok = Tokenizer(pattern="whitespace")
    docs = []
    for name in ("20newsgroups-train.tsv", "20newsgroups-test.tsv"):
        with open(os.path.join(SHARED, name), encoding="utf-8") as f:
            docs += [line.rstrip("\n").split("\t", 1)[1] for line in f]
    words = 0
    with open(path, "w", encoding="utf-8") as out:
        for toks in tok.tokenize_batch(docs):
            out.write(" ".join(toks) + "\n")
            words += len(toks)
    return words


def quality(wv):
    an = wv.evaluate_analogies(os.path.join(SHARED, "questions-words.txt"))
    ws = wv.evaluate_word_pairs(os.path.join(SHARED, "wordsim353.tsv"))
    return an["accuracy"], ws["spearman"]


def run_gensim(path, sg, threads, epochs, seed):
    from gensim.models import Word2Vec as G

    from pyfast_nlp import WordVectors

    t0 = time.perf_counter()
    m = G(vector_size=100, window=5, min_count=5, sg=sg, negative=5, sample=1e-3, epochs=epochs,
          workers=threads, seed=seed)
    m.build_vocab(corpus_file=path)
    t1 = time.perf_counter()
    m.train(corpus_file=path, total_words=m.corpus_total_words, epochs=epochs)
    t2 = time.perf_counter()
    return t2 - t1, t2 - t0, quality(WordVectors.from_gensim(m.wv))


def run_ours(path, sg, threads, epochs, seed):
    from pyfast_nlp import Tokenizer, Word2Vec

    t0 = time.perf_counter()
    m = Word2Vec(vector_size=100, window=5, min_count=5, sg=sg, negative=5, sample=1e-3, epochs=epochs,
                 num_threads=threads, seed=seed, tokenizer=Tokenizer(pattern="whitespace"))
    m.fit(path, progress=False)
    t2 = time.perf_counter()
    return sum(s["seconds"] for s in m.epoch_stats_), t2 - t0, quality(m.wv)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--modes", nargs="+", default=["sg", "cbow"], choices=["sg", "cbow"])
    ap.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    a = ap.parse_args()
    logging.disable(logging.WARNING)  # gensim's INFO lines
    import gensim

    tmp = tempfile.mkdtemp(prefix="bench-w2v-")
    path = os.path.join(tmp, "news.txt")
    words = write_corpus(path)
    print(f"corpus: {words:,} words, {machine()}")
    rows = []
    for mode in a.modes:
        sg = int(mode == "sg")
        for threads in a.threads:
            res = {"gensim": [], "pyfast_nlp": []}
            for rep in range(a.reps):
                for name, fn in (("gensim", run_gensim), ("pyfast_nlp", run_ours)):
                    train_s, total_s, (acc, ws) = fn(path, sg, threads, a.epochs, rep + 1)
                    res[name].append((train_s, total_s, acc, ws))
                    print(f"{mode} {threads} thr {name:>10}: train {train_s:6.2f} s "
                          f"({words * a.epochs / train_s / 1e6:.2f} M words/s), end to end {total_s:6.2f} s, "
                          f"analogy {acc:.4f}, WordSim {ws:.3f}", flush=True)
            med = {k: [statistics.median(x[i] for x in v) for i in range(4)] for k, v in res.items()}
            for name in ("gensim", "pyfast_nlp"):
                tr, tot, acc, ws = med[name]
                accs = [x[2] for x in res[name]]
                wss = [x[3] for x in res[name]]
                ratio = med["gensim"][0] / tr if name == "pyfast_nlp" else 1.0
                rows.append([("skip-gram" if sg else "CBOW"), str(threads), name,
                             f"{words * a.epochs / tr / 1e6:.2f} M", f"{tr:.1f} s", f"{tot:.1f} s",
                             f"**{ratio:.2f}x**" if name == "pyfast_nlp" else "1.00x",
                             f"{acc:.4f} ({min(accs):.4f}-{max(accs):.4f})",
                             f"{ws:.3f} ({min(wss):.3f}-{max(wss):.3f})"])
    table = ["| mode | threads | implementation | training words/s | training | end to end | speed-up | "
             "analogy accuracy (range) | WordSim-353 Spearman (range) |",
             "|---|---|---|---|---|---|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(table)
    print(text)
    if a.write:
        block = (f"## word2vec against gensim (`python bench/bench_word2vec.py --reps {a.reps}`)\n\n"
                 f"Run on {time.strftime('%Y-%m-%d')}: {machine()}; gensim {gensim.__version__} in its "
                 f"`corpus_file=` mode. 20 Newsgroups, {words:,} words; vector_size 100, window 5, "
                 f"{a.epochs} epochs, negative 5, min_count 5, sample 1e-3. Medians of {a.reps} alternating runs "
                 f"(seed = repetition); words/s = all corpus words x epochs / training seconds; quality by one "
                 f"evaluator (gensim's rules), range over the seeds.\n\n{text}\n")
        path_md = update_results("bench_word2vec", block)
        print("wrote", path_md)


if __name__ == "__main__":
    main()
