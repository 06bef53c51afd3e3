import os

import numpy as np
import pytest

from pyfast_nlp import CharLM, NotFittedError, _core


@pytest.fixture(scope="module")
def corpus(corpus_path):
    with open(corpus_path, encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_hello(cell):
    """The study notes' example: vocabulary [h, e, l, o], trained on "hello"; primed with "h",
    greedy sampling gives "hello"."""
    lm = CharLM(cell, hidden_size=16, num_layers=1, seed=0)
    lm.fit("hello", seq_len=4, batch_size=1, max_steps=300, lr=0.02, val_fraction=0, progress=False)
    assert lm.vocab_ == ["e", "h", "l", "o"]
    assert lm.sample("h", length=4, top_k=1) == "hello"
    assert lm.history_[-1]["loss_bits"] < 0.05


@pytest.mark.end_to_end
def test_end_to_end_validation_loss_falls(corpus):
    """A short run on real text: validation loss below 3.5 bits per character (a unigram
    model of this text needs about 4.5)."""
    text = corpus[:300_000]
    lm = CharLM("lstm", hidden_size=128, num_layers=1, seed=0)
    lm.fit(text, seq_len=64, batch_size=32, max_steps=300, lr=5e-3, progress=False)
    counts = np.unique(list(text), return_counts=True)[1]
    p = counts / counts.sum()
    unigram_bits = float(-(p * np.log2(p)).sum())
    assert unigram_bits > 4.3
    assert lm.val_bits_ < 3.5, lm.val_bits_
    assert lm.history_[-1]["loss_bits"] < lm.history_[0]["loss_bits"] - 2


def test_training_matches_torch(corpus):
    """Ten steps of our training loop (2-layer LSTM, Adam, clipping, state carried) give the
    losses and weights PyTorch gives from the same start."""
    torch = pytest.importorskip("torch")
    text = corpus[:50_000]
    lm = CharLM("lstm", hidden_size=32, num_layers=2, seed=0)
    lm.fit(text, seq_len=16, batch_size=4, max_steps=0, progress=False)
    V = len(lm.vocab_)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(V, 32, 2)
            self.decoder = torch.nn.Linear(32, V)

    m = Model()
    m.load_state_dict(lm.to_torch_state_dict())
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    ids = lm.encode(text[: len(text) - int(len(text) * 0.05)])
    n = (len(ids) - 1) // 4
    data = np.stack([ids[b * n: (b + 1) * n + 1] for b in range(4)], 1)
    state, losses = None, []
    for step in range(10):
        x = torch.tensor(data[step * 16: step * 16 + 16]).long()
        y = torch.tensor(data[step * 16 + 1: step * 16 + 17]).long()
        out, state = m.rnn(torch.nn.functional.one_hot(x, V).float(), state)
        state = tuple(s.detach() for s in state)
        loss = torch.nn.functional.cross_entropy(m.decoder(out).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        losses.append(loss.item() / np.log(2))
    ours = CharLM("lstm", hidden_size=32, num_layers=2, seed=0)
    ours.fit(text, seq_len=16, batch_size=4, max_steps=10, num_threads=1, progress=False, state_reset=0)
    assert np.allclose([h["loss_bits"] for h in ours.history_], losses, atol=1e-4)
    for k, v in ours.to_torch_state_dict().items():
        assert np.abs(v.numpy() - m.state_dict()[k].numpy()).max() < 1e-4, k


def test_resume_is_exact(tmp_path, corpus):
    text = corpus[:40_000]
    kw = dict(seq_len=16, batch_size=8, num_threads=1, progress=False, lr=3e-3)
    full = CharLM("gru", hidden_size=24, num_layers=2, dropout=0.2, seed=1).fit(text, max_steps=12, **kw)
    ck = tmp_path / "ck.npz"
    half = CharLM("gru", hidden_size=24, num_layers=2, dropout=0.2, seed=1)
    half.fit(text, max_steps=6, checkpoint=ck, **kw)
    resumed = CharLM.load(ck)
    assert resumed.train_state_["global_step"] == 6
    resumed.fit(text, max_steps=12, **kw)
    for k in full.params_:
        assert np.array_equal(full.params_[k], resumed.params_[k]), k
    assert [h["loss_bits"] for h in resumed.history_] == [h["loss_bits"] for h in full.history_]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_save_load_roundtrip_and_sampling(tmp_path, corpus):
    lm = CharLM("lstm", hidden_size=32, num_layers=2, embedding=8, seed=0)
    lm.fit(corpus[:30_000], seq_len=32, batch_size=8, max_steps=20, progress=False)
    path = tmp_path / "m.npz"
    lm.save(path)
    back = CharLM.load(path)
    assert back.get_params() == lm.get_params() and back.vocab_ == lm.vocab_
    a = lm.sample("ROMEO:", 200, temperature=0.8, seed=3)
    assert a == back.sample("ROMEO:", 200, temperature=0.8, seed=3)
    assert a.startswith("ROMEO:") and len(a) == 206
    assert lm.sample("ROMEO:", 200, seed=3, num_threads=1) == lm.sample("ROMEO:", 200, seed=3, num_threads=2)
    assert set(lm.sample("", 100, seed=1)) <= set(lm.vocab_)
    assert len(lm.sample("", 100, seed=1)) == 100
    assert lm.evaluate(corpus[1000:2000]) == pytest.approx(back.evaluate(corpus[1000:2000]))


def test_sampler_threads_on_a_large_model():
    rng = np.random.default_rng(0)
    H, V = 256, 30
    w = [(rng.standard_normal(s) * 0.1).astype(np.float32) for s in [(4 * H, V), (4 * H, H), (4 * H,), (4 * H,)]]
    wo = (rng.standard_normal((V, H)) * 0.3).astype(np.float32)
    bo = np.zeros(V, np.float32)
    outs = []
    for threads in (1, 2):
        s = _core.Sampler(_core.Cell.lstm, vocab=V, hidden=H, embedding=None, layers=[tuple(w)], w_out=wo, b_out=bo,
                          threads=threads)
        h = np.zeros((1, H), np.float32)
        c = np.zeros((1, H), np.float32)
        outs.append((s.sample([1, 2, 3], length=300, temperature=1.0, top_k=0, seed=7, h=h, c=c), h.copy(), c.copy()))
    assert outs[0][0] == outs[1][0]
    assert np.array_equal(outs[0][1], outs[1][1]) and np.array_equal(outs[0][2], outs[1][2])


def test_sampling_follows_the_model(corpus):
    """Greedy sampling equals argmax of the forward pass, step by step."""
    lm = CharLM("gru", hidden_size=32, num_layers=2, seed=0)
    lm.fit(corpus[:20_000], seq_len=32, batch_size=8, max_steps=10, progress=False)
    text = lm.sample("The ", 30, top_k=1)
    ids = lm.encode(text)
    hs = lm.hidden_states(text[:-1])["h"][:, -1]
    logits = hs @ lm.params_["decoder.weight"].T + lm.params_["decoder.bias"]
    assert np.array_equal(logits.argmax(1)[3:], ids[4:])


def test_evaluate_and_hidden_states(corpus):
    lm = CharLM("lstm", hidden_size=16, num_layers=2, seed=0)
    lm.fit(corpus[:20_000], seq_len=32, batch_size=8, max_steps=5, progress=False)
    text = corpus[20_000:20_500]
    st = lm.hidden_states(text)
    assert st["h"].shape == (500, 2, 16) and st["c"].shape == (500, 2, 16)
    logits = st["h"][:-1, -1] @ lm.params_["decoder.weight"].T + lm.params_["decoder.bias"]
    logits = logits.astype(np.float64)
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    ids = lm.encode(text)
    bits = -logp[np.arange(499), ids[1:]].mean() / np.log(2)
    assert lm.evaluate(text) == pytest.approx(bits, rel=1e-5)
    assert abs(lm.evaluate(text, batch_size=4) - bits) < 0.5  # 4 streams, each from a zero state


def test_diverging_step_raises_and_keeps_checkpoint(tmp_path, corpus):
    ck = tmp_path / "ck.npz"
    lm = CharLM("rnn", hidden_size=16, num_layers=1, seed=0)

    def poison(info):
        if info["step"] == 3:
            lm.params_["weight_hh_l0"][0, 0] = np.nan

    with pytest.raises(FloatingPointError, match="step 4"):
        lm.fit(corpus[:20_000], seq_len=16, batch_size=4, max_steps=10, checkpoint=ck, checkpoint_every=1,
               callback=poison, progress=False)
    good = CharLM.load(ck)
    assert good.train_state_["global_step"] == 3
    assert all(np.isfinite(p).all() for p in good.params_.values())


def test_a_learning_rate_far_too_large_is_reported_and_the_weights_come_back(tmp_path, corpus):
    # lr=100 stays finite but climbs to thousands of bits per character: stop, say so, restore
    lm = CharLM("lstm", hidden_size=32, num_layers=1, seed=0)
    lm.fit(corpus[:50_000], seq_len=32, batch_size=8, max_steps=1, lr=1e-3, progress=False)
    start = {k: v.copy() for k, v in lm.params_.items()}
    lm2 = CharLM("lstm", hidden_size=32, num_layers=1, seed=0)
    with pytest.raises(FloatingPointError, match=r"bits per character.*lr=100 is too large, try 10"):
        lm2.fit(corpus[:50_000], seq_len=32, batch_size=8, max_steps=50, lr=100.0, progress=False)
    # the weights are the last snapshot's (here the start: the same seed gives the same start)
    fresh = CharLM("lstm", hidden_size=32, num_layers=1, seed=0)
    fresh.fit(corpus[:50_000], seq_len=32, batch_size=8, max_steps=0, progress=False)
    assert all(np.array_equal(lm2.params_[k], fresh.params_[k]) for k in start)
    assert lm2.sample("T", length=20, seed=1)  # usable


def test_a_second_fit_in_another_thread_is_refused(corpus):
    import threading

    lm = CharLM("rnn", hidden_size=16, num_layers=1, seed=0)
    started, errors = threading.Event(), []

    def slow(info):
        started.set()
        return info["step"] >= 200

    t = threading.Thread(target=lambda: lm.fit(corpus[:50_000], seq_len=16, batch_size=4, max_steps=200,
                                               callback=slow, progress=False))
    t.start()
    started.wait(30)
    try:
        lm.fit(corpus[:1000], max_steps=1, progress=False)
    except RuntimeError as e:
        errors.append(str(e))
    t.join()
    assert errors and "already running" in errors[0]
    assert len(lm.history_) == 200  # the first fit was not disturbed


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_state_reset_zeroes_a_fraction_of_the_streams_at_chunk_boundaries(corpus, monkeypatch, p):
    from pyfast_nlp.rnn.core import LayerStack

    seen = []
    real = LayerStack.train_step

    def spy(self, x, y, state, *args, **kwargs):
        seen.append(np.abs(state["h"]).sum(axis=(0, 2)) == 0)  # which streams start from zero
        return real(self, x, y, state, *args, **kwargs)

    monkeypatch.setattr(LayerStack, "train_step", spy)
    CharLM("gru", hidden_size=8, num_layers=2, seed=0).fit(corpus[:50_000], seq_len=8, batch_size=16, max_steps=20,
                                                           progress=False, state_reset=p)
    assert seen[0].all()  # the first chunk of an epoch starts from zero
    zeroed = np.mean([z.mean() for z in seen[1:]])
    assert (zeroed == 0.0) if p == 0.0 else (zeroed == 1.0) if p == 1.0 else 0.3 < zeroed < 0.7
    with pytest.raises(ValueError, match="state_reset must be a probability"):
        CharLM("gru", hidden_size=8, num_layers=1).fit(corpus[:5000], max_steps=1, state_reset=1.5, progress=False)


def test_callback_stops_training(corpus):
    lm = CharLM("rnn", hidden_size=8, num_layers=1)
    lm.fit(corpus[:20_000], seq_len=16, batch_size=4, max_steps=50, progress=False,
           callback=lambda info: info["step"] >= 7)
    assert lm.train_state_["global_step"] == 7


def test_paths_that_name_nothing_are_not_trained_on(tmp_path):
    from pyfast_nlp.text import Text

    with pytest.raises(FileNotFoundError, match="no such file: /nope/shakespeare.txt"):
        CharLM("rnn", hidden_size=4, num_layers=1).fit("/nope/shakespeare.txt", max_steps=1, progress=False)
    with pytest.raises(FileNotFoundError, match="notes.txt"):
        CharLM("rnn", hidden_size=4, num_layers=1).fit("notes.txt", max_steps=1, progress=False)
    with pytest.raises(ValueError, match="directory or special file"):
        CharLM("rnn", hidden_size=4, num_layers=1).fit(str(tmp_path), max_steps=1, progress=False)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="directory or special file"):
        CharLM("rnn", hidden_size=4, num_layers=1).fit(str(fifo), max_steps=1, progress=False)
    lm = CharLM("rnn", hidden_size=4, num_layers=1).fit(Text("notes.txt " * 20), seq_len=4, batch_size=2,
                                                        max_steps=1, val_fraction=0, progress=False)
    assert "".join(lm.vocab_) == " .enostx"  # the string itself, explicitly
    p = tmp_path / "c.txt"
    p.write_text("a real file " * 30, encoding="utf-8")
    assert "".join(CharLM("rnn", hidden_size=4, num_layers=1).fit(p, seq_len=4, batch_size=2, max_steps=1,
                                                                  progress=False).vocab_) == " aefilr"
    assert CharLM("rnn", hidden_size=4, num_layers=1).fit("hello world, version 1.0", seq_len=4, batch_size=2,
                                                          max_steps=1, val_fraction=0, progress=False).vocab_


def test_numpy_state_dict(corpus):
    lm = CharLM("gru", hidden_size=8, num_layers=2).fit(corpus[:5000], seq_len=8, batch_size=2, max_steps=1,
                                                        progress=False)
    sd = lm.state_dict()
    assert sorted(sd) == sorted(["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                                 "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
                                 "decoder.weight", "decoder.bias"])
    assert np.array_equal(sd["rnn.weight_hh_l1"], lm.params_["weight_hh_l1"])
    sd["decoder.bias"][:] = 7  # copies: the model is not changed through them
    assert not np.any(lm.params_["decoder.bias"] == 7)
    back = CharLM.from_torch_state_dict(lm.state_dict(), lm.vocab_, cell="gru")
    assert back.sample("T", length=30, seed=3) == lm.sample("T", length=30, seed=3)


def test_bad_input(tmp_path, corpus):
    with pytest.raises(ValueError, match="cell"):
        CharLM("transformer").fit("abc abc", progress=False)
    with pytest.raises(ValueError, match="at least 2 characters"):
        CharLM().fit("", progress=False)
    with pytest.raises(ValueError, match="at least 2 characters"):
        CharLM().fit("a", progress=False)
    with pytest.raises(ValueError, match="seq_len"):
        CharLM(hidden_size=8, num_layers=1).fit("abcdefghij" * 3, seq_len=100, batch_size=2, val_fraction=0,
                                                progress=False)
    with pytest.raises(ValueError, match="too short"):
        CharLM(hidden_size=8, num_layers=1).fit("abc", batch_size=64, val_fraction=0, progress=False)
    with pytest.raises(NotFittedError):
        CharLM().sample("a")
    lm = CharLM("rnn", hidden_size=8, num_layers=1).fit(corpus[:5000], seq_len=16, batch_size=4, max_steps=2,
                                                        progress=False)
    with pytest.raises(ValueError, match="not in the model's vocabulary"):
        lm.sample("ROMEO \u263a", 10)
    with pytest.raises(ValueError, match="temperature"):
        lm.sample("R", 10, temperature=0)
    with pytest.raises(ValueError, match="temperature"):
        lm.sample("R", 10, temperature=float("nan"))
    with pytest.raises(ValueError, match="top_k"):
        lm.sample("R", 10, top_k=0)
    with pytest.raises(ValueError, match="not in the model's vocabulary"):
        lm.evaluate("\u263a\u263a\u263a")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"abc\xff\xfe")
    with pytest.raises(ValueError, match="UTF-8"):
        CharLM().fit(bad, progress=False)
    path = tmp_path / "m.npz"
    lm.save(path)
    data = path.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a saved CharLM"):
        CharLM.load(tmp_path / "trunc.npz")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a saved CharLM"):
        CharLM.load(tmp_path / "foreign.npz")
    with pytest.raises(FileNotFoundError):
        CharLM.load(tmp_path / "missing.npz")


def test_torch_state_dict_roundtrip(corpus):
    torch = pytest.importorskip("torch")
    lm = CharLM("gru", hidden_size=16, num_layers=2, embedding=5, seed=0)
    lm.fit(corpus[:5000], seq_len=16, batch_size=4, max_steps=2, progress=False)
    sd = lm.to_torch_state_dict()
    assert sd["rnn.weight_ih_l0"].shape == (48, 5) and sd["embedding.weight"].shape == (len(lm.vocab_), 5)
    back = CharLM.from_torch_state_dict(sd, lm.vocab_, cell="gru")
    assert back.sample("The", 50, seed=1) == lm.sample("The", 50, seed=1)
    with pytest.raises(ValueError, match="missing or has shape"):
        CharLM.from_torch_state_dict({k: v for k, v in sd.items() if k != "decoder.bias"}, lm.vocab_, cell="gru")
    assert isinstance(sd["decoder.weight"], torch.Tensor)
