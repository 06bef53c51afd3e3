"""Exceptions and the fitted-state check every estimator shares."""
from __future__ import annotations

from typing import Any, Sequence, Union

__all__ = ["InvalidParameterError", "NotFittedError", "check_is_fitted"]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit`` (as scikit-learn's, a ValueError and an
    AttributeError)."""


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or out of its range (as scikit-learn's, both a ValueError
    and a TypeError, so code that catches either of scikit-learn's catches this)."""


def check_is_fitted(estimator: Any, attributes: Union[str, Sequence[str]], msg: str = "") -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has every one of ``attributes``.

    >>> class Model:
    ...     pass
    >>> check_is_fitted(Model(), "coef_")
    Traceback (most recent call last):
    ...
    pyfast_nlp.exceptions.NotFittedError: This Model instance is not fitted yet. Call 'fit' first.
    """
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if not all(hasattr(estimator, a) for a in names):
        raise NotFittedError(msg or f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' first.")
