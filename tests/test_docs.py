"""Documentation examples run as tests: module docstrings and the README's code blocks."""
import doctest
import os
import re

import pytest

import pyfast_nlp
from pyfast_nlp import classify, exceptions, naive_bayes
from pyfast_nlp.embeddings import cooccur, glove, word2vec, word_vectors
from pyfast_nlp.feature_extraction import text as fe_text
from pyfast_nlp.rnn import charlm, core, functional, gradient_flow, optim, units
from pyfast_nlp.showcase import report
from pyfast_nlp.text import corpus, stemmer, tokenizer, vocab

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


@pytest.mark.parametrize("module", [pyfast_nlp, exceptions, tokenizer, stemmer, corpus, vocab, fe_text, naive_bayes,
                                    classify, cooccur, glove, word2vec, word_vectors, functional, optim, core, charlm,
                                    gradient_flow, units, report], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    res = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0


def readme_blocks():
    if not os.path.exists(README):
        return []
    with open(README, encoding="utf-8") as f:
        src = f.read()
    return re.findall(r"```python\n(.*?)```", src, flags=re.S)


@pytest.mark.end_to_end
@pytest.mark.parametrize("i", range(len(readme_blocks())))
def test_readme_python_blocks(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = readme_blocks()[i]
    if "import dask" in code:
        pytest.importorskip("distributed")  # the optional [dask] extra
    # run as a script would be, so a block guarded by `if __name__ == "__main__":` runs too
    exec(compile(code, f"README block {i}", "exec"), {"__name__": "__main__"})


@pytest.mark.parametrize("name", ["partials", "cooccur", "glove"])
def test_dask_docstring_examples(name):
    pytest.importorskip("dask.bag")
    import importlib

    module = importlib.import_module(f"pyfast_nlp.dask.{name}")
    res = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
