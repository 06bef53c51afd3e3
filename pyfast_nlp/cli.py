"""The ``pyfast-nlp`` command line."""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional


def _tokenizer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pattern", choices=["word", "char", "whitespace"], default="word")
    p.add_argument("--no-lowercase", action="store_true", help="keep case")
    p.add_argument("--stemmer", choices=["english", "porter", "korean"], default=None)
    p.add_argument("--korean", action="store_true", help="split at script changes, keep 1-character tokens")
    p.add_argument("--threads", type=int, default=-1, help="threads (-1: all cores)")


def _tokenizer(a: argparse.Namespace):
    from .text import Tokenizer

    return Tokenizer(lowercase=not a.no_lowercase, pattern=a.pattern, korean=a.korean,
                     stemmer=a.stemmer, num_threads=a.threads)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="pyfast-nlp", description="Classic NLP, fast.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("demo", help="run the text pipeline on the shipped Shakespeare corpus")
    p.add_argument("--corpus", help="another UTF-8 text file (Project Gutenberg Shakespeare layout)")
    p.add_argument("--threads", type=int, default=-1)

    sub.add_parser("info", help="print build information (compiler, OpenMP, SIMD level)")

    p = sub.add_parser("tokenize", help="print the tokens of each line of a file")
    p.add_argument("file")
    _tokenizer_args(p)

    p = sub.add_parser("vocab", help="build a vocabulary from a text file and save it as JSON")
    p.add_argument("file")
    p.add_argument("--out", required=True)
    p.add_argument("--min-count", type=int, default=1)
    p.add_argument("--max-size", type=int, default=None)
    _tokenizer_args(p)

    c = sub.add_parser("classify", help="Naive Bayes text classification on label<TAB>text files")
    csub = c.add_subparsers(dest="action", required=True)
    t = csub.add_parser("train", help="train and save a model")
    t.add_argument("data")
    t.add_argument("--model", required=True, help="output model file (.npz)")
    t.add_argument("--nb", choices=["multinomial", "bernoulli", "complement"], default="multinomial")
    t.add_argument("--alpha", type=float, default=1.0)
    t.add_argument("--ngram-max", type=int, default=1)
    t.add_argument("--min-df", type=int, default=1)
    t.add_argument("--stop-words", choices=["english"], default=None)
    t.add_argument("--binary", action="store_true")
    _tokenizer_args(t)
    for name in ("predict", "evaluate"):
        q = csub.add_parser(name, help=f"{name} with a saved model")
        q.add_argument("data", help="label<TAB>text file (predict also takes plain text, one document a line)")
        q.add_argument("--model", required=True)
        q.add_argument("--json", action="store_true", help="machine-readable output")
    return ap


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, OSError, TypeError) as e:
        print(f"pyfast-nlp: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pyfast-nlp: interrupted", file=sys.stderr)
        return 130


def _run(a: argparse.Namespace) -> int:
    if a.cmd == "demo":
        from .demo import main as demo

        return demo(a.corpus, a.threads)
    if a.cmd == "info":
        from . import build_info

        print(json.dumps(build_info(), indent=2))
        return 0
    if a.cmd == "tokenize":
        out = sys.stdout
        for toks in _tokenizer(a).tokenize_file(a.file):
            out.write(" ".join(toks) + "\n")
        return 0
    if a.cmd == "vocab":
        from .vocab import Vocab

        v = Vocab.build(a.file, tokenizer=_tokenizer(a), min_count=a.min_count, max_size=a.max_size,
                        num_threads=a.threads, progress=sys.stderr.isatty())
        v.save(a.out)
        print(f"saved {len(v):,} tokens to {a.out}")
        return 0
    if a.cmd == "classify":
        return _classify(a)
    raise AssertionError(a.cmd)


def _classify(a: argparse.Namespace) -> int:
    import numpy as np

    from .classify import TextClassifier, read_labelled

    if a.action == "train":
        labels, texts = read_labelled(a.data)
        clf = TextClassifier(a.nb, a.alpha, lowercase=not a.no_lowercase, pattern=a.pattern,
                             split_script=a.korean, min_token_len=1 if a.korean else None,
                             stemmer=a.stemmer, ngram_range=(1, a.ngram_max), min_df=a.min_df,
                             stop_words=a.stop_words, binary=a.binary, num_threads=a.threads)
        clf.fit(texts, labels)
        clf.save(a.model)
        print(f"trained on {len(texts):,} documents, {len(clf.nb.classes_)} classes, "
              f"{len(clf.vectorizer.vocabulary_):,} features; saved {a.model}")
        return 0
    clf = TextClassifier.load(a.model)
    if a.action == "predict":
        try:
            _, texts = read_labelled(a.data)
        except ValueError as e:
            if "found no tab" not in str(e):
                raise
            with open(a.data, encoding="utf-8") as f:
                texts = [line.rstrip("\r\n") for line in f if line.strip()]
        pred = clf.predict(texts)
        if a.json:
            print(json.dumps(pred.tolist()))
        else:
            sys.stdout.write("".join(f"{p}\n" for p in pred))
        return 0
    labels, texts = read_labelled(a.data)
    res = clf.evaluate(texts, labels)
    if a.json:
        res = dict(res, confusion_matrix=np.asarray(res["confusion_matrix"]).tolist())
        print(json.dumps(res))
        return 0
    print(f"documents: {res['n']:,}   accuracy: {res['accuracy']:.4f}   macro-F1: {res['macro_f1']:.4f}")
    print("confusion matrix (rows: true, columns: predicted):")
    names = res["labels"]
    w = max(len(str(n)) for n in names)
    print(" " * (w + 4) + " ".join(f"{i:>5}" for i in range(len(names))))
    for i, (n, row) in enumerate(zip(names, res["confusion_matrix"])):
        print(f"{i:>2} {str(n):<{w}} " + " ".join(f"{v:>5}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
