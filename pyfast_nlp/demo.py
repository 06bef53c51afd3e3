"""``pyfast-nlp demo``: the text pipeline end to end on the corpus the package ships."""
from __future__ import annotations

import os
import re
import time
from typing import List, Optional, Tuple

import numpy as np

from .classify import TextClassifier
from .feature_extraction import CountVectorizer
from .naive_bayes import MultinomialNB
from .text import Tokenizer
from .vocab import Vocab

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
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


def _rule(title: str) -> None:
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


def main(corpus: Optional[str] = None, num_threads: int = -1) -> int:
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
