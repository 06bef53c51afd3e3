"""The corpus door (pyfast_nlp.text.corpus): every consumer sorts and reads its input here."""
import itertools

import numpy as np
import pytest

from pyfast_nlp import CountVectorizer, Stemmer, Tokenizer, Vocab, cooccurrence
from pyfast_nlp.text.corpus import DOCS_PER_BATCH, open_corpus

TEXTS = ["the cat sat on the mat", "", "the dog ran", "a cat and a dog"]


def test_kinds(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("\n".join(TEXTS), encoding="utf-8")
    assert open_corpus(str(p)).kind == "path" and open_corpus(p).path == str(p)
    assert open_corpus(TEXTS).kind == "texts"
    assert open_corpus(np.array(TEXTS)).kind == "texts"
    assert open_corpus(t for t in TEXTS).kind == "texts"
    assert open_corpus([[], ["a", "b"]]).kind == "tokens"
    assert open_corpus([np.array([1, 2]), np.array([], np.int32)]).kind == "ids"
    assert open_corpus([[], [3, 4]]).kind == "ids"
    assert open_corpus([]).kind == "texts"


def test_bad_corpora_are_named():
    with pytest.raises(TypeError, match="not bytes"):
        open_corpus(b"raw bytes")
    with pytest.raises(TypeError, match="iterable of documents"):
        open_corpus(42)
    with pytest.raises(TypeError, match="documents must be"):
        open_corpus([{"a": 1}])
    with pytest.raises(TypeError, match="got id arrays"):
        Vocab.build([np.array([1, 2])])
    with pytest.raises(TypeError, match="mixes texts and token lists"):
        list(open_corpus([["a"], "b c"]).token_lists())
    with pytest.raises(FileNotFoundError):
        open_corpus("/no/such/corpus.txt")


def test_a_generator_is_read_batch_by_batch_never_whole():
    pulled = itertools.count()
    n = 3 * DOCS_PER_BATCH + 5

    def docs():
        for i in range(n):
            next(pulled)
            yield f"w{i % 97} common"

    source = open_corpus(docs())
    batches = source.text_batches()
    start, first = next(batches)
    assert start == 0 and len(first) == DOCS_PER_BATCH
    assert next(pulled) <= DOCS_PER_BATCH + 1  # one batch (and nothing past it) was read
    assert Vocab.build(docs()) == Vocab.build([f"w{i % 97} common" for i in range(n)])


def test_python_stemmer_without_join_and_retokenize(tmp_path):
    # a stem holding a space survives: tokens are never re-joined and split again
    tok = Tokenizer(stemmer=lambda t: t[:3] + " x")
    v = Vocab.build(["running runner", "runs"], tokenizer=tok, specials=())
    assert v.tokens == ["run x"]
    assert v.counts.tolist() == [3]


def test_python_stemmer_equals_compiled_stemmer_everywhere(tmp_path, corpus_lines):
    lines = corpus_lines[:3000]
    p = tmp_path / "c.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    py_stem = Stemmer("english").stem
    compiled, python = Tokenizer(stemmer="english"), Tokenizer(stemmer=py_stem)
    v = Vocab.build(lines, tokenizer=compiled, min_count=3, specials=())
    assert Vocab.build(lines, tokenizer=python, min_count=3, specials=()) == v
    assert Vocab.build(str(p), tokenizer=python, min_count=3, specials=()) == v
    assert Vocab.build(iter(lines), tokenizer=python, min_count=3, specials=()) == v
    want = cooccurrence(lines, v, tokenizer=compiled, window=4, progress=False).tocsr()
    for corpus in (lines, str(p), iter(lines)):
        got = cooccurrence(corpus, v, tokenizer=python, window=4, progress=False).tocsr()
        assert (got != want).nnz == 0
    X1 = CountVectorizer(stemmer="english", stop_words="english", ngram_range=(1, 2)).fit_transform(lines)
    X2 = CountVectorizer(stemmer=py_stem, stop_words="english", ngram_range=(1, 2)).fit_transform(lines)
    assert (X1 != X2).nnz == 0


def test_every_kind_gives_the_same_cooccurrences(tmp_path):
    v = Vocab.build(TEXTS, specials=())
    p = tmp_path / "c.txt"
    p.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    tok = Tokenizer()
    want = cooccurrence(TEXTS, v, window=3, progress=False).tocsr()
    token_lists = tok.tokenize_batch(TEXTS)
    ids = [v.encode(t, unknown="drop") for t in token_lists]
    for corpus in (str(p), iter(TEXTS), token_lists, iter(token_lists), ids, [i.tolist() for i in ids]):
        got = cooccurrence(corpus, v, window=3, progress=False).tocsr()
        assert (got != want).nnz == 0, type(corpus)
