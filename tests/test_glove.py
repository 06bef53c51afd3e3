import numpy as np
import pytest
import scipy.sparse as sp

from pyfast_nlp import GloVe, NotFittedError, Vocab, WordVectors, _core, cooccurrence


def blocks(params, n, dim):
    """Split the kernel's parameter blocks: w (2n, dim), AdaGrad sums, bias, bias sums."""
    return (params[:, :dim].copy(), params[:, dim + 1:2 * dim + 1].copy(),
            params[:, dim].copy(), params[:, 2 * dim + 1].copy())


def numpy_epoch(w, g, b, gb, n, i_idx, j_idx, logx, fx, eta, clip=100.0):
    """The reference tool's per-record AdaGrad update, serially, in float32."""
    cost = 0.0
    f32 = np.float32
    for i, j, lx, f in zip(i_idx, j_idx, logx, fx):
        jc = n + j
        diff = f32(np.dot(w[i].astype(np.float64), w[jc].astype(np.float64)) + b[i] + b[jc] - lx)
        fdiff = f32(f * diff)
        cost += 0.5 * float(fdiff) * float(diff)
        fdiff = f32(fdiff * f32(eta))
        t1 = np.clip(fdiff * w[jc], -clip, clip).astype(np.float32)
        t2 = np.clip(fdiff * w[i], -clip, clip).astype(np.float32)
        u1 = t1 / np.sqrt(g[i])
        u2 = t2 / np.sqrt(g[jc])
        g[i] += t1 * t1
        g[jc] += t2 * t2
        w[i] -= u1
        w[jc] -= u2
        ub1, ub2 = fdiff / np.sqrt(gb[i]), fdiff / np.sqrt(gb[jc])
        b[i] -= ub1
        b[jc] -= ub2
        gb[i] += fdiff * fdiff
        gb[jc] += fdiff * fdiff
    return cost / len(i_idx)


def small_problem(seed=0, n=30, density=0.3):
    rng = np.random.default_rng(seed)
    X = sp.random(n, n, density=density, random_state=rng, data_rvs=lambda k: rng.uniform(0.2, 300, k))
    X = (X + X.T).tocoo()
    return X.astype(np.float32), [f"w{i}" for i in range(n)]


def test_initialisation_is_the_references():
    n, dim = 50, 10
    params = np.empty((2 * n, _core.glove_block(dim)), np.float32)
    _core.glove_init(params, vocab_size=n, dim=dim, seed=3)
    w, g, b, gb = blocks(params, n, dim)
    assert np.all(np.abs(w) < 0.5 / dim) and np.all(np.abs(b) < 0.5 / dim)
    assert w.std() > 0.2 / dim  # spread over the interval, not constant
    assert np.all(g == 1) and np.all(gb == 1)
    assert params.shape[1] % 16 == 0 and np.all(params[:, 2 * dim + 2:] == 0)  # padding


@pytest.mark.parametrize("dim", [1, 7, 16, 33])
def test_epochs_match_numpy_reference(dim):
    X, words = small_problem(dim)
    model = GloVe(dim=dim, epochs=0, num_threads=1, learning_rate=0.05, seed=5, order="shuffle")
    model.fit(X, words, progress=False)
    n = len(words)
    w, g, b, gb = blocks(model.params_, n, dim)
    rec = model._rec.arrays()
    assert len(rec[0]) == X.nnz
    for _ in range(3):
        ref_loss = numpy_epoch(w, g, b, gb, n, *rec, eta=0.05)
        model.partial_fit(X, epochs=1, progress=False)
        np.testing.assert_allclose(model.loss_history_[-1], ref_loss, rtol=1e-4)
    kw, kg, kb, kgb = blocks(model.params_, n, dim)
    np.testing.assert_allclose(kw, w, rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(kg, g, rtol=2e-4)
    np.testing.assert_allclose(kb, b, rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(kgb, gb, rtol=2e-4)


def test_first_update_is_minus_eta_times_the_gradient():
    # One record, fresh AdaGrad sums (1): the step is -eta * dJ/dtheta. Check it against
    # central finite differences of J = 1/2 f(x) (w.c + b + b~ - log x)^2 in float64.
    dim, x, eta, x_max, alpha = 6, 7.0, 0.05, 100.0, 0.75
    X = sp.coo_matrix(([x], ([0], [1])), shape=(2, 2), dtype=np.float32)
    model = GloVe(dim=dim, epochs=0, num_threads=1, learning_rate=eta, seed=1).fit(X, ["a", "b"], progress=False)
    w0, _, b0, _ = blocks(model.params_, 2, dim)
    model.partial_fit(X, epochs=1, progress=False)
    w1, _, b1, _ = blocks(model.params_, 2, dim)
    theta0 = np.concatenate([w0[0], w0[3], [b0[0], b0[3]]]).astype(np.float64)  # w_a, c_b, b_a, b~_b
    f = min(1.0, (x / x_max) ** alpha)

    def J(t):
        wa, cb, ba, bb = t[:dim], t[dim:2 * dim], t[-2], t[-1]
        return 0.5 * f * (wa @ cb + ba + bb - np.log(x)) ** 2

    h = 1e-6
    grad = np.array([(J(theta0 + h * e) - J(theta0 - h * e)) / (2 * h) for e in np.eye(len(theta0))])
    step = np.concatenate([w1[0], w1[3], [b1[0], b1[3]]]) - theta0
    np.testing.assert_allclose(step, -eta * grad, rtol=1e-3, atol=1e-8)  # float32 steps
    assert model.loss_history_[0] == pytest.approx(J(theta0), rel=1e-5)


@pytest.mark.parametrize("order", ["shuffle", "blocked"])
def test_deterministic_with_one_thread_and_seed(order):
    X, words = small_problem(1)
    a = GloVe(dim=8, epochs=3, num_threads=1, seed=4, order=order).fit(X, words, progress=False)
    b = GloVe(dim=8, epochs=3, num_threads=1, seed=4, order=order).fit(X, words, progress=False)
    c = GloVe(dim=8, epochs=3, num_threads=1, seed=5, order=order).fit(X, words, progress=False)
    np.testing.assert_array_equal(a.params_, b.params_)
    assert a.loss_history_ == b.loss_history_
    assert not np.array_equal(a.params_, c.params_)


def test_blocked_order_visits_every_record_once_per_epoch():
    X, words = small_problem(6, n=3000, density=0.002)
    model = GloVe(dim=100, epochs=0, order="blocked", num_threads=1).fit(X, words, progress=False)
    rec = model._rec.arrays()
    coo = X.tocoo()
    assert sorted(zip(rec[0].tolist(), rec[1].tolist())) == sorted(zip(coo.row.tolist(), coo.col.tolist()))
    assert model._rec.tile_sizes().sum() == X.nnz and len(model._rec.tile_sizes()) > 1
    # Records of a tile share a word group and a context group.
    g = model._tile_words()
    ends = np.cumsum(model._rec.tile_sizes())
    for b, e in zip(np.r_[0, ends[:-1]], ends):
        assert len(set((rec[0][b:e] // g).tolist())) == 1 and len(set((rec[1][b:e] // g).tolist())) == 1


def test_continued_training_equals_uninterrupted(tmp_path):
    X, words = small_problem(2)
    whole = GloVe(dim=8, epochs=4, num_threads=1).fit(X, words, progress=False)
    part = GloVe(dim=8, epochs=2, num_threads=1).fit(X, words, progress=False)
    path = tmp_path / "model.npz"
    part.save(path)
    loaded = GloVe.load(path)
    assert loaded.epochs_done_ == 2 and loaded.loss_history_ == part.loss_history_
    np.testing.assert_array_equal(loaded.params_, part.params_)
    loaded.partial_fit(X, words, epochs=2, progress=False)
    np.testing.assert_array_equal(loaded.params_, whole.params_)
    assert loaded.loss_history_ == whole.loss_history_


def test_hogwild_threads_and_orders_converge_alike(corpus_lines):
    vocab = Vocab.build(corpus_lines, min_count=3, specials=())
    X = cooccurrence(corpus_lines, vocab, progress=False)
    one = GloVe(dim=20, epochs=5, num_threads=1, order="shuffle").fit(X, vocab, progress=False)
    assert one.loss_history_[-1] < 0.6 * one.loss_history_[0]
    assert one.skipped_ == 0
    for threads, order in ((2, "shuffle"), (1, "blocked"), (2, "blocked")):
        other = GloVe(dim=20, epochs=5, num_threads=threads, order=order).fit(X, vocab, progress=False)
        assert other.loss_history_[-1] == pytest.approx(one.loss_history_[-1], rel=0.05), (threads, order)


def test_learns_structure():
    # Two "topics" whose words never meet: each word's neighbours come from its own topic.
    rng = np.random.default_rng(0)
    animals = ["cat", "dog", "horse", "cow", "sheep", "goat"]
    tools = ["hammer", "saw", "drill", "wrench", "chisel", "pliers"]
    texts = [" ".join(rng.choice(topic, 12)) for _ in range(400) for topic in (animals, tools)]
    vocab = Vocab.build(texts, specials=())
    X = cooccurrence(texts, vocab, window=5, progress=False)
    wv = GloVe(dim=10, epochs=40, num_threads=1, x_max=10).fit(X, vocab, progress=False).word_vectors()
    for group in (animals, tools):
        for w in group:
            nearest = [x for x, _ in wv.most_similar(w, topn=3)]
            assert set(nearest) <= set(group), (w, nearest)


def test_callback_stops_and_kinds():
    X, words = small_problem(3)
    seen = []
    model = GloVe(dim=4, epochs=10, num_threads=1).fit(
        X, words, progress=False, callback=lambda e, loss: seen.append((e, loss)) or e == 3)
    assert [e for e, _ in seen] == [1, 2, 3] and model.epochs_done_ == 3
    w, c = model.word_vectors("w"), model.word_vectors("c")
    both = model.word_vectors()
    assert isinstance(both, WordVectors) and both.dim == 4 and len(both) == len(words)
    np.testing.assert_allclose(both.vectors, w.vectors + c.vectors, rtol=1e-6)
    assert model.biases_.shape == (2, len(words))
    with pytest.raises(ValueError, match="kind"):
        model.word_vectors("x")


def test_init_from_vectors():
    X, words = small_problem(4)
    init = np.full((len(words), 4), 0.01, np.float32)
    model = GloVe(dim=4, epochs=0, num_threads=1, init=init).fit(X, words, progress=False)
    np.testing.assert_array_equal(model.word_vectors_, init)
    wv = WordVectors(["w0", "zzz"], np.ones((2, 4), np.float32))
    model = GloVe(dim=4, epochs=0, num_threads=1, init=wv).fit(X, words, progress=False)
    assert np.all(model.word_vectors_[0] == 1) and np.all(np.abs(model.word_vectors_[1]) < 0.125)


def test_a_diverged_model_is_not_saved_over_a_good_file(tmp_path):
    texts = ["the king rules the land", "the queen rules the land"] * 20
    vocab = Vocab.build(texts, specials=())
    X = cooccurrence(texts, vocab, window=2, progress=False)
    path = tmp_path / "g.npz"
    GloVe(dim=4, epochs=2, num_threads=1).fit(X, vocab, progress=False).save(path)
    good = path.read_bytes()
    model = GloVe(dim=4, epochs=2, num_threads=1).fit(X, vocab, progress=False)
    model.params_[0, 0] = np.inf  # what a diverged run leaves
    with pytest.raises(FloatingPointError, match="not saved"):
        model.save(path)
    assert path.read_bytes() == good and GloVe.load(path).words_ == vocab.tokens


@pytest.mark.parametrize("lr", [10.0, 1e5])
def test_divergence_is_reported_and_the_last_good_epoch_kept(lr):
    texts = ["the king rules the land", "the queen rules the land", "a dog and a cat"] * 30
    vocab = Vocab.build(texts, specials=())
    X = cooccurrence(texts, vocab, window=3, progress=False)
    model = GloVe(dim=8, epochs=3, num_threads=1, learning_rate=lr)
    with pytest.raises(FloatingPointError, match=rf"diverged in epoch 1 .*learning_rate={lr} is too large"):
        model.fit(X, vocab, progress=False)
    assert model.epochs_done_ == 0 and model.loss_history_ == []
    assert np.all(np.isfinite(model.params_))
    start = GloVe(dim=8, epochs=0, num_threads=1).fit(X, vocab, progress=False)
    assert np.array_equal(model.params_, start.params_)  # the start: no good epoch yet
    ok = GloVe(dim=8, epochs=3, num_threads=1).fit(X, vocab, progress=False)  # the default rate is fine
    assert len(ok.loss_history_) == 3


def test_a_second_fit_in_another_thread_is_refused():
    import threading
    import time

    texts = ["the king rules the land", "the queen rules the land"] * 30
    vocab = Vocab.build(texts, specials=())
    X = cooccurrence(texts, vocab, window=3, progress=False)
    model = GloVe(dim=8, epochs=5, num_threads=1)
    started, errors = threading.Event(), []

    def slow(epoch, loss):
        started.set()
        time.sleep(0.2)

    t = threading.Thread(target=lambda: model.fit(X, vocab, progress=False, callback=slow))
    t.start()
    started.wait(30)
    for call in (lambda: model.fit(X, vocab, progress=False), lambda: model.partial_fit(X, progress=False)):
        try:
            call()
        except RuntimeError as e:
            errors.append(str(e))
    t.join()
    assert len(errors) == 2 and all("already running" in e for e in errors)
    assert len(model.loss_history_) == 5  # 5 epochs, not 10


def test_bad_input(tmp_path):
    X, words = small_problem(5)
    with pytest.raises(ValueError, match="vocabulary has 3 words"):
        GloVe(dim=4).fit(X, words[:3], progress=False)
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        GloVe(dim=4).fit(bad, words, progress=False)
    bad.data[0] = -1
    with pytest.raises(ValueError, match="negative"):
        GloVe(dim=4).fit(bad, words, progress=False)
    with pytest.raises(ValueError, match="no positive entries"):
        GloVe(dim=4).fit(sp.coo_matrix((len(words), len(words))), words, progress=False)
    for kw in ({"dim": 0}, {"learning_rate": -1}, {"x_max": float("nan")}, {"epochs": -1}, {"order": "x"}):
        with pytest.raises(ValueError):
            GloVe(**kw).fit(X, words, progress=False)
    with pytest.raises(TypeError, match="sparse"):
        GloVe().fit([[1, 2], [3, 4]], ["a", "b"], progress=False)
    with pytest.raises(NotFittedError):
        GloVe().word_vectors()
    p = tmp_path / "x.npz"
    p.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a saved GloVe model"):
        GloVe.load(p)
    # Parameters are updated in place: a float64 array is refused, never silently copied.
    with pytest.raises(TypeError, match="float32"):
        _core.glove_init(np.zeros((4, _core.glove_block(4))), vocab_size=2, dim=4, seed=0)
