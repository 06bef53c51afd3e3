"""Property-based tests (hypothesis): invariants that must hold for any input, not just the
examples the other tests pick."""
import re

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from pyfast_nlp import MultinomialNB, BernoulliNB, ComplementNB, Tokenizer, Vocab, WordVectors, cooccurrence  # noqa: E402

# Any text a user may have: every plane, controls, combining marks; no lone surrogates
# (they cannot be UTF-8; the tokenizer refuses them, tested in test_tokenizer.py).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])
_WORD = re.compile(r"(?u)\b\w\w+\b")


@SETTINGS
@given(TEXT, st.booleans())
def test_tokens_concatenate_back_to_the_text(text, lowercase):
    src = text.lower() if lowercase else text
    chars = Tokenizer(pattern="char", lowercase=lowercase).tokenize(text)
    assert "".join(chars) == src and all(len(c) == 1 for c in chars)
    ws = Tokenizer(pattern="whitespace", lowercase=lowercase).tokenize(text)
    assert ws == src.split()
    assert "".join(ws) == "".join(src.split())
    assert Tokenizer(lowercase=lowercase).tokenize(text) == _WORD.findall(src)


@SETTINGS
@given(TEXT)
def test_bytes_and_str_give_the_same_tokens(text):
    tok = Tokenizer(korean=True)
    assert tok.tokenize(text.encode("utf-8")) == tok.tokenize(text)
    assert tok.tokenize_batch([text, text.encode("utf-8")], num_threads=2) == [tok.tokenize(text)] * 2


@SETTINGS
@given(st.binary(max_size=200))
def test_invalid_utf8_is_refused_or_replaced_like_python(raw):
    strict, lenient = Tokenizer(pattern="char", lowercase=False), Tokenizer(pattern="char", lowercase=False,
                                                                            errors="replace")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(ValueError, match="UTF-8"):
            strict.tokenize(raw)
        got = "".join(lenient.tokenize(raw))
        assert got.replace("\ufffd", "") == raw.decode("utf-8", "replace").replace("\ufffd", "")
        return
    assert "".join(strict.tokenize(raw)) == text


def _docs(max_vocab=8):
    return st.lists(st.lists(st.integers(0, max_vocab - 1), max_size=30), min_size=1, max_size=6)


@SETTINGS
@given(_docs(), st.integers(1, 6), st.booleans())
def test_cooccurrence_symmetry_and_total_weight(docs, window, weighting):
    V = 8
    vocab = Vocab([f"w{i}" for i in range(V)], np.ones(V, np.int64), specials=())
    ids = [np.asarray(d, np.int32) for d in docs]
    if not any(docs):
        with pytest.raises(ValueError, match="no token"):
            cooccurrence(ids, vocab, progress=False)
        return
    m = cooccurrence(ids, vocab, window=window, symmetric=True, distance_weighting=weighting,
                     num_threads=2, progress=False).toarray()
    assert np.array_equal(m, m.T)
    # every pair (i, i+d) with d <= window, counted in both directions, weighs 1/d (or 1)
    total = sum(2 * (len(d) - k) * (1.0 / k if weighting else 1.0)
                for d in docs for k in range(1, min(window, len(d) - 1) + 1))
    assert m.sum() == pytest.approx(total, rel=1e-5, abs=1e-6)
    left = cooccurrence(ids, vocab, window=window, symmetric=False, distance_weighting=weighting,
                        num_threads=1, progress=False).toarray()
    assert np.allclose(left + left.T, m, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(hnp.arrays(np.int64, st.tuples(st.integers(1, 12), st.integers(1, 6)), elements=st.integers(0, 5)),
       st.sampled_from([MultinomialNB, BernoulliNB, ComplementNB]), st.floats(0.01, 3.0))
def test_naive_bayes_probabilities_sum_to_one(X, model, alpha):
    y = np.arange(X.shape[0]) % min(3, X.shape[0])
    nb = model(alpha=alpha).fit(X, y)
    p = nb.predict_proba(X)
    assert p.shape == (X.shape[0], len(np.unique(y)))
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert np.array_equal(nb.classes_[p.argmax(axis=1)], nb.predict(X))


@SETTINGS
@given(st.lists(TEXT.filter(lambda t: bool(t.split())), min_size=1, max_size=8), st.integers(1, 3))
def test_vocab_save_load_round_trip(tmp_path_factory, texts, min_count):
    v = Vocab.build(texts, tokenizer=Tokenizer(pattern="whitespace", lowercase=False), min_count=min_count)
    path = tmp_path_factory.mktemp("vocab") / "v.json"
    v.save(path)
    w = Vocab.load(path)
    assert w.tokens == v.tokens and np.array_equal(w.counts, v.counts)
    assert [w.get(t) for t in v.tokens] == list(range(len(v)))


# Words as the text formats can hold them: no whitespace inside (the binary format ends a word
# at a space; GloVe text allows inner spaces, tested in test_word_vectors.py), not empty.
WORD = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=12)


@SETTINGS
@given(st.lists(WORD, min_size=1, max_size=10, unique=True), st.integers(1, 7), st.data(),
       st.sampled_from(["glove", "word2vec", "word2vec-binary", "npz"]))
def test_vectors_save_load_round_trip(tmp_path_factory, words, dim, data, fmt):
    words = [w for w in words if w.split() == [w]] or ["x"]
    vec = data.draw(hnp.arrays(np.float32, (len(words), dim),
                               elements=st.floats(-1e6, 1e6, width=32, allow_subnormal=False)))
    v = WordVectors(words, vec)
    path = tmp_path_factory.mktemp("vec") / ("v.npz" if fmt == "npz" else "v.txt")
    v.save(path, format=fmt)
    w = WordVectors.load(path, format=fmt)
    assert w.words == v.words
    assert np.array_equal(w.vectors, v.vectors), "float32 values must survive every format exactly"
