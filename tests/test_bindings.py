"""The binding line: every compiled entry point takes named arguments, the stub is generated
from the module and current, enumerations cross as enums, and no module reaches into another
module's private names."""
import ast
import inspect
import os
import re
import subprocess
import sys

import pytest

import pyfast_nlp
from pyfast_nlp import _core

PKG = os.path.dirname(pyfast_nlp.__file__)
TOOLS = os.path.join(os.path.dirname(__file__), "..", "tools")


def _callables():
    for name, obj in vars(_core).items():
        if name.startswith("__"):
            continue
        if inspect.isclass(obj):
            for mname, m in vars(obj).items():
                if callable(m) and (not mname.startswith("__") or mname == "__init__"):
                    yield f"{name}.{mname}", m
        elif callable(obj):
            yield name, obj


def test_every_entry_point_names_its_arguments():
    unnamed = [name for name, f in _callables() if re.search(r"\barg\d+\b", f.__doc__ or "")]
    assert unnamed == [], f"entry points with arg0-style parameters: {unnamed}"
    assert len(list(_callables())) > 40


def test_long_calls_cross_by_keyword():
    # configuration-like parameters are keyword-only: a positional call is refused
    with pytest.raises(TypeError):
        _core.AnalyzerConfig(True, _core.Pattern.word)
    with pytest.raises(TypeError):
        _core.OptimConfig(_core.Optimizer.adam, 0.1)
    cfg = _core.AnalyzerConfig(pattern=_core.Pattern.whitespace, min_token_len=1)
    assert cfg.pattern == _core.Pattern.whitespace and cfg.min_token_len == 1 and cfg.lowercase


def test_enumerations_are_enums():
    assert set(_core.Pattern.__members__) == {"word", "char", "whitespace"}
    assert set(_core.StemmerKind.__members__) == {"none", "english", "porter", "korean"}
    assert set(_core.Cell.__members__) == {"rnn", "lstm", "gru"}
    assert [_core.gates_of(_core.Cell.__members__[c]) for c in ("rnn", "lstm", "gru")] == [1, 4, 3]
    with pytest.raises(TypeError):  # a str is not a pattern: the Python layer names the problem first
        _core.AnalyzerConfig(pattern="word")
    with pytest.raises(ValueError, match="unknown pattern 'words'"):
        pyfast_nlp.Tokenizer(pattern="words")
    with pytest.raises(ValueError, match="unknown pattern 'words'"):
        pyfast_nlp.CountVectorizer(pattern="words").fit(["a b"])


def test_stub_is_generated_and_current():
    pytest.importorskip("pybind11_stubgen")
    gen = os.path.join(TOOLS, "gen_stub.py")
    if not os.path.exists(gen):
        pytest.skip("tools/ is not here (tests copied beside an installed wheel)")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(PKG))  # the package this process imported
    run = subprocess.run([sys.executable, gen, "--print"], capture_output=True, text=True, env=env,
                         cwd=os.path.dirname(gen), timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(os.path.join(PKG, "_core.pyi"), encoding="utf-8") as f:
        shipped = f.read()
    assert run.stdout == shipped, "pyfast_nlp/_core.pyi is stale: run `python tools/gen_stub.py` and commit it"


def _package_modules():
    for root, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                yield os.path.join(root, f)


def test_no_module_imports_another_modules_private_name():
    private_modules = {os.path.splitext(f)[0] for f in os.listdir(PKG) if f.startswith("_")}
    private_modules |= {"_core"}
    found = []
    for path in _package_modules():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("pyfast_nlp")):
                for alias in node.names:
                    if alias.name.startswith("_") and alias.name not in private_modules and alias.name != "__version__":
                        found.append(f"{os.path.relpath(path, PKG)}: from {'.' * node.level}{node.module or ''} "
                                     f"import {alias.name}")
    assert found == []


def test_gate_table_lives_once():
    hits = []
    for path in _package_modules():
        with open(path, encoding="utf-8") as f:
            if re.search(r'"lstm"\s*:\s*4', f.read()):
                hits.append(os.path.relpath(path, PKG))
    assert hits == [os.path.join("rnn", "core.py")]
