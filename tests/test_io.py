"""The shared floor for files: one .npz model format for every saved model, atomic writes."""
import json
import os

import numpy as np
import pytest

from pyfast_nlp import CharLM, GloVe, Vocab, cooccurrence, nn
from pyfast_nlp._io import load_model, save_model
from pyfast_nlp.classify import TextClassifier


def test_save_model_roundtrip_and_foreign_files(tmp_path):
    p = tmp_path / "m.npz"
    save_model(p, "demo.format", {"answer": 42}, {"w": np.arange(3, dtype=np.float32)})
    meta, arrays = load_model(p, "demo.format", "a demo model")
    assert meta == {"format": "demo.format", "version": 1, "answer": 42}
    assert arrays["w"].tolist() == [0, 1, 2] and "meta" not in arrays
    with pytest.raises(ValueError, match="is not a demo model"):
        load_model(p, "other.format", "a demo model")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not a demo model"):
        load_model(tmp_path / "junk.npz", "demo.format", "a demo model")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz", "demo.format", "a demo model")
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp")] == []


def _meta_of(path):
    with np.load(path) as z:
        raw = z["meta"]
        assert raw.dtype == np.uint8  # one scheme: UTF-8 JSON bytes under "meta"
        return json.loads(raw.tobytes().decode("utf-8"))


def test_every_model_is_saved_in_the_one_format(tmp_path):
    texts = ["the king rules the land", "the queen rules the land"] * 20
    vocab = Vocab.build(texts, specials=())
    GloVe(dim=4, epochs=1, num_threads=1).fit(cooccurrence(texts, vocab, window=2, progress=False), vocab,
                                              progress=False).save(tmp_path / "g.npz")
    CharLM("rnn", hidden_size=4, num_layers=1).fit("hello world " * 20, seq_len=8, batch_size=2, max_steps=2,
                                                   progress=False).save(tmp_path / "c.npz")
    TextClassifier().fit(texts, ["a", "b"] * 20).save(tmp_path / "t.npz")
    formats = {name: _meta_of(tmp_path / name)["format"] for name in ("g.npz", "c.npz", "t.npz")}
    assert formats == {"g.npz": "pyfast_nlp.glove", "c.npz": "pyfast_nlp.charlm", "t.npz": "pyfast_nlp.text_classifier"}


def test_a_classifier_saved_by_an_earlier_version_still_loads(tmp_path):
    # before the one format, the classifier stored its metadata as a numpy str array
    texts, labels = ["good fine great", "bad awful poor"] * 5, ["pos", "neg"] * 5
    clf = TextClassifier().fit(texts, labels)
    clf.save(tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["meta"] = np.array(json.dumps(_meta_of(tmp_path / "new.npz")))
    np.savez_compressed(tmp_path / "old.npz", **arrays)
    assert TextClassifier.load(tmp_path / "old.npz").predict(["great good"]).tolist() == ["pos"]


def test_thread_counts_are_checked_one_way_everywhere():
    x = np.zeros((2, 1, 3), np.float32)
    h0 = np.zeros((1, 2), np.float32)
    w = [np.zeros(s, np.float32) for s in [(2, 3), (2, 2), (2,), (2,)]]
    for bad in (0, -2, 1.5, True):
        with pytest.raises((ValueError, TypeError), match="num_threads"):
            nn.rnn_forward(x, h0, *w, num_threads=bad)
        with pytest.raises((ValueError, TypeError), match="num_threads"):
            Vocab.build(["a b"], num_threads=bad)
    y, _, _ = nn.rnn_forward(x, h0, *w, num_threads=None)  # None: all cores, as -1
    assert y.shape == (2, 1, 2)


def _child(code, tmp_path):
    import subprocess
    import sys
    import textwrap

    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__import__("pyfast_nlp").__file__)))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path, env=env, text=True)


def test_a_save_killed_with_sigkill_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    import signal

    target = tmp_path / "m.npz"
    save_model(target, "demo.format", {"n": 1}, {})
    with _child(f"""
        import time
        from pyfast_nlp._io import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            open(tmp, "wb").write(b"half a model" * 1000)
            print("writing", flush=True)
            time.sleep(60)
        """, tmp_path) as p:
        assert p.stdout.readline().strip() == "writing"
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        p.stdout.close()
        p.stderr.close()
    left = [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]
    assert len(left) == 1 and left[0].startswith(f".tmp-{p.pid}-") and left[0].endswith("-m.npz")
    assert load_model(target, "demo.format", "a demo model")[0]["n"] == 1  # the saved file is intact
    save_model(target, "demo.format", {"n": 2}, {})
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")] == []
    assert load_model(target, "demo.format", "a demo model")[0]["n"] == 2


def test_sigterm_during_a_save_is_an_interrupt_that_cleans_up(tmp_path):
    import signal

    target = tmp_path / "m.npz"
    save_model(target, "demo.format", {"n": 1}, {})
    with _child(f"""
        import time
        from pyfast_nlp._io import atomic_path
        try:
            with atomic_path({str(target)!r}) as tmp:
                open(tmp, "wb").write(b"half a model" * 1000)
                print("writing", flush=True)
                time.sleep(60)
        except KeyboardInterrupt as e:
            print("interrupted:", e, flush=True)
        """, tmp_path) as p:
        assert p.stdout.readline().strip() == "writing"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    assert "interrupted: terminated (SIGTERM)" in out, err
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")] == []
    assert load_model(target, "demo.format", "a demo model")[0]["n"] == 1


def test_progress_without_tqdm_prints_plain_lines(monkeypatch, capsys, corpus_path):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    Vocab.build(corpus_path, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("counting: 100% (") and err.strip().endswith(" s")
    CharLM("rnn", hidden_size=4, num_layers=1).fit("hello world " * 40, seq_len=4, batch_size=2, max_steps=3,
                                                   progress=True)
    assert "charlm rnn: 100% (3/3 step)" in capsys.readouterr().err


def test_file_errors_are_oserrors_naming_the_users_path(tmp_path):
    import errno

    from pyfast_nlp import WordVectors, _core
    from pyfast_nlp._io import atomic_path

    with pytest.raises(FileNotFoundError) as e:
        _core.read_vectors_text(str(tmp_path / "missing.txt"), header=False)
    assert e.value.errno == errno.ENOENT and e.value.filename == str(tmp_path / "missing.txt")
    with pytest.raises(OSError) as e:  # /dev/full: every write fails with ENOSPC
        _core.write_vectors_text("/dev/full", ["a"], np.ones((1, 4), np.float32), header=False)
    assert e.value.errno == errno.ENOSPC and e.value.filename == "/dev/full"
    target = tmp_path / "v.txt"
    with pytest.raises(OSError) as e:  # a writer failing on the hidden temporary names the target
        with atomic_path(target) as tmp:
            raise OSError(errno.ENOSPC, "error writing: No space left on device", tmp)
    assert e.value.errno == errno.ENOSPC and e.value.filename == str(target)
    assert not target.exists() and [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")] == []
    with pytest.raises(ValueError, match="not a regular file"):
        Vocab.load("/dev/zero")
    with pytest.raises(ValueError, match="not a regular file"):
        WordVectors.load("/dev/zero", format="glove")


def test_a_line_without_end_is_refused_not_grown_until_memory_runs_out(monkeypatch, tmp_path):
    from pyfast_nlp import Tokenizer

    monkeypatch.setenv("PYFAST_NLP_MAX_LINE_BYTES", str(1 << 20))
    with pytest.raises(ValueError, match=r"/dev/zero, line 1: longer than max_line_bytes=1048576"):
        Vocab.build("/dev/zero")
    with pytest.raises(ValueError, match="longer than max_line_bytes"):
        cooccurrence("/dev/zero", ["a"], progress=False)
    p = tmp_path / "minified.txt"
    p.write_text("word " * 300000, encoding="utf-8")  # 1.5 MB, no newline
    with pytest.raises(ValueError, match="line 1: longer than max_line_bytes"):
        list(Tokenizer().tokenize_file(p))
    monkeypatch.setenv("PYFAST_NLP_MAX_LINE_BYTES", str(4 << 20))
    assert Vocab.build(p, specials=()).tokens == ["word"]
