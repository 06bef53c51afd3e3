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
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
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


# ---------------------------------------------------------------------------- co-occurrences, GloVe
def plays(n=400, seed=8):
    """Documents with structure for GloVe: two topics that share function words."""
    rng = np.random.default_rng(seed)
    topics = [WORDS[:10], WORDS[10:20]]
    docs = []
    for i in range(n):
        t = topics[i % 2]
        docs.append(" ".join(rng.choice(t + WORDS[-5:], size=int(rng.integers(3, 30)))))
    docs[3] = ""
    return docs


@pytest.mark.parametrize("kw", [{}, {"window": 3, "symmetric": False}, {"distance_weighting": False, "window": 5}])
@pytest.mark.parametrize("npartitions,n_shards", [(1, 1), (3, 2), (7, 3)])
def test_cooccurrence_equals_single_machine(client, kw, npartitions, n_shards):
    docs = plays()
    vocab = pyfast_nlp.Vocab.build(docs, specials=(), min_count=2)
    ref = pyfast_nlp.cooccurrence(docs, vocab, progress=False, **kw).tocsr()
    m = pdask.cooccurrence(db.from_sequence(docs, npartitions=npartitions), vocab, n_shards=n_shards,
                           progress=False, **kw)
    assert m.n_shards == n_shards and m.shape == ref.shape and m.nnz == ref.nnz
    assert m.stats["documents"] == len(docs) and m.stats["tokens"] > 0
    got = m.to_scipy()
    assert got.dtype == np.float32
    got = got.tocsr()
    assert (got != 0).nnz == ref.nnz and ((got != 0) != (ref != 0)).nnz == 0  # the same entries
    if kw.get("distance_weighting") is False:
        assert (got != ref).nnz == 0  # integer counts: exact
    else:  # float32 rounding, as the single-machine result across num_threads
        np.testing.assert_allclose(got.toarray(), ref.toarray(), rtol=1e-6, atol=0)


def test_cooccurrence_does_not_depend_on_the_partitioning(client):
    docs = plays(seed=9)
    vocab = pyfast_nlp.Vocab.build(docs, specials=())
    a = pdask.cooccurrence(db.from_sequence(docs, npartitions=1), vocab, n_shards=2, progress=False).to_scipy()
    b = pdask.cooccurrence(db.from_sequence(docs, npartitions=9), vocab, n_shards=2, progress=False).to_scipy()
    assert (a.tocsr() != b.tocsr()).nnz == 0  # float64 partial sums: the same float32 matrix


def test_cooccurrence_to_file_is_the_reference_format(client, tmp_path):
    docs = plays(seed=10)
    vocab = pyfast_nlp.Vocab.build(docs, specials=())
    ref_path, path = tmp_path / "ref.bin", tmp_path / "dask.bin"
    st_ref = pyfast_nlp.cooccurrence_to_file(docs, vocab, ref_path, progress=False)
    st = pdask.cooccurrence_to_file(db.from_sequence(docs, npartitions=4), vocab, path, n_shards=3, progress=False)
    assert st["records"] == st_ref["records"] and st["tokens"] == st_ref["tokens"]
    rec = np.sort(np.fromfile(path, dtype=pdask.CooccurShard.records.__globals__["RECORD"]), order=["w1", "w2"])
    ref = np.sort(np.fromfile(ref_path, dtype=rec.dtype), order=["w1", "w2"])
    np.testing.assert_array_equal(rec[["w1", "w2"]], ref[["w1", "w2"]])
    np.testing.assert_allclose(rec["val"], ref["val"], rtol=1e-12)  # both float64 sums
    assert (pyfast_nlp.read_cooccurrence(path, len(vocab)).tocsr() !=
            pyfast_nlp.read_cooccurrence(ref_path, len(vocab)).tocsr()).nnz == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.bin", "ref.bin"]  # no temporary left


def test_cooccurrence_spills_in_the_workers_and_leaves_nothing(client, tmp_path):
    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(50000)]
    docs = [" ".join(rng.choice(words, size=300)) for _ in range(3000)]  # 9M mostly distinct pairs
    vocab = pyfast_nlp.Vocab.build(docs, specials=())
    spill = tmp_path / "spill"
    m = pdask.cooccurrence(db.from_sequence(docs, npartitions=2), vocab, window=10, distance_weighting=False,
                           memory_limit="16MB", tmp_dir=str(spill), n_shards=2, progress=False)
    assert m.stats["spills"] > 0  # the workers did spill under their limit
    assert list(spill.iterdir()) == []  # and left nothing there
    ref = pyfast_nlp.cooccurrence(docs, vocab, window=10, distance_weighting=False, progress=False)
    assert (m.to_scipy().tocsr() != ref.tocsr()).nnz == 0


def test_cooccurrence_bad_input(client, tmp_path):
    vocab = pyfast_nlp.Vocab(["alpha", "beta"], specials=())
    with pytest.raises(ValueError, match="empty corpus"):
        pdask.cooccurrence(db.from_sequence([], npartitions=1), vocab, progress=False)
    with pytest.raises(ValueError, match="no token of the corpus is in the vocabulary"):
        pdask.cooccurrence(db.from_sequence(["gamma delta"] * 3, npartitions=2), vocab, progress=False)
    with pytest.raises(TypeError, match="mixes str and bytes"):
        pdask.cooccurrence(db.from_sequence(["alpha", b"beta"], npartitions=1), vocab, progress=False)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        pdask.cooccurrence([str(tmp_path / "nope.txt")], vocab, progress=False)
    with pytest.raises(ValueError, match="window"):
        pdask.cooccurrence(db.from_sequence(["alpha beta"]), vocab, window=0, progress=False)
    with pytest.raises(ValueError, match="memory_limit"):
        pdask.cooccurrence(db.from_sequence(["alpha beta"]), vocab, memory_limit="1MB", progress=False)
    with pytest.raises(ValueError, match="vocabulary is empty"):
        pdask.cooccurrence(db.from_sequence(["alpha beta"]), [], progress=False)


def test_cooccurrence_survives_a_killed_worker(client, tmp_path):
    from functools import partial

    docs = plays(seed=12)
    vocab = pyfast_nlp.Vocab.build(docs, specials=())
    bag = db.from_sequence(docs, npartitions=4).map(partial(_die_once, str(tmp_path / "killed")))
    m = pdask.cooccurrence(bag, vocab, distance_weighting=False, n_shards=2, progress=False)
    assert (tmp_path / "killed").exists()
    ref = pyfast_nlp.cooccurrence(docs, vocab, distance_weighting=False, progress=False)
    assert (m.to_scipy().tocsr() != ref.tocsr()).nnz == 0
    client.wait_for_workers(2, timeout=60)


def test_glove_with_one_block_is_the_single_machine_model(client):
    docs = plays(seed=13)
    vocab = pyfast_nlp.Vocab.build(docs, specials=())
    X = pyfast_nlp.cooccurrence(docs, vocab, window=5, progress=False).tocsr()
    X.sort_indices()
    kw = dict(dim=12, epochs=4, num_threads=1, seed=3)
    ref = pyfast_nlp.GloVe(**kw).fit(X, vocab, progress=False)
    got = pdask.GloVe(n_blocks=1, **kw).fit(X, vocab, progress=False)
    np.testing.assert_array_equal(got.params_, ref.params_)  # start, records, order, kernel, gathering
    assert got.loss_history_ == ref.loss_history_


def test_glove_across_workers(client, tmp_path):
    docs = plays(2000, seed=14)
    vocab = pyfast_nlp.Vocab.build(docs, specials=())
    m = pdask.cooccurrence(db.from_sequence(docs, npartitions=3), vocab, window=5, n_shards=2, progress=False)
    kw = dict(dim=16, epochs=15, num_threads=1, seed=1)
    seen = []
    a = pdask.GloVe(**kw).fit(m, vocab, progress=False, callback=lambda e, loss: seen.append((e, loss)))
    assert seen == list(enumerate(a.loss_history_, 1))
    assert a.epochs_done_ == 15 and np.all(np.diff(a.loss_history_) < 0)
    b = pdask.GloVe(**kw).fit(m, vocab, progress=False)
    np.testing.assert_array_equal(a.params_, b.params_)  # deterministic with one thread per worker
    X = m.to_scipy()
    # the final loss lies where single-machine runs from other seeds end (they differ by ~15% here)
    ends = [pyfast_nlp.GloVe(**{**kw, "seed": s}).fit(X, vocab, progress=False).loss_history_[-1] for s in (1, 2, 3)]
    assert 0.85 * min(ends) < a.loss_history_[-1] < 1.15 * max(ends)
    # the two topics come apart as on one machine
    wv = a.word_vectors()
    same = np.mean([wv.similarity(WORDS[0], w) for w in WORDS[1:10]])
    other = np.mean([wv.similarity(WORDS[0], w) for w in WORDS[10:20]])
    assert same > other + 0.2
    # a model that continues, saves and loads as the single-machine one
    a.partial_fit(m, epochs=1, progress=False)
    assert a.epochs_done_ == 16
    a.save(tmp_path / "g.npz")
    np.testing.assert_array_equal(pyfast_nlp.GloVe.load(tmp_path / "g.npz").params_, a.params_)
    with pytest.raises(ValueError, match="n_blocks=3 but the matrix has 2 shards"):
        pdask.GloVe(n_blocks=3, epochs=1).fit(m, vocab, progress=False)
    with pytest.raises(ValueError, match="vocabulary has"):
        pdask.GloVe(epochs=1).fit(m, vocab.tokens[:-1], progress=False)
    with pytest.raises(FloatingPointError, match="diverged"):
        pdask.GloVe(learning_rate=1e6, epochs=3, num_threads=1).fit(m, vocab, progress=False)


def test_glove_survives_a_killed_worker(client):
    import os
    import signal

    docs = plays(600, seed=15)
    vocab = pyfast_nlp.Vocab.build(docs, specials=())
    m = pdask.cooccurrence(db.from_sequence(docs, npartitions=2), vocab, window=5, n_shards=2, progress=False)
    kw = dict(dim=8, epochs=4, num_threads=1, seed=2)
    ref = pdask.GloVe(**kw).fit(m, vocab, progress=False)

    def kill_one(epoch, loss):
        if epoch == 2:  # between epochs: a worker holding blocks and parameters dies
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)

    got = pdask.GloVe(**kw).fit(m, vocab, progress=False, callback=kill_one)
    np.testing.assert_array_equal(got.params_, ref.params_)
    client.wait_for_workers(2, timeout=60)


def test_a_vocabulary_too_large_for_a_worker_is_a_memory_error(tmp_path):
    """On a worker with a 200 MB limit (the nanny told not to kill it, so the check is what stops the
    work): a clear MemoryError raised in the worker reaches the client, and no spill file stays."""
    import os

    quiet = {"distributed.worker.memory.terminate": False, "distributed.worker.memory.pause": False,
             "distributed.worker.memory.spill": False, "distributed.worker.memory.target": False}
    with dask.config.set(quiet), \
            distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, memory_limit="200MB",
                                     dashboard_address=":0", host="127.0.0.1") as cluster, \
            distributed.Client(cluster):
        vocab = pyfast_nlp.Vocab([f"w{i}" for i in range(1_000_000)], specials=())
        spill = tmp_path / "spill"
        spill.mkdir()
        with pytest.raises(MemoryError, match=r"vocabulary of 1,000,000 words .* on worker tcp://127\.0\.0\.1"):
            pdask.cooccurrence(db.from_sequence(["w1 w2 w3"] * 10, npartitions=2), vocab, tmp_dir=str(spill),
                               progress=False)
        with pytest.raises(MemoryError, match="memory_limit='64MB'"):
            pdask.cooccurrence(db.from_sequence(["w1 w2 w3"] * 10, npartitions=2), vocab, memory_limit="64MB",
                               tmp_dir=str(spill), progress=False)
        assert os.listdir(spill) == []
        # merging the distinct terms of the partitions passes the limit too
        docs = db.from_sequence(range(1200), npartitions=2).map(lambda i: " ".join(f"t{i}x{j}" for j in range(1000)))
        with pytest.raises(MemoryError, match="merging partial results"):
            pdask.build_vocab(docs)


def test_files_are_read_in_blocks_cut_at_line_ends(tmp_path):
    from pyfast_nlp.dask._collections import read_lines

    rng = np.random.default_rng(16)
    lines = ["".join(rng.choice(list("ab\r é"), size=int(rng.integers(0, 12)))) for _ in range(300)]
    path = tmp_path / "c.txt"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    n = path.stat().st_size
    for size in (1, 3, 7, 50, 1000, n):
        got = [line for s in range(0, n, size) for line in read_lines(str(path), s, min(s + size, n))]
        assert got == [line.rstrip("\r") for line in lines]
    path.write_bytes(b"x\ny")  # no final newline
    assert [line for s in range(3) for line in read_lines(str(path), s, s + 1)] == ["x", "y"]
    path.write_bytes(b"ok\n\xff bad\n")
    with pytest.raises(ValueError, match=r"c\.txt: invalid UTF-8 at byte 3"):
        read_lines(str(path), 0, 8)


def test_cooccurrence_of_files_streams_their_blocks(client, tmp_path):
    docs = plays(seed=17)
    paths = []
    for i in range(2):
        p = tmp_path / f"part{i}.txt"
        p.write_text("\n".join(docs[i::2]) + "\n", encoding="utf-8")
        paths.append(str(p))
    (tmp_path / "empty.txt").write_text("")
    order = [d for i in range(2) for d in docs[i::2]]
    vocab = pyfast_nlp.Vocab.build(order, specials=())
    m = pdask.cooccurrence(paths + [str(tmp_path / "empty.txt")], vocab, distance_weighting=False, progress=False)
    ref = pyfast_nlp.cooccurrence(order, vocab, distance_weighting=False, progress=False)
    assert m.stats["documents"] == len(order)
    assert (m.to_scipy().tocsr() != ref.tocsr()).nnz == 0
