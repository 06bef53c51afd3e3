import math

import numpy as np
import pytest

from pyfast_nlp import CharLM
from pyfast_nlp.rnn.gradient_flow import gradient_flow, plot_gradient_flow, toy_rnn
from pyfast_nlp.rnn.units import activation_html, activation_png, find_units, text_feature


def test_toy_rnn_by_hand():
    r = toy_rnn([1.0, 0.5, -1.0], w_hh=3, w_xh=2, b=1, h0=0)
    h1 = math.tanh(2 * 1.0 + 3 * 0 + 1)
    h2 = math.tanh(2 * 0.5 + 3 * h1 + 1)
    h3 = math.tanh(2 * -1.0 + 3 * h2 + 1)
    assert r["h"] == pytest.approx([0, h1, h2, h3])
    assert r["expression"] == "tanh(2*x3 + 3*tanh(2*x2 + 3*tanh(2*x1 + 3*h0 + 1) + 1) + 1)"
    chain = 3 * (1 - h3 ** 2) * 3 * (1 - h2 ** 2)  # d h3 / d h1
    assert r["dhT_dh1_chain"] == pytest.approx(chain)
    assert r["dhT_dh1_numeric"] == pytest.approx(chain, rel=1e-6)


def test_toy_rnn_explodes_and_vanishes():
    # unsaturated tanh (inputs keep the pre-activation near 0) and |w_hh| > 1: the product grows
    x = [0.0] * 12
    grow = toy_rnn(x, w_hh=1.5, w_xh=0.0, b=0.0, h0=0.0)
    assert grow["products"][-1] == pytest.approx(1.5 ** 12)
    # saturated (w_hh = 3, b = 1 push h towards 1): factors w_hh (1 - h^2) << 1, the product vanishes
    sat = toy_rnn([1.0] * 12)
    assert sat["products"][-1] < 1e-6
    # |w_hh| < 1 vanishes even unsaturated
    small = toy_rnn(x, w_hh=0.5, w_xh=0.0, b=0.0)
    assert small["products"][-1] == pytest.approx(0.5 ** 12)
    with pytest.raises(ValueError):
        toy_rnn([])


@pytest.fixture(scope="module")
def tiny_models(corpus_path):
    with open(corpus_path, encoding="utf-8") as f:
        text = f.read()[:60_000]
    models = {}
    for cell in ("rnn", "lstm"):
        models[cell] = CharLM(cell, hidden_size=32, num_layers=1, seed=0).fit(
            text, seq_len=32, batch_size=16, max_steps=40, lr=5e-3, progress=False)
    return text, models


def test_gradient_flow_matches_finite_differences(tiny_models):
    text, models = tiny_models
    lm = models["rnn"]
    r = gradient_flow(lm, text[:400], steps=5, seed=1)
    assert r["jacobian"].shape == (5,) and np.all(r["jacobian"] > 0) and np.all(np.isfinite(r["loss"]))
    # finite differences of u . h_T with respect to h_{T-1}, in float64 with numpy
    w_ih, w_hh, b_ih, b_hh = [a.astype(np.float64) for a in lm.layer_stack().layer_weights(0)]
    ids = lm.encode(text[:400])[-7:-1]
    h = np.zeros(32)
    hs = [h]
    for i in ids:
        h = np.tanh(w_ih[:, i] + b_ih + w_hh @ h + b_hh)
        hs.append(h)
    u = np.random.default_rng(1).standard_normal(32).astype(np.float32).astype(np.float64)
    u /= np.linalg.norm(u)
    J = np.diag(1 - hs[-1] ** 2) @ w_hh  # d h_T / d h_{T-1}
    assert r["jacobian"][0] == pytest.approx(np.linalg.norm(u @ J), rel=1e-4)


def test_gradient_flow_and_plot(tmp_path, tiny_models):
    text, models = tiny_models
    results = {cell: gradient_flow(m, text[:2000], steps=40) for cell, m in models.items()}
    for r in results.values():
        assert len(r["distance"]) == 40 and np.all(np.isfinite(r["jacobian"]))
    png = plot_gradient_flow(results, tmp_path / "flow.png")
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="at least"):
        gradient_flow(models["rnn"], "abc", steps=10)
    with pytest.raises(TypeError):
        gradient_flow(object(), text, steps=3)


def test_activation_html_and_png(tmp_path):
    page = activation_html('a "b"\n', [0, 0, 1, -1, 0.5, 0], tmp_path / "a.html", title="unit 3")
    assert (tmp_path / "a.html").read_text(encoding="utf-8") == page
    assert "rgb(255,0,0)" in page and "rgb(0,0,255)" in page and "<script" not in page
    png = activation_png('a "b"\n', [0, 0, 1, -1, 0.5, 0], tmp_path / "a.png")
    with open(png, "rb") as f:
        assert f.read(4) == b"\x89PNG"
    with pytest.raises(ValueError, match="one number per character"):
        activation_html("abc", [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        activation_html("ab", [1, float("nan")])


def test_features():
    assert text_feature("f(a(b))c", "parens").tolist() == [0, 1, 1, 1, 1, 1, 1, 0]
    assert text_feature("{a{b}}", "brace_depth").tolist() == [1, 1, 2, 2, 2, 1]
    assert text_feature("ab\ncd", "line_position").tolist() == [0, 1, 2, 0, 1]
    assert text_feature("x; if (a(b)) y; elif (z)", "if_condition").tolist()[:14] == \
        [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]
    with pytest.raises(ValueError, match="unknown feature"):
        text_feature("abc", "sentiment")


def test_find_units_finds_a_planted_unit(tiny_models):
    text, models = tiny_models
    lm = models["lstm"]
    sample = text[:3000]
    states = lm.hidden_states(sample)
    feature = states["h"][:, 0, 7].astype(np.float64)  # a feature that unit 7 tracks exactly
    best = find_units(lm, sample, feature, top=3)
    assert best[0]["layer"] == 0 and best[0]["unit"] == 7 and best[0]["state"] == "h"
    assert best[0]["correlation"] == pytest.approx(1.0, abs=1e-6)
    quote = find_units(lm, sample, "line_position", top=2)
    assert len(quote) == 2 and abs(quote[0]["correlation"]) >= abs(quote[1]["correlation"])
    with pytest.raises(ValueError, match="one value per character"):
        find_units(lm, sample, [1.0, 2.0])


def test_gradient_flow_from_weights_matches_charlm(tiny_models):
    text, models = tiny_models
    lm = models["lstm"]
    w_ih, w_hh, b_ih, b_hh = lm.layer_stack().layer_weights(0)
    ids = lm.encode(text[:300])
    a = gradient_flow(lm, text[:300], steps=10, seed=3)
    b = gradient_flow({"cell": "lstm", "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh},
                      inputs=ids[-12:-1], steps=10, seed=3)
    assert np.allclose(a["jacobian"], b["jacobian"], rtol=1e-5)
    assert np.all(np.isnan(b["loss"]))
    onehot = np.eye(w_ih.shape[1], dtype=np.float32)[ids[-12:-1]]
    c = gradient_flow({"cell": "lstm", "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh},
                      inputs=onehot, steps=10, seed=3)
    assert np.allclose(a["jacobian"], c["jacobian"], rtol=1e-4)
    with pytest.raises(ValueError, match="need inputs"):
        gradient_flow({"cell": "lstm", "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh}, steps=3)
    with pytest.raises(ValueError, match="cell"):
        gradient_flow({"cell": "tcn"}, inputs=ids, steps=3)


def test_gradient_flow_of_a_fresh_model_and_a_constant_feature():
    text = "the quick brown fox jumps over the lazy dog. " * 10
    lm = CharLM("rnn", hidden_size=8, num_layers=1, seed=0)
    r = gradient_flow(lm, text, steps=20)  # unfitted: measured freshly initialised
    assert r["jacobian"].shape == (20,) and np.all(np.isfinite(r["jacobian"]))
    assert not hasattr(lm, "params_")  # and left as it was
    fitted = CharLM("rnn", hidden_size=8, num_layers=1, seed=0).fit(text, seq_len=1, batch_size=1, max_steps=0,
                                                                    val_fraction=0, progress=False)
    assert np.allclose(gradient_flow(fitted, text, steps=20)["jacobian"], r["jacobian"])
    with pytest.warns(RuntimeWarning, match="the feature is constant"):
        assert all(u["correlation"] == 0 for u in find_units(fitted, "no quotes here", "quote"))
