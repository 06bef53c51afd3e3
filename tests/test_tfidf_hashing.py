"""scikit-learn's text toolbox beyond CountVectorizer: tf-idf, feature hashing, character
n-grams and any token pattern, checked against scikit-learn on real and multilingual text."""
import io
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from pyfast_nlp import CountVectorizer, HashingVectorizer, TfidfTransformer, TfidfVectorizer
from pyfast_nlp.exceptions import InvalidParameterError

skt = pytest.importorskip("sklearn.feature_extraction.text")

MULTILINGUAL = [
    "Café naïve RÉSUMÉ façade — Ὀδυσσεύς ΟΔΟΣ", "", "東京は日本の首都です。北京 上海", "   ",
    "GIMP에서 이미지를 엽니다 한국어 문장입니다", "emoji 🎉🎉 party 👩‍👩‍👧 family ok", "tab\tand\nnew  lines\r\n  here",
    "İstanbul ǅemal ß straße ΣΑΣ", "x", "numbers 123 4.5 and under_scores",
]


@pytest.fixture(scope="module")
def docs(corpus_lines):
    return corpus_lines[:1500] + MULTILINGUAL * 3


def same_matrix(a, b, rtol=0.0):
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    a.sort_indices()
    b.sort_indices()
    assert a.shape == b.shape
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    if rtol == 0.0:
        assert np.array_equal(a.data, b.data), np.abs(a.data - b.data).max()
    else:
        assert np.allclose(a.data, b.data, rtol=rtol, atol=0), np.abs(a.data - b.data).max()


def custom_tokenizer(s):
    return s.split(" ")


def custom_preprocessor(s):
    return s.upper()


def custom_analyzer(s):
    return [w[:3] for w in s.split()]


TEXT_SETTINGS = [
    {}, {"ngram_range": (1, 2)}, {"lowercase": False}, {"stop_words": ["the", "and", "of"]},
    {"analyzer": "char", "ngram_range": (1, 3)}, {"analyzer": "char_wb", "ngram_range": (2, 4)},
    {"analyzer": "char", "ngram_range": (2, 2), "lowercase": False},
    {"token_pattern": r"(?u)\b\w+\b"}, {"token_pattern": r"\S+"}, {"token_pattern": r"[A-Za-z]{3,}"},
    {"token_pattern": r"(\w)\w+"}, {"strip_accents": "ascii"}, {"strip_accents": "unicode", "ngram_range": (1, 2)},
    {"strip_accents": "unicode", "analyzer": "char_wb", "ngram_range": (2, 3)},
    {"tokenizer": custom_tokenizer, "token_pattern": None}, {"preprocessor": custom_preprocessor},
    {"analyzer": custom_analyzer},
]


def ids(kw):
    return ",".join(f"{k}={getattr(v, '__name__', v)}" for k, v in kw.items()) or "defaults"


@pytest.mark.parametrize("kw", TEXT_SETTINGS, ids=ids)
def test_hashing_is_bit_identical_to_sklearn(docs, kw):
    for extra in ({}, {"alternate_sign": False, "norm": "l1"}, {"norm": None, "binary": True},
                  {"n_features": 16}, {"n_features": 2 ** 31 - 1, "norm": None}):
        ours = HashingVectorizer(**kw, **extra, num_threads=2).transform(docs)
        ref = skt.HashingVectorizer(**kw, **extra).transform(docs)
        same_matrix(ours, ref)
        assert ours.dtype == ref.dtype


@pytest.mark.parametrize("kw", TEXT_SETTINGS, ids=ids)
def test_count_and_tfidf_equal_sklearn(docs, kw):
    ours, ref = CountVectorizer(**kw), skt.CountVectorizer(**kw)
    same_matrix(ours.fit_transform(docs), ref.fit_transform(docs))
    assert ours.vocabulary_ == ref.vocabulary_
    for extra in ({}, {"sublinear_tf": True, "norm": "l1"}, {"smooth_idf": False, "min_df": 2},
                  {"use_idf": False, "norm": None}):
        ours, ref = TfidfVectorizer(**kw, **extra), skt.TfidfVectorizer(**kw, **extra)
        same_matrix(ours.fit_transform(docs), ref.fit_transform(docs), rtol=1e-12)
        assert ours.vocabulary_ == ref.vocabulary_
        if extra.get("use_idf", True):
            assert np.allclose(ours.idf_, ref.idf_, rtol=1e-12, atol=0)
        same_matrix(ours.transform(docs[:50]), ref.transform(docs[:50]), rtol=1e-12)


def test_which_path_a_setting_takes():
    assert CountVectorizer().analysis_path() == "compiled"
    assert CountVectorizer(token_pattern=r"\S+").analysis_path() == "compiled"
    assert HashingVectorizer(analyzer="char_wb").analysis_path() == "compiled"
    assert TfidfVectorizer(strip_accents="unicode").analysis_path() == "compiled"
    assert CountVectorizer(token_pattern=r"[a-z]+").analysis_path() == "python"
    assert CountVectorizer(analyzer=str.split).analysis_path() == "python"
    assert CountVectorizer(stemmer=str.upper).analysis_path() == "python"


def test_tfidf_transformer_equals_sklearn(docs):
    X = skt.CountVectorizer().fit_transform(docs)
    for kw in ({}, {"norm": "l1", "sublinear_tf": True}, {"smooth_idf": False}, {"use_idf": False}):
        ours, ref = TfidfTransformer(**kw).fit(X), skt.TfidfTransformer(**kw).fit(X)
        same_matrix(ours.transform(X), ref.transform(X), rtol=1e-12)
        if kw.get("use_idf", True):
            assert np.allclose(ours.idf_, ref.idf_, rtol=1e-12, atol=0)
    X32 = X.astype(np.float32)
    same_matrix(TfidfTransformer().fit_transform(X32), skt.TfidfTransformer().fit_transform(X32), rtol=1e-5)
    assert TfidfTransformer().fit_transform(X32).dtype == np.float32
    assert np.array_equal(X.data, skt.CountVectorizer().fit_transform(docs).data)  # the input is left alone


def test_inputs_generators_paths_bytes_and_files(docs, tmp_path):
    ref = HashingVectorizer().transform(docs)
    same_matrix(HashingVectorizer().transform(d for d in docs), ref)
    same_matrix(HashingVectorizer().transform(np.array(docs, dtype=object)), ref)
    lines = [d.replace("\n", " ").replace("\r", " ") for d in docs]
    p = tmp_path / "docs.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    same_matrix(HashingVectorizer().transform(p), HashingVectorizer().transform(lines))
    same_matrix(TfidfVectorizer().fit_transform(p), skt.TfidfVectorizer().fit_transform(lines), rtol=1e-12)
    latin = [d.encode("latin-1", "replace") for d in docs[:200]]
    for kw in ({"encoding": "latin-1"}, {"decode_error": "replace"}, {"decode_error": "ignore"}):
        same_matrix(TfidfVectorizer(**kw).fit_transform(latin), skt.TfidfVectorizer(**kw).fit_transform(latin),
                    rtol=1e-12)
        same_matrix(HashingVectorizer(**kw).transform(latin), skt.HashingVectorizer(**kw).transform(latin))
    files = []
    for i, d in enumerate(docs[:20]):
        f = tmp_path / f"d{i}.txt"
        f.write_text(d, encoding="utf-8")
        files.append(str(f))
    same_matrix(CountVectorizer(input="filename").fit_transform(files),
                skt.CountVectorizer(input="filename").fit_transform(files))
    same_matrix(CountVectorizer(input="file").fit_transform([io.BytesIO(d.encode()) for d in docs[:20]]),
                skt.CountVectorizer().fit_transform(docs[:20]))


def test_bad_input_is_named(docs):
    for est, name in ((CountVectorizer(analyzer="words"), "analyzer"), (TfidfVectorizer(norm="l3"), "norm"),
                      (HashingVectorizer(norm="max"), "norm"), (HashingVectorizer(n_features=0), "n_features"),
                      (HashingVectorizer(n_features=2 ** 31), "n_features"),
                      (HashingVectorizer(n_features=1.5), "n_features"),
                      (HashingVectorizer(n_features=True), "n_features")):
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter") as e:
            est.fit_transform(docs[:5])
        assert isinstance(e.value, ValueError) and repr(getattr(est, name)) in str(e.value)
    with pytest.raises(ValueError, match="lower boundary larger than the upper boundary"):
        TfidfVectorizer(ngram_range=(2, 1)).fit(docs[:5])
    with pytest.raises(ValueError, match="More than 1 capturing groups"):
        CountVectorizer(token_pattern=r"(a)(b)").fit(docs[:5])
    with pytest.raises(TypeError, match="analyzer returned a str"):
        HashingVectorizer(analyzer=lambda s: s.upper()).transform(docs[:5])
    with pytest.raises(TypeError, match="tokenizer returned a int"):
        CountVectorizer(tokenizer=len).fit(docs[:5])
    with pytest.raises(UnicodeDecodeError):
        HashingVectorizer().transform([b"ok", b"bad \xff byte"])
    with pytest.raises(UnicodeDecodeError):
        TfidfVectorizer().fit([b"bad \xc3\x28"])
    with pytest.raises(ValueError, match="string object received"):
        HashingVectorizer().transform("one string")
    with pytest.raises(ValueError, match="np.nan is an invalid document"):
        CountVectorizer().fit(["a b", np.nan])
    with pytest.warns(UserWarning, match="stop_words' will not be used"):
        CountVectorizer(analyzer="char", stop_words=["a"]).fit(docs[:5])


def test_sklearn_conventions(docs):
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from pyfast_nlp import ComplementNB, MultinomialNB

    tv = TfidfVectorizer(min_df=2).fit(docs)
    assert np.array_equal(pickle.loads(pickle.dumps(tv)).transform(docs[:30]).toarray(), tv.transform(docs[:30]).toarray())
    assert clone(tv).get_params() == tv.get_params()
    hv = HashingVectorizer(n_features=64)
    assert hv.partial_fit(docs) is hv and hv.fit(docs) is hv
    y = np.array([i % 3 for i in range(len(docs))])
    for vec in (TfidfVectorizer(), HashingVectorizer(alternate_sign=False, n_features=2 ** 12)):
        pipe = Pipeline([("vec", vec), ("nb", ComplementNB())])
        grid = GridSearchCV(pipe, {"vec__ngram_range": [(1, 1), (1, 2)], "nb__alpha": [0.1, 1.0]}, cv=2)
        grid.fit(docs, y)
        assert grid.best_params_["vec__ngram_range"] in ((1, 1), (1, 2))
    Pipeline([("vec", TfidfVectorizer()), ("nb", MultinomialNB())]).fit(docs, y).predict(docs[:3])


def test_generator_is_hashed_batch_by_batch():
    from pyfast_nlp.text.corpus import DOCS_PER_BATCH

    pulled = []

    def gen():
        for i in range(2 * DOCS_PER_BATCH + 3):
            pulled.append(i)
            yield f"doc {i % 50} word"

    seen = []
    import pyfast_nlp.feature_extraction.text as fe

    real = fe._core.hash_docs

    def spy(config, docs, **kw):
        seen.append((len(docs), len(pulled)))
        return real(config, docs, **kw)

    fe._core.hash_docs, orig = spy, fe._core.hash_docs
    try:
        X = HashingVectorizer(n_features=2 ** 10).transform(gen())
    finally:
        fe._core.hash_docs = orig
    assert X.shape == (2 * DOCS_PER_BATCH + 3, 2 ** 10)
    assert seen[0] == (DOCS_PER_BATCH, DOCS_PER_BATCH) and len(seen) == 3  # read as it was hashed
    same_matrix(X, skt.HashingVectorizer(n_features=2 ** 10).transform(f"doc {i % 50} word"
                                                                       for i in range(2 * DOCS_PER_BATCH + 3)))
