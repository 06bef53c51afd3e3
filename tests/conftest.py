import os

import pytest

import pyfast_nlp

DATA = os.path.join(os.path.dirname(pyfast_nlp.__file__), "data", "shakespeare_7plays.txt")


@pytest.fixture(scope="session")
def corpus_lines():
    """Non-empty lines of the corpus the package ships (no ../shared needed)."""
    with open(DATA, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


@pytest.fixture(scope="session")
def corpus_path():
    return DATA
