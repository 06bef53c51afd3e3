import os
import struct

import numpy as np
import pytest

from pyfast_nlp import WordVectors

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def random_vectors(n=300, dim=12, seed=0, words=None):
    rng = np.random.default_rng(seed)
    words = words or [f"w{i}" for i in range(n)]
    return WordVectors(words, rng.normal(size=(len(words), dim)).astype(np.float32))


def brute_top(wv, q, exclude, k):
    u = wv.vectors / np.linalg.norm(wv.vectors, axis=1, keepdims=True)
    s = u @ (q / np.linalg.norm(q))
    s[list(exclude)] = -np.inf
    return [wv.words[i] for i in np.argsort(-s, kind="stable")[:k]]


def test_queries_match_brute_force():
    wv = random_vectors()
    for w in ("w0", "w17", "w299"):
        got = [x for x, _ in wv.most_similar(w, topn=5)]
        assert got == brute_top(wv, wv[w], {wv.index(w)}, 5)
    batch = wv.most_similar_batch(["w1", "w2", wv["w3"]], topn=4)
    assert [x for x, _ in batch[0]] == brute_top(wv, wv["w1"], {1}, 4)
    assert [x for x, _ in batch[2]] == brute_top(wv, wv["w3"], set(), 4)  # a vector excludes nothing
    assert wv.similarity("w5", "w9") == pytest.approx(
        float(wv["w5"] @ wv["w9"] / np.linalg.norm(wv["w5"]) / np.linalg.norm(wv["w9"])), rel=1e-5)
    u = wv.unit_vectors
    a, b, c = 4, 8, 15
    assert wv.analogy("w4", "w8", "w15") == brute_top(wv, u[b] - u[a] + u[c], {a, b, c}, 1)[0]
    # 3CosMul by hand.
    cos = u @ u[[a, b, c]].T
    cm = (cos[:, 1] + 1) / 2 * (cos[:, 2] + 1) / 2 / ((cos[:, 0] + 1) / 2 + 1e-3)
    cm[[a, b, c]] = -np.inf
    assert wv.analogy("w4", "w8", "w15", method="mul") == wv.words[int(np.argmax(cm))]
    many = wv.analogy(["w4", "w1"], ["w8", "w2"], ["w15", "w3"])
    assert many[0] == wv.analogy("w4", "w8", "w15") and len(many) == 2


def test_study_notes_analogy_and_pca_picture(tmp_path):
    # man -> woman, king -> queen, uncle -> aunt: one shared "gender" offset.
    gender, royal, family = np.array([1.0, 0, 0, 0]), np.array([0, 1.0, 0, 0]), np.array([0, 0, 1.0, 0])
    base = np.array([0, 0, 0, 1.0])
    vecs = {"man": base, "woman": base + gender, "king": base + royal, "queen": base + royal + gender,
            "uncle": base + family, "aunt": base + family + gender}
    wv = WordVectors(list(vecs), np.array(list(vecs.values()), np.float32))
    assert wv.analogy("man", "woman", "king") == "queen"
    assert wv.analogy("man", "woman", "uncle") == "aunt"
    xy = wv.pca(list(vecs), 2)
    assert xy.shape == (6, 2)
    d1, d2 = xy[1] - xy[0], xy[3] - xy[2]
    np.testing.assert_allclose(d1, d2, atol=1e-6)  # parallel, equal arrows
    pytest.importorskip("matplotlib")
    path = wv.plot(list(vecs), tmp_path / "pca.png", pairs=[("man", "woman"), ("king", "queen"), ("uncle", "aunt")])
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", head[16:24])
    assert (w, h) == (700, 600)


def test_pca_matches_scikit_learn():
    sk = pytest.importorskip("sklearn.decomposition")
    wv = random_vectors(50, 8)
    words = wv.words[:20]
    ours = wv.pca(words, 3)
    ref = sk.PCA(3).fit_transform(np.stack([wv[w] for w in words]).astype(np.float64))
    for k in range(3):
        assert min(np.abs(ours[:, k] - ref[:, k]).max(), np.abs(ours[:, k] + ref[:, k]).max()) < 1e-5


@pytest.mark.parametrize("fmt", ["glove", "word2vec", "word2vec-binary", "npz"])
def test_file_round_trip(tmp_path, fmt):
    wv = random_vectors(words=["the", "Straße", "日本", "naïve", "x"] + [f"w{i}" for i in range(20)])
    wv.vectors[0, 0] = 1e-30  # extremes survive the shortest round-trip text form
    wv.vectors[1, 1] = -3.4e38
    ext = {"glove": ".txt", "word2vec": ".w2v.txt", "word2vec-binary": ".bin", "npz": ".npz"}[fmt]
    p = tmp_path / ("v" + ext)
    wv.save(p, format=fmt)
    back = WordVectors.load(p, format=fmt)
    assert back.words == wv.words
    np.testing.assert_array_equal(back.vectors, wv.vectors)
    if fmt != "npz":  # detected from the extension or the first line
        auto = WordVectors.load(p)
        assert auto.words == wv.words


# gensim 4.4's no_header reader leaves a file open (its bug, not ours).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_gensim_reads_ours_and_we_read_gensims(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    KV = gensim_models.KeyedVectors
    wv = random_vectors(40, 6, words=["é"] + [f"w{i}" for i in range(39)])
    for binary in (False, True):
        p = tmp_path / f"ours{int(binary)}"
        wv.save_word2vec(p, binary=binary)
        kv = KV.load_word2vec_format(str(p), binary=binary)
        assert list(kv.index_to_key) == wv.words
        np.testing.assert_array_equal(kv.vectors, wv.vectors)
        q = tmp_path / f"theirs{int(binary)}"
        kv.save_word2vec_format(str(q), binary=binary)
        back = WordVectors.load_word2vec(q, binary=binary)
        assert back.words == wv.words
        np.testing.assert_allclose(back.vectors, wv.vectors, rtol=1e-6)
    # GloVe text is gensim's no_header format.
    p = tmp_path / "glove.txt"
    wv.save_glove(p)
    kv = KV.load_word2vec_format(str(p), binary=False, no_header=True)
    np.testing.assert_array_equal(kv.vectors, wv.vectors)


def test_evaluation_matches_gensim(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    rng = np.random.default_rng(1)
    words = ["Athens", "athens", "Greece", "Paris", "France", "Rome", "Italy", "Berlin", "Germany",
             "man", "woman", "king", "queen", "boy", "girl"] + [f"w{i}" for i in range(60)]
    wv = WordVectors(words, rng.normal(size=(len(words), 8)).astype(np.float32))
    analog = tmp_path / "q.txt"
    analog.write_text(": capitals\nAthens Greece Paris France\nRome Italy Berlin Germany\n"
                      "Athens Greece Oslo Norway\nParis France Rome Italy\n"
                      ": gender\nman woman king queen\nboy girl man woman\nking queen boy girl\n"
                      "man woman w1 w2\nw3 w4 w5 w6\n", encoding="utf-8")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("# comment\nman\twoman\t8.3\nking\tqueen\t8.1\nboy\tgirl\t7.0\nman\tking\t5.5\n"
                     "Paris\tFrance\t7.7\nRome\tBerlin\t4.1\nzzz\tman\t1.0\nw1\tw2\t0.5\n", encoding="utf-8")
    kv = gensim_models.KeyedVectors(8)
    kv.add_vectors(words, wv.vectors)
    for restrict in (30000, 10):
        ours = wv.evaluate_analogies(analog, restrict_vocab=restrict)
        score, sections = kv.evaluate_word_analogies(str(analog), restrict_vocab=restrict)
        assert ours["accuracy"] == pytest.approx(score)
        total = sections[-1]
        assert ours["correct"] == len(total["correct"])
        for s in sections[:-1]:
            mine = ours["sections"][s["section"]]
            assert mine["correct"] == len(s["correct"]) and mine["total"] == len(s["correct"]) + len(s["incorrect"])
    ours = wv.evaluate_word_pairs(pairs)
    pearson, spearman, oov = kv.evaluate_word_pairs(str(pairs))
    assert ours["spearman"] == pytest.approx(spearman[0], abs=1e-6)
    assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert ours["oov"] == 1 and 100 * (1 - ours["coverage"]) == pytest.approx(oov)


def test_shared_sample_file():
    path = os.path.join(SHARED, "glove_sample_50d.txt")
    if not os.path.exists(path):
        pytest.skip("../shared/data is not here")
    wv = WordVectors.load_glove(path)
    assert wv.dim == 50 and len(wv) == 76
    assert wv.words[0] == "the" and wv["the"][0] == pytest.approx(0.418)


def test_malformed_files_name_the_line(tmp_path):
    p = tmp_path / "v.txt"
    cases = [
        ("a 1 2 3\nb 1 2\n", r"line 2: expected a word and 3 values, found 2 values \(truncated file\?\)"),
        ("a 1 2 3\nb 1 x 3\nc 1 2 3\n", "line 2: value 2 .'x'. is not a number"),
        ("a 1 2 3\nb 1 nan 3\n", "line 2: value 2 is not finite"),
        ("a 1 2 3\n\nb 1 2\nc 1 2 3\n", "line 3: expected"),
        ("", "no vectors"),
    ]
    for text, msg in cases:
        p.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=msg):
            WordVectors.load_glove(p)
    p.write_bytes(b"a 1 2\n\xff\xfe 1 2\n")
    with pytest.raises(ValueError, match="line 2: the word is not valid UTF-8"):
        WordVectors.load_glove(p)
    p.write_text("3 2\na 1 2\nb 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header says 3 words but the file has 2"):
        WordVectors.load_word2vec(p)
    p.write_text("two 2\na 1 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: expected a word2vec header"):
        WordVectors.load_word2vec(p)
    # Binary: truncated inside a vector, and a header promising more words.
    wv = random_vectors(5, 4)
    b = tmp_path / "v.bin"
    wv.save_word2vec(b, binary=True)
    data = b.read_bytes()
    b.write_bytes(data[:-7])
    with pytest.raises(ValueError, match="word 5 .*truncated"):
        WordVectors.load_word2vec(b, binary=True)
    b.write_bytes(b"9" + data[1:])
    with pytest.raises(ValueError, match="header says 9 words"):
        WordVectors.load_word2vec(b, binary=True)
    b.write_bytes(data + b"extra")
    with pytest.raises(ValueError, match="data after the 5 words"):
        WordVectors.load_word2vec(b, binary=True)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="2 words but 3 vectors"):
        WordVectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="not finite"):
        WordVectors(["a"], np.array([[np.nan, 1.0]]))
    wv = random_vectors(10, 3)
    with pytest.raises(KeyError, match="not in the vocabulary"):
        wv.most_similar("nope")
    with pytest.raises(ValueError, match="shape"):
        wv.most_similar(np.zeros(5))
    with pytest.raises(ValueError, match="method"):
        wv.analogy("w1", "w2", "w3", method="x")
    bad = WordVectors(["two words"], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="whitespace"):
        bad.save_glove(tmp_path / "x.txt")
    assert not os.path.exists(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError):
        WordVectors.load(tmp_path / "missing.txt")


def test_truncated_npz_files_are_a_clear_error(tmp_path):
    from pyfast_nlp import GloVe

    wv = WordVectors(["a", "b"], np.eye(2, dtype=np.float32))
    path = tmp_path / "v.npz"
    wv.save_npz(path)
    data = path.read_bytes()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a word-vectors"):
        WordVectors.load_npz(bad)
    with pytest.raises(ValueError, match="not a saved GloVe"):
        GloVe.load(bad)


def test_duplicate_words(tmp_path):
    vec = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match="'a' is given twice \\(rows 0 and 2\\)"):
        WordVectors(["a", "b", "a"], vec)
    wv = WordVectors(["a", "b", "a"], vec, duplicates="first")
    assert np.array_equal(wv["a"], vec[0])
    p = tmp_path / "v.txt"
    p.write_text("a 1 0 0\nb 0 1 0\na 0 0 1\n", encoding="utf-8")  # published files hold a few
    assert np.array_equal(WordVectors.load(p)["a"], vec[0])


# ---------------------------------------------------------------------- gensim's KeyedVectors vocabulary
def test_most_similar_positive_negative_by_hand():
    wv = random_vectors()
    u = wv.unit_vectors
    q = u[1] + u[2] - u[3]
    got = wv.most_similar(positive=["w1", "w2"], negative=["w3"], topn=5)
    assert [w for w, _ in got] == brute_top(wv, q, {1, 2, 3}, 5)
    assert got[0][1] == pytest.approx(float(u[wv.index(got[0][0])] @ (q / np.linalg.norm(q))), rel=1e-5)
    sims = wv.most_similar("w4", topn=None)
    assert sims.shape == (len(wv),) and sims[4] == pytest.approx(1.0, abs=1e-6)
    assert [w for w, _ in wv.most_similar(negative="w5", topn=2)] == brute_top(wv, -u[5], {5}, 2)
    with pytest.raises(ValueError, match="at least one"):
        wv.most_similar()
    with pytest.raises(KeyError):
        wv.most_similar(positive=["w1"], negative=["nope"])


def test_keyed_vectors_names():
    wv = random_vectors(n=20, dim=5)
    assert wv.vector_size == 5 and wv.index_to_key[3] == "w3" and wv.key_to_index["w7"] == 7
    np.testing.assert_array_equal(wv.get_vector("w2"), wv.vectors[2])
    assert np.linalg.norm(wv.get_vector("w2", norm=True)) == pytest.approx(1.0, rel=1e-6)
    assert wv.get_index("w9") == 9 and wv.get_index("zz", default=-1) == -1 and wv.has_index_for("w1")
    with pytest.raises(KeyError):
        wv.get_vector("zz")
    with pytest.warns(UserWarning, match="zz"):
        assert wv.doesnt_match(["w1", "w1", "w2", "zz"]) in ("w1", "w2")


def test_gensim_agrees_and_round_trips():
    pytest.importorskip("gensim")
    wv = random_vectors(n=200, dim=10, seed=3)
    kv = wv.to_gensim()
    assert list(kv.index_to_key) == wv.words
    np.testing.assert_array_equal(kv.vectors, wv.vectors)
    ours = wv.most_similar(positive=["w1", "w2"], negative=["w3"], topn=10)
    theirs = kv.most_similar(positive=["w1", "w2"], negative=["w3"], topn=10)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    np.testing.assert_allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-5)
    assert wv.doesnt_match(["w1", "w2", "w3", "w4"]) == kv.doesnt_match(["w1", "w2", "w3", "w4"])
    back = WordVectors.from_gensim(kv)
    assert back.words == wv.words
    np.testing.assert_array_equal(back.vectors, wv.vectors)
    with pytest.raises(TypeError):
        WordVectors.from_gensim(object())


def test_npy_format_memory_maps(tmp_path):
    wv = random_vectors(n=50, dim=6, words=[f"w{i}" for i in range(49)] + ["ünï cödé"])
    p = tmp_path / "v.npy"
    wv.save(p)
    assert (tmp_path / "v.words.txt").exists()
    m = WordVectors.load(p, mmap="r")
    assert m.words == wv.words
    np.testing.assert_array_equal(m.vectors, wv.vectors)
    assert isinstance(m.vectors.base, np.memmap) or isinstance(m.vectors, np.memmap)
    assert not m.vectors.flags.writeable
    assert m.most_similar("w3", topn=3) == wv.most_similar("w3", topn=3)
    plain = WordVectors.load(p)
    assert not isinstance(plain.vectors, np.memmap)
    # a word list that does not match the matrix, a missing one, a damaged matrix
    words = (tmp_path / "v.words.txt").read_text(encoding="utf-8").splitlines()
    (tmp_path / "v.words.txt").write_text("\n".join(words[:-3]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="47 words but .* 50 rows"):
        WordVectors.load(p, mmap="r")
    os.remove(tmp_path / "v.words.txt")
    with pytest.raises(FileNotFoundError):
        WordVectors.load(p)
    wv.save(p)
    p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable .npy"):
        WordVectors.load(p)
    with pytest.raises(ValueError, match="mmap needs the .npy format"):
        WordVectors.load(tmp_path / "x.npz", mmap="r")
    with pytest.raises(ValueError, match="line break"):
        WordVectors(["a\nb"], np.ones((1, 2), np.float32)).save(tmp_path / "w.npy")
