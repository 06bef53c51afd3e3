"""Text front end: pyfast_nlp against scikit-learn and PyStemmer, side by side.

Checks that outputs agree before timing anything, then alternates peer and project runs
and reports medians and ratios:
  - CountVectorizer.fit_transform on 20 Newsgroups (train+test, 27 MB) and Shakespeare
    (5 MB, one document a line): MB/s with 1 and 2 threads, and peak memory;
  - English (Snowball) stemming of every 20 Newsgroups token: tokens/s;
  - MultinomialNB fit + predict on the same CSR matrices;
  - MultinomialNB accuracy on the 20 Newsgroups test split (default settings).

    python bench/bench_text.py [--reps 5] [--write]     (--write updates bench/RESULTS.md)
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

from _machine import cpu_name, update_results  # bench/ is on sys.path when a script here runs

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")


def load_tsv(name):
    labels, texts = [], []
    with open(os.path.join(SHARED, name), encoding="utf-8") as f:
        for line in f:
            y, x = line.rstrip("\n").split("\t", 1)
            labels.append(y)
            texts.append(x)
    return labels, texts


def load_corpus(which):
    if which == "20news":
        _, a = load_tsv("20newsgroups-train.tsv")
        _, b = load_tsv("20newsgroups-test.tsv")
        return a + b
    with open(os.path.join(SHARED, "shakespeare.txt"), encoding="utf-8") as f:
        return [line for line in f.read().split("\n") if line.strip()]


def timed(fn, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return ts


def peak_memory(which, impl, threads, cls="CountVectorizer", kwargs="", method="fit_transform"):
    """Peak resident memory (MB) added by one fit_transform (or `method`), over the memory the
    loaded documents already take: RSS is sampled every millisecond in a fresh process."""
    code = f"""
import gc, os, sys, threading, time
sys.path.insert(0, {HERE!r})
from bench_text import load_corpus
docs = load_corpus({which!r})
if {impl!r} == 'sklearn':
    from sklearn.feature_extraction import text; cv = text.{cls}({kwargs})
else:
    import pyfast_nlp; cv = pyfast_nlp.{cls}({kwargs}{', ' if kwargs else ''}num_threads={threads})
page = os.sysconf('SC_PAGE_SIZE')
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * page
gc.collect(); base = rss(); peak = [base]; done = [False]
def sample():
    while not done[0]:
        peak[0] = max(peak[0], rss()); time.sleep(0.001)
t = threading.Thread(target=sample); t.start()
X = getattr(cv, {method!r})(docs)
peak[0] = max(peak[0], rss()); done[0] = True; t.join()
print((peak[0] - base) / 1e6)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def machine():
    cpu = cpu_name()
    import pyfast_nlp

    info = pyfast_nlp.build_info()
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"pyfast_nlp {info['version']} ({info['compiler']}, OpenMP {info['openmp']}, SIMD {info['simd']})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    if not os.path.isdir(SHARED):
        sys.exit(f"shared data not found at {SHARED}")
    import numpy as np
    import Stemmer as PyStemmer
    import sklearn
    from sklearn.feature_extraction.text import CountVectorizer as SkCV
    from sklearn.naive_bayes import MultinomialNB as SkNB

    from pyfast_nlp import CountVectorizer, MultinomialNB, Stemmer, Tokenizer

    rows = []
    print(f"machine: {machine()}\nscikit-learn {sklearn.__version__}, PyStemmer {PyStemmer.__version__ if hasattr(PyStemmer, '__version__') else ''}")

    # ---------------------------------------------------------------- CountVectorizer
    for which in ("20news", "shakespeare"):
        docs = load_corpus(which)
        mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
        ours, theirs = CountVectorizer(), SkCV()
        A, B = ours.fit_transform(docs), theirs.fit_transform(docs)
        assert ours.vocabulary_ == theirs.vocabulary_ and (A != B).nnz == 0, "outputs differ"
        times = {"sklearn": [], "pyfast_nlp 1 thread": [], "pyfast_nlp 2 threads": []}
        for _ in range(a.reps):  # alternate peer and project
            times["sklearn"] += timed(lambda: SkCV().fit_transform(docs), 1)
            times["pyfast_nlp 1 thread"] += timed(lambda: CountVectorizer(num_threads=1).fit_transform(docs), 1)
            times["pyfast_nlp 2 threads"] += timed(lambda: CountVectorizer(num_threads=2).fit_transform(docs), 1)
        med = {k: statistics.median(v) for k, v in times.items()}
        mem = {"sklearn": peak_memory(which, "sklearn", 1), "pyfast_nlp 1 thread": peak_memory(which, "pyfast", 1),
               "pyfast_nlp 2 threads": peak_memory(which, "pyfast", 2)}
        for k in times:
            rows.append((f"CountVectorizer.fit_transform, {which} ({mb:.1f} MB, {len(docs):,} docs)", k,
                         f"{med[k]:.3f} s", f"{mb / med[k]:.1f} MB/s", f"{med['sklearn'] / med[k]:.1f}x",
                         f"{mem[k]:.0f} MB"))
            print(rows[-1])

    # ---------------------------------------------------------------- stemming
    docs = load_corpus("20news")
    tokens = [t for toks in Tokenizer().tokenize_batch(docs) for t in toks]
    ps = PyStemmer.Stemmer("english")
    assert Stemmer("english").stem_batch(tokens) == ps.stemWords(tokens), "stems differ"
    times = {"PyStemmer": [], "pyfast_nlp 1 thread": [], "pyfast_nlp 2 threads": []}
    s1, s2 = Stemmer("english", num_threads=1), Stemmer("english", num_threads=2)
    for _ in range(a.reps):
        times["PyStemmer"] += timed(lambda: ps.stemWords(tokens), 1)
        times["pyfast_nlp 1 thread"] += timed(lambda: s1.stem_batch(tokens), 1)
        times["pyfast_nlp 2 threads"] += timed(lambda: s2.stem_batch(tokens), 1)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in times:
        rows.append((f"English stemming, {len(tokens):,} 20news tokens", k, f"{med[k]:.3f} s",
                     f"{len(tokens) / med[k] / 1e6:.2f} M tokens/s", f"{med['PyStemmer'] / med[k]:.1f}x", ""))
        print(rows[-1])

    # ---------------------------------------------------------------- Naive Bayes
    ytr, xtr = load_tsv("20newsgroups-train.tsv")
    yte, xte = load_tsv("20newsgroups-test.tsv")
    cv = CountVectorizer()
    Xtr, Xte = cv.fit_transform(xtr), cv.transform(xte)
    ours_nb, sk_nb = MultinomialNB().fit(Xtr, ytr), SkNB().fit(Xtr, ytr)
    assert np.abs(ours_nb.predict_proba(Xte) - sk_nb.predict_proba(Xte)).max() < 1e-9
    acc_ours = float(np.mean(ours_nb.predict(Xte) == np.array(yte)))
    skcv = SkCV()
    acc_sk = float(np.mean(SkNB().fit(skcv.fit_transform(xtr), ytr).predict(skcv.transform(xte)) == np.array(yte)))
    times = {"sklearn": [], "pyfast_nlp": []}
    for _ in range(a.reps):
        times["sklearn"] += timed(lambda: SkNB().fit(Xtr, ytr).predict(Xte), 1)
        times["pyfast_nlp"] += timed(lambda: MultinomialNB().fit(Xtr, ytr).predict(Xte), 1)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k in times:
        rows.append(("MultinomialNB fit + predict, 20news CSR", k, f"{med[k]:.3f} s", "",
                     f"{med['sklearn'] / med[k]:.1f}x", ""))
        print(rows[-1])
    acc_line = (f"MultinomialNB (alpha=1) on the 20 Newsgroups test split, default CountVectorizer: "
                f"pyfast_nlp {acc_ours:.4f}, scikit-learn {acc_sk:.4f} ({len(yte):,} documents)")
    print(acc_line)

    # ---------------------------------------------------------------- tf-idf and hashing
    from sklearn.feature_extraction import text as sktext

    from pyfast_nlp import HashingVectorizer, TfidfVectorizer

    docs = load_corpus("20news")
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    cases = [  # (task, our class, scikit-learn's, kwargs, method, exact)
        ("HashingVectorizer.transform", HashingVectorizer, sktext.HashingVectorizer, {}, "transform", True),
        ("TfidfVectorizer.fit_transform", TfidfVectorizer, sktext.TfidfVectorizer, {}, "fit_transform", False),
        ("TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 4)).fit_transform", TfidfVectorizer,
         sktext.TfidfVectorizer, {"analyzer": "char_wb", "ngram_range": (2, 4)}, "fit_transform", False),
    ]
    for task, ours_cls, sk_cls, kw, method, exact in cases:
        A = getattr(ours_cls(**kw, num_threads=2), method)(docs)
        B = getattr(sk_cls(**kw), method)(docs)
        A.sort_indices()
        B.sort_indices()
        assert np.array_equal(A.indices, B.indices) and np.array_equal(A.indptr, B.indptr), task
        assert np.array_equal(A.data, B.data) if exact else np.allclose(A.data, B.data, rtol=1e-12, atol=0), task
        del A, B
        times = {"sklearn": [], "pyfast_nlp 1 thread": [], "pyfast_nlp 2 threads": []}
        for _ in range(a.reps):
            times["sklearn"] += timed(lambda: getattr(sk_cls(**kw), method)(docs), 1)
            times["pyfast_nlp 1 thread"] += timed(lambda: getattr(ours_cls(**kw, num_threads=1), method)(docs), 1)
            times["pyfast_nlp 2 threads"] += timed(lambda: getattr(ours_cls(**kw, num_threads=2), method)(docs), 1)
        med = {k: statistics.median(v) for k, v in times.items()}
        kwargs = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        mem = {"sklearn": peak_memory("20news", "sklearn", 1, sk_cls.__name__, kwargs, method),
               "pyfast_nlp 1 thread": peak_memory("20news", "pyfast", 1, ours_cls.__name__, kwargs, method),
               "pyfast_nlp 2 threads": peak_memory("20news", "pyfast", 2, ours_cls.__name__, kwargs, method)}
        for k in times:
            rows.append((f"{task}, 20news ({mb:.1f} MB)", k, f"{med[k]:.3f} s", f"{mb / med[k]:.1f} MB/s",
                         f"{med['sklearn'] / med[k]:.1f}x", f"{mem[k]:.0f} MB"))
            print(rows[-1])

    # Naive Bayes on tf-idf features: the same features, both libraries' models
    from sklearn.naive_bayes import ComplementNB as SkCNB

    from pyfast_nlp import ComplementNB

    tv = TfidfVectorizer()
    Ttr, Tte = tv.fit_transform(xtr), tv.transform(xte)
    tf_lines = []
    for name, ours_m, sk_m in (("MultinomialNB", MultinomialNB, SkNB), ("ComplementNB", ComplementNB, SkCNB)):
        acc_o = float(np.mean(ours_m().fit(Ttr, ytr).predict(Tte) == np.array(yte)))
        acc_s = float(np.mean(sk_m().fit(Ttr, ytr).predict(Tte) == np.array(yte)))
        tf_lines.append(f"{name} (alpha=1) on default TfidfVectorizer features of the 20 Newsgroups test split: "
                        f"pyfast_nlp {acc_o:.4f}, scikit-learn {acc_s:.4f}")
        print(tf_lines[-1])
    acc_line = acc_line + "\n\n" + "\n\n".join(tf_lines)

    table = ["| task | implementation | median time | throughput | speed-up vs peer | peak memory added |",
             "|---|---|---|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(table)
    print(text)
    if a.write:
        path = update_results("bench_text", f"## Text front end (`python bench/bench_text.py --reps {a.reps}`)\n\n"
                              f"Run on {time.strftime('%Y-%m-%d')}: {machine()}; scikit-learn {sklearn.__version__}. "
                              f"Medians of {a.reps} alternating runs; outputs checked equal before timing.\n\n"
                              f"{text}\n\n{acc_line}\n")
        print("wrote", path)


if __name__ == "__main__":
    main()
