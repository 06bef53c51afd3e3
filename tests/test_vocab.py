import collections
import json

import numpy as np
import pytest

from pyfast_nlp import Tokenizer, Vocab


def reference_order(token_lists, min_count=1):
    c = collections.Counter(t for toks in token_lists for t in toks)
    return sorted((t for t in c if c[t] >= min_count), key=lambda t: (-c[t], t)), c


def test_build_from_texts_file_and_token_lists_agree(tmp_path, corpus_lines):
    lines = corpus_lines[:3000]
    tok = Tokenizer()
    order, c = reference_order(tok.tokenize_batch(lines), min_count=2)
    v1 = Vocab.build(lines, min_count=2)
    p = tmp_path / "c.txt"
    p.write_text("\n".join(lines), encoding="utf-8")
    v2 = Vocab.build(p, min_count=2, num_threads=2)
    v3 = Vocab.build(tok.tokenize_batch(lines), min_count=2)
    assert v1.tokens == ["<unk>"] + order
    assert v1 == v2 == v3
    assert v1.counts[1:].tolist() == [c[t] for t in order]


def test_specials_max_size_and_lookup():
    v = Vocab.build(["bb aa aa cc cc cc", "dd"], specials=("<unk>", "<pad>"), max_size=4)
    assert v.tokens == ["<unk>", "<pad>", "cc", "aa"] and len(v) == 4
    assert "cc" in v and "dd" not in v and 3 not in v
    assert v["aa"] == 3 and v.get("zzz") is None
    with pytest.raises(KeyError):
        v["zzz"]
    assert v.counts.tolist() == [0, 0, 3, 2]


def test_encode_decode_and_unknowns():
    v = Vocab.build(["the cat sat on the mat"])
    ids = v.encode(["the", "dog", "sat"])
    assert ids.dtype == np.int32 and ids.tolist() == [v["the"], v.unk_id, v["sat"]]
    assert v.encode(["the", "dog"], unknown="drop").tolist() == [v["the"]]
    with pytest.raises(KeyError, match="dog"):
        v.encode(["dog"], unknown="error")
    assert v.decode(v.encode(["cat", "mat"])) == ["cat", "mat"]
    with pytest.raises(TypeError, match="tokenize"):
        v.encode("the cat")
    no_unk = Vocab.build(["a b"], specials=(), tokenizer=Tokenizer(min_token_len=1))
    with pytest.raises(ValueError, match="no <unk>"):
        no_unk.encode(["zz"])


def test_one_hot_study_notes():
    words = ["John", "really", "loves", "this", "movie", "Jane", "likes", "song"]
    v = Vocab(words, specials=())
    oh = v.one_hot(range(len(words)))
    assert oh.shape == (8, 8) and oh.nnz == 8
    dense = v.one_hot(range(len(words)), dense=True)
    assert np.array_equal(dense, np.eye(8, dtype=np.float32))
    for i in range(8):
        for j in range(i + 1, 8):
            assert np.isclose(np.linalg.norm(dense[i] - dense[j]), np.sqrt(2))
            assert dense[i] @ dense[j] == 0.0  # cosine similarity 0


def test_bad_ids():
    v = Vocab(["a", "b"], specials=())
    with pytest.raises(IndexError, match="id 2 is out of range"):
        v.decode([0, 2])
    with pytest.raises(IndexError):
        v.one_hot([-1])
    with pytest.raises(TypeError, match="integers"):
        v.decode([0.5])
    with pytest.raises(ValueError, match="1-D"):
        v.one_hot([[0]])


def test_empty_and_bad_corpus(tmp_path):
    with pytest.raises(ValueError, match="empty corpus"):
        Vocab.build([])
    with pytest.raises(ValueError, match="no tokens found in 1 document"):
        Vocab.build(["!!! ..."])
    with pytest.raises(ValueError, match="no tokens found in 1 document; the tokenizer keeps words of 2 or more"):
        Vocab.build(["a b c a"])  # one-letter words: the message says why, and how to keep them
    assert Vocab.build(["a b c a"], tokenizer=Tokenizer(min_token_len=1), specials=()).tokens == ["a", "b", "c"]
    with pytest.raises(FileNotFoundError):
        Vocab.build(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line\n\xff\xfe\n")
    with pytest.raises(ValueError, match="line 2: invalid UTF-8"):
        Vocab.build(bad)
    with pytest.raises(ValueError, match="min_count"):
        Vocab.build(["a"], min_count=0)
    with pytest.raises(ValueError, match="duplicate"):
        Vocab(["a", "a"], specials=())


def test_save_load_roundtrip_and_atomicity(tmp_path, monkeypatch):
    v = Vocab.build(["über straße café ünïcode", "café"], specials=("<unk>", "<pad>"))
    p = tmp_path / "v.json"
    v.save(p)
    assert Vocab.load(p) == v
    before = p.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt  # an interrupted save
    monkeypatch.setattr(json, "dump", boom)
    with pytest.raises(KeyboardInterrupt):
        Vocab.build(["other words"]).save(p)
    assert p.read_bytes() == before  # the old file is untouched
    assert [f.name for f in tmp_path.iterdir()] == ["v.json"]  # no temporary left behind


def test_load_rejects_broken_files(tmp_path):
    p = tmp_path / "v.json"
    Vocab.build(["aa bb cc"]).save(p)
    good = p.read_bytes()
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="truncated"):
        Vocab.load(p)
    p.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a pyfast_nlp vocabulary"):
        Vocab.load(p)
    p.write_bytes(b"\xff\x00binary")
    with pytest.raises(ValueError):
        Vocab.load(p)
    p.write_text(json.dumps({"format": "pyfast_nlp.vocab", "tokens": ["a"]}))
    with pytest.raises(ValueError, match="missing"):
        Vocab.load(p)
