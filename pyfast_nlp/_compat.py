"""The module names of the flat layout before 0.2 (``pyfast_nlp.charlm``, ``pyfast_nlp.viz``, ...),
still importable: each is the module it became."""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Optional, Sequence

# old name -> the module that holds it now
MOVED = {
    "nn": "rnn.functional",
    "charlm": "rnn.charlm",
    "analysis": "rnn.gradient_flow",
    "viz": "rnn.units",
    "cooccur": "embeddings.cooccur",
    "glove": "embeddings.glove",
    "word_vectors": "embeddings.word_vectors",
    "vocab": "text.vocab",
    "stop_words": "text.stop_words",
    "demo": "showcase.demo",
    "report": "showcase.report",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``pyfast_nlp.<old name>`` and loads it as the module it moved to (the same module
    object, so its state and classes are shared)."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None):
        package, _, name = fullname.rpartition(".")
        if package == __package__ and name in MOVED:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(f"{__package__}.{MOVED[spec.name.rpartition('.')[2]]}")
        self._own_spec = module.__spec__  # the import system sets __spec__ to the alias's next
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._own_spec  # already executed under its own name


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
