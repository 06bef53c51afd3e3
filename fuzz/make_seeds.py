#!/usr/bin/env python3
"""Write the starting inputs of each fuzz target into fuzz/corpus/TARGET/seed-*: small valid
files and texts, so the fuzzer starts from the formats rather than from nothing. Deterministic;
rerun after a format changes. Inputs found by fuzzing that once failed live beside them as
*-crash-* files (regressions; tests/test_fuzz_corpus.py replays them all)."""
import struct
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    from pyfast_nlp import CharLM, Vocab, WordVectors

    seeds = {}
    texts = ["John really, REALLY loves this movie!", "GIMP에서 이미지를 엽니다", "naïve café — Ünïcödé ß ǅ İstanbul",
             "running runners ran skies generously", "a\tb\r\nc\x0bd\u2028e\u00a0f", "x" * 300, "١٢٣ abc_def 3.14"]
    for i, t in enumerate(texts):
        # header bytes: pattern, lowercase, split_script, as_bytes, replace, stemmer, min_token_len, NFC
        seeds.setdefault("tokenizer", []).append(bytes([i % 3, 1, i % 2, (i // 2) % 2, 0, i % 5, i % 4, i % 2]) + t.encode())
        seeds.setdefault("stemmer", []).append(bytes([i % 3]) + "\x00".join(t.split()).encode())
    v = Vocab.build(texts, min_count=1)
    tmp = HERE / "_tmp"
    tmp.mkdir(exist_ok=True)
    v.save(tmp / "v.json")
    seeds["vocab_load"] = [(tmp / "v.json").read_bytes()]
    vec = WordVectors(["the", "king", "queen", "ünï"], np.arange(12, dtype=np.float32).reshape(4, 3) / 7)
    for fmt, target in (("glove", "vectors_glove"), ("word2vec", "vectors_word2vec_text"),
                        ("word2vec-binary", "vectors_word2vec_binary")):
        vec.save(tmp / "v.vec", format=fmt)
        seeds[target] = [(tmp / "v.vec").read_bytes()]
    vec.save_npz(tmp / "v.npz")
    seeds["vectors_npz"] = [b"\x00" + (tmp / "v.npz").read_bytes(), b"\x01\x00" + "xyz".encode("utf-32-le"),
                            b"\x01\x01" + np.arange(6, dtype=np.float32).tobytes()]
    recs = b"".join(struct.pack("<iid", a, b, x) for a, b, x in ((1, 2, 1.0), (2, 1, 0.5), (3, 3, 2.25)))
    seeds["cooccurrence_file"] = [b"\x00" + recs, b"\x01\x00\x05" + recs]
    seeds["cooccurrence_ids"] = [bytes([0, 5, 0, 3, 1, 1]) + bytes([0, 1, 2, 3, 4, 6, 1, 2])]
    m = CharLM(cell="lstm", hidden_size=4, num_layers=2, seed=0)
    m.fit("abcab\nba" * 4, seq_len=3, batch_size=2, max_steps=1, progress=False, val_fraction=0.0)
    m.save(tmp / "m.npz")
    blob = (tmp / "m.npz").read_bytes()
    seeds["charlm_load"] = [b"\x00" + blob, b"\x01\x00" + b'{"format": "x"}', b"\x01\x03" + b"\x00" * 16]
    seeds["model_load"] = [b"\x00\x01" + bytes(range(40)), b"\x00\x01\x00" + b'{"format": "pyfast_nlp.glove"}',
                           b"\x01\x01\x01" + b"\x00" * 24]
    seeds["kernels"] = [bytes([c, 0, 3, 0, 2, 0, 4, 0, 5, ids, 7] + [0] * 12) for c in range(3) for ids in (0, 1)]
    seeds["softmax_xent"] = [bytes([0, 4, 0, 3, 0, 5, 1, 0, 1, 2, 3])]
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    for target, items in seeds.items():
        d = HERE / "corpus" / target
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("seed-*"):
            old.unlink()
        for i, data in enumerate(items):
            (d / f"seed-{i}").write_bytes(data)
    print({k: len(v) for k, v in seeds.items()})


if __name__ == "__main__":
    main()
