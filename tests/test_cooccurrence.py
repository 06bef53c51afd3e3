import os
import random

import numpy as np
import pytest
import scipy.sparse as sp

from pyfast_nlp import Tokenizer, Vocab, cooccurrence, cooccurrence_to_file, read_cooccurrence
from pyfast_nlp.embeddings import cooccur as cooc_module

WS = Tokenizer(pattern="whitespace", lowercase=False)


def reference(docs, vocab, window, symmetric=True, distance_weighting=True):
    """The reference tool's semantics, written plainly (float64)."""
    n = len(vocab)
    X = np.zeros((n, n))
    for d in docs:
        ids = [vocab[t] for t in d.split() if t in vocab]  # OOV removed before windowing
        for j in range(len(ids)):
            for k in range(1, window + 1):
                if j - k < 0:
                    break
                w = 1.0 / k if distance_weighting else 1.0
                X[ids[j - k], ids[j]] += w
                if symmetric:
                    X[ids[j], ids[j - k]] += w
    return X


def random_corpus(seed, n_docs=400, n_words=200, zipf=True):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(n_words)]
    docs = []
    for _ in range(n_docs):
        m = rng.randint(0, 40)
        if zipf:
            docs.append(" ".join(words[min(int(rng.paretovariate(0.8)) - 1, n_words - 1)] for _ in range(m)))
        else:
            docs.append(" ".join(rng.choice(words) for _ in range(m)))
    return docs


def dense(X):
    assert isinstance(X, sp.coo_matrix)
    assert X.dtype == np.float32
    return X.toarray().astype(np.float64)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("distance_weighting", [True, False])
@pytest.mark.parametrize("window", [1, 3, 10])
def test_matches_plain_reference(symmetric, distance_weighting, window):
    docs = random_corpus(window)
    vocab = Vocab.build(docs, tokenizer=WS, min_count=3, specials=("<unk>",))
    X = cooccurrence(docs, vocab, tokenizer=WS, window=window, symmetric=symmetric,
                     distance_weighting=distance_weighting, progress=False)
    R = reference(docs, vocab, window, symmetric, distance_weighting)
    got = dense(X)
    if distance_weighting:
        np.testing.assert_allclose(got, R, rtol=1e-6, atol=0)
    else:
        np.testing.assert_array_equal(got, R)  # integer counts are exact
    assert X.nnz == np.count_nonzero(R) * 1  # no duplicates, no explicit zeros
    if symmetric:
        np.testing.assert_array_equal(got, got.T)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("dense_bytes", [64, 20000])
def test_partly_dense_block_matches_reference(symmetric, dense_bytes):
    # 20000 bytes: the frequent words' rows are dense over several 64-column blocks, the
    # rest of the pairs sparse; 64 bytes: almost nothing dense
    docs = random_corpus(7, n_docs=600, n_words=400)
    vocab = Vocab.build(docs, tokenizer=WS, min_count=1, specials=())
    counter = cooc_module._count(docs, vocab, WS, 5, symmetric, True, 2, "4GB", None, False,
                                 dense_bytes=dense_bytes)
    row, col, val = counter.to_coo(threads=2)
    got = sp.coo_matrix((val, (row, col)), shape=(len(vocab), len(vocab))).toarray().astype(np.float64)
    R = reference(docs, vocab, 5, symmetric)
    np.testing.assert_allclose(got, R, rtol=1e-6, atol=0)
    assert len(val) == np.count_nonzero(R)


def test_oov_removed_before_windowing_and_newline_bounds_window(tmp_path):
    vocab = Vocab(["a", "b", "c"], specials=())
    # "x" is not in the vocabulary: a and b become neighbours (distance 1, weight 1).
    X = cooccurrence(["a x x x b"], vocab, tokenizer=WS, window=1, progress=False).toarray()
    assert X[0, 1] == 1.0 and X[1, 0] == 1.0
    # A newline ends the document: no pair crosses it.
    p = tmp_path / "c.txt"
    p.write_text("a b\nc a\n", encoding="utf-8")
    X = cooccurrence(str(p), vocab, tokenizer=WS, window=5, progress=False).toarray()
    expected = np.zeros((3, 3), np.float32)
    expected[0, 1] = expected[1, 0] = 1
    expected[2, 0] = expected[0, 2] = 1
    np.testing.assert_array_equal(X, expected)
    # A word next to itself adds 1/d in both directions: 2/d on the diagonal.
    X = cooccurrence(["a a"], vocab, tokenizer=WS, window=2, progress=False).toarray()
    assert X[0, 0] == 2.0
    X = cooccurrence(["a a"], vocab, tokenizer=WS, window=2, symmetric=False, progress=False).toarray()
    assert X[0, 0] == 1.0


def test_asymmetric_counts_left_word_as_row():
    vocab = Vocab(["a", "b"], specials=())
    X = cooccurrence(["a b"], vocab, tokenizer=WS, window=2, symmetric=False, progress=False).toarray()
    assert X[0, 1] == 1.0 and X[1, 0] == 0.0


def test_file_list_tokens_and_ids_agree(tmp_path):
    docs = random_corpus(7)
    p = tmp_path / "corpus.txt"
    p.write_text("\n".join(docs) + "\n", encoding="utf-8")
    vocab = Vocab.build(str(p), tokenizer=WS, min_count=2, specials=())
    a = dense(cooccurrence(str(p), vocab, tokenizer=WS, window=4, progress=False))
    b = dense(cooccurrence(docs, vocab, tokenizer=WS, window=4, progress=False))
    c = dense(cooccurrence([d.split() for d in docs], vocab, window=4, progress=False))
    ids = [vocab.encode(d.split(), unknown="drop") for d in docs]
    d = dense(cooccurrence(ids, vocab, window=4, progress=False))
    np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(a, c, rtol=1e-6)
    np.testing.assert_allclose(a, d, rtol=1e-6)


PAD = 1 << 20  # words put in front of a vocabulary to push its ranks past 2^20


def widened(vocab):
    """`vocab` behind PAD more frequent unused words: its words' ranks are PAD and up, so
    sparse pair keys no longer fit 32 bits and the counter uses its 12-byte records."""
    top = int(vocab.counts.max()) + 1
    return Vocab([f"pad{i}" for i in range(PAD)] + vocab.tokens,
                 counts=np.concatenate([np.full(PAD, top), vocab.counts]), specials=())


def unpadded(row, col, val, n, wide):
    """The counts among the real words as a dense (n, n) array; nothing may touch the pad."""
    off = PAD if wide else 0
    assert len(row) == 0 or (row.min() >= off and col.min() >= off)
    return sp.coo_matrix((val, (row - off, col - off)), shape=(n, n)).toarray().astype(np.float64)


@pytest.mark.parametrize("threads,repeated,wide", [
    (1, False, False), (2, False, False), (1, True, False), (2, True, False),
    (2, False, True), (1, True, True)])
def test_memory_limit_compacts_or_spills_and_leaves_nothing(tmp_path, threads, repeated, wide):
    # Distinct pairs must go to disk; a corpus that repeats itself collapses in memory.
    docs = random_corpus(3, n_docs=5000 if repeated else 20000, n_words=3000, zipf=False)
    if repeated:
        docs = docs * 4
    vocab = Vocab.build(docs, tokenizer=WS, specials=())
    R = reference(docs[:5000], vocab, 7) * 4 if repeated else reference(docs, vocab, 7)
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    # A tiny dense block and the smallest memory limit (about 2.2 million records of 8
    # bytes, or 12 when wide, go to the sparse blocks).
    limit = 16 << 20
    counter = cooc_module._count(docs, widened(vocab) if wide else vocab, WS, 7, True, True,
                                 threads, limit, str(spill_dir), False, dense_bytes=64)
    row, col, val = counter.to_coo(threads=threads)
    st = counter.stats()
    assert st["compactions"] > 0
    if repeated and threads == 1:
        assert st["spills"] == 0
    elif not repeated:
        assert st["spills"] > 0 and st["spilled_bytes"] > 0
    assert st["peak_bytes"] <= limit  # threads reserve memory for new blocks atomically
    # Compaction and spilling move records around; every pair update is still counted once.
    in_memory = cooc_module._count(docs, widened(vocab) if wide else vocab, WS, 7, True, True,
                                   threads, 1 << 30, str(spill_dir), False, dense_bytes=64)
    in_memory.to_coo(threads=threads)  # (stats are summed over the threads at the merge)
    st_mem = in_memory.stats()
    assert st_mem["compactions"] == st_mem["spills"] == 0
    for key in ("sparse_updates", "tokens", "documents"):
        assert st[key] == st_mem[key], key
    np.testing.assert_allclose(unpadded(row, col, val, len(vocab), wide), R, rtol=2e-6)
    assert os.listdir(spill_dir) == []  # spill files are unlinked as soon as created


def test_many_threads_under_a_small_limit_stay_under_it(tmp_path):
    # 4 threads' first sparse blocks take 16 MB of a 20 MB limit: the dense blocks must fit
    # in what is left, and the counts stay exact.
    docs = random_corpus(5, n_docs=3000, n_words=2000, zipf=True)
    vocab = Vocab.build(docs, tokenizer=WS, specials=())
    limit = 20 << 20
    counter = cooc_module._count(docs, vocab, WS, 5, True, True, 4, limit, str(tmp_path), False)
    row, col, val = counter.to_coo(threads=4)
    assert counter.stats()["peak_bytes"] <= limit
    got = sp.coo_matrix((val, (row, col)), shape=(len(vocab), len(vocab))).toarray()
    np.testing.assert_allclose(got, reference(docs, vocab, 5), rtol=1e-6)


@pytest.mark.parametrize("symmetric", [True, False])
def test_vocabulary_past_2_20_words_matches_reference(tmp_path, symmetric):
    # Ranks past 2^20: the records keep 64-bit keys; every pair is sparse (dense_bytes=64).
    docs = random_corpus(11, n_docs=500, n_words=300)
    vocab = Vocab.build(docs, tokenizer=WS, specials=())
    counter = cooc_module._count(docs, widened(vocab), WS, 5, symmetric, True, 2, "4GB", None,
                                 False, dense_bytes=64)
    row, col, val = counter.to_coo(threads=2)
    R = reference(docs, vocab, 5, symmetric)
    np.testing.assert_allclose(unpadded(row, col, val, len(vocab), True), R, rtol=1e-6, atol=0)
    assert len(val) == np.count_nonzero(R)
    # The reference-format file goes through the other merge (one entry at a time to a sink).
    path = tmp_path / "wide.bin"
    cooccurrence_to_file(docs, widened(vocab), path, tokenizer=WS, window=5, symmetric=symmetric,
                         num_threads=2, progress=False)
    Y = read_cooccurrence(path).tocoo()
    np.testing.assert_allclose(unpadded(Y.row, Y.col, Y.data, len(vocab), True), R, rtol=1e-6, atol=0)


def test_threads_agree(corpus_path):
    vocab = Vocab.build(corpus_path, min_count=2, specials=())
    one = dense(cooccurrence(corpus_path, vocab, num_threads=1, progress=False))
    two = dense(cooccurrence(corpus_path, vocab, num_threads=2, progress=False))
    np.testing.assert_allclose(one, two, rtol=1e-5)
    assert one.sum() > 0


def test_return_stats(corpus_lines):
    vocab = Vocab.build(corpus_lines, min_count=2)
    X, st = cooccurrence(corpus_lines, vocab, return_stats=True, progress=False)
    assert st["documents"] == len(corpus_lines)
    assert 0 < st["tokens"] <= sum(len(Tokenizer().tokenize(t)) for t in corpus_lines)
    assert st["spills"] == 0
    # The unknown-word special has no row or column.
    assert X.tocsr()[vocab["<unk>"]].nnz == 0


def test_reference_file_format_roundtrip(tmp_path):
    docs = random_corpus(11)
    vocab = Vocab.build(docs, tokenizer=WS, min_count=2, specials=())
    X = cooccurrence(docs, vocab, tokenizer=WS, window=5, progress=False)
    path = tmp_path / "cooccurrence.bin"
    st = cooccurrence_to_file(docs, vocab, path, tokenizer=WS, window=5, progress=False)
    assert st["records"] == X.nnz
    raw = np.fromfile(path, dtype=[("w1", "<i4"), ("w2", "<i4"), ("val", "<f8")])
    assert raw.size == X.nnz and raw["w1"].min() == 1 and raw["w2"].min() == 1  # ids from 1
    Y = read_cooccurrence(path, vocab_size=len(vocab))
    np.testing.assert_allclose(Y.toarray(), X.toarray(), rtol=1e-6)
    # A hand-written file in the reference format reads as expected.
    rec = np.array([(1, 2, 0.5), (2, 1, 0.5), (3, 3, 2.0)], dtype=raw.dtype)
    rec.tofile(tmp_path / "hand.bin")
    Z = read_cooccurrence(tmp_path / "hand.bin").toarray()
    assert Z.shape == (3, 3) and Z[0, 1] == 0.5 and Z[2, 2] == 2.0
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp")] == []


def test_reading_something_that_is_not_a_regular_file(tmp_path):
    with pytest.raises(ValueError, match="not a regular file"):
        read_cooccurrence("/dev/zero")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        read_cooccurrence(fifo)


def test_bad_input(tmp_path):
    vocab = Vocab(["a", "b"], specials=())
    with pytest.raises(ValueError, match="empty corpus"):
        cooccurrence([], vocab, progress=False)
    with pytest.raises(ValueError, match="no token of the corpus is in the vocabulary"):
        cooccurrence(["x y z"], vocab, progress=False)
    with pytest.raises(ValueError, match="window"):
        cooccurrence(["a b"], vocab, window=0, progress=False)
    with pytest.raises(ValueError, match="memory_limit"):
        cooccurrence(["a b"], vocab, memory_limit="1KB", progress=False)
    with pytest.raises(ValueError, match="cannot read the size"):
        cooccurrence(["a b"], vocab, memory_limit="lots", progress=False)
    with pytest.raises(ValueError, match="not a directory"):
        cooccurrence(["a b"], vocab, tmp_dir=str(tmp_path / "nope"), progress=False)
    with pytest.raises(ValueError, match="out of range"):
        cooccurrence([np.array([0, 5])], vocab, progress=False)
    with pytest.raises(ValueError, match="negative id"):
        cooccurrence([np.array([0, -3])], vocab, progress=False)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"a b\na \xff b\n")
    with pytest.raises(ValueError, match="line 2"):
        cooccurrence(str(bad), vocab, progress=False)
    with pytest.raises(FileNotFoundError):
        cooccurrence(str(tmp_path / "missing.txt"), vocab, progress=False)


def test_reader_rejects_malformed_files(tmp_path):
    rec = np.array([(1, 2, 0.5)], dtype=[("w1", "<i4"), ("w2", "<i4"), ("val", "<f8")])
    p = tmp_path / "x.bin"
    p.write_bytes(rec.tobytes()[:-3])
    with pytest.raises(ValueError, match="multiple of the 16-byte record"):
        read_cooccurrence(p)
    for bad, msg in [((0, 2, 1.0), "ids start at 1"), ((1, 2, -1.0), "positive, finite"),
                     ((1, 2, float("nan")), "positive, finite"), ((1, 2, 1e300), "within float32's range")]:
        np.array([bad], dtype=rec.dtype).tofile(p)
        with pytest.raises(ValueError, match=msg):
            read_cooccurrence(p)
    rec.tofile(p)
    with pytest.raises(ValueError, match="beyond the vocabulary size"):
        read_cooccurrence(p, vocab_size=1)


def test_a_failing_spill_is_a_clear_error_and_leaves_nothing(tmp_path):
    # A file-size limit makes the spill's writes fail (EFBIG), as a full disk would (ENOSPC).
    import subprocess
    import sys
    import textwrap

    spill = tmp_path / "spill"
    spill.mkdir()
    code = textwrap.dedent(f"""
        import random, resource, signal
        from pyfast_nlp import Tokenizer, Vocab
        from pyfast_nlp.embeddings import cooccur
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        rng = random.Random(0)
        words = [f"w{{i}}" for i in range(3000)]
        docs = [" ".join(rng.choice(words) for _ in range(30)) for _ in range(12000)]
        ws = Tokenizer(pattern="whitespace")
        vocab = Vocab.build(docs, tokenizer=ws, specials=())
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))
        try:
            cooccur._count(docs, vocab, ws, 7, True, True, 1, "16MB", {str(spill)!r}, False, dense_bytes=64)
        except OSError as e:  # with the errno, and the folder as its file name
            print("ERROR:", e.errno, e.filename, e)
    """)
    # The child imports the same pyfast_nlp as this process (installed, or a built tree).
    import pyfast_nlp

    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(pyfast_nlp.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(tmp_path), env=env)
    assert out.returncode == 0, out.stderr
    import errno

    assert f"ERROR: {errno.EFBIG} {spill} " in out.stdout and "spilling co-occurrence counts failed" in out.stdout
    assert "too large" in out.stdout
    assert os.listdir(spill) == []


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("n_shards", [1, 3, 7])
def test_row_shards_hold_the_matrix_in_float64(symmetric, n_shards):
    # the kernel the distributed counting emits partial counts with: row r in shard r % n_shards
    docs = random_corpus(5)
    vocab = Vocab.build(docs, tokenizer=WS, min_count=2, specials=())
    def counter():
        return cooc_module._count(docs, vocab, WS, 4, symmetric, True, 1, 1 << 30, None, False, dense_bytes=64)

    shards = counter().to_csr_shards(n_shards, threads=2)
    R = reference(docs, vocab, 4, symmetric)
    assert len(shards) == n_shards
    got = np.zeros_like(R)
    for s, (rows, indptr, indices, data) in enumerate(shards):
        assert rows == len(range(s, len(vocab), n_shards)) and len(indptr) == rows + 1
        assert data.dtype == np.float64 and indptr[-1] == len(indices) == len(data)
        for k in range(rows):
            cols = indices[indptr[k]:indptr[k + 1]]
            assert len(set(cols.tolist())) == len(cols)  # each entry once
            got[k * n_shards + s, cols] = data[indptr[k]:indptr[k + 1]]
    np.testing.assert_allclose(got, R, rtol=1e-6, atol=0)
    row, col, val = counter().to_coo(threads=1)  # the float32 matrix is these sums, rounded once
    np.testing.assert_array_equal(got[row, col].astype(np.float32), val)
    assert np.count_nonzero(got) == len(val)
    with pytest.raises(ValueError, match="n_shards"):
        counter().to_csr_shards(0)
