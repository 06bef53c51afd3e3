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
