"""``pyfast-nlp demo``: the whole tour on the corpus the package ships: text pipeline, Naive
Bayes, GloVe and word2vec vectors, a character LSTM, gradient flow through time and a quote-tracking unit;
with ``out``, also a one-file HTML report (``out/report.html``)."""
from __future__ import annotations

import io
import os
import re
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..classify import TextClassifier
from ..feature_extraction import CountVectorizer
from ..naive_bayes import MultinomialNB
from ..text import Tokenizer, Vocab

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
DEFAULT_CORPUS = os.path.join(DATA_DIR, "shakespeare_7plays.txt")

# The study notes' examples, used by the demo, the README and the tests.
ONE_HOT_VOCAB = ["John", "really", "loves", "this", "movie", "Jane", "likes", "song"]
ONE_HOT_DOCS = ["John really really loves this movie", "Jane really likes this song"]
NB_TRAIN = [
    ("Image recognition used convolutional neural networks", "CV"),
    ("Transformers can be used for image classification task", "CV"),
    ("Language modeling uses transformer", "NLP"),
    ("Document classification task is language task", "NLP"),
]
NB_TEST = "Classification task uses transformer"


def split_speeches(text: str) -> List[Tuple[str, str]]:
    """(play, speech) pairs from Project Gutenberg Shakespeare: a play starts at its title
    line followed by "by William Shakespeare"; a speech is a block that opens with a
    speaker line in capitals ending in a period ("HAMLET.")."""
    lines = text.split("\n")
    out: List[Tuple[str, str]] = []
    play: Optional[str] = None
    block: List[str] = []

    def flush() -> None:
        if play and len(block) > 1 and re.fullmatch(r"[A-Z][A-Za-z'-]*(?: [A-Za-z'-]+){0,3}\.", block[0].strip()):
            out.append((play, " ".join(s.strip() for s in block[1:])))
        block.clear()

    for i, line in enumerate(lines):
        if line.strip() == "by William Shakespeare" and i >= 2:
            flush()
            play = " ".join(w.capitalize() for w in lines[i - 2].split())
            continue
        if not line.strip():
            flush()
        else:
            block.append(line)
    flush()
    return out


class _Tee(io.TextIOBase):
    """Prints as usual and keeps each section's text for the report."""

    def __init__(self, real: Any):
        self.real = real
        self.sections: List[Tuple[str, List[str]]] = [("Start", [])]

    def write(self, s: str) -> int:
        self.real.write(s)
        self.sections[-1][1].append(s)
        return len(s)

    def flush(self) -> None:
        self.real.flush()


_TEE: Optional[_Tee] = None


def _rule(title: str) -> None:
    if _TEE is not None:
        _TEE.sections.append((title, []))
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def worked_naive_bayes(alpha: float) -> dict:
    """The study notes' Naive Bayes example: P(c), P(w|c) per test word and the decision."""
    texts, labels = zip(*NB_TRAIN)
    cv = CountVectorizer()
    X = cv.fit_transform(texts)
    nb = MultinomialNB(alpha=alpha).fit(X, labels)
    words = Tokenizer().tokenize(NB_TEST)
    prior = np.exp(nb.class_log_prior_)
    table = {}
    for w in words:
        j = cv.vocabulary_.get(w)
        table[w] = [float(np.exp(nb.feature_log_prob_[c, j])) if j is not None else 0.0
                    for c in range(len(nb.classes_))]
    scores = prior * np.prod([table[w] for w in words], axis=0)
    return {"classes": nb.classes_.tolist(), "prior": prior.tolist(), "words": words, "p_w_c": table,
            "class_words": nb.feature_count_.sum(axis=1).tolist(), "scores": scores.tolist(),
            "decision": nb.classes_[int(np.argmax(scores))]}


def main(corpus: Optional[str] = None, num_threads: int = -1, out: Optional[str] = None,
         quick: bool = False) -> int:
    """Run the tour; with ``out``, write ``out/report.html`` (and its figures) there and
    nowhere else. ``quick`` shrinks the models: about 2 s instead of about 30 s on a 2-core AMD EPYC
    (measured 2026-12-06)."""
    global _TEE
    if out is not None:
        out = os.path.abspath(out)
        try:
            os.makedirs(out, exist_ok=True)
        except OSError as e:
            raise OSError(f"cannot create the output folder {out}: {e.strerror}") from None
        if not os.access(out, os.W_OK):
            raise PermissionError(f"the output folder {out} is not writable")
    t_start = time.perf_counter()
    tee = _Tee(sys.stdout)
    _TEE = tee
    old_stdout, sys.stdout = sys.stdout, tee
    figures: Dict[str, str] = {}
    try:
        summary = _tour(corpus, num_threads, out, quick, figures)
    finally:
        sys.stdout = old_stdout
        _TEE = None
    total = time.perf_counter() - t_start
    print(f"\nsummary: which-play accuracy {summary.get('nb_accuracy', float('nan')):.3f}; "
          f"LSTM validation {summary.get('charlm_val_bits', float('nan')):.2f} bits/char; "
          + (f"quote unit {summary['quote_unit']['state']}[{summary['quote_unit']['unit']}] "
             f"r = {summary['quote_unit']['correlation']:+.2f}; " if "quote_unit" in summary else "")
          + f"demo finished in {total:.0f} s")
    if out is not None:
        path = _write_report(out, tee, figures, summary, total, quick)
        print(f"report: {path}")
    return 0


def _tour(corpus: Optional[str], num_threads: int, out: Optional[str], quick: bool,
          figures: Dict[str, str]) -> Dict[str, Any]:
    summary: Dict[str, Any] = {}
    _text_tour(corpus, num_threads, summary)
    _embedding_tour(corpus, num_threads, out, quick, figures, summary)
    _charlm_tour(corpus, num_threads, out, quick, figures, summary)
    return summary


def _text_tour(corpus: Optional[str], num_threads: int, summary: Dict[str, Any]) -> int:
    path = corpus or DEFAULT_CORPUS
    size = os.path.getsize(path)
    print(f"pyfast_nlp demo on {os.path.basename(path)} ({size / 1e6:.2f} MB)")

    _rule("1. Tokenizer and stemmers")
    line = "The Countess's sorrows, like a maiden's tears, were lamented excessively."
    tok = Tokenizer()
    print("text:          ", line)
    print("tokens:        ", tok.tokenize(line))
    print("english stems: ", Tokenizer(stemmer="english").tokenize(line))
    print("porter stems:  ", Tokenizer(stemmer="porter").tokenize(line))
    ko = "GIMP에서 이미지를 편집합니다"
    print("korean:        ", ko, "->", Tokenizer(korean=True, stemmer="korean").tokenize(ko))

    _rule("2. Vocabulary (streamed from the file, counted in C++)")
    t0 = time.perf_counter()
    vocab = Vocab.build(path, min_count=2, specials=("<unk>", "<pad>"), num_threads=num_threads)
    dt = time.perf_counter() - t0
    print(f"{len(vocab):,} tokens seen at least twice ({size / 1e6 / dt:.0f} MB/s)")
    print("most frequent:", ", ".join(f"{t} ({c})" for t, c in zip(vocab.tokens[2:12], vocab.counts[2:12])))
    ids = vocab.encode(tok.tokenize("To be, or not to be: that is the quizzical question"))
    print("encode:", ids.tolist(), "->", vocab.decode(ids))

    _rule("3. One-hot vectors and bag-of-words (study notes)")
    cv = CountVectorizer(lowercase=False, vocabulary={w: i for i, w in enumerate(ONE_HOT_VOCAB)})
    X = cv.fit_transform(ONE_HOT_DOCS).toarray()
    print("vocabulary:", ONE_HOT_VOCAB)
    for d, row in zip(ONE_HOT_DOCS, X):
        print(f"  {d!r:42} -> {row.tolist()}")
    oh = Vocab(ONE_HOT_VOCAB, specials=()).one_hot(range(len(ONE_HOT_VOCAB)), dense=True)
    dist = np.linalg.norm(oh[0] - oh[1])
    cos = float(oh[0] @ oh[1]) / (np.linalg.norm(oh[0]) * np.linalg.norm(oh[1]))
    print(f"one-hot 'John' vs 'really': Euclidean distance {dist:.4f} (sqrt 2), cosine {cos:.1f}"
          " -- every pair alike: one-hot vectors know nothing of meaning")

    _rule("4. Naive Bayes by hand (study notes)")
    for alpha in (0.0, 1.0):
        r = worked_naive_bayes(alpha)
        print(f"alpha={alpha:g}: P(c) = {dict(zip(r['classes'], [round(p, 3) for p in r['prior']]))}, "
              f"words per class = {dict(zip(r['classes'], r['class_words']))}")
        for w in r["words"]:
            print(f"   P({w!r:17}|c) = " + ", ".join(f"{c}: {p:.4f}" for c, p in zip(r["classes"], r["p_w_c"][w])))
        print("   score P(c)*prod P(w|c) = " + ", ".join(f"{c}: {s:.3g}" for c, s in zip(r["classes"], r["scores"]))
              + f"  -> {r['decision']}")
    print("With alpha=0 'uses' and 'transformer' never occur in CV, so P(d|CV) = 0 whatever else\n"
          "the document says; Laplace smoothing (alpha=1) gives unseen words a small probability.")

    _rule("5. Which play is this speech from? (bag-of-words + multinomial Naive Bayes)")
    with open(path, encoding="utf-8") as f:
        pairs = split_speeches(f.read())
    if len(pairs) < 20 or len({p for p, _ in pairs}) < 2:
        print("corpus has too few speeches of two or more plays for this step; skipped")
        return 0
    print("The labelled set: every speech (a block opening with a speaker line such as 'HAMLET.')\n"
          "labelled with the play it belongs to; every fifth speech is held out for testing.")
    labels = np.array([p for p, _ in pairs])
    texts = [s for _, s in pairs]
    test = np.arange(len(texts)) % 5 == 0
    clf = TextClassifier(alpha=0.1, ngram_range=(1, 2), num_threads=num_threads)
    t0 = time.perf_counter()
    clf.fit([t for t, m in zip(texts, test) if not m], labels[~test])
    fit_s = time.perf_counter() - t0
    res = clf.evaluate([t for t, m in zip(texts, test) if m], labels[test])
    print(f"{len(texts):,} speeches of {len(res['labels'])} plays; trained on {int((~test).sum()):,} "
          f"({len(clf.vectorizer.vocabulary_):,} uni+bigram features) in {fit_s:.2f} s")
    summary["nb_accuracy"] = res["accuracy"]
    summary["nb_plays"] = len(res["labels"])
    print(f"held-out speeches: {res['n']:,}  accuracy {res['accuracy']:.3f}  macro-F1 {res['macro_f1']:.3f}"
          f"  (always guessing the largest play: {np.mean(labels[test] == max(set(labels), key=list(labels).count)):.3f})")
    names = [n[:14] for n in res["labels"]]
    print("confusion matrix (rows: true play, columns: predicted):")
    print(" " * 16 + " ".join(f"{i:>5}" for i in range(len(names))))
    for i, (n, row) in enumerate(zip(names, res["confusion_matrix"])):
        print(f"{i:>2} {n:<13}" + " ".join(f"{v:>5}" for v in row))
    fl = clf.nb.feature_log_prob_
    terms = clf.vectorizer.get_feature_names_out()
    print("most characteristic words (log P(w|play) - mean over plays):")
    for i, n in enumerate(res["labels"]):
        score = fl[i] - fl.mean(axis=0)
        top = [terms[j] for j in np.argsort(-score)[:6]]
        print(f"  {n:<32} {', '.join(top)}")
    return 0


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _embedding_tour(corpus: Optional[str], num_threads: int, out: Optional[str], quick: bool,
                    figures: Dict[str, str], summary: Dict[str, Any]) -> None:
    from ..embeddings import GloVe, cooccurrence

    path = corpus or DEFAULT_CORPUS
    _rule("6. GloVe (and word2vec) word vectors")
    t0 = time.perf_counter()
    vocab = Vocab.build(path, min_count=3, specials=(), num_threads=num_threads)
    X = cooccurrence(path, vocab, window=10, num_threads=num_threads, progress=False)
    dim, epochs = (25, 8) if quick else (50, 25)
    model = GloVe(dim=dim, epochs=epochs, x_max=10, seed=0, num_threads=num_threads).fit(X, vocab, progress=False)
    wv = model.word_vectors()
    print(f"{len(vocab):,} words, {X.nnz:,} co-occurring pairs, {dim}-d vectors, {epochs} epochs "
          f"in {time.perf_counter() - t0:.1f} s; loss {model.loss_history_[0]:.4f} -> {model.loss_history_[-1]:.4f}")
    neighbours = {}
    for w in ("king", "love", "night", "sword"):
        if w in wv:
            near = wv.most_similar(w, topn=5)
            neighbours[w] = near
            print(f"  {w:>6}: " + ", ".join(f"{o} ({s:.2f})" for o, s in near))
    summary["glove_neighbours"] = neighbours
    summary["glove_vs_word2vec"] = _glove_vs_word2vec(path, wv, time.perf_counter() - t0, dim, epochs, quick,
                                                      num_threads)
    words = [w for w in ("king", "queen", "lord", "lady", "man", "woman", "father", "mother", "son", "daughter",
                         "sword", "love", "night", "day") if w in wv]
    if out is not None and _have_matplotlib() and len(words) >= 3:
        pairs = [(a, b) for a, b in (("king", "queen"), ("lord", "lady"), ("man", "woman"), ("father", "mother"),
                                     ("son", "daughter")) if a in wv and b in wv]
        figures["pca"] = wv.plot(words, os.path.join(out, "glove_pca.png"), pairs=pairs,
                                 title="GloVe vectors of the shipped plays, PCA")


# Pairs for a small analogy test that the shipped plays can answer: a is to b as c is to d.
PAIRS = [("man", "woman"), ("king", "queen"), ("lord", "lady"), ("father", "mother"), ("son", "daughter"),
         ("brother", "sister"), ("husband", "wife"), ("he", "she"), ("his", "her"), ("sir", "madam")]


def pair_analogies(wv: Any) -> Tuple[int, int]:
    """(correct, asked) over every a:b::c:d from two different PAIRS whose four words are known."""
    known = [(a, b) for a, b in PAIRS if a in wv and b in wv]
    qs = [(a, b, c, d) for a, b in known for c, d in known if a != c]
    if not qs:
        return 0, 0
    got = wv.analogy([q[0] for q in qs], [q[1] for q in qs], [q[2] for q in qs])
    return sum(g == q[3] for g, q in zip(got, qs)), len(qs)


def _glove_vs_word2vec(path: str, glove_wv: Any, glove_s: float, dim: int, glove_epochs: int, quick: bool,
                       num_threads: int) -> List[List[Any]]:
    """The study notes say GloVe runs faster than word2vec and works well on less data: each model
    with its usual settings on the shipped plays, timed from the raw text, scored on PAIRS."""
    from ..embeddings import Word2Vec

    print(f"\nGloVe or word2vec? The study notes say GloVe runs faster and works well on less data.\n"
          f"Each with its usual settings, {dim}-d, timed from the raw text (bench/glove_vs_word2vec.py\n"
          f"measures it properly on 5.5 million words):")
    ok, n = pair_analogies(glove_wv)
    rows = [[f"GloVe, window 10, {glove_epochs} epochs", f"{glove_s:.1f} s", f"{ok}/{n}"]]
    for sg, name in ((1, "word2vec skip-gram"), (0, "word2vec CBOW")):
        t0 = time.perf_counter()
        m = Word2Vec(vector_size=dim, window=5, min_count=3, sg=sg, epochs=2 if quick else 5, seed=1,
                     num_threads=num_threads).fit(path, progress=False)
        ok, n = pair_analogies(m.wv)
        rows.append([f"{name}, window 5, {m.epochs} epochs", f"{time.perf_counter() - t0:.1f} s", f"{ok}/{n}"])
    for r in rows:
        print(f"  {r[0]:<38} {r[1]:>7}   pair analogies right (man:woman::king:queen ...): {r[2]}")
    return rows


def _charlm_tour(corpus: Optional[str], num_threads: int, out: Optional[str], quick: bool,
                 figures: Dict[str, str], summary: Dict[str, Any]) -> None:
    from ..rnn import CharLM
    from ..rnn.gradient_flow import gradient_flow, plot_gradient_flow, toy_rnn
    from ..rnn.units import activation_png, find_units

    path = corpus or DEFAULT_CORPUS
    with open(path, encoding="utf-8") as f:
        text = f.read()
    _rule("7. A character-level LSTM")
    hidden, steps = (64, 150) if quick else (256, 1200)
    t0 = time.perf_counter()
    lm = CharLM("lstm", hidden_size=hidden, num_layers=1, seed=0)
    lm.fit(text, seq_len=64, batch_size=32, max_steps=steps, lr=5e-3, num_threads=num_threads, progress=True)
    dt = time.perf_counter() - t0
    first, last = lm.history_[0]["loss_bits"], lm.history_[-1]["loss_bits"]
    print(f"LSTM, {hidden} units, {steps} steps of 32 x 64 characters in {dt:.1f} s "
          f"({steps * 32 * 64 / dt:,.0f} characters/s)")
    print(f"training loss {first:.2f} -> {last:.2f} bits/char; validation {lm.val_bits_:.2f} bits/char "
          f"(a unigram model needs about 4.5)")
    summary["charlm_val_bits"] = lm.val_bits_
    samples = {}
    for temp in (0.5, 0.8, 1.0):
        samples[temp] = lm.sample("ROMEO.\n", 160, temperature=temp, seed=1)
        print(f"-- temperature {temp}:\n{samples[temp]}\n")
    summary["samples"] = samples

    _rule("8. Gradient flow through time")
    r = toy_rnn([1.0, 0.5, -1.0])
    print("toy RNN h_t = tanh(2 x_t + 3 h_{t-1} + 1), h_0 = 0, x = (1, 0.5, -1):")
    print(f"  h_3 = {r['expression']} = {r['h'][-1]:.4f}")
    print(f"  d h_3 / d h_1 = prod w_hh (1 - h_t^2) = {r['dhT_dh1_chain']:.3g} "
          f"(finite differences: {r['dhT_dh1_numeric']:.3g})")
    grow = toy_rnn([0.0] * 10, w_hh=1.5, w_xh=0.0, b=0.0)["products"][-1]
    sat = toy_rnn([1.0] * 10)["products"][-1]
    print(f"  over 10 steps: unsaturated with w_hh = 1.5 the factor grows to {grow:.1f}; "
          f"saturated (w_hh = 3, b = 1) it falls to {sat:.1e}")
    probe = text[len(text) // 2: len(text) // 2 + 400]
    flows = {}
    k = 30 if quick else 60
    for cell in ("rnn", "lstm", "gru"):
        fresh = CharLM(cell, hidden_size=hidden, num_layers=1, seed=1)
        fresh.fit(text, seq_len=16, batch_size=4, max_steps=0, val_fraction=0, progress=False)  # weights only
        flows[f"{cell}, untrained"] = gradient_flow(fresh, probe, steps=k)
    flows["lstm, trained"] = gradient_flow(lm, probe, steps=k)
    for label, fl in flows.items():
        j = fl["jacobian"]
        print(f"  {label:>15}: |d(u.h_T)/dh_(T-k)| at k = 1, 10, {k}: {j[0]:.2e}, {j[9]:.2e}, {j[-1]:.2e}")
    summary["gradient_flow"] = {label: [float(fl["jacobian"][i]) for i in (0, 9, k - 1)] for label, fl in flows.items()}
    summary["flow_k"] = k
    if out is not None and _have_matplotlib():
        figures["flow"] = plot_gradient_flow(flows, os.path.join(out, "gradient_flow.png"))

    _rule("9. A unit that tracks quotes")
    quoted = ('Then said the king, "Go, and tell them we are here." And she said, "Not so, my lord."\n'
              'The fool said "nothing" and the lords "everything".\n')
    sample = quoted + lm.sample("\n", 600, temperature=0.8, seed=2)
    sample = "".join(ch for ch in sample if ch in set(lm.vocab_))
    best = find_units(lm, sample, "quote", top=3)
    for b in best:
        print(f"  layer {b['layer']} {b['state']}[{b['unit']}]: correlation with 'inside quotes' {b['correlation']:+.3f}")
    top = best[0]
    summary["quote_unit"] = top
    values = lm.hidden_states(sample)[top["state"]][:, top["layer"], top["unit"]]
    summary["quote_values"] = (quoted, values[: len(quoted)])
    if out is not None and _have_matplotlib():
        figures["quote"] = activation_png(quoted, values[: len(quoted)], os.path.join(out, "quote_unit.png"),
                                          title=f"{top['state']}[{top['unit']}], r = {top['correlation']:+.2f}")


def _write_report(out: str, tee: _Tee, figures: Dict[str, str], summary: Dict[str, Any], total: float,
                  quick: bool) -> str:
    from .report import Report, activation_fragment

    rep = Report("pyfast_nlp demo" + (" (quick)" if quick else ""))
    rep.text(f"The tour on the corpus shipped in the package, run in {total:.0f} s.")
    rows = [["Naive Bayes: which play (held-out accuracy)", summary.get("nb_accuracy", "")],
            ["character LSTM: validation bits per character", summary.get("charlm_val_bits", "")]]
    if "quote_unit" in summary:
        q = summary["quote_unit"]
        rows.append([f"quote unit {q['state']}[{q['unit']}]: correlation", q["correlation"]])
    rep.table(["result", "value"], rows)
    for title, chunks in tee.sections[1:]:
        rep.heading(title)
        rep.pre("".join(chunks).strip("\n"))
        if title.startswith("6.") and summary.get("glove_neighbours"):
            rep.table(["word", "nearest neighbours (cosine)"],
                      [[w, ", ".join(f"{o} ({v:.2f})" for o, v in near)]
                       for w, near in summary["glove_neighbours"].items()])
        if title.startswith("6.") and summary.get("glove_vs_word2vec"):
            rep.table(["model (shipped plays)", "time from raw text", "pair analogies right"],
                      summary["glove_vs_word2vec"])
        if title.startswith("8.") and summary.get("gradient_flow"):
            k = summary["flow_k"]
            rep.table(["model", "k = 1", "k = 10", f"k = {k}"],
                      [[label] + [f"{v:.2e}" for v in vals] for label, vals in summary["gradient_flow"].items()])
        if title.startswith("6.") and "pca" in figures:
            rep.image(figures["pca"], "GloVe vectors, PCA: pairs such as king -> queen drawn as arrows")
        if title.startswith("8.") and "flow" in figures:
            rep.image(figures["flow"], "log gradient norm against distance back in time")
        if title.startswith("9."):
            if "quote" in figures:
                rep.image(figures["quote"], "the unit's activation on each character (red positive, blue negative)")
            if "quote_values" in summary:
                text, vals = summary["quote_values"]
                rep.raw_html(activation_fragment(text, vals))
    if not figures:
        rep.text("Figures need matplotlib (pip install matplotlib).")
    return rep.write(os.path.join(out, "report.html"))
