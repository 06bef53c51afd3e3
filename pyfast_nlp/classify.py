"""A text classifier (CountVectorizer + Naive Bayes) that saves to one file, and the
``label<TAB>text`` file format the command line reads."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from ._io import check_file, load_model, save_model, str_array
from .feature_extraction import CountVectorizer, HashingVectorizer, TfidfVectorizer
from .metrics import accuracy, confusion_matrix, macro_f1
from .naive_bayes import BernoulliNB, ComplementNB, MultinomialNB

_MODELS = {"multinomial": MultinomialNB, "bernoulli": BernoulliNB, "complement": ComplementNB}
_FORMAT = "pyfast_nlp.text_classifier"
_VEC_PARAMS = ("lowercase", "pattern", "min_token_len", "split_script", "ngram_range", "min_df",
               "max_df", "max_features", "binary", "stop_words", "stemmer", "errors")


def read_labelled(path: "os.PathLike[str] | str") -> Tuple[List[str], List[str]]:
    """Read a ``label<TAB>text`` file (UTF-8, one document a line; blank lines skipped)."""
    path = check_file(path)
    labels, texts = [], []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}, line {n}: invalid UTF-8 at byte offset {e.start}") from None
            if not line.strip():
                continue
            if "\t" not in line:
                raise ValueError(f"{path}, line {n}: expected 'label<TAB>text', found no tab")
            label, text = line.split("\t", 1)
            labels.append(label)
            texts.append(text)
    if not texts:
        raise ValueError(f"{path} has no documents")
    return labels, texts


_FEATURES = ("counts", "tfidf", "hashing")


class TextClassifier:
    """Bag-of-words + Naive Bayes, trained and saved as one unit.

    ``features``: ``"counts"`` (``CountVectorizer``), ``"tfidf"`` (``TfidfVectorizer``) or
    ``"hashing"`` (``HashingVectorizer(n_features=n_features, alternate_sign=False)``: no
    vocabulary is kept, and Naive Bayes needs non-negative features).

    >>> from pyfast_nlp.classify import TextClassifier
    >>> clf = TextClassifier(alpha=1.0).fit(["good fun", "great fun", "bad plot", "dull bad"],
    ...                                     ["pos", "pos", "neg", "neg"])
    >>> clf.predict(["fun fun", "bad"]).tolist()
    ['pos', 'neg']
    """

    def __init__(self, model: str = "multinomial", alpha: float = 1.0, features: str = "counts",
                 n_features: int = 2 ** 20, **vectorizer_params: Any) -> None:
        if model not in _MODELS:
            raise ValueError(f"unknown model {model!r}; expected one of {sorted(_MODELS)}")
        if features not in _FEATURES:
            raise ValueError(f"unknown features {features!r}; expected one of {_FEATURES}")
        unknown = set(vectorizer_params) - set(_VEC_PARAMS) - {"num_threads"}
        if unknown:
            raise ValueError(f"unknown vectorizer settings: {sorted(unknown)}")
        if callable(vectorizer_params.get("stemmer")):
            raise ValueError("a saved classifier needs a named stemmer ('english', 'porter', 'korean')")
        self.model = model
        self.alpha = alpha
        self.features = features
        self.n_features = n_features
        if features == "hashing":
            params = {k: v for k, v in vectorizer_params.items() if k not in ("min_df", "max_df", "max_features")}
            self.vectorizer: Any = HashingVectorizer(n_features=n_features, alternate_sign=False, **params)
        else:
            self.vectorizer = (TfidfVectorizer if features == "tfidf" else CountVectorizer)(**vectorizer_params)
        self.nb = _MODELS[model](alpha=alpha)

    def fit(self, texts: Sequence[str], labels: Sequence[Any]) -> "TextClassifier":
        X = self.vectorizer.fit_transform(texts)
        self.nb.fit(X, np.asarray(labels))
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.nb.predict(self.vectorizer.transform(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.nb.predict_proba(self.vectorizer.transform(texts))

    def evaluate(self, texts: Sequence[str], labels: Sequence[Any]) -> Dict[str, Any]:
        """Accuracy, macro-F1 and the confusion matrix (rows: true, columns: predicted)."""
        pred = self.predict(texts)
        labels = np.asarray(labels)
        cm, names = confusion_matrix(labels, pred)
        return {"accuracy": accuracy(labels, pred), "macro_f1": macro_f1(labels, pred),
                "confusion_matrix": cm, "labels": names.tolist(), "n": int(len(labels))}

    # ------------------------------------------------------------------ files
    def save(self, path: "os.PathLike[str] | str") -> None:
        """Save to one ``.npz`` file, atomically."""
        if not hasattr(self.nb, "classes_"):
            raise ValueError("fit the classifier before saving it")
        params = {k: getattr(self.vectorizer, k) for k in _VEC_PARAMS if hasattr(self.vectorizer, k)}
        if params["stop_words"] is not None and not isinstance(params["stop_words"], str):
            params["stop_words"] = list(params["stop_words"])
        params["ngram_range"] = list(params["ngram_range"])
        meta = {"model": self.model, "alpha": self.alpha, "vectorizer": params, "classes": self.nb.classes_.tolist(),
                "features": self.features, "n_features": int(self.n_features)}
        arrays = {"feature_count": self.nb.feature_count_, "class_count": self.nb.class_count_}
        if self.features != "hashing":
            arrays["terms"] = np.array(self.vectorizer.get_feature_names_out().tolist(), dtype=str)
        if self.features == "tfidf":
            arrays["idf"] = self.vectorizer.idf_
        save_model(path, _FORMAT, meta, arrays, compressed=True)

    @classmethod
    def load(cls, path: "os.PathLike[str] | str") -> "TextClassifier":
        path = os.fspath(path)
        meta, arrays = load_model(path, _FORMAT, "a pyfast_nlp text classifier")
        try:
            return cls._from_saved(path, arrays, meta)
        except (KeyError, TypeError, IndexError, AttributeError) as e:  # missing or wrong fields
            raise ValueError(f"{path}: a damaged text classifier file ({type(e).__name__}: {e})") from None

    @classmethod
    def _from_saved(cls, path: str, arrays: Dict[str, np.ndarray], meta: Dict[str, Any]) -> "TextClassifier":
        features = meta.get("features", "counts")
        if features not in _FEATURES:
            raise ValueError(f"{path}: unknown features {features!r}")
        n_features = int(meta.get("n_features", 2 ** 20))
        terms = str_array(arrays["terms"], path, "terms") if features != "hashing" else None
        fc, cc = arrays["feature_count"], arrays["class_count"]
        if terms is not None and (not all(isinstance(t, str) for t in terms) or len(set(terms)) != len(terms)):
            raise ValueError(f"{path}: the term list is damaged (not strings, or repeated terms)")
        with np.errstate(all="ignore"):
            ok = (fc.dtype.kind in "iuf" and cc.dtype.kind in "iuf" and np.all(np.isfinite(fc)) and np.all(fc >= 0)
                  and np.all(np.isfinite(cc)) and np.all(cc > 0) and np.isfinite(cc.sum()) and np.isfinite(fc.sum()))
        alpha = meta.get("alpha")
        if not ok or not isinstance(alpha, (int, float)) or not (0 <= alpha < float("inf")):
            raise ValueError(f"{path}: the counts are damaged")
        vec = dict(meta["vectorizer"])
        vec["ngram_range"] = tuple(vec["ngram_range"])
        self = cls(meta["model"], meta["alpha"], features=features, n_features=n_features, **vec)
        width = n_features if terms is None else len(terms)
        if fc.shape != (len(meta["classes"]), width) or cc.shape != (len(meta["classes"]),):
            raise ValueError(f"{path}: model arrays do not match the vocabulary and classes")
        if terms is not None:
            self.vectorizer.set_params(vocabulary=terms)
        if features == "tfidf":
            idf = arrays.get("idf")
            if idf is None or idf.shape != (len(terms),) or not np.all(np.isfinite(idf)) or not np.all(idf >= 1.0):
                raise ValueError(f"{path}: the idf weights are missing or damaged")
            self.vectorizer.idf_ = idf
        nb = self.nb
        nb.classes_ = np.asarray(meta["classes"])
        nb.n_features_in_ = width
        nb.feature_count_ = fc.astype(np.float64)
        nb.class_count_ = cc.astype(np.float64)
        nb._update_feature_log_prob(float(meta["alpha"]))
        nb._update_class_log_prior()
        return self
