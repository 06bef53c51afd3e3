"""Documentation examples run as tests: module docstrings and the README's code blocks."""
import doctest
import os
import re

import pytest

import pyfast_nlp
from pyfast_nlp import analysis, charlm, classify, cooccur, feature_extraction, glove, naive_bayes, nn, report, text, vocab, viz, word_vectors

README = os.path.join(os.path.dirname(__file__), "..", "README.md")


@pytest.mark.parametrize("module", [pyfast_nlp, text, vocab, feature_extraction, naive_bayes, classify,
                                    cooccur, glove, word_vectors, nn, charlm, analysis, viz, report])
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
    exec(compile(code, f"README block {i}", "exec"), {"__name__": "__readme__"})
