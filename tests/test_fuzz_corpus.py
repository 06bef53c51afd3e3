"""Replays the fuzz corpus (fuzz/corpus: seed inputs and every input that once made a target
fail) through the fuzz targets, without atheris: each past finding stays fixed."""
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
if not (FUZZ / "targets.py").exists():
    pytest.skip("fuzz/ is not beside the tests (an installed-wheel test run)", allow_module_level=True)
sys.path.insert(0, str(FUZZ))
import targets  # noqa: E402


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_corpus_replays_cleanly(name):
    files = sorted(f for f in (FUZZ / "corpus" / name).iterdir() if f.is_file())
    assert files, f"fuzz/corpus/{name} has no seed inputs (python fuzz/make_seeds.py)"
    for f in files:
        try:
            targets.TARGETS[name](f.read_bytes())
        except BaseException as e:
            raise AssertionError(f"fuzz target {name} fails on {f.name}: {type(e).__name__}: {e}") from e
