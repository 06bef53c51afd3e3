import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pyfast_nlp.cli import main

TRAIN = [("pos", "a great fun film with great acting"), ("pos", "fun and moving, a great story"),
         ("neg", "boring plot and bad acting"), ("neg", "a bad, dull and boring film"),
         ("pos", "moving story, great fun"), ("neg", "dull plot, bad film")]


@pytest.fixture()
def tsv(tmp_path):
    p = tmp_path / "train.tsv"
    p.write_text("".join(f"{y}\t{x}\n" for y, x in TRAIN), encoding="utf-8")
    return p


@pytest.mark.end_to_end
def test_demo_runs_on_the_shipped_corpus(capsys):
    assert main(["demo", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "Euclidean distance 1.4142" in out
    assert "-> NLP" in out
    acc = float(out.split("accuracy ")[1].split()[0])
    assert acc > 0.4  # 7 plays: chance is about 0.19


def test_classify_train_evaluate_predict(tsv, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert main(["classify", "train", str(tsv), "--model", str(model), "--stemmer", "english"]) == 0
    assert main(["classify", "evaluate", str(tsv), "--model", str(model), "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["accuracy"] == 1.0 and res["macro_f1"] == 1.0
    assert res["confusion_matrix"] == [[3, 0], [0, 3]] and res["labels"] == ["neg", "pos"]
    plain = tmp_path / "new.txt"
    plain.write_text("great fun\nboring and dull\n", encoding="utf-8")
    assert main(["classify", "predict", str(plain), "--model", str(model)]) == 0
    assert capsys.readouterr().out.split() == ["pos", "neg"]
    assert main(["classify", "predict", str(plain), "--model", str(model), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [0, 1] and [r["label"] for r in rows] == ["pos", "neg"]
    assert sorted(rows[0]["probabilities"]) == ["neg", "pos"] and rows[0]["probabilities"]["pos"] > 0.5
    assert abs(sum(rows[1]["probabilities"].values()) - 1) < 1e-9
    assert main(["classify", "evaluate", str(tsv), "--model", str(model)]) == 0
    assert "accuracy: 1.0000" in capsys.readouterr().out


@pytest.mark.parametrize("features", [["--tfidf"], ["--hashing", "4096"]])
def test_classify_with_tfidf_or_hashed_features(tsv, tmp_path, capsys, features):
    model = tmp_path / "m.npz"
    assert main(["classify", "train", str(tsv), "--model", str(model), "--nb", "complement"] + features) == 0
    assert ("tfidf features" if features == ["--tfidf"] else "4,096 hashing features") in capsys.readouterr().out
    assert main(["classify", "evaluate", str(tsv), "--model", str(model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["accuracy"] == 1.0
    plain = tmp_path / "new.txt"
    plain.write_text("great fun\nboring and dull\n", encoding="utf-8")
    assert main(["classify", "predict", str(plain), "--model", str(model)]) == 0
    assert capsys.readouterr().out.split() == ["pos", "neg"]


def test_classify_bad_files(tsv, tmp_path, capsys):
    model = tmp_path / "m.npz"
    main(["classify", "train", str(tsv), "--model", str(model)])
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 2])  # truncated
    assert main(["classify", "evaluate", str(tsv), "--model", str(model)]) == 2
    assert "is not a pyfast_nlp text classifier" in capsys.readouterr().err
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(b"pos\tgood\nno tab on this line\n")
    assert main(["classify", "train", str(bad), "--model", str(model)]) == 2
    assert "line 2" in capsys.readouterr().err
    bad.write_bytes(b"pos\tgood \xff\n")
    assert main(["classify", "train", str(bad), "--model", str(model)]) == 2
    assert "invalid UTF-8" in capsys.readouterr().err
    assert main(["classify", "evaluate", str(tmp_path / "none.tsv"), "--model", str(model)]) == 2


def test_tokenize_vocab_info(tmp_path, capsys):
    p = tmp_path / "t.txt"
    p.write_text("Hello World\nRunning dogs\n", encoding="utf-8")
    assert main(["tokenize", str(p), "--stemmer", "english"]) == 0
    assert capsys.readouterr().out == "hello world\nrun dog\n"
    assert main(["vocab", str(p), "--out", str(tmp_path / "v.json")]) == 0
    assert "saved 5 tokens" in capsys.readouterr().out
    assert json.loads((tmp_path / "v.json").read_text())["tokens"][0] == "<unk>"
    assert main(["info"]) == 0
    assert "simd" in json.loads(capsys.readouterr().out)


def test_version_and_a_closed_pipe(tmp_path, capsys):
    from pyfast_nlp import __version__

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"pyfast-nlp {__version__}"
    # `pyfast-nlp tokenize FILE | head -1`: the reader leaves early; exit 0, nothing on stderr
    p = tmp_path / "big.txt"
    p.write_text("some words on a line\n" * 200000, encoding="utf-8")
    code = ("import sys; from pyfast_nlp.cli import main; sys.exit(main(['tokenize', sys.argv[1]]))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(__import__("pyfast_nlp").__file__)))
    with subprocess.Popen([sys.executable, "-c", code, str(p)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=tmp_path, env=env) as producer:
        first = producer.stdout.readline()
        producer.stdout.close()  # as head does
        err = producer.stderr.read()
        assert producer.wait(timeout=60) == 0, err
    assert first == b"some words on line\n" and err == b""


def test_help_shows_the_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["classify", "train", "--help"])
    out = capsys.readouterr().out
    assert "(default: multinomial)" in out and "(default: 1.0)" in out
    with pytest.raises(SystemExit):
        main(["glove", "train", "--help"])
    assert "(default: 100)" in capsys.readouterr().out  # --dim


def test_console_script_entry_point(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "pyfast-nlp")
    if not os.path.exists(exe):
        pytest.skip("the pyfast-nlp console script is not installed (running from a source tree)")
    r = subprocess.run([exe, "info"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and '"openmp"' in r.stdout
    r = subprocess.run([exe, "classify", "evaluate", "missing.tsv", "--model", "m.npz"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and "no such file" in r.stderr


def test_glove_train_and_vector_queries(corpus_path, tmp_path, capsys):
    out = tmp_path / "vectors.txt"
    model = tmp_path / "model.npz"
    cooc = tmp_path / "cooc.bin"
    assert main(["glove", "train", corpus_path, "--out", str(out), "--dim", "16", "--epochs", "3",
                 "--min-count", "3", "--threads", "2", "--order", "shuffle", "--save-model", str(model),
                 "--save-cooc", str(cooc)]) == 0
    err = capsys.readouterr().err
    assert "epoch   3  loss" in err and "M tokens/s" in err
    first = out.read_text(encoding="utf-8").splitlines()[0].split()
    assert len(first) == 17  # a word and 16 values, GloVe text format
    assert model.exists() and cooc.stat().st_size % 16 == 0
    assert main(["vectors", "neighbors", str(out), "king", "--topn", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "king:" and len(lines) == 4
    assert main(["vectors", "analogy", str(out), "man", "woman", "king", "--topn", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    q = tmp_path / "q.txt"
    q.write_text(": family\nman woman king queen\nson daughter father mother\n", encoding="utf-8")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("king\tqueen\t8\nman\tking\t5\nlord\tsir\t6\nfather\tson\t7\n", encoding="utf-8")
    assert main(["vectors", "evaluate", str(out), "--analogies", str(q), "--pairs", str(pairs), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["analogies"]["questions"] == 2 and res[str(pairs)]["pairs"] + res[str(pairs)]["oov"] == 4
    assert main(["vectors", "neighbors", str(out), "notaword"]) == 2
    assert "not in the vocabulary" in capsys.readouterr().err


def test_charlm_train_resume_sample_evaluate(tmp_path, capsys, corpus_path):
    text = tmp_path / "t.txt"
    with open(corpus_path, encoding="utf-8") as f:
        text.write_text(f.read()[:20000], encoding="utf-8")
    model = tmp_path / "lm.npz"
    args = ["charlm", "train", str(text), "--out", str(model), "--cell", "gru", "--hidden", "16", "--layers", "1",
            "--seq-len", "16", "--batch-size", "4", "--threads", "1"]
    assert main(args + ["--max-steps", "5"]) == 0
    assert main(args + ["--max-steps", "8"]) == 0
    err = capsys.readouterr().err
    assert "resuming from" in err and "at step 5" in err
    assert main(["charlm", "sample", str(model), "--prime", "ROMEO:\\n", "--length", "30", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ROMEO:\n") and len(out) == len("ROMEO:\n") + 30 + 1
    assert main(["charlm", "evaluate", str(model), str(text)]) == 0
    bits = float(capsys.readouterr().out.split()[0])
    assert 0 < bits < 8
    assert main(["charlm", "sample", str(model), "--temperature", "0"]) == 2
    assert "temperature" in capsys.readouterr().err


def test_word2vec_train_continue_and_query(corpus_path, tmp_path, capsys):
    from pyfast_nlp import Word2Vec, WordVectors

    out = tmp_path / "vectors.bin"
    model = tmp_path / "w2v.npz"
    assert main(["word2vec", "train", corpus_path, "--out", str(out), "--sg", "--size", "12", "--epochs", "2",
                 "--min-count", "3", "--threads", "2", "--save-model", str(model)]) == 0
    err = capsys.readouterr().err
    assert "epoch   2  loss" in err and "M words/s" in err
    wv = WordVectors.load(out)
    assert wv.vector_size == 12 and "king" in wv
    m = Word2Vec.load(model)
    assert m.sg == 1 and m.epochs_done_ == 2
    np.testing.assert_array_equal(m.wv.vectors, wv.vectors)
    # a second run with the same --save-model continues that model
    npy = tmp_path / "vectors.npy"
    assert main(["word2vec", "train", corpus_path, "--out", str(npy), "--epochs", "1", "--min-count", "3",
                 "--save-model", str(model)]) == 0
    assert "continuing" in capsys.readouterr().err
    assert Word2Vec.load(model).epochs_done_ == 3
    assert WordVectors.load(npy, mmap="r").vector_size == 12
    assert main(["vectors", "neighbors", str(npy), "king", "--topn", "2"]) == 0
    assert main(["word2vec", "train", corpus_path, "--out", str(out), "--window", "0"]) == 2
    assert "window" in capsys.readouterr().err
