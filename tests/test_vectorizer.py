import collections
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from pyfast_nlp import ENGLISH_STOP_WORDS, CountVectorizer, NotFittedError, Tokenizer

STUDY_VOCAB = ["John", "really", "loves", "this", "movie", "Jane", "likes", "song"]
STUDY_DOCS = ["John really really loves this movie", "Jane really likes this song"]


def reference_counts(docs, ngram=(1, 1), stop=()):
    """Plain Python bag-of-words: sorted vocabulary and dense counts."""
    rows = []
    tok = Tokenizer()
    for d in docs:
        toks = [t for t in tok.tokenize(d) if t not in stop]
        grams = [" ".join(toks[i:i + n]) for n in range(ngram[0], ngram[1] + 1)
                 for i in range(len(toks) - n + 1)]
        rows.append(collections.Counter(grams))
    vocab = sorted(set().union(*rows))
    X = np.array([[r[t] for t in vocab] for r in rows], dtype=np.int64)
    return vocab, X


def test_study_notes_example():
    cv = CountVectorizer(lowercase=False, vocabulary={w: i for i, w in enumerate(STUDY_VOCAB)})
    X = cv.fit_transform(STUDY_DOCS)
    assert X.toarray().tolist() == [[1, 2, 1, 1, 1, 0, 0, 0], [0, 1, 0, 1, 0, 1, 1, 1]]
    assert cv.get_feature_names_out().tolist() == STUDY_VOCAB
    # a list vocabulary keeps its order too
    assert CountVectorizer(lowercase=False, vocabulary=STUDY_VOCAB).fit_transform(STUDY_DOCS).toarray()[0].tolist() == [1, 2, 1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize("ngram", [(1, 1), (1, 2), (2, 3)])
def test_equals_plain_reference(corpus_lines, ngram):
    docs = corpus_lines[:400]
    stop = ("the", "and")
    vocab, Xref = reference_counts(docs, ngram, stop)
    cv = CountVectorizer(ngram_range=ngram, stop_words=list(stop))
    X = cv.fit_transform(docs)
    assert cv.get_feature_names_out().tolist() == vocab
    assert np.array_equal(X.toarray(), Xref)
    assert X.has_sorted_indices
    assert np.array_equal(cv.transform(docs).toarray(), Xref)


SETTINGS = [
    {}, {"ngram_range": (1, 2)}, {"min_df": 2, "max_df": 0.5}, {"min_df": 0.01},
    {"max_features": 500}, {"binary": True, "max_features": 300}, {"lowercase": False, "max_df": 20},
    {"stop_words": sorted(ENGLISH_STOP_WORDS), "ngram_range": (1, 3), "min_df": 2},
    {"dtype": np.float32},
]


@pytest.mark.parametrize("kw", SETTINGS)
def test_identical_to_sklearn(corpus_lines, kw):
    skt = pytest.importorskip("sklearn.feature_extraction.text")
    docs = corpus_lines[:6000]
    ours, theirs = CountVectorizer(**kw), skt.CountVectorizer(**kw)
    A, B = ours.fit_transform(docs), theirs.fit_transform(docs)
    assert ours.vocabulary_ == theirs.vocabulary_
    assert A.shape == B.shape and A.dtype == B.dtype
    assert (A != B).nnz == 0
    new = ["Hamlet loves the queen, the king and Ophelia", "unseen words only: zyzzyva"]
    assert (ours.transform(new) != theirs.transform(new)).nnz == 0


def test_threads_do_not_change_the_result(corpus_lines):
    cv1, cv2 = CountVectorizer(num_threads=1, ngram_range=(1, 2)), CountVectorizer(num_threads=2, ngram_range=(1, 2))
    a, b = cv1.fit_transform(corpus_lines), cv2.fit_transform(corpus_lines)
    assert (a != b).nnz == 0
    names = cv2.get_feature_names_out().tolist()
    assert len(names) > 60000 and names == sorted(names)  # large vocabularies sort in parallel


def test_stemmers_named_and_callable_agree(corpus_lines):
    from pyfast_nlp import Stemmer

    docs = corpus_lines[:500]
    st = Stemmer("english")
    a = CountVectorizer(stemmer="english", stop_words="english")
    b = CountVectorizer(stemmer=st.stem, stop_words="english")
    A, B = a.fit_transform(docs), b.fit_transform(docs)
    assert a.vocabulary_ == b.vocabulary_ and (A != B).nnz == 0
    assert "love" in a.vocabulary_ and "loves" not in a.vocabulary_


def test_sklearn_pipeline_gridsearch_and_pickle(corpus_lines):
    pytest.importorskip("sklearn")
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    from pyfast_nlp import MultinomialNB

    docs = ["good great fun film", "great acting fun", "bad boring plot", "awful bad acting"] * 5
    y = ["pos", "pos", "neg", "neg"] * 5
    pipe = Pipeline([("bow", CountVectorizer()), ("nb", MultinomialNB())])
    gs = GridSearchCV(pipe, {"bow__ngram_range": [(1, 1), (1, 2)], "nb__alpha": [0.1, 1.0]}, cv=2)
    gs.fit(docs, y)
    assert gs.best_score_ == 1.0
    assert gs.predict(["fun great", "boring awful"]).tolist() == ["pos", "neg"]
    cv = CountVectorizer(ngram_range=(1, 2)).fit(corpus_lines[:100])
    cv2 = pickle.loads(pickle.dumps(cv))
    assert (cv2.transform(corpus_lines[:10]) != cv.transform(corpus_lines[:10])).nnz == 0
    assert cv.get_params()["ngram_range"] == (1, 2)
    assert cv.set_params(min_df=2) is cv and cv.min_df == 2


def test_bad_input():
    with pytest.raises(ValueError, match="string object received"):
        CountVectorizer().fit("just one string")
    with pytest.raises(ValueError, match="empty vocabulary"):
        CountVectorizer().fit(["", "!!"])
    with pytest.raises(ValueError, match="empty vocabulary"):
        CountVectorizer().fit([])
    with pytest.raises(ValueError, match="no terms remain"):
        CountVectorizer(min_df=2).fit(["aa bb", "cc dd"])
    with pytest.raises(ValueError, match="max_df corresponds"):
        CountVectorizer(min_df=3, max_df=1).fit(["aa bb", "cc dd", "aa"])
    with pytest.raises(ValueError, match="ngram_range"):
        CountVectorizer(ngram_range=(2, 1)).fit(["aa bb"])
    with pytest.raises(ValueError, match="max_features"):
        CountVectorizer(max_features=0).fit(["aa bb"])
    with pytest.raises(ValueError, match=r"\[0.0, 1.0\]"):
        CountVectorizer(max_df=1.5).fit(["aa bb"])
    with pytest.raises(TypeError, match="item 1"):
        CountVectorizer().fit(["aa", None])
    with pytest.raises(UnicodeDecodeError, match="document 1"):  # scikit-learn's error, naming the document
        CountVectorizer().fit([b"fine", b"\xff"])
    with pytest.raises(NotFittedError):
        CountVectorizer().transform(["aa"])
    with pytest.raises(ValueError, match="repeated indices"):
        CountVectorizer(vocabulary={"aa": 0, "bb": 0}).fit(["aa"])
    with pytest.raises(ValueError, match="doesn't contain index 1"):
        CountVectorizer(vocabulary={"aa": 0, "bb": 2}).fit(["aa"])
    with pytest.raises(ValueError, match="Invalid parameter"):
        CountVectorizer().set_params(nope=1)


def test_output_is_csr_and_inverse_transform():
    cv = CountVectorizer()
    X = cv.fit_transform(["bb aa aa", "cc"])
    assert sp.isspmatrix_csr(X) and X.dtype == np.int64
    assert [r.tolist() for r in cv.inverse_transform(X)] == [["aa", "bb"], ["cc"]]


def test_long_documents_and_large_vocabulary(corpus_lines):
    """Rows of thousands of terms over 2**17+ columns: the radix row sort's long path."""
    docs = [" ".join(corpus_lines[i:i + 300]) for i in range(0, len(corpus_lines), 300)]
    cv = CountVectorizer(ngram_range=(1, 3), num_threads=2)
    X = cv.fit_transform(docs)
    assert X.shape[1] > 2**17 and np.diff(X.indptr).max() > 2000
    for i in range(len(X.indptr) - 1):
        assert np.all(np.diff(X.indices[X.indptr[i]:X.indptr[i + 1]]) > 0)  # sorted, distinct
    tok = Tokenizer()
    for i in (0, len(docs) // 2, len(docs) - 1):
        toks = tok.tokenize(docs[i])
        ref = collections.Counter(" ".join(toks[j:j + n]) for n in (1, 2, 3) for j in range(len(toks) - n + 1))
        row = X.getrow(i)
        assert row.nnz == len(ref)
        assert all(row[0, cv.vocabulary_[t]] == c for t, c in ref.items())
    skt = pytest.importorskip("sklearn.feature_extraction.text")
    sk = skt.CountVectorizer(ngram_range=(1, 3))
    assert (sk.fit_transform(docs) != X).nnz == 0 and sk.vocabulary_ == cv.vocabulary_


def test_sorted_term_kernels():
    # the partial-vocabulary merge and lookup the distributed vectorizers use
    from pyfast_nlp import _core

    a, b = ["a", "c", "é", "日本"], ["b", "c", "z", "é", "🙂"]
    merged, pos_a, pos_b = _core.merge_sorted_terms(a, b)
    assert merged == sorted(set(a) | set(b))
    assert [merged[i] for i in pos_a] == a and [merged[i] for i in pos_b] == b
    assert _core.merge_sorted_terms([], [])[0] == []
    assert _core.sorted_positions(merged, ["c", "d", "🙂"]).tolist() == [2, -1, len(merged) - 1]
    with pytest.raises(ValueError, match="not sorted"):
        _core.merge_sorted_terms(["b", "a"], [])
    with pytest.raises(ValueError, match="not sorted"):
        _core.sorted_positions(["a"], ["x", "x"])
    X = sp.random(30, 12, density=0.3, format="csr", random_state=0)
    new_col = np.where(np.arange(12) % 3 == 0, -1, np.arange(12) // 2).astype(np.int64)
    indptr, cols, at = _core.csr_remap_columns(X.indptr.astype(np.int64), X.indices, new_col)
    Y = sp.csr_matrix((X.data[at], cols, indptr), shape=(30, 6)).toarray()
    expected = np.zeros((30, 6))
    for c in range(12):
        if new_col[c] >= 0:
            expected[:, new_col[c]] += X.toarray()[:, c]
    np.testing.assert_array_equal(Y, expected)
    with pytest.raises(ValueError, match="outside new_col"):
        _core.csr_remap_columns(X.indptr.astype(np.int64), X.indices, new_col[:5])
    with pytest.raises(ValueError, match="indptr"):
        _core.csr_remap_columns(np.array([0, 5], dtype=np.int64), X.indices[:3], new_col)
