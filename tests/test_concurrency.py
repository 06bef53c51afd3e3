"""Concurrency: the kernels release the GIL, give the same answers when called from several
Python threads at once, and Ctrl-C stops long work within a second, leaving the model usable,
the last checkpoint intact and no temporary files."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import pyfast_nlp
from pyfast_nlp import GloVe, MultinomialNB, Stemmer, Tokenizer, Vocab, WordVectors, cooccurrence, nn
from pyfast_nlp import CharLM, CountVectorizer

RNG = np.random.default_rng(0)
WORDS = [f"w{i}" for i in range(3000)]


def _texts(n_docs, n_words, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.zipf(1.3, size=(n_docs, n_words)) % len(WORDS)
    return [" ".join(WORDS[i] for i in row) for row in z]


@pytest.fixture(scope="module")
def corpus():
    return _texts(2000, 200)


@pytest.fixture(scope="module")
def charlm():
    m = CharLM(cell="lstm", hidden_size=64, num_layers=2, seed=0)
    m.fit("the quick brown fox jumps over the lazy dog\n" * 40, seq_len=16, batch_size=4, max_steps=3,
          progress=False, num_threads=1)
    return m


def _blocked_time(fn):
    """Run fn in a second thread while this one spins; return (fn's seconds, the longest stretch
    this thread could not run). A kernel holding the GIL blocks this thread for its whole run."""
    done = threading.Event()
    box = {}

    def work():
        t0 = time.perf_counter()
        try:
            fn()
        finally:
            box["t"] = time.perf_counter() - t0
            done.set()

    th = threading.Thread(target=work)
    last = time.perf_counter()
    gap = 0.0
    th.start()
    while not done.is_set():
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
    th.join()
    return box["t"], gap


def _gil_cases(corpus, charlm, tmp_path):
    vocab = Vocab.build(corpus, tokenizer=Tokenizer(pattern="whitespace"))
    ids = [vocab.encode(t.split(), unknown="drop") for t in corpus]
    cooc = cooccurrence(ids, vocab, window=5, num_threads=1, progress=False)
    vec = WordVectors([f"v{i}" for i in range(60000)], RNG.standard_normal((60000, 50)).astype(np.float32))
    glove_file = tmp_path / "v.txt"
    vec.save(glove_file, format="glove")
    x = RNG.standard_normal((200, 32, 128)).astype(np.float32)
    H = 256
    w = [RNG.standard_normal(s).astype(np.float32) * 0.05 for s in ((4 * H, 128), (4 * H, H), (4 * H,), (4 * H,))]
    h0 = np.zeros((32, H), np.float32)
    big = corpus * 40
    return {
        "Vocab.build": lambda: Vocab.build(big, tokenizer=Tokenizer(), num_threads=1),
        "cooccurrence": lambda: cooccurrence(ids * 3, vocab, window=10, num_threads=1, progress=False),
        "GloVe.fit": lambda: GloVe(dim=50, epochs=3, num_threads=1).fit(cooc, vocab, progress=False),
        "WordVectors.load_glove": lambda: WordVectors.load_glove(glove_file, num_threads=1),
        "lstm_forward": lambda: [nn.lstm_forward(x, h0, h0, *w, num_threads=1) for _ in range(3)],
        "CharLM.sample": lambda: charlm.sample("the", length=60000, seed=1, num_threads=1),
        "CountVectorizer": lambda: CountVectorizer(num_threads=1).fit_transform(big),
    }


def test_kernels_release_the_gil(corpus, charlm, tmp_path):
    for name, fn in _gil_cases(corpus, charlm, tmp_path).items():
        t, gap = _blocked_time(fn)
        assert t > 0.1, f"{name} took only {t:.2f} s: too short to tell; make the case bigger"
        # Holding the GIL through the kernel would block this thread for (nearly) all of t.
        assert gap < 0.5 * t, f"{name}: this thread was blocked {gap:.2f} s of {t:.2f} s"


def _same(a, b):
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if hasattr(a, "toarray"):
        return (a != b).nnz == 0
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_threads_give_the_same_answers_as_serial_calls(corpus, charlm):
    vocab = Vocab.build(corpus, tokenizer=Tokenizer(pattern="whitespace"))
    ids = [vocab.encode(t.split(), unknown="drop") for t in corpus]
    cooc = cooccurrence(ids[:300], vocab, window=5, num_threads=1, progress=False)
    vec = WordVectors(WORDS, RNG.standard_normal((len(WORDS), 20)).astype(np.float32))
    X = CountVectorizer().fit_transform(corpus)
    y = np.arange(len(corpus)) % 3
    x = RNG.standard_normal((20, 8, 16)).astype(np.float32)
    w = [RNG.standard_normal(s).astype(np.float32) * 0.1 for s in ((96, 16), (96, 32), (96,), (96,))]
    h0 = np.zeros((8, 32), np.float32)
    text = "the lazy dog jumps over the quick brown fox\n" * 5
    calls = {
        "tokenize_batch": lambda: Tokenizer(stemmer="english").tokenize_batch(corpus[:200], num_threads=2),
        "stem_batch": lambda: Stemmer("porter", num_threads=2).stem_batch(WORDS),
        "cooccurrence": lambda: cooccurrence(ids[:300], vocab, window=5, num_threads=2, progress=False),
        "GloVe.fit": lambda: GloVe(dim=10, epochs=2, num_threads=1, seed=3).fit(cooc, vocab, progress=False).word_vectors_,
        "most_similar": lambda: [vec.most_similar(w, topn=5) for w in WORDS[:50]],
        "MultinomialNB": lambda: MultinomialNB().fit(X, y).predict_proba(X[:50]),
        "gru_forward": lambda: nn.gru_forward(x, h0, *w, num_threads=2)[:2],
        "CharLM.evaluate": lambda: charlm.evaluate(text, num_threads=1),
        "CharLM.sample": lambda: charlm.sample("the", length=200, seed=7, num_threads=1),
        "CharLM.hidden_states": lambda: charlm.hidden_states(text),
    }
    serial = {k: f() for k, f in calls.items()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(k, pool.submit(f)) for _ in range(3) for k, f in calls.items()]
        for k, fut in futures:
            assert _same(fut.result(), serial[k]), f"{k} differs when called from several threads"


# ------------------------------------------------------------------ Ctrl-C
_PRELUDE = """
import json, os, signal, sys, time
# Python's Ctrl-C handler, as in any terminal: a shell that started the test run in the
# background hands its children SIGINT ignored, and Python then installs no handler
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
import pyfast_nlp
from pyfast_nlp import *
from pyfast_nlp import CharLM
work = sys.argv[1]
def ready():
    print("ready", flush=True)
def report(**kw):
    print("RESULT " + json.dumps(kw), flush=True)
"""

_SCENARIOS = {
    # out-of-core counting: spilled runs on disk when interrupted
    "cooccurrence": """
        rng = np.random.default_rng(0)
        ids = [rng.zipf(1.2, 5000).astype(np.int32) % 50000 for _ in range(8000)]
        vocab = Vocab([f"w{i}" for i in range(50000)], np.ones(50000, np.int64), specials=())
        tmp = os.path.join(work, "spill"); os.makedirs(tmp)
        ready()
        try:
            cooccurrence(ids, vocab, window=10, memory_limit="40MB", tmp_dir=tmp, progress=False)
            report(finished=True)
        except KeyboardInterrupt:
            t = time.time()
            report(caught=t, left=os.listdir(tmp))
    """,
    "GloVe": """
        rng = np.random.default_rng(0)
        n = 3000
        r, c = rng.integers(0, n, 400000), rng.integers(0, n, 400000)
        import scipy.sparse as sp
        cooc = sp.coo_matrix((rng.random(400000).astype(np.float32) + 0.1, (r, c)), shape=(n, n))
        words = [f"w{i}" for i in range(n)]
        g = GloVe(dim=100, epochs=100000)
        ready()
        try:
            g.fit(cooc, words, progress=False)
            report(finished=True)
        except KeyboardInterrupt:
            t = time.time()
            v = g.word_vectors()
            ok = bool(np.all(np.isfinite(v.vectors)))
            g.partial_fit(cooc, epochs=1, progress=False)
            report(caught=t, usable=ok and len(g.loss_history_) == g.epochs_done_)
    """,
    "CharLM": """
        text = open(os.path.join(os.path.dirname(pyfast_nlp.__file__), "data", "shakespeare_7plays.txt")).read()[:300000]
        ck = os.path.join(work, "ck", "model.npz"); os.makedirs(os.path.dirname(ck))
        m = CharLM(cell="lstm", hidden_size=256, num_layers=2)
        ready()
        try:
            m.fit(text, seq_len=64, batch_size=32, epochs=1000, checkpoint=ck, checkpoint_every=3, progress=False)
            report(finished=True)
        except KeyboardInterrupt:
            t = time.time()
            back = CharLM.load(ck)
            s = back.sample("ROMEO:", length=20, seed=0)
            m.sample("ROMEO:", length=20, seed=0)
            report(caught=t, left=sorted(os.listdir(os.path.dirname(ck))), step=back.train_state_["global_step"])
    """,
    "Vocab.build": """
        path = os.path.join(work, "big.txt")
        rng = np.random.default_rng(0)
        # "é": tokens off the ASCII fast path, about 6 s of work here, so it is still running when
        # the signal comes (ASCII ones took 1.9 s, close to the 1.5 s before the signal)
        line = " ".join(f"w\u00e9{i}" for i in rng.integers(0, 100000, 2000)) + "\\n"
        with open(path, "w", encoding="utf-8") as f:
            for _ in range(30000):
                f.write(line)
        ready()
        try:
            Vocab.build(path, num_threads=1, progress=False)
            report(finished=True)
        except KeyboardInterrupt:
            report(caught=time.time())
    """,
}


def _interrupt(proc, scenario, tmp_path):
    """Wait until the child is into its long work, then press Ctrl-C."""
    try:
        line = proc.stdout.readline().strip()
        assert line == "ready", proc.stderr.read()
        time.sleep(1.5)  # well into the long work
        if scenario == "CharLM":  # and past the first checkpoint (slow builds take longer to reach it)
            deadline = time.time() + 120
            while not (tmp_path / "ck" / "model.npz").exists() and time.time() < deadline:
                time.sleep(0.1)
            time.sleep(0.3)
        proc.sent = time.time()
        proc.send_signal(signal.SIGINT)
    except BaseException:
        proc.kill()
        raise


@pytest.mark.parametrize("scenario", sorted(_SCENARIOS))
def test_ctrl_c_returns_within_a_second(scenario, tmp_path):
    script = _PRELUDE + textwrap.dedent(_SCENARIOS[scenario])
    # the child imports the very package under test, not a source tree it happens to run in
    pkg_root = os.path.dirname(os.path.dirname(pyfast_nlp.__file__))
    env = dict(os.environ, OMP_NUM_THREADS="2",
               PYTHONPATH=os.pathsep.join([pkg_root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    with subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path) as proc:
        _interrupt(proc, scenario, tmp_path)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"{scenario}: still running 60 s after Ctrl-C\n{err[-3000:]}")
    lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, err[-3000:]
    res = json.loads(lines[-1][7:])
    assert not res.get("finished"), "the work ended before the signal; make it longer"
    late = res["caught"] - proc.sent
    # a second, as the issue asks; the sanitizer build runs everything 2-3x slower
    limit = 3.0 if pyfast_nlp.build_info()["sanitize"] else 1.0
    assert late < limit, f"{scenario}: control came back {late:.2f} s after Ctrl-C"
    if "left" in res:
        assert [f for f in res["left"] if f != "model.npz"] == [], f"temporary files left: {res['left']}"
    if "usable" in res:
        assert res["usable"]
    if "step" in res:
        assert res["step"] >= 3 and (tmp_path / "ck" / "model.npz").exists()
