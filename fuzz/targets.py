"""Fuzz targets: every entry point that takes user data, one function per target.

Each target takes the fuzzer's bytes and either returns (the input was handled: a result, or
a clean ``ValueError``/``TypeError`` naming the problem) or raises something else, which is a
finding: a crash in C++ (the process dies; the sanitizer build says where), an unexpected
exception type, or an ``AssertionError`` from a check that the answer is right (several
targets compare against an independent oracle: Python's ``re`` and ``str.split`` for the
tokenizer, a byte-level decode for UTF-8 handling, a round trip for the savers).

Run them with ``python fuzz/run.py TARGET`` (atheris, coverage-guided) or replay a corpus
with ``python fuzz/run.py TARGET --replay DIR``; ``tests/test_fuzz_corpus.py`` replays the
checked-in seed corpus on every test run. See FUZZING.md.
"""
from __future__ import annotations

import atexit
import io
import os
import re
import shutil
import tempfile
import unicodedata
from typing import Callable, Dict

import numpy as np

import pyfast_nlp
import scipy.sparse as sp

from pyfast_nlp import CharLM, GloVe, Stemmer, Tokenizer, Vocab, Word2Vec, WordVectors, nn
from pyfast_nlp.classify import TextClassifier

CLEAN = (ValueError, TypeError)
_TMP = tempfile.mkdtemp(prefix="pfn-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


class Bytes:
    """A small stand-in for atheris.FuzzedDataProvider that works without atheris, so the
    corpus replays anywhere (the test suite does not need atheris)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        self.pos += 1
        return self.data[self.pos - 1]

    def int(self, lo: int, hi: int) -> int:
        """An int in [lo, hi] from the next two bytes."""
        return lo + ((self.byte() << 8) | self.byte()) % (hi - lo + 1)

    def bool(self) -> bool:
        return bool(self.byte() & 1)

    def rest(self) -> bytes:
        out, self.pos = self.data[self.pos:], len(self.data)
        return out

    def text(self) -> str:
        """The rest as text with any code point: UTF-8 where it decodes, and every byte that
        does not decode mapped to U+0080 + byte, so lone surrogates and controls appear too."""
        raw = self.rest()
        return raw.decode("utf-8", "surrogateescape").encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


def _file(data: bytes, name: str = "input") -> str:
    path = os.path.join(_TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# ------------------------------------------------------------------ tokenizer and stemmers
_WORD = re.compile(r"(?u)\b\w+\b")  # with the min_token_len filter: (?u)\b\w\w+\b for 2


def tokenizer(data: bytes) -> None:
    """Every option on arbitrary bytes and str; checked against Python's re/str.split and a
    byte-level decode."""
    p = Bytes(data)
    pattern = ("word", "char", "whitespace")[p.byte() % 3]
    lowercase, split_script, as_bytes, replace = p.bool(), p.bool(), p.bool(), p.bool()
    stemmer = (None, None, "english", "porter", "korean")[p.byte() % 5]
    min_len = p.byte() % 4 or None
    nfc = p.bool()
    raw = p.rest()
    tok = Tokenizer(lowercase=lowercase, pattern=pattern, split_script=split_script, stemmer=stemmer,
                    errors="replace" if replace else "strict", min_token_len=min_len,
                    normalize="NFC" if nfc else None, num_threads=1)
    if as_bytes:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if not replace:
                try:
                    tok.tokenize(raw)
                except ValueError as e:
                    assert "byte" in str(e) or "UTF-8" in str(e), e
                    return
                raise AssertionError("invalid UTF-8 was accepted with errors='strict'")
            text = raw.decode("utf-8", "replace")
        got = tok.tokenize(raw)
    else:
        text = raw.decode("utf-8", "surrogateescape")
        try:
            got = tok.tokenize(text)
        except ValueError:  # a lone surrogate cannot be encoded as UTF-8
            assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
            return
    assert all(isinstance(t, str) and t for t in got), got
    inp = raw if as_bytes else text  # (the same kind: NFC applies to str input only)
    assert tok.tokenize_batch([inp, inp], num_threads=2) == [got, got]
    if not split_script:
        if nfc and not as_bytes:  # NFC applies to str input only
            text = unicodedata.normalize("NFC", text)
        src = text.lower() if lowercase else text
        want = {"word": lambda s: _WORD.findall(s), "whitespace": str.split,
                "char": lambda s: list(s)}[pattern](src)
        m = min_len or (2 if pattern == "word" else 1)
        want = [t for t in want if len(t) >= m]
        if stemmer is not None:
            stem = Stemmer(stemmer).stem
            want = [s for s in map(stem, want) if s]
        assert got == want, (pattern, lowercase, text, got, want)


def stemmer(data: bytes) -> None:
    """Each stemmer on arbitrary words; English is compared with PyStemmer when installed."""
    p = Bytes(data)
    kind = ("english", "porter", "korean")[p.byte() % 3]
    words = p.text().split("\x00")
    try:
        out = Stemmer(kind, num_threads=1).stem_batch(words)
    except ValueError:  # a lone surrogate cannot be encoded as UTF-8
        assert any(0xD800 <= ord(c) <= 0xDFFF for w in words for c in w)
        return
    assert len(out) == len(words) and all(isinstance(s, str) for s in out)
    assert out == [Stemmer(kind).stem(w) for w in words]
    if kind in ("english", "porter") and _pystemmer is not None:
        want = _pystemmer[kind].stemWords(words)
        assert out == want, [(w, a, b) for w, a, b in zip(words, out, want) if a != b][:3]


try:
    import Stemmer as _PyStemmer

    _pystemmer = {k: _PyStemmer.Stemmer(k) for k in ("english", "porter")}
except ImportError:  # pragma: no cover - the oracle is optional
    _pystemmer = None


# ------------------------------------------------------------------ files a user hands us
def vocab_load(data: bytes) -> None:
    """Vocab.load on arbitrary bytes; what loads must save and load back equal."""
    try:
        v = Vocab.load(_file(data))
    except ValueError:
        return
    v.save(os.path.join(_TMP, "v2.json"))
    w = Vocab.load(os.path.join(_TMP, "v2.json"))
    assert w.tokens == v.tokens and np.array_equal(w.counts, v.counts)


def _load_vectors(data: bytes, fmt: str) -> None:
    """A text or binary vectors file: damaged ones are a ValueError; what a loader accepted
    must be well formed and survive a save/load in the same format."""
    path, threads = _file(data), 1 + (len(data) & 1)  # the text reader is parallel: 1 and 2 threads
    loaders = {"glove": lambda: WordVectors.load_glove(path, num_threads=threads),
               "word2vec": lambda: WordVectors.load_word2vec(path, num_threads=threads),
               "word2vec-binary": lambda: WordVectors.load_word2vec(path, binary=True, num_threads=threads)}
    try:
        v = loaders[fmt]()
    except ValueError:
        return
    assert v.vectors.dtype == np.float32 and v.vectors.ndim == 2 and v.vectors.shape[0] == len(v.words)
    out = os.path.join(_TMP, "roundtrip")
    if any(not w or re.search(r"\s", w) for w in v.words):
        # Readers split on space, tab and line ends only; writers refuse any whitespace (other
        # tools split on more), so such a word loads but cannot be written back.
        try:
            v.save(out, format=fmt)
        except ValueError as e:
            assert "whitespace" in str(e)
            return
        raise AssertionError("a word with whitespace was written")
    v.save(out, format=fmt)
    w = WordVectors.load(out, format=fmt)
    assert w.words == v.words, (v.words[:5], w.words[:5])
    assert np.array_equal(w.vectors, v.vectors, equal_nan=True) or fmt != "word2vec-binary"
    assert np.allclose(w.vectors, v.vectors, rtol=1e-6, equal_nan=True)
    if len(v.words) and v.vectors.shape[1] and np.all(np.isfinite(v.vectors)):
        v.most_similar(v.words[0], topn=1)


def vectors_glove(data: bytes) -> None:
    _load_vectors(data, "glove")


def vectors_word2vec_text(data: bytes) -> None:
    _load_vectors(data, "word2vec")


def vectors_word2vec_binary(data: bytes) -> None:
    _load_vectors(data, "word2vec-binary")


def vectors_npz(data: bytes) -> None:
    """WordVectors.load_npz on raw bytes (first byte 0) or on a valid file whose words or
    vectors array the fuzzer rewrites (first byte 1)."""
    p = Bytes(data)
    if p.byte() & 1 == 0:
        blob = p.rest()
    else:
        which, rest = p.byte() % 2, p.rest()
        words = np.array(["a", "b", "c"])
        vec = np.ones((3, 2), np.float32)
        if which == 0:
            words = np.frombuffer(rest[: len(rest) // 4 * 4], np.dtype("<U1"))
        else:
            dtype = (np.float32, np.float64, np.int32, np.float16)[len(rest) % 4]
            n = len(rest) // np.dtype(dtype).itemsize
            vec = np.frombuffer(rest[: n * np.dtype(dtype).itemsize], dtype)
            if n % 3 == 0:
                vec = vec.reshape(3, -1)
        out = io.BytesIO()
        np.savez(out, words=words, vectors=vec)
        blob = out.getvalue()
    try:
        v = WordVectors.load_npz(_file(blob, "v.npz"))
    except ValueError:
        return
    assert v.vectors.dtype == np.float32 and v.vectors.ndim == 2 and len(v.words) == v.vectors.shape[0]
    assert np.all(np.isfinite(v.vectors)), "non-finite vectors were accepted"


def cooccurrence_file(data: bytes) -> None:
    """The reference-format reader: damaged files are a ValueError, and what loads has one
    entry per record and the asked-for shape."""
    p = Bytes(data)
    vocab_size = p.int(0, 40) if p.bool() else None
    body = p.rest()
    try:
        m = pyfast_nlp.read_cooccurrence(_file(body), vocab_size=vocab_size)
    except ValueError:
        return
    assert m.nnz == len(body) // 16 and m.dtype == np.float32
    if vocab_size is not None:
        assert m.shape == (vocab_size, vocab_size)


def cooccurrence_ids(data: bytes) -> None:
    """Counting from user id arrays: out-of-range ids must be refused; what is counted must
    match a plain Python count."""
    p = Bytes(data)
    V = p.int(1, 12)
    window, sym, dist = p.int(1, 5), p.bool(), p.bool()
    ids = np.frombuffer(p.rest()[:128], dtype=np.int8).astype(np.int32) % (V + 3) - 1
    docs = [d for d in np.split(ids, np.flatnonzero(ids == V + 1)) if True]
    vocab = Vocab([f"w{i}" for i in range(V)], np.ones(V, np.int64), specials=())
    try:
        m = pyfast_nlp.cooccurrence(docs, vocab, window=window, symmetric=sym, distance_weighting=dist,
                                    num_threads=1, progress=False)
    except ValueError as e:
        out_of_range = any(((d < 0) | (d >= V)).any() for d in docs)
        assert out_of_range or sum(map(len, docs)) == 0 or "no token" in str(e), e
        return
    assert not any(((d < 0) | (d >= V)).any() for d in docs), "out-of-range ids were accepted"
    want = np.zeros((V, V))
    for d in docs:
        for j in range(len(d)):
            for k in range(max(0, j - window), j):
                w = 1.0 / (j - k) if dist else 1.0
                want[d[k], d[j]] += w  # (left context, word), as the reference cooccur
                if sym:
                    want[d[j], d[k]] += w
    assert np.allclose(m.toarray(), want, rtol=1e-6, atol=1e-6)


_SEEDS: Dict[str, bytes] = {}


def _seed_model(kind: str) -> bytes:
    """A small real model file of each kind, made once."""
    if kind not in _SEEDS:
        path = os.path.join(_TMP, f"seed-{kind}.npz")
        if kind == "charlm":
            m = CharLM(cell="gru", hidden_size=4, num_layers=1, seed=0)
            m.fit("abcab\nba", seq_len=3, batch_size=2, max_steps=1, progress=False, val_fraction=0.0)
            m.save(path)
        elif kind == "glove":
            cooc = sp.coo_matrix((np.ones(3, np.float32), ([0, 1, 2], [1, 2, 0])), shape=(3, 3))
            GloVe(dim=2, epochs=1).fit(cooc, ["a", "b", "c"], progress=False).save(path)
        elif kind == "word2vec":
            Word2Vec(vector_size=2, min_count=1, epochs=1, sample=0).fit(["ab cd ef ab cd"], progress=False).save(path)
        else:
            TextClassifier().fit(["good film", "bad film", "good", "bad"], ["p", "n", "p", "n"]).save(path)
        with open(path, "rb") as f:
            _SEEDS[kind] = f.read()
    return _SEEDS[kind]


def _model_file(p: Bytes, kind: str) -> bytes:
    """Raw bytes (next byte even) or a real model file whose metadata or one array is
    rewritten with the fuzzer's bytes (odd)."""
    if p.byte() & 1 == 0:
        return p.rest()
    with np.load(io.BytesIO(_seed_model(kind))) as z:
        arrays = {k: z[k] for k in z.files}
    names = sorted(arrays)
    victim = names[p.byte() % len(names)]
    rest = p.rest()
    if victim == "meta" and arrays["meta"].dtype.kind == "U":
        arrays["meta"] = np.array(rest.decode("utf-8", "replace"))
    elif victim == "meta":
        arrays["meta"] = np.frombuffer(rest, np.uint8)
    else:
        dtype = (arrays[victim].dtype, np.float64, np.int32, np.float32)[len(rest) % 4]
        n = len(rest) // np.dtype(dtype).itemsize
        arrays[victim] = np.frombuffer(rest[: n * np.dtype(dtype).itemsize], dtype)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def charlm_load(data: bytes) -> None:
    """CharLM.load on damaged files: a ValueError, and a model that loads must sample."""
    try:
        m = CharLM.load(_file(_model_file(Bytes(data), "charlm"), "m.npz"))
    except ValueError:
        return
    m.sample(m.vocab_[0], length=3, seed=0)


def model_load(data: bytes) -> None:
    """GloVe.load, Word2Vec.load and TextClassifier.load on damaged files; what loads must work."""
    p = Bytes(data)
    kind = ("glove", "classifier", "word2vec")[p.byte() % 3]
    path = _file(_model_file(p, kind), "model.npz")
    loader = {"glove": GloVe.load, "classifier": TextClassifier.load, "word2vec": Word2Vec.load}[kind]
    try:
        m = loader(path)
    except ValueError:
        return
    if kind == "glove":
        v = m.word_vectors()
        assert np.all(np.isfinite(v.vectors))
    elif kind == "word2vec":
        assert np.all(np.isfinite(m.wv.vectors)) and np.all(np.isfinite(m.syn1neg))
        m.wv.most_similar(m.wv.index_to_key[0], topn=1)
    else:
        proba = m.predict_proba(["good film"])
        assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1.0)


# ------------------------------------------------------------------ kernels' argument checks
_CELLS = {"rnn": 1, "lstm": 4, "gru": 3}


def kernels(data: bytes) -> None:
    """The functional recurrent kernels with shapes, dtypes, layouts and values the fuzzer
    picks; each argument may be damaged. Well-formed calls must give finite results of the
    right shapes; anything else must be a ValueError/TypeError."""
    p = Bytes(data)
    cell = ("rnn", "lstm", "gru")[p.byte() % 3]
    G = _CELLS[cell]
    T, B, I, H = p.int(0, 5), p.int(0, 4), p.int(0, 6), p.int(0, 9)
    ids = p.bool()
    rng = np.random.default_rng(p.byte())
    shapes = {"x": (T, B) if ids else (T, B, I), "h0": (B, H), "c0": (B, H), "w_ih": (G * H, I),
              "w_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,)}
    args = {}
    for name, shape in shapes.items():
        if ids and name == "x":
            a = rng.integers(0, max(I, 1), size=shape).astype(np.int32)
        else:
            a = (rng.standard_normal(shape) * 0.5).astype(np.float32)
        damage = p.byte()
        if damage < 200:
            pass
        elif damage < 210:
            a = a.astype(np.float64)
        elif damage < 220:
            a = a.reshape(-1)
        elif damage < 225 and a.ndim >= 1 and a.shape[-1] > 1:
            a = a[..., ::2]  # strided view
        elif damage < 235 and a.size:
            a = a.copy()
            a.reshape(-1)[0] = np.nan if a.dtype.kind == "f" else -1 - I * 1000
        elif damage < 245:
            a = np.zeros(tuple(s + 1 for s in a.shape), a.dtype)
        elif damage < 250:
            a = None
        else:
            a = a.tolist()
        args[name] = a
    fwd = getattr(nn, f"{cell}_forward")
    pos = [args["x"], args["h0"]] + ([args["c0"]] if cell == "lstm" else []) + [args[k] for k in ("w_ih", "w_hh", "b_ih", "b_hh")]
    try:
        out = fwd(*pos, input_size=I if ids else None, num_threads=1 + p.bool())
    except (ValueError, TypeError, IndexError):  # IndexError: an input id out of range
        return
    y, cache = out[0], out[-1]
    # (the damage may have changed several shapes consistently: judge by what was passed)
    assert y.shape == np.shape(args["x"])[:2] + np.shape(args["w_hh"])[1:], (y.shape, T, B, H)
    assert np.all(np.isfinite(y))
    dy = None if p.bool() else np.ones_like(y)
    if p.byte() > 240:
        dy = np.ones((T + 1, B, H), np.float32)
    try:
        bwd = getattr(nn, f"{cell}_backward")
        g = bwd(dy, None, None, cache) if cell == "lstm" else bwd(dy, None, cache)
    except CLEAN:
        assert dy is not None and dy.shape != y.shape
        return
    assert all(np.all(np.isfinite(v)) for v in g.values())


def softmax_xent(data: bytes) -> None:
    p = Bytes(data)
    N, H, V = p.int(0, 6), p.int(0, 5), p.int(0, 7)
    rng = np.random.default_rng(p.byte())
    y = rng.standard_normal((N, H)).astype(np.float32)
    w = rng.standard_normal((V, H)).astype(np.float32)
    b = rng.standard_normal(V).astype(np.float32)
    t = (np.frombuffer(p.rest()[:N].ljust(N, b"\0"), np.int8).astype(np.int64) % (V + 2)) - 1
    try:
        out = nn.softmax_cross_entropy(y, w, b, t)
    except (ValueError, TypeError, IndexError):  # IndexError: a target id out of range, as numpy
        assert V == 0 or N == 0 or H == 0 or ((t < 0) | (t >= V)).any()
        return
    assert np.isfinite(out["loss"]) and out["dy"].shape == y.shape, out
    assert np.all(np.isfinite(out["dy"])) and np.all(np.isfinite(out["dw"]))


TARGETS: Dict[str, Callable[[bytes], None]] = {
    f.__name__: f for f in (tokenizer, stemmer, vocab_load, vectors_glove, vectors_word2vec_text,
                            vectors_word2vec_binary, vectors_npz, cooccurrence_file, cooccurrence_ids, charlm_load, model_load,
                            kernels, softmax_xent)
}
