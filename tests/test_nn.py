"""Recurrent kernels: against a plain float64 numpy reference, by float64 finite differences
(including two chunks with carried state), and against PyTorch when it is installed."""
import os
import subprocess
import sys

import numpy as np
import pytest

from pyfast_nlp import _core, nn

G = {"rnn": 1, "lstm": 4, "gru": 3}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def ref_forward(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """Plain float64 transcription of torch.nn.RNN/LSTM/GRU (one layer): x (T,B,I)."""
    H = h0.shape[1]
    h, c = h0.astype(np.float64), None if c0 is None else c0.astype(np.float64)
    ys = []
    for xt in x.astype(np.float64):
        gx = xt @ w_ih.T + b_ih
        gh = h @ w_hh.T + b_hh
        if cell == "rnn":
            h = np.tanh(gx + gh)
        elif cell == "lstm":
            g = gx + gh
            i, f, gg, o = sigmoid(g[:, :H]), sigmoid(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), sigmoid(g[:, 3 * H:])
            c = f * c + i * gg
            h = o * np.tanh(c)
        else:
            r = sigmoid(gx[:, :H] + gh[:, :H])
            z = sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gx[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
        ys.append(h)
    return np.stack(ys), h, c


def make(cell, T=5, B=3, I=4, H=6, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    g = G[cell]
    w = [(rng.standard_normal(s) * scale).astype(np.float32) for s in [(g * H, I), (g * H, H), (g * H,), (g * H,)]]
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    h0 = (rng.standard_normal((B, H)) * 0.5).astype(np.float32)
    c0 = (rng.standard_normal((B, H)) * 0.5).astype(np.float32) if cell == "lstm" else None
    return x, h0, c0, w


def run(cell, x, h0, c0, w, **kw):
    if cell == "lstm":
        return nn.lstm_forward(x, h0, c0, *w, **kw)
    y, h, cache = getattr(nn, f"{cell}_forward")(x, h0, *w, **kw)
    return y, h, None, cache


def back(cell, dy, dh, dc, cache, **kw):
    if cell == "lstm":
        return nn.lstm_backward(dy, dh, dc, cache, **kw)
    return getattr(nn, f"{cell}_backward")(dy, dh, cache, **kw)


@pytest.mark.parametrize("M,K,N", [(1, 1, 1), (5, 7, 3), (64, 256, 97), (13, 300, 33), (130, 20, 1030),
                                   (70, 1100, 97)])  # K over two 512 slices and a part
def test_gemm_matches_reference(M, K, N):
    rng = np.random.default_rng(M * K + N)
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    ref = a.astype(np.float64) @ b
    for threads in (1, 2):
        got = _core.gemm(a, b, threads=threads)
        err = np.abs(got - ref).max() / np.abs(ref).max()
        assert err < 1e-5, f"largest relative difference {err:.2e}"
    assert np.allclose(_core.gemm(a, b, reference=True), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("M,K,N", [(1, 1, 1), (7, 9, 5), (8, 8, 32), (13, 300, 33), (130, 8200, 65),
                                   (512, 1000, 128)])
def test_gemm_of_a_transposed_matrix_matches_reference(M, K, N):
    # the weight-gradient products X^T dG read A from a (K, M) array; packed by its own path
    rng = np.random.default_rng(M + K * N)
    at = rng.standard_normal((K, M)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    ref = at.T.astype(np.float64) @ b
    for threads in (1, 2):
        got = _core.gemm(at, b, threads=threads, a_transposed=True)
        err = np.abs(got - ref).max() / np.abs(ref).max()
        assert err < 1e-5, f"largest relative difference {err:.2e}"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("B,H", [(3, 6), (24, 40), (5, 560)])  # (24, 40): the units split over 2 threads;
# (5, 560): the step product runs over K = H in more than one slice (AVX-512 and AVX2 builds)
def test_forward_matches_numpy_reference(cell, B, H):
    # weights scaled so the recurrence is not chaotic (rounding differences would grow step by step)
    x, h0, c0, w = make(cell, T=7, B=B, I=5, H=H, scale=min(0.5, 1.5 / np.sqrt(H)))
    y, h, c, _ = run(cell, x, h0, c0, w, num_threads=2)
    ry, rh, rc = ref_forward(cell, x, h0, c0, *w)
    err = np.abs(y - ry).max()
    assert err < 1e-5, f"largest difference {err:.2e}"
    assert np.array_equal(h, y[-1])
    if cell == "lstm":
        assert np.abs(c - rc).max() < 1e-5


def loss_of(cell, x, h0, c0, w, dy, dh, dc):
    y, h, c = ref_forward(cell, x, h0, c0, *w)
    total = (y * dy).sum() + (h * dh).sum()
    if c is not None:
        total += (c * dc).sum()
    return total


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_backward_matches_float64_finite_differences(cell):
    x, h0, c0, w = make(cell, T=4, B=2, I=3, H=5, seed=1)
    rng = np.random.default_rng(7)
    dy = rng.standard_normal((4, 2, 5)).astype(np.float32)
    dh = rng.standard_normal((2, 5)).astype(np.float32)
    dc = rng.standard_normal((2, 5)).astype(np.float32) if cell == "lstm" else None
    _, _, _, cache = run(cell, x, h0, c0, w)
    grads = back(cell, dy, dh, dc, cache)
    w64 = [a.astype(np.float64) for a in w]
    args = {"x": x.astype(np.float64), "h0": h0.astype(np.float64),
            "c0": None if c0 is None else c0.astype(np.float64)}
    eps = 1e-6

    def fd(name, idx):
        def f(delta):
            a = dict(args)
            ww = [v.copy() for v in w64]
            target = {"dw_ih": ww[0], "dw_hh": ww[1], "db_ih": ww[2], "db_hh": ww[3]}.get(name)
            if target is None:
                a[name[1:]] = a[name[1:]].copy()
                target = a[name[1:]]
            target[idx] += delta
            return loss_of(cell, a["x"], a["h0"], a["c0"], ww, dy, dh, dc)
        return (f(eps) - f(-eps)) / (2 * eps)

    names = ["dw_ih", "dw_hh", "db_ih", "db_hh", "dx", "dh0"] + (["dc0"] if cell == "lstm" else [])
    for name in names:
        g = grads[name]
        rng2 = np.random.default_rng(len(name))
        for flat in rng2.choice(g.size, size=min(12, g.size), replace=False):
            idx = np.unravel_index(flat, g.shape)
            num = fd(name, idx)
            assert abs(g[idx] - num) < 1e-4 * max(1.0, abs(num)), f"{name}{idx}: {g[idx]} vs {num}"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_truncated_bptt_gradient_stops_at_chunk_boundary(cell):
    """Two chunks with carried state: the gradient of chunk 2's loss taken by backward with
    the carried state as a constant equals finite differences of that loss with chunk 1 frozen,
    and differs from the full (untruncated) gradient."""
    rng = np.random.default_rng(3)
    x, h0, c0, w = make(cell, T=6, B=2, I=3, H=4, seed=2, scale=0.8)
    x1, x2 = x[:3], x[3:]
    _, h1, c1, _ = run(cell, x1, h0, c0, w)
    _, _, _, cache2 = run(cell, x2, h1, c1, w)
    dy2 = rng.standard_normal((3, 2, 4)).astype(np.float32)
    g = back(cell, dy2, None, None, cache2)
    w64 = [a.astype(np.float64) for a in w]
    _, h1r, c1r = ref_forward(cell, x1, h0, c0, *w64)  # chunk 1, frozen
    eps = 1e-6

    def loss_truncated(ww):
        y, _, _ = ref_forward(cell, x2, h1r, c1r, *ww)
        return (y * dy2).sum()

    def loss_full(ww):
        _, h1f, c1f = ref_forward(cell, x1, h0, c0, *ww)
        y, _, _ = ref_forward(cell, x2, h1f, c1f, *ww)
        return (y * dy2).sum()

    max_gap = 0.0
    for k in range(4):
        idx = np.unravel_index(rng.integers(w64[1].size), w64[1].shape)
        num_t, num_f = [], []
        for f, out in ((loss_truncated, num_t), (loss_full, num_f)):
            plus = [a.copy() for a in w64]
            minus = [a.copy() for a in w64]
            plus[1][idx] += eps
            minus[1][idx] -= eps
            out.append((f(plus) - f(minus)) / (2 * eps))
        assert abs(g["dw_hh"][idx] - num_t[0]) < 1e-4 * max(1, abs(num_t[0]))
        max_gap = max(max_gap, abs(num_f[0] - num_t[0]))
    assert max_gap > 1e-3, "the full gradient should differ from the truncated one"


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("B,H,threads", [(4, 8, 1), (16, 67, 2)])  # 2 threads: 33 + 34 units
def test_id_input_equals_one_hot(cell, B, H, threads):
    # id input: the steps read rows of w_ih^T + bias; backward scatter-adds into w_ih^T rows
    x, h0, c0, w = make(cell, T=5, B=B, I=7, H=H, scale=0.3)
    ids = np.random.default_rng(0).integers(0, 7, (5, B)).astype(np.int32)
    onehot = np.eye(7, dtype=np.float32)[ids]
    y1, h1, _, ca = run(cell, ids, h0, c0, w, num_threads=threads)
    y2, h2, _, cb = run(cell, onehot, h0, c0, w, num_threads=1)
    assert np.allclose(y1, y2, atol=1e-6)
    dy = np.random.default_rng(1).standard_normal(y1.shape).astype(np.float32)
    g1 = back(cell, dy, None, None, ca, num_threads=threads)
    g2 = back(cell, dy, None, None, cb, num_threads=1)
    assert "dx" not in g1
    for k in ("dw_ih", "dw_hh", "db_ih", "db_hh", "dh0"):
        assert np.allclose(g1[k], g2[k], atol=1e-5), k


def test_threads_agree():
    x, h0, c0, w = make("lstm", T=9, B=16, I=12, H=64)
    y1, _, _, c1 = run("lstm", x, h0, c0, w, num_threads=1)
    y2, _, _, c2 = run("lstm", x, h0, c0, w, num_threads=2)
    assert np.array_equal(y1, y2)
    g1 = back("lstm", np.ones_like(y1), None, None, c1, num_threads=1)
    g2 = back("lstm", np.ones_like(y1), None, None, c2, num_threads=2)
    for k in g1:
        assert np.allclose(g1[k], g2[k], rtol=1e-5, atol=1e-5), k


# V: a vector's tail; 1024-wide pieces and theirs. H > 3V: dW computed as (y^T dlogits)^T
@pytest.mark.parametrize("V,H", [(5, 6), (16, 6), (65, 6), (1030, 6), (2100, 6), (5, 40), (13, 64)])
def test_softmax_cross_entropy_matches_numpy(V, H):
    rng = np.random.default_rng(V)
    N = 11
    y = rng.standard_normal((N, H)).astype(np.float32)
    w = rng.standard_normal((V, H)).astype(np.float32)
    b = rng.standard_normal(V).astype(np.float32)
    b[V - 1] = 100.0  # the largest logit, last in each row: exp overflows unless it is the max
    t = rng.integers(0, V, N)
    out = nn.softmax_cross_entropy(y, w, b, t)
    logits = y.astype(np.float64) @ w.T + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -np.log(p[np.arange(N), t]).mean()
    d = p.copy()
    d[np.arange(N), t] -= 1
    d /= N
    assert abs(out["loss"] - loss) < 1e-5 * max(1.0, loss)
    assert np.allclose(out["dy"], d @ w, atol=1e-6)
    assert np.allclose(out["dw"], d.T @ y, atol=1e-6)
    assert np.allclose(out["db"], d.sum(0), atol=1e-6)
    s = nn.softmax_cross_entropy(y, w, b, t, reduction="sum", grad=False)
    assert abs(s["loss"] - loss * N) < 1e-5 * max(1.0, loss * N) and "dy" not in s


def test_optimizer_rules():
    g = np.array([0.5, -1.0, 2.0], np.float32)
    p = np.zeros(3, np.float32)
    opt = nn.Optimizer([p], "adam", lr=0.1)
    opt.step([g])
    assert np.allclose(p, -0.1 * np.sign(g), atol=1e-6)  # first Adam step: lr * sign
    p2 = np.zeros(3, np.float32)
    sgd = nn.Optimizer([p2], "sgd", lr=0.5, momentum=0.9)
    sgd.step([g])
    sgd.step([g])
    assert np.allclose(p2, -0.5 * (g + (0.9 * g + g)))
    norm, scale = nn.clip_grad_norm([g], 1.0)
    assert abs(norm - np.sqrt(5.25)) < 1e-6 and abs(scale - 1.0 / (np.sqrt(5.25) + 1e-6)) < 1e-7


def test_bad_input_is_a_clear_error():
    x, h0, c0, w = make("lstm")
    with pytest.raises(ValueError, match="w_hh must have shape"):
        nn.lstm_forward(x, h0, c0, w[0], w[1][:, :3], w[2], w[3])
    with pytest.raises(ValueError, match="h0 must have shape"):
        nn.lstm_forward(x, h0[:1], c0, *w)
    with pytest.raises(ValueError, match="c0"):
        nn.lstm_forward(x, h0, None, *w)
    with pytest.raises(ValueError, match=r"x must have shape \(T, B, I\)"):
        nn.lstm_forward(x[0], h0, c0, *w)
    with pytest.raises(ValueError, match="NaN"):
        bad = w[1].copy()
        bad[0, 0] = np.nan
        nn.lstm_forward(x, h0, c0, w[0], bad, w[2], w[3])
    with pytest.raises(TypeError):
        nn.lstm_forward(x.astype(str), h0, c0, *w)
    with pytest.raises(IndexError, match="outside"):
        nn.lstm_forward(np.full((2, 3), 9, np.int32), h0, c0, *w)
    with pytest.raises(IndexError, match="outside"):
        nn.lstm_forward(np.full((2, 3), -1, np.int64), h0, c0, *w)
    with pytest.raises(TypeError, match="cache"):
        nn.lstm_backward(None, None, None, object())
    _, _, _, cache = nn.lstm_forward(x, h0, c0, *w)
    with pytest.raises(ValueError, match="dy must have shape"):
        nn.lstm_backward(np.zeros((1, 1, 1), np.float32), None, None, cache)
    with pytest.raises(IndexError):
        nn.softmax_cross_entropy(np.zeros((2, 3), np.float32), np.zeros((4, 3), np.float32),
                                 np.zeros(4, np.float32), np.array([0, 4]))
    g = np.zeros((4 * 6, 4), np.float64)
    with pytest.raises(TypeError, match="float32"):  # an in-place gradient must not be a silent copy
        _core.layer_backward(cache, dw_ih=g, threads=1)
    p = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="expected 1 gradients"):
        nn.Optimizer([p]).step([])
    with pytest.raises(ValueError, match="optimizer"):
        nn.Optimizer([p], "rmsprop")




@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("H", [24, 150])  # 150: the backward step product (K = G*H) runs in K slices
def test_matches_torch(cell, layers, H):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    T, B, I = 6, 11, 5  # B = 11: a full strip of 8 rows and a partial one
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](I, H, layers)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    h0 = (rng.standard_normal((layers, B, H)) * 0.5).astype(np.float32)
    c0 = (rng.standard_normal((layers, B, H)) * 0.5).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    c0t = torch.tensor(c0, requires_grad=True)
    if cell == "lstm":
        yt, (hnt, cnt) = mod(xt, (h0t, c0t))
    else:
        yt, hnt = mod(xt, h0t)
    dy = rng.standard_normal((T, B, H)).astype(np.float32)
    dh = rng.standard_normal((layers, B, H)).astype(np.float32)
    loss = (yt * torch.tensor(dy)).sum() + (hnt * torch.tensor(dh)).sum()
    if cell == "lstm":
        dc = rng.standard_normal((layers, B, H)).astype(np.float32)
        loss = loss + (cnt * torch.tensor(dc)).sum()
    loss.backward()
    # ours, layer by layer
    inp, caches, hn, cn = x, [], [], []
    for layer in range(layers):
        w = [getattr(mod, f"{n}_l{layer}").detach().numpy() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        y, h, c, cache = run(cell, inp, h0[layer], c0[layer] if cell == "lstm" else None, w)
        caches.append(cache)
        hn.append(h)
        cn.append(c)
        inp = y
    assert np.abs(inp - yt.detach().numpy()).max() < 1e-5
    assert np.abs(np.stack(hn) - hnt.detach().numpy()).max() < 1e-5
    if cell == "lstm":
        assert np.abs(np.stack(cn) - cnt.detach().numpy()).max() < 1e-5
    d = dy
    for layer in reversed(range(layers)):
        g = back(cell, d, dh[layer], dc[layer] if cell == "lstm" else None, caches[layer])
        for ours, theirs in (("dw_ih", "weight_ih"), ("dw_hh", "weight_hh"), ("db_ih", "bias_ih"), ("db_hh", "bias_hh")):
            ref = getattr(mod, f"{theirs}_l{layer}").grad.numpy()
            err = np.abs(g[ours] - ref).max()
            assert err < 1e-4 * max(1, np.abs(ref).max()), f"layer {layer} {ours}: {err:.2e}"
        assert np.abs(g["dh0"] - h0t.grad[layer].numpy()).max() < 1e-5
        if cell == "lstm":
            assert np.abs(g["dc0"] - c0t.grad[layer].numpy()).max() < 1e-5
        d = g["dx"]
    assert np.abs(d - xt.grad.numpy()).max() < 1e-5


@pytest.mark.parametrize("kind", ["adam", "sgd", "adagrad"])
def test_optimizers_match_torch(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(50).astype(np.float32)
    grads = [rng.standard_normal(50).astype(np.float32) * 3 for _ in range(5)]
    ours = p0.copy()
    opt = nn.Optimizer([ours], kind, lr=0.05, momentum=0.9 if kind == "sgd" else 0.0)
    pt = torch.tensor(p0.copy(), requires_grad=True)
    topt = {"adam": lambda: torch.optim.Adam([pt], lr=0.05), "sgd": lambda: torch.optim.SGD([pt], lr=0.05, momentum=0.9),
            "adagrad": lambda: torch.optim.Adagrad([pt], lr=0.05)}[kind]()
    for g in grads:
        norm, scale = nn.clip_grad_norm([g], 5.0)
        opt.step([g], scale)
        pt.grad = torch.tensor(g.copy())
        tnorm = torch.nn.utils.clip_grad_norm_([pt], 5.0)
        topt.step()
        assert abs(norm - float(tnorm)) < 1e-4 * norm
    assert np.abs(ours - pt.detach().numpy()).max() < 1e-5


@pytest.mark.skipif(bool(os.environ.get("PYFAST_NLP_KERNELS")), reason="already running with a narrower kernel set")
@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_narrower_kernel_sets_pass_the_kernel_tests(isa, tmp_path):
    # This CPU runs the widest kernels it has; the AVX2 and generic builds (what other CPUs
    # get) are checked here by running the kernel tests again with PYFAST_NLP_KERNELS.
    # the children import the package this process imported (an installed one, or a source
    # tree), and run where no other copy of it can shadow that
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(nn.__file__)))  # nn is pyfast_nlp/rnn/functional.py
    env = dict(os.environ, PYFAST_NLP_KERNELS=isa,
               PYTHONPATH=os.pathsep.join([pkg_root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    cwd = str(tmp_path)
    if nn.kernel_isa() == isa:
        pytest.skip(f"{isa} is this CPU's own kernel set: the rest of the suite runs it")
    code = "from pyfast_nlp import nn; print(nn.kernel_isa())"
    got = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True)
    assert got.returncode == 0, got.stderr[-2000:]
    if got.stdout.strip() != isa:
        pytest.skip(f"this CPU has no {isa} kernels")
    tests = ("gemm or forward_matches or finite_differences or truncated or id_input or threads_agree "
             "or softmax or matches_torch")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
                          "-k", tests], env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
