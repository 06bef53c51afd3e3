"""Recurrent networks: the functional kernels (``pyfast_nlp.nn``), one layer-stack core, the
character language model, gradient flow through time and the search for interpretable units
(kernels in ``csrc/rnn``)."""
from . import functional
from .charlm import CharLM
from .core import GATES, LayerStack

__all__ = ["CharLM", "GATES", "LayerStack", "functional"]
