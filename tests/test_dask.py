"""pyfast_nlp.dask on a LocalCluster of two worker processes (loopback only): every distributed
result equals the single-machine one on the same documents."""
import numpy as np
import pytest
import scipy.sparse as sp

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da  # noqa: E402
import dask.bag as db  # noqa: E402

import pyfast_nlp  # noqa: E402
from pyfast_nlp import dask as pdask  # noqa: E402
from pyfast_nlp.dask.partials import TermStats  # noqa: E402

# Worker processes: a whole workflow each; the kernels they run are tested on their own, so the
# slow sanitizer pass of .ci/run leaves these out.
pytestmark = pytest.mark.end_to_end

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau "
         "upsilon phi chi psi omega the of and to").split()


def documents(n=240, seed=0):
    rng = np.random.default_rng(seed)
    p = 1 / np.arange(1, len(WORDS) + 1)
    p /= p.sum()
    docs = [" ".join(rng.choice(WORDS, size=int(rng.integers(0, 25)), p=p)) for _ in range(n)]
    docs[5] = ""  # an empty document
    docs[7] = "the of and"  # only stop words
    docs[11] = "Ünïcödé wörds and ÉMOJI 🙂 text"
    return docs


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       host="127.0.0.1")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def stacked(x):
    got = x.compute()
    return sp.csr_matrix(got) if not sp.issparse(got) else got.tocsr()


@pytest.mark.parametrize("params", [
    {}, {"min_df": 2, "max_df": 0.5}, {"max_features": 7}, {"max_features": 5, "binary": True},
    {"ngram_range": (1, 2), "min_df": 3}, {"stop_words": "english"}, {"analyzer": "char_wb", "ngram_range": (2, 3)},
    {"min_df": 0.05, "max_df": 40},
])
@pytest.mark.parametrize("npartitions", [1, 3, 7])
def test_count_vectorizer_equals_single_machine(client, params, npartitions):
    docs = documents()
    ref = pyfast_nlp.CountVectorizer(**params)
    X_ref = ref.fit_transform(docs)
    cv = pdask.CountVectorizer(**params)
    X = cv.fit_transform(db.from_sequence(docs, npartitions=npartitions))
    assert isinstance(X, da.Array)
    assert cv.vocabulary_ == ref.vocabulary_
    got = stacked(X)
    assert got.shape == X_ref.shape and got.dtype == X_ref.dtype
    assert (got != X_ref).nnz == 0


@pytest.mark.parametrize("params", [{}, {"sublinear_tf": True, "norm": "l1"}, {"smooth_idf": False, "min_df": 2},
                                    {"max_features": 6}, {"use_idf": False}])
def test_tfidf_equals_single_machine(client, params):
    docs = documents(seed=1)
    ref = pyfast_nlp.TfidfVectorizer(**params)
    X_ref = ref.fit_transform(docs)
    tv = pdask.TfidfVectorizer(**params)
    X = tv.fit_transform(db.from_sequence(docs, npartitions=4))
    assert tv.vocabulary_ == ref.vocabulary_
    if ref.use_idf:
        np.testing.assert_array_equal(tv.idf_, ref.idf_)
    got = stacked(X)
    assert abs(got - X_ref).max() <= 1e-12


def test_hashing_is_bit_identical(client):
    docs = documents(seed=2)
    ref = pyfast_nlp.HashingVectorizer(n_features=64).transform(docs)
    got = stacked(pdask.HashingVectorizer(n_features=64).transform(db.from_sequence(docs, npartitions=5)))
    assert (got != ref).nnz == 0


@pytest.mark.parametrize("name", ["MultinomialNB", "ComplementNB", "BernoulliNB"])
def test_naive_bayes_equals_single_machine(client, name):
    docs = documents(300, seed=3)
    labels = np.array(["a" if ("alpha" in d or "beta" in d) else ("b" if "gamma" in d else "c") for d in docs])
    cv = pyfast_nlp.CountVectorizer().fit(docs)
    ref = getattr(pyfast_nlp, name)().fit(cv.transform(docs), labels)
    bag = db.from_sequence(docs, npartitions=4)
    dcv = pdask.CountVectorizer()
    X = dcv.fit_transform(bag)
    y = db.from_sequence(labels.tolist(), npartitions=4)
    nb = getattr(pdask, name)().fit(X, y)
    np.testing.assert_array_equal(nb.classes_, ref.classes_)
    np.testing.assert_allclose(nb.feature_count_, ref.feature_count_, rtol=1e-12)
    np.testing.assert_allclose(nb.feature_log_prob_, ref.feature_log_prob_, rtol=1e-9)
    np.testing.assert_allclose(nb.class_log_prior_, ref.class_log_prior_, rtol=1e-9)
    np.testing.assert_array_equal(nb.predict(X).compute(), ref.predict(cv.transform(docs)))
    np.testing.assert_allclose(nb.predict_proba(X).compute(), ref.predict_proba(cv.transform(docs)), rtol=1e-9)


def test_build_vocab_equals_single_machine(client):
    docs = documents(seed=4)
    for kw in ({}, {"min_count": 3, "max_size": 10}, {"specials": ("<pad>", "<unk>")}):
        assert pdask.build_vocab(db.from_sequence(docs, npartitions=6), **kw) == pyfast_nlp.Vocab.build(docs, **kw)


def test_file_paths_and_dataframe_columns(client, tmp_path):
    docs = [d for d in documents(seed=5) if "\n" not in d]
    paths = []
    for i in range(3):
        p = tmp_path / f"part{i}.txt"
        p.write_text("\n".join(docs[i::3]) + "\n", encoding="utf-8")
        paths.append(str(p))
    order = [d for i in range(3) for d in docs[i::3]]
    ref = pyfast_nlp.CountVectorizer().fit(order)
    cv = pdask.CountVectorizer().fit(paths)
    assert cv.vocabulary_ == ref.vocabulary_
    assert (stacked(cv.transform(paths)) != ref.transform(order)).nnz == 0
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    frame = dd.from_pandas(pd.DataFrame({"text": docs}), npartitions=3)
    assert pdask.CountVectorizer().fit(frame["text"]).vocabulary_ == pyfast_nlp.CountVectorizer().fit(docs).vocabulary_
    with pytest.raises(TypeError, match="one text column"):
        pdask.CountVectorizer().fit(frame)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        pdask.CountVectorizer().fit(paths + [str(tmp_path / "missing.txt")])


def test_bad_collections(client):
    with pytest.raises(ValueError, match="empty corpus"):
        pdask.CountVectorizer().fit(db.from_sequence([], npartitions=1))
    with pytest.raises(TypeError, match="mixes str and bytes"):
        pdask.CountVectorizer().fit(db.from_sequence(["a text", b"bytes text"], npartitions=1))
    with pytest.raises(TypeError, match="must be str or bytes"):
        pdask.CountVectorizer().fit(db.from_sequence(["a text", 3], npartitions=1))
    with pytest.raises(ValueError, match="empty vocabulary"):
        pdask.CountVectorizer(stop_words="english").fit(db.from_sequence(["the of", "and"], npartitions=2))
    with pytest.raises(TypeError, match="dask.bag.Bag"):
        pdask.CountVectorizer().fit(42)


def test_term_stats_merge_is_exact_whatever_the_order():
    rng = np.random.default_rng(0)
    parts = []
    for _ in range(9):
        terms = sorted(set(rng.choice(WORDS, size=8).tolist()))
        parts.append(TermStats.of(terms, rng.integers(1, 9, len(terms)), rng.integers(1, 3, len(terms)), 3))
    a = parts[0]
    for p in parts[1:]:
        a = a.merge(p)
    b = parts[-1]
    for p in reversed(parts[:-1]):
        b = p.merge(b)
    assert a.terms.tolist() == b.terms.tolist() == sorted(a.terms.tolist())
    np.testing.assert_array_equal(a.tf, b.tf)
    np.testing.assert_array_equal(a.df, b.df)
    assert a.n_docs == b.n_docs == 27


def test_an_empty_partition_changes_nothing(client):
    docs = documents(seed=6)
    bag = db.from_delayed([dask.delayed(list)(docs[:50]), dask.delayed(list)([]), dask.delayed(list)(docs[50:])])
    for cls in ("CountVectorizer", "TfidfVectorizer"):
        ref = getattr(pyfast_nlp, cls)().fit(docs)
        vec = getattr(pdask, cls)().fit(bag)
        assert vec.vocabulary_ == ref.vocabulary_
        got = stacked(vec.transform(bag))
        assert got.shape == (len(docs), len(ref.vocabulary_))
        assert abs(got - ref.transform(docs)).max() <= 1e-12


def _die_once(flag, doc):
    """SIGKILL this worker the first time any task reaches here (the flag file marks it done)."""
    import os
    import signal

    try:
        fd = os.open(flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return doc
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_job_changes_nothing(client, tmp_path):
    from functools import partial

    docs = documents(seed=7)
    flag = str(tmp_path / "killed")
    bag = db.from_sequence(docs, npartitions=4).map(partial(_die_once, flag))
    ref = pyfast_nlp.CountVectorizer(min_df=2)
    X_ref = ref.fit_transform(docs)
    cv = pdask.CountVectorizer(min_df=2).fit(bag)
    assert (tmp_path / "killed").exists()  # a worker did die, and Dask ran its task again elsewhere
    assert cv.vocabulary_ == ref.vocabulary_
    assert (stacked(cv.transform(db.from_sequence(docs, npartitions=4))) != X_ref).nnz == 0
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it for the tests after this one
