"""The ``pyfast-nlp`` command line."""
from __future__ import annotations

import argparse
import json
import os
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


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """--help shows every option's default (argparse's ArgumentDefaultsHelpFormatter skips the
    options that have no help text)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _show_defaults(sub)
        elif action.option_strings and action.default not in (None, False, argparse.SUPPRESS) \
                and "%(default)" not in (action.help or ""):
            action.help = ((action.help or "") + " (default: %(default)s)").strip()


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    ap = argparse.ArgumentParser(prog="pyfast-nlp", description="Classic NLP, fast.")
    ap.add_argument("--version", action="version", version=f"pyfast-nlp {__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("demo", help="the whole tour on the shipped Shakespeare corpus (--out DIR: HTML report)")
    p.add_argument("--out", default=None, help="folder for report.html and its figures (nothing is written elsewhere)")
    p.add_argument("--quick", action="store_true", help="small models: about 2 s instead of about 30 s on 2 cores")
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
    feats = t.add_mutually_exclusive_group()
    feats.add_argument("--tfidf", action="store_true", help="tf-idf features (TfidfVectorizer) instead of counts")
    feats.add_argument("--hashing", type=int, metavar="N", default=None,
                       help="hashed features in N columns (HashingVectorizer, no vocabulary kept)")
    _tokenizer_args(t)
    for name in ("predict", "evaluate"):
        q = csub.add_parser(name, help=f"{name} with a saved model")
        q.add_argument("data", help="label<TAB>text file (predict also takes plain text, one document a line)")
        q.add_argument("--model", required=True)
        q.add_argument("--json", action="store_true", help="machine-readable output")
    g = sub.add_parser("glove", help="train GloVe word vectors")
    gsub = g.add_subparsers(dest="action", required=True)
    t = gsub.add_parser("train", help="corpus file -> vocabulary -> co-occurrences -> GloVe vectors")
    t.add_argument("corpus", help="UTF-8 text file; a line is a document (the window never crosses it)")
    t.add_argument("--out", required=True, help="vectors file (.txt GloVe text, .bin word2vec binary, .npz)")
    t.add_argument("--format", choices=["glove", "word2vec", "word2vec-binary", "npz", "npy"], default=None,
                   help="output format (default: by the extension of --out)")
    t.add_argument("--dim", type=int, default=100)
    t.add_argument("--epochs", type=int, default=25)
    t.add_argument("--window", type=int, default=10)
    t.add_argument("--min-count", type=int, default=5)
    t.add_argument("--max-vocab", type=int, default=None)
    t.add_argument("--x-max", type=float, default=100.0)
    t.add_argument("--alpha", type=float, default=0.75)
    t.add_argument("--lr", type=float, default=0.05, help="learning rate")
    t.add_argument("--asymmetric", action="store_true", help="count left context only")
    t.add_argument("--memory-limit", default="4GB", help="co-occurrence counting memory (spills to disk beyond)")
    t.add_argument("--tmp-dir", default=None)
    t.add_argument("--kind", choices=["w+c", "w", "c"], default="w+c", help="which vectors to write")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--order", choices=["blocked", "shuffle"], default="blocked",
                   help="record order: cache-blocked tiles (fast) or the reference's one shuffle")
    t.add_argument("--save-cooc", default=None, help="also write the co-occurrences (reference binary format)")
    t.add_argument("--save-model", default=None, help="also save the model (.npz) to continue training later")
    _tokenizer_args(t)

    w = sub.add_parser("word2vec", help="train word2vec word vectors (skip-gram or CBOW)")
    wsub = w.add_subparsers(dest="action", required=True)
    t = wsub.add_parser("train", help="corpus file -> vocabulary -> word2vec vectors")
    t.add_argument("corpus", help="UTF-8 text file; a line is a document (windows never cross it)")
    t.add_argument("--out", required=True,
                   help="vectors file (.bin word2vec binary, .txt GloVe text, .npy memory-mappable, .npz)")
    t.add_argument("--format", choices=["glove", "word2vec", "word2vec-binary", "npz", "npy"], default=None,
                   help="output format (default: by the extension of --out)")
    t.add_argument("--sg", action="store_true", help="skip-gram (default: CBOW)")
    t.add_argument("--size", type=int, default=100, help="vector size")
    t.add_argument("--window", type=int, default=5)
    t.add_argument("--negative", type=int, default=5, help="noise words per example")
    t.add_argument("--ns-exponent", type=float, default=0.75)
    t.add_argument("--sample", type=float, default=1e-3, help="subsampling threshold (0: off)")
    t.add_argument("--min-count", type=int, default=5)
    t.add_argument("--max-vocab", type=int, default=None)
    t.add_argument("--alpha", type=float, default=0.025, help="starting learning rate")
    t.add_argument("--min-alpha", type=float, default=0.0001)
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--cbow-sum", action="store_true", help="CBOW input is the sum of the context, not the mean")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--save-model", default=None,
                   help="also save the whole model (.npz); if it exists, training continues from it")
    _tokenizer_args(t)

    v = sub.add_parser("vectors", help="query and evaluate word vectors (GloVe/word2vec/.npz files)")
    vsub = v.add_subparsers(dest="action", required=True)
    q = vsub.add_parser("neighbors", help="nearest words by cosine similarity")
    q.add_argument("file")
    q.add_argument("word", nargs="+")
    q.add_argument("--topn", type=int, default=10)
    q = vsub.add_parser("analogy", help="a is to b as c is to ?")
    q.add_argument("file")
    q.add_argument("a")
    q.add_argument("b")
    q.add_argument("c")
    q.add_argument("--topn", type=int, default=5)
    q.add_argument("--method", choices=["add", "mul"], default="add", help="3CosAdd or 3CosMul")
    q = vsub.add_parser("evaluate", help="analogy accuracy and word-pair correlation")
    q.add_argument("file")
    q.add_argument("--analogies", help="Google questions-words.txt format file")
    q.add_argument("--pairs", nargs="*", default=[], help="WordSim-353 / SimLex-999 style files")
    q.add_argument("--restrict-vocab", type=int, default=30000)
    q.add_argument("--json", action="store_true")

    r = sub.add_parser("charlm", help="character-level RNN/LSTM/GRU language models")
    rsub = r.add_subparsers(dest="action", required=True)
    t = rsub.add_parser("train", help="train on a UTF-8 text file (resumes from --out if it holds a checkpoint)")
    t.add_argument("corpus")
    t.add_argument("--out", default="charlm.npz", help="model / checkpoint file (.npz)")
    t.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="lstm")
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--embedding", type=int, default=None, help="embedding size (default: one-hot input)")
    t.add_argument("--dropout", type=float, default=0.0)
    t.add_argument("--seq-len", type=int, default=100)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--max-steps", type=int, default=None)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--optimizer", choices=["adam", "sgd", "adagrad"], default="adam")
    t.add_argument("--clip", type=float, default=5.0)
    t.add_argument("--val-fraction", type=float, default=0.05)
    t.add_argument("--checkpoint-every", type=int, default=500)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--fresh", action="store_true", help="start over even if --out holds a checkpoint")
    t.add_argument("--threads", type=int, default=-1)
    q = rsub.add_parser("sample", help="generate text from a saved model")
    q.add_argument("model")
    q.add_argument("--prime", default="", help="text to start from (characters of the vocabulary; \\n: newline)")
    q.add_argument("--length", type=int, default=500)
    q.add_argument("--temperature", type=float, default=1.0)
    q.add_argument("--top-k", type=int, default=None)
    q.add_argument("--seed", type=int, default=None)
    q.add_argument("--threads", type=int, default=-1)
    q = rsub.add_parser("evaluate", help="bits per character of a text file")
    q.add_argument("model")
    q.add_argument("file")
    q.add_argument("--batch-size", type=int, default=1, help="streams (1: exact, one stream)")
    q.add_argument("--threads", type=int, default=-1)
    _show_defaults(ap)
    return ap


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:  # `pyfast-nlp tokenize FILE | head`: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush stays quiet too
        return 0
    except (ValueError, OSError, TypeError, FloatingPointError) as e:
        print(f"pyfast-nlp: error: {e}", file=sys.stderr)
        return 2
    except KeyError as e:  # an unknown word
        print(f"pyfast-nlp: error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pyfast-nlp: interrupted", file=sys.stderr)
        return 130


def _run(a: argparse.Namespace) -> int:
    if a.cmd == "demo":
        from .showcase.demo import main as demo

        return demo(a.corpus, a.threads, out=a.out, quick=a.quick)
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
        from .text import Vocab

        v = Vocab.build(a.file, tokenizer=_tokenizer(a), min_count=a.min_count, max_size=a.max_size,
                        num_threads=a.threads, progress=sys.stderr.isatty())
        v.save(a.out)
        print(f"saved {len(v):,} tokens to {a.out}")
        return 0
    if a.cmd == "classify":
        return _classify(a)
    if a.cmd == "glove":
        return _glove(a)
    if a.cmd == "word2vec":
        return _word2vec(a)
    if a.cmd == "vectors":
        return _vectors(a)
    if a.cmd == "charlm":
        return _charlm(a)
    raise AssertionError(a.cmd)


def _charlm(a: argparse.Namespace) -> int:
    import os
    import pathlib

    from .rnn import CharLM

    if a.action == "sample":
        lm = CharLM.load(a.model)
        prime = a.prime.replace("\\n", "\n").replace("\\t", "\t")  # "\n" typed in a shell: a newline
        text = lm.sample(prime,
                         a.length, temperature=a.temperature, top_k=a.top_k, seed=a.seed, num_threads=a.threads)
        sys.stdout.write(text + "\n")
        return 0
    if a.action == "evaluate":
        lm = CharLM.load(a.model)
        bits = lm.evaluate(pathlib.Path(a.file), batch_size=a.batch_size, num_threads=a.threads)
        print(f"{bits:.4f} bits per character")
        return 0
    tty = sys.stderr.isatty()
    lm = None
    if not a.fresh and os.path.exists(a.out):
        lm = CharLM.load(a.out)
        print(f"resuming from {a.out} at step {lm.train_state_['global_step'] if hasattr(lm, 'train_state_') else 0}",
              file=sys.stderr)
    if lm is None:
        lm = CharLM(a.cell, hidden_size=a.hidden, num_layers=a.layers, embedding=a.embedding, dropout=a.dropout,
                    seed=a.seed)

    def report(info):
        if not tty and (info["step"] % 100 == 0 or "val_bits" in info):
            val = f"  val {info['val_bits']:.3f}" if "val_bits" in info else ""
            print(f"step {info['step']:>6}  epoch {info['epoch']}  train {info['loss_bits']:.3f} bits/char{val}",
                  file=sys.stderr)

    lm.fit(pathlib.Path(a.corpus), seq_len=a.seq_len, batch_size=a.batch_size, epochs=a.epochs,
           max_steps=a.max_steps, lr=a.lr, optimizer=a.optimizer, clip=a.clip if a.clip > 0 else None,
           val_fraction=a.val_fraction, num_threads=a.threads, progress=tty, checkpoint=a.out,
           checkpoint_every=a.checkpoint_every, callback=report)
    lm.save(a.out)
    val = lm.val_bits_
    print(f"saved {a.out}: {lm.num_parameters:,} parameters, step {lm.train_state_['global_step']}, "
          f"train {lm.history_[-1]['loss_bits']:.3f} bits/char" + (f", validation {val:.3f}" if val else "")
          if lm.history_ else f"saved {a.out}")
    return 0


def _glove(a: argparse.Namespace) -> int:
    import time

    from .embeddings import GloVe, cooccurrence, cooccurrence_to_file
    from .text import Vocab

    tty = sys.stderr.isatty()
    tok = _tokenizer(a)
    t0 = time.perf_counter()
    vocab = Vocab.build(a.corpus, tokenizer=tok, min_count=a.min_count, max_size=a.max_vocab,
                        specials=(), num_threads=a.threads, progress=tty)
    print(f"vocabulary: {len(vocab):,} words seen at least {a.min_count} times "
          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    t0 = time.perf_counter()
    X, st = cooccurrence(a.corpus, vocab, tokenizer=tok, window=a.window, symmetric=not a.asymmetric,
                         num_threads=a.threads, memory_limit=a.memory_limit, tmp_dir=a.tmp_dir,
                         progress=tty, return_stats=True)
    dt = time.perf_counter() - t0
    print(f"co-occurrences: {X.nnz:,} nonzero from {st['tokens']:,} tokens ({dt:.1f} s, "
          f"{st['tokens'] / max(dt, 1e-9) / 1e6:.1f} M tokens/s)", file=sys.stderr)
    if a.save_cooc:
        cooccurrence_to_file(a.corpus, vocab, a.save_cooc, tokenizer=tok, window=a.window,
                             symmetric=not a.asymmetric, num_threads=a.threads,
                             memory_limit=a.memory_limit, tmp_dir=a.tmp_dir, progress=False)
    model = GloVe(dim=a.dim, x_max=a.x_max, alpha=a.alpha, learning_rate=a.lr, epochs=a.epochs,
                  num_threads=a.threads, seed=a.seed, order=a.order)

    def report(epoch: int, loss: float) -> None:
        if not tty:
            print(f"epoch {epoch:>3}  loss {loss:.6f}  ({model.last_epoch_seconds_:.1f} s)", file=sys.stderr)

    model.fit(X, vocab, progress=tty, callback=report)
    if a.save_model:
        model.save(a.save_model)
    model.word_vectors(a.kind).save(a.out, format=a.format)
    print(f"saved {len(vocab):,} vectors of dim {a.dim} to {a.out}")
    return 0


def _word2vec(a: argparse.Namespace) -> int:
    import time

    from .embeddings import Word2Vec

    tty = sys.stderr.isatty()
    tok = _tokenizer(a)
    if a.save_model and os.path.exists(a.save_model):
        model = Word2Vec.load(a.save_model, tokenizer=tok)
        model.set_params(epochs=a.epochs, num_threads=a.threads)
        print(f"continuing {a.save_model} ({len(model.wv):,} words, {model.epochs_done_} epochs done)",
              file=sys.stderr)
    else:
        model = Word2Vec(vector_size=a.size, window=a.window, min_count=a.min_count, max_vocab_size=a.max_vocab,
                         sg=int(a.sg), negative=a.negative, ns_exponent=a.ns_exponent, sample=a.sample,
                         alpha=a.alpha, min_alpha=a.min_alpha, epochs=a.epochs, cbow_mean=not a.cbow_sum,
                         num_threads=a.threads, seed=a.seed, tokenizer=tok)

    def report(epoch: int, loss: float) -> None:
        if not tty:
            st = model.epoch_stats_[-1]
            print(f"epoch {epoch:>3}  loss {loss:.4f}  {st['words_per_second'] / 1e6:.2f} M words/s "
                  f"({st['seconds']:.1f} s)", file=sys.stderr)

    t0 = time.perf_counter()
    model.fit(a.corpus, progress=tty, callback=report)
    print(f"trained on {model.corpus_words_:,} words x {a.epochs} epochs in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    if a.save_model:
        model.save(a.save_model)
    model.wv.save(a.out, format=a.format)
    print(f"saved {len(model.wv):,} vectors of size {model.vector_size} to {a.out}")
    return 0


def _vectors(a: argparse.Namespace) -> int:
    from .embeddings import WordVectors

    wv = WordVectors.load(a.file)
    if a.action == "neighbors":
        for w in a.word:
            near = wv.most_similar(w, topn=a.topn)
            print(f"{w}:")
            for other, sim in near:
                print(f"  {sim:.4f}  {other}")
        return 0
    if a.action == "analogy":
        for w, score in wv.analogy(a.a, a.b, a.c, topn=a.topn, method=a.method) if a.topn > 1 \
                else [(wv.analogy(a.a, a.b, a.c, method=a.method), float("nan"))]:
            print(f"{w}\t{score:.4f}" if score == score else w)
        return 0
    if not a.analogies and not a.pairs:
        raise ValueError("give --analogies FILE and/or --pairs FILE...")
    res = {}
    if a.analogies:
        res["analogies"] = wv.evaluate_analogies(a.analogies, restrict_vocab=a.restrict_vocab)
    for p in a.pairs:
        res[p] = wv.evaluate_word_pairs(p)
    if a.json:
        print(json.dumps(res))
        return 0
    if a.analogies:
        r = res["analogies"]
        print(f"analogies: accuracy {r['accuracy']:.4f} ({r['correct']:,} of {r['questions'] - r['oov']:,}), "
              f"coverage {r['coverage']:.3f}")
        for name, sec in r["sections"].items():
            print(f"  {name:<28} {sec['accuracy']:.4f}  ({sec['correct']}/{sec['total']})")
    for p in a.pairs:
        r = res[p]
        print(f"{p}: Spearman {r['spearman']:.4f}, Pearson {r['pearson']:.4f}, "
              f"coverage {r['coverage']:.3f} ({r['pairs']} pairs)")
    return 0


def _classify(a: argparse.Namespace) -> int:
    import numpy as np

    from .classify import TextClassifier, read_labelled

    if a.action == "train":
        labels, texts = read_labelled(a.data)
        features = "hashing" if a.hashing is not None else "tfidf" if a.tfidf else "counts"
        if a.hashing is not None and not 1 <= a.hashing <= 2 ** 31 - 1:
            raise ValueError(f"--hashing takes a number of columns in [1, 2**31 - 1], not {a.hashing}")
        clf = TextClassifier(a.nb, a.alpha, features=features, n_features=a.hashing or 2 ** 20,
                             lowercase=not a.no_lowercase, pattern=a.pattern,
                             split_script=a.korean, min_token_len=1 if a.korean else None,
                             stemmer=a.stemmer, ngram_range=(1, a.ngram_max), min_df=a.min_df,
                             stop_words=a.stop_words, binary=a.binary, num_threads=a.threads)
        clf.fit(texts, labels)
        clf.save(a.model)
        width = clf.n_features if features == "hashing" else len(clf.vectorizer.vocabulary_)
        print(f"trained on {len(texts):,} documents, {len(clf.nb.classes_)} classes, "
              f"{width:,} {features} features; saved {a.model}")
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
        if a.json:  # per document: its number (from 0), the label and every class's probability
            proba = clf.predict_proba(texts)
            classes = clf.nb.classes_.tolist()
            out = [{"id": i, "label": classes[int(np.argmax(p))],
                    "probabilities": {str(c): float(v) for c, v in zip(classes, p)}} for i, p in enumerate(proba)]
            print(json.dumps(out))
            return 0
        pred = clf.predict(texts)
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
