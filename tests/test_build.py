import os

import pyfast_nlp


def test_build_info_reports_what_was_compiled():
    info = pyfast_nlp.build_info()
    assert info["version"] == pyfast_nlp.__version__
    assert info["simd"] in {"avx512f", "avx2", "sse2", "neon", "generic"}
    assert isinstance(info["openmp"], bool)
    assert info["max_threads"] >= 1
    assert info["compiler"].split()[0] in {"gcc", "clang"}
    assert info["native"] is False  # the default build is portable
    # .ci/run's sanitizer stage sets this, so a stage that silently tested the plain build fails here.
    assert info["sanitize"] is (os.environ.get("PYFAST_NLP_EXPECT_SANITIZE") == "1")


def test_public_api_is_explicit():
    for name in pyfast_nlp.__all__:
        assert hasattr(pyfast_nlp, name), name
    assert "_core" not in pyfast_nlp.__all__


def test_version_is_written_once():
    # pyproject.toml reads the version from _version.py (scikit-build-core's regex provider)
    from importlib import metadata

    from pyfast_nlp._version import __version__

    assert pyfast_nlp.__version__ == __version__
    try:
        assert metadata.version("pyfast_nlp") == __version__
    except metadata.PackageNotFoundError:
        pass  # a source tree that was built but not installed


def test_type_stub_ships_with_the_package():
    stub = os.path.join(os.path.dirname(pyfast_nlp.__file__), "_core.pyi")
    assert os.path.exists(stub), "the _core.pyi stub is not in the installed package"
    assert os.path.exists(os.path.join(os.path.dirname(pyfast_nlp.__file__), "py.typed"))
    with open(stub, encoding="utf-8") as f:
        text = f.read()
    for name in dir(pyfast_nlp._core):
        if not name.startswith("_"):
            assert f"def {name}(" in text or f"class {name}" in text, name


def test_old_module_names_still_import():
    # the flat layout before the packages by domain: the same module objects under the old names
    import pyfast_nlp.analysis
    import pyfast_nlp.charlm
    import pyfast_nlp.nn
    from pyfast_nlp import cooccur, glove, rnn, text, viz, vocab, word_vectors
    from pyfast_nlp.demo import DEFAULT_CORPUS

    assert pyfast_nlp.nn is rnn.functional and pyfast_nlp.charlm is rnn.charlm
    assert pyfast_nlp.analysis.gradient_flow is rnn.gradient_flow.gradient_flow
    assert viz.find_units is rnn.units.find_units and vocab.Vocab is text.Vocab
    assert cooccur.cooccurrence is pyfast_nlp.cooccurrence and glove.GloVe is pyfast_nlp.GloVe
    assert word_vectors.WordVectors is pyfast_nlp.WordVectors and os.path.exists(DEFAULT_CORPUS)
    assert pyfast_nlp.nn.__spec__.name == "pyfast_nlp.rnn.functional"  # the module keeps its own spec


def test_a_source_tree_without_its_build_says_so(tmp_path):
    import shutil
    import subprocess
    import sys

    shutil.copytree(os.path.dirname(pyfast_nlp.__file__), tmp_path / "pyfast_nlp",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    r = subprocess.run([sys.executable, "-c", "import pyfast_nlp"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode != 0 and "shadows the installed package" in r.stderr
