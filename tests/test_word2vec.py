"""word2vec: the C++ trainer against a plain Python re-implementation of the same algorithm (same
random streams), the update against the gradient, the noise and subsampling distributions, gensim
as an oracle of quality, files, continued training and bad input."""
import math
import os

import numpy as np
import pytest

from pyfast_nlp import Tokenizer, Word2Vec, WordVectors, _core
from pyfast_nlp.embeddings import word2vec as w2v_module

M64 = (1 << 64) - 1


# ---------------------------------------------------------------------- the plain reference
class RefRng:
    """splitmix64, as the kernel's per-chunk streams."""

    def __init__(self, s):
        self.s = s & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def below(self, n):
        return ((self.next() >> 32) * n) >> 32


def ref_mix(a, b):
    r = RefRng(a ^ ((b * 0xD1B54A32D192ED03) & M64))
    r.next()
    return r.next()


SIG = np.array([1 / (1 + math.exp(-((i / 1000 * 2 - 1) * 6))) for i in range(1001)], dtype=np.float32)
NLOGSIG = np.array([math.log1p(math.exp(-((i / 1000 * 2 - 1) * 6))) for i in range(1001)], dtype=np.float32)
SCALE = np.float32(np.float32(1000) / np.float32(6)) / np.float32(2)


def grid(f):
    return int(np.float32(np.float32(f) + np.float32(6)) * SCALE)


def ref_update(l1, neu1e, syn1, targets, alpha):
    loss = 0.0
    alpha = np.float32(alpha)
    for d, t in enumerate(targets):
        if d > 0 and t == targets[0]:
            continue
        s1 = syn1[t]
        f = np.float32(np.dot(l1.astype(np.float64), s1.astype(np.float64)))
        label = np.float32(1.0 if d == 0 else 0.0)
        if f >= 6:
            g = (label - np.float32(1)) * alpha
        elif f <= -6:
            g = label * alpha
        else:
            g = (label - SIG[grid(f)]) * alpha
        x = f if d == 0 else -f
        loss += 0.0 if x >= 6 else (-float(x) if x <= -6 else float(NLOGSIG[grid(x)]))
        neu1e += np.float32(g) * s1
        s1 += np.float32(g) * l1
    return loss


def ref_train(syn0, syn1, docs, cfg, noise, keep, words_before, total, seed):
    """One call of the kernel on documents of ids that fit one chunk (under 10,000 words)."""
    thr, alias = noise
    V = len(thr)
    dim, window, neg = cfg["dim"], cfg["window"], cfg["negative"]
    pos = words_before
    alpha = max(np.float32(cfg["alpha"] - (cfg["alpha"] - cfg["min_alpha"]) * (pos / total)),
                np.float32(cfg["min_alpha"]))
    rng = RefRng(ref_mix(seed, pos))
    loss = 0.0

    def draw():
        r = rng.next()
        i = ((r >> 32) * V) >> 32
        return i if (r & 0xFFFFFFFF) < thr[i] else int(alias[i])

    for doc in docs:
        sent = [w for w in doc if not ((rng.next() & 0xFFFFFFFF) > keep[w])]
        n = len(sent)
        slots = [[0] * (neg + 1) for _ in range(3)]
        for a in range(2):
            slots[a][1:] = [draw() for _ in range(neg)]
        cur = 0

        def draw_next():
            slots[(cur + 2) % 3][1:] = [draw() for _ in range(neg)]

        for i in range(n):
            red = rng.below(window) if cfg["shrink_windows"] else 0
            lo, hi = max(0, i - window + red), min(n, i + window + 1 - red)
            if cfg["sg"]:
                for j in range(lo, hi):
                    if j == i:
                        continue
                    draw_next()
                    tg = slots[cur]
                    tg[0] = sent[i]
                    neu1e = np.zeros(dim, np.float32)
                    loss += ref_update(syn0[sent[j]], neu1e, syn1, list(tg), alpha)
                    syn0[sent[j]] += neu1e
                    cur = (cur + 1) % 3
            else:
                if hi - lo <= 1:
                    continue
                draw_next()
                tg = slots[cur]
                tg[0] = sent[i]
                neu1 = np.zeros(dim, np.float32)
                ctx = [j for j in range(lo, hi) if j != i]
                for j in ctx:
                    neu1 += syn0[sent[j]]
                inv = np.float32(1) / np.float32(len(ctx))
                if cfg["cbow_mean"]:
                    neu1 *= inv
                neu1e = np.zeros(dim, np.float32)
                loss += ref_update(neu1, neu1e, syn1, list(tg), alpha)
                if not cfg["cbow_mean"]:
                    neu1e *= inv
                for j in ctx:
                    syn0[sent[j]] += neu1e
                cur = (cur + 1) % 3
    return loss


def corpus(n_docs=60, seed=0):
    """Documents from 4 topics of 6 words each plus shared function words."""
    rng = np.random.default_rng(seed)
    topics = [[f"t{k}w{i}" for i in range(6)] for k in range(4)]
    glue = ["the", "of", "and"]
    docs = []
    for d in range(n_docs):
        words = topics[d % 4] + glue
        docs.append(" ".join(rng.choice(words, size=int(rng.integers(3, 12)))))
    return docs


@pytest.mark.parametrize("sg,dim,cbow_mean,sample,shrink", [
    (1, 7, True, 0.0, True), (0, 7, True, 0.0, True), (0, 7, False, 1e-2, True),
    (1, 50, True, 1e-2, False), (0, 100, True, 1e-2, True), (1, 100, True, 0.0, True),
])
def test_trainer_equals_the_plain_reference(sg, dim, cbow_mean, sample, shrink):
    """Every update, random draw and learning rate of two epochs, one thread, replayed in Python.
    Dims 50 and 100 run the kernel's fixed-size loops, 7 the general one."""
    docs = corpus()
    params = dict(vector_size=dim, window=3, min_count=1, sg=sg, negative=4, sample=sample, alpha=0.05,
                  min_alpha=0.001, cbow_mean=cbow_mean, shrink_windows=shrink, num_threads=1, seed=7)
    start = Word2Vec(**params, epochs=0).fit(docs, progress=False)
    model = Word2Vec(**params, epochs=2).fit(docs, progress=False)
    vocab = start.vocabulary_
    ids = [vocab.encode(Tokenizer().tokenize(d), unknown="drop").tolist() for d in docs]
    n_words = sum(map(len, ids))
    assert n_words < 10000  # one chunk per call
    syn0 = start.wv.vectors.copy()
    syn1 = np.zeros_like(syn0)
    noise = _core.NoiseTable(vocab.counts, 0.75).arrays()
    keep = _core.word2vec_keep(vocab.counts, sample)
    cfg = dict(dim=dim, window=3, negative=4, sg=sg, cbow_mean=cbow_mean, shrink_windows=shrink, alpha=0.05,
               min_alpha=0.001)
    losses = [ref_train(syn0, syn1, ids, cfg, noise, keep, e * n_words, 2 * n_words, 7) for e in range(2)]
    np.testing.assert_allclose(model.wv.vectors, syn0, rtol=0, atol=1e-4)  # float sums in another order
    np.testing.assert_allclose(model.syn1neg, syn1, rtol=0, atol=1e-4)
    examples = [s["examples"] for s in model.epoch_stats_]
    np.testing.assert_allclose([s["loss"] for s in model.epoch_stats_], losses, rtol=1e-4)
    assert model.loss_history_ == pytest.approx([lo / ex for lo, ex in zip(losses, examples)], rel=1e-4)


def test_update_is_a_gradient_step():
    """neu1e and the output rows move by -alpha times the float64 gradient of
    -log s(l1.s_pos) - sum log s(-l1.s_neg), to the sigmoid table's resolution."""
    rng = np.random.default_rng(1)
    dim = 9
    l1 = rng.normal(0, 0.4, dim).astype(np.float32)
    syn1 = rng.normal(0, 0.4, (6, dim)).astype(np.float32)
    targets = np.array([2, 0, 4, 5], np.int32)
    alpha = 0.1
    neu1e = np.zeros(dim, np.float32)
    s = syn1.copy()
    loss = _core.word2vec_update(l1, neu1e, s, targets, alpha)
    x = l1.astype(np.float64)
    S = syn1.astype(np.float64)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    grad_x = np.zeros(dim)
    want = S.copy()
    exact = 0.0
    for d, t in enumerate(targets):
        label = 1.0 if d == 0 else 0.0
        f = x @ S[t]
        exact += -math.log(sig(f) if d == 0 else sig(-f))
        grad_x += (sig(f) - label) * S[t]
        want[t] -= alpha * (sig(f) - label) * x
    np.testing.assert_allclose(neu1e, -alpha * grad_x, atol=alpha * 0.01 * 4)
    np.testing.assert_allclose(s, want, atol=alpha * 0.01)
    assert loss == pytest.approx(exact, abs=0.05)
    # a noise word equal to the positive word is skipped
    neu1e2 = np.zeros(dim, np.float32)
    s2 = syn1.copy()
    _core.word2vec_update(l1, neu1e2, s2, np.array([2, 2, 2], np.int32), alpha)
    neu1e3 = np.zeros(dim, np.float32)
    s3 = syn1.copy()
    _core.word2vec_update(l1, neu1e3, s3, np.array([2], np.int32), alpha)
    np.testing.assert_array_equal(neu1e2, neu1e3)
    np.testing.assert_array_equal(s2, s3)


def test_sigmoid_table_and_clipping():
    assert _core.word2vec_sigmoid(0.0) == pytest.approx(0.5, abs=0.004)
    assert _core.word2vec_sigmoid(6.0) == 1.0 and _core.word2vec_sigmoid(-7.0) == 0.0
    for f in np.linspace(-5.9, 5.9, 41):
        assert _core.word2vec_sigmoid(float(f)) == pytest.approx(1 / (1 + math.exp(-f)), abs=0.004)


def test_noise_distribution_is_count_to_the_power():
    counts = np.array([1000, 500, 200, 50, 10, 3, 1, 0, 7], np.int64)
    table = _core.NoiseTable(counts, 0.75)
    n = 2_000_000
    draws = table.draw(n, 3)
    freq = np.bincount(draws, minlength=len(counts)) / n
    want = counts ** 0.75 / (counts ** 0.75).sum()
    assert np.all(np.abs(freq - want) <= 4 * np.sqrt(want * (1 - want) / n) + 1e-6), (freq, want)
    assert freq[7] == 0  # a word never seen is never noise
    uniform = _core.NoiseTable(counts, 0.0).draw(200_000, 4)
    assert abs(np.bincount(uniform, minlength=9)[7] / 200_000 - 1 / 9) < 0.01


def test_subsampling_thresholds_follow_the_formula():
    counts = np.array([100000, 10000, 1000, 10, 0], np.int64)
    keep = _core.word2vec_keep(counts, 1e-3)
    t = 1e-3 * counts.sum()
    for c, k in zip(counts[:4], keep[:4]):
        p = min(1.0, (math.sqrt(c / t) + 1) * t / c)
        assert k / 2 ** 32 == pytest.approx(p, abs=1e-9) or (p == 1 and k == 2 ** 32 - 1)
    assert (_core.word2vec_keep(counts, 0.0) == 2 ** 32 - 1).all()


# ---------------------------------------------------------------------- behaviour
def topic_accuracy(wv, topn=3):
    words = [w for w in wv.index_to_key if w.startswith("t")]
    hits = 0
    for w in words:
        near = [x for x, _ in wv.most_similar(w, topn=topn)]
        hits += sum(x[:2] == w[:2] for x in near)
    return hits / (topn * len(words))


@pytest.mark.parametrize("sg", [0, 1])
def test_learns_topics_and_the_loss_falls(sg):
    docs = corpus(800, seed=2)
    model = Word2Vec(vector_size=20, window=4, min_count=1, sg=sg, epochs=8, sample=0, num_threads=2, seed=3)
    model.fit(docs, progress=False)
    assert model.loss_history_[-1] < model.loss_history_[0]
    assert topic_accuracy(model.wv) > 0.8


def test_one_thread_is_reproducible_and_the_seed_matters():
    docs = corpus(300)
    a = Word2Vec(vector_size=16, min_count=1, epochs=2, num_threads=1, seed=5).fit(docs, progress=False)
    b = Word2Vec(vector_size=16, min_count=1, epochs=2, num_threads=1, seed=5).fit(docs, progress=False)
    c = Word2Vec(vector_size=16, min_count=1, epochs=2, num_threads=1, seed=6).fit(docs, progress=False)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    np.testing.assert_array_equal(a.syn1neg, b.syn1neg)
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)


def test_corpus_kinds_give_the_same_model(tmp_path):
    """A path, a list, a generator (spooled to a temporary file) and token lists: one model."""
    docs = corpus(200)
    path = tmp_path / "c.txt"
    path.write_text("\n".join(docs) + "\n", encoding="utf-8")
    kw = dict(vector_size=12, min_count=2, epochs=2, num_threads=1, seed=9)
    ref = Word2Vec(**kw).fit(docs, progress=False)
    tok = Tokenizer()
    for c in (str(path), path, (d for d in docs), [tok.tokenize(d) for d in docs],
              (tok.tokenize(d) for d in docs)):
        got = Word2Vec(**kw).fit(c, progress=False)
        assert got.wv.index_to_key == ref.wv.index_to_key
        np.testing.assert_array_equal(got.wv.vectors, ref.wv.vectors)
    leftover = [f for f in os.listdir(os.path.dirname(w2v_module.tempfile.mkdtemp())) if f.startswith("pyfast_nlp-w2v-")]
    assert leftover == []


def test_ids_spilled_to_disk_train_the_same(monkeypatch):
    docs = corpus(300)
    kw = dict(vector_size=12, min_count=1, epochs=2, num_threads=1, seed=4)
    ref = Word2Vec(**kw).fit(docs, progress=False)
    monkeypatch.setattr(w2v_module, "memory_budget", lambda: 64)  # a quarter: 16 bytes, so every batch spills
    spilled = []
    orig = w2v_module._IdStore._write

    def spy(self, ids, ends):
        spilled.append(len(ids))
        return orig(self, ids, ends)

    monkeypatch.setattr(w2v_module._IdStore, "_write", spy)
    got = Word2Vec(**kw).fit(docs, progress=False)
    assert sum(spilled) > 0
    assert got.wv.index_to_key == ref.wv.index_to_key
    np.testing.assert_array_equal(got.wv.vectors, ref.wv.vectors)


def test_vocabulary_rules():
    docs = ["a b c a b a d d d d"] * 3
    tok = Tokenizer(min_token_len=1)
    m = Word2Vec(vector_size=4, min_count=4, epochs=1, tokenizer=tok).fit(docs, progress=False)
    assert m.wv.index_to_key == ["d", "a", "b"]  # count 12, 9, 6; "c" (3) below min_count
    assert m.vocabulary_.counts.tolist() == [12, 9, 6]
    m = Word2Vec(vector_size=4, min_count=1, max_vocab_size=2, epochs=1, tokenizer=tok).fit(docs, progress=False)
    assert m.wv.index_to_key == ["d", "a"]


def test_save_load_and_continue(tmp_path):
    docs = corpus(300)
    m = Word2Vec(vector_size=10, min_count=1, epochs=2, num_threads=1, seed=2).fit(docs, progress=False)
    p = tmp_path / "m.npz"
    m.save(p)
    back = Word2Vec.load(p)
    np.testing.assert_array_equal(back.wv.vectors, m.wv.vectors)
    np.testing.assert_array_equal(back.syn1neg, m.syn1neg)
    assert back.get_params() == {**m.get_params(), "tokenizer": None}
    assert back.epochs_done_ == 2 and back.loss_history_ == m.loss_history_
    # continuing from the file equals continuing in memory
    m.fit(docs, progress=False)
    back.fit(docs, progress=False)
    np.testing.assert_array_equal(back.wv.vectors, m.wv.vectors)
    assert back.epochs_done_ == 4 and len(back.loss_history_) == 4


def test_update_true_adds_words():
    m = Word2Vec(vector_size=8, min_count=1, epochs=1, sample=0, num_threads=1).fit(["alpha beta gamma"] * 20,
                                                                             progress=False)
    old = m.wv.vectors.copy()
    m.fit(["delta beta epsilon"] * 20, progress=False)  # update=False: new words ignored
    assert "delta" not in m.wv
    m.fit(["delta beta epsilon"] * 20, update=True, progress=False)
    assert "delta" in m.wv and "epsilon" in m.wv and m.wv.index_to_key[:3] == ["alpha", "beta", "gamma"]
    assert m.vocabulary_.counts[m.wv.key_to_index["beta"]] == 40  # the update=False pass is not counted
    assert not np.array_equal(m.wv.vectors[:3], old)


def test_callback_can_stop_and_sees_each_epoch():
    seen = []
    m = Word2Vec(vector_size=8, min_count=1, epochs=5).fit(
        corpus(100), progress=False, callback=lambda e, loss: seen.append((e, loss)) or e == 2)
    assert [e for e, _ in seen] == [1, 2] and m.epochs_done_ == 2
    assert all(math.isfinite(x) for _, x in seen)


def test_output_vectors_and_word_vectors_interface():
    m = Word2Vec(vector_size=8, min_count=1, epochs=1).fit(corpus(50), progress=False)
    assert m.syn1neg.shape == (len(m.wv), 8)
    assert isinstance(m.wv, WordVectors) and m.wv.vector_size == 8


# ---------------------------------------------------------------------- gensim as an oracle
def test_quality_matches_gensim_on_planted_topics():
    pytest.importorskip("gensim")
    from gensim.models import Word2Vec as GWord2Vec

    docs = corpus(1500, seed=11)
    toks = [d.split() for d in docs]
    for sg in (0, 1):
        ours = Word2Vec(vector_size=20, window=4, min_count=1, sg=sg, epochs=5, num_threads=1, seed=1)
        ours.fit(toks, progress=False)
        theirs = GWord2Vec(toks, vector_size=20, window=4, min_count=1, sg=sg, epochs=5, workers=1, seed=1)
        a, b = topic_accuracy(ours.wv), topic_accuracy(WordVectors.from_gensim(theirs.wv))
        assert a >= b - 0.05, (sg, a, b)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw,match", [
    (dict(window=0), "window"), (dict(negative=-1), "negative"), (dict(negative=0), "hierarchical softmax"),
    (dict(sg=2), "sg must be 0"), (dict(sample=-0.1), "sample"), (dict(vector_size=0), "vector_size"),
    (dict(min_count=0), "min_count"), (dict(alpha=float("nan")), "alpha"), (dict(min_alpha=1.0), "min_alpha"),
    (dict(epochs=-1), "epochs"), (dict(max_vocab_size=0), "max_vocab_size"), (dict(num_threads=0), "num_threads"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        Word2Vec(**kw).fit(["a text of words"] * 5, progress=False)


def test_bad_corpora(tmp_path):
    with pytest.raises(ValueError, match="empty corpus"):
        Word2Vec().fit([], progress=False)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty corpus"):
        Word2Vec().fit(empty, progress=False)
    with pytest.raises(ValueError, match="min_count=5"):
        Word2Vec(min_count=5).fit(["rare words only here"], progress=False)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"good words here\n\xff\xfe broken\n")
    with pytest.raises(ValueError, match="line 2"):
        Word2Vec(min_count=1).fit(bad, progress=False)
    with pytest.raises(TypeError):
        Word2Vec(min_count=1).fit([np.array([1, 2, 3])], progress=False)
    with pytest.raises(FileNotFoundError):
        Word2Vec().fit(tmp_path / "missing.txt", progress=False)


def test_unfitted_and_update_without_model():
    from pyfast_nlp.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Word2Vec().wv
    with pytest.raises(ValueError, match="not trained"):
        Word2Vec(min_count=1).fit(["a b c"], update=True, progress=False)


def test_damaged_files_are_refused_and_good_files_kept(tmp_path):
    m = Word2Vec(vector_size=6, min_count=1, epochs=1).fit(corpus(40), progress=False)
    p = tmp_path / "m.npz"
    m.save(p)
    good = p.read_bytes()
    # truncated
    t = tmp_path / "t.npz"
    t.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError):
        Word2Vec.load(t)
    # NaN inside a saved file
    import zipfile
    n = tmp_path / "nan.npz"
    with np.load(p) as z:
        arrays = dict(z)
    arrays["syn0"][0, 0] = np.nan
    np.savez(n, **arrays)
    with pytest.raises(ValueError, match="NaN"):
        Word2Vec.load(n)
    assert zipfile.is_zipfile(n)
    # a model holding NaN is not saved over a good file
    m.syn0_[1, 0] = np.inf
    with pytest.raises(FloatingPointError):
        m.save(p)
    assert p.read_bytes() == good
    # a GloVe model file is not a word2vec model
    with pytest.raises(ValueError):
        Word2Vec.load(tmp_path / "t.npz")


def test_divergence_restores_the_last_good_epoch():
    docs = corpus(200)
    m = Word2Vec(vector_size=8, min_count=1, epochs=1, num_threads=1, seed=1).fit(docs, progress=False)
    good = m.wv.vectors.copy()
    m.alpha = 1e30
    with pytest.raises(FloatingPointError, match="diverged"):
        m.fit(docs, progress=False)
    np.testing.assert_array_equal(m.wv.vectors, good)
    assert m.epochs_done_ == 1


def test_kernel_refuses_out_of_range_ids():
    counts = np.array([3, 2], np.int64)
    syn = np.zeros((2, 16), np.float32)
    with pytest.raises(ValueError, match="out of range"):
        _core.word2vec_train(syn, syn.copy(), np.array([0, 5], np.int32), np.array([2], np.int64),
                             _core.NoiseTable(counts, 0.75), _core.word2vec_keep(counts, 0.0), dim=4, window=2,
                             negative=2, sg=True, cbow_mean=True, shrink_windows=True, alpha=0.1, min_alpha=0.0,
                             threads=1, words_before=0, total_words=2, seed=1)
    with pytest.raises(TypeError, match="float32"):
        _core.word2vec_train(syn.astype(np.float64), syn, np.array([0], np.int32), np.array([1], np.int64),
                             _core.NoiseTable(counts, 0.75), _core.word2vec_keep(counts, 0.0), dim=4, window=2,
                             negative=2, sg=True, cbow_mean=True, shrink_windows=True, alpha=0.1, min_alpha=0.0,
                             threads=1, words_before=0, total_words=2, seed=1)
