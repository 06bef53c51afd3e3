from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp

from pyfast_nlp import (BernoulliNB, CountVectorizer, MultinomialNB, NotFittedError,
                        ZeroLikelihoodWarning)

TRAIN = [
    ("Image recognition used convolutional neural networks", "CV"),
    ("Transformers can be used for image classification task", "CV"),
    ("Language modeling uses transformer", "NLP"),
    ("Document classification task is language task", "NLP"),
]
TEST = "Classification task uses transformer"


def fit_worked(alpha):
    cv = CountVectorizer()
    X = cv.fit_transform([t for t, _ in TRAIN])
    nb = MultinomialNB(alpha=alpha).fit(X, [c for _, c in TRAIN])
    return cv, nb


def test_worked_example_maximum_likelihood():
    cv, nb = fit_worked(0.0)
    assert nb.feature_count_.sum(axis=1).tolist() == [14, 10]  # words per class
    assert np.allclose(np.exp(nb.class_log_prior_), [0.5, 0.5])
    p = lambda c, w: np.exp(nb.feature_log_prob_[c, cv.vocabulary_[w]])  # noqa: E731
    expected = {"classification": (Fraction(1, 14), Fraction(1, 10)), "task": (Fraction(1, 14), Fraction(2, 10)),
                "uses": (0, Fraction(1, 10)), "transformer": (0, Fraction(1, 10))}
    for w, (cv_p, nlp_p) in expected.items():
        assert p(0, w) == pytest.approx(float(cv_p), abs=1e-15)
        assert p(1, w) == pytest.approx(float(nlp_p), abs=1e-15)
    X = cv.transform([TEST])
    assert nb.predict(X).tolist() == ["NLP"]
    # an unseen word zeroes the CV class exactly: P(CV|d) = 0, P(NLP|d) = 1
    assert nb.predict_proba(X).tolist() == [[0.0, 1.0]]


def test_worked_example_laplace():
    cv, nb = fit_worked(1.0)
    V = len(cv.vocabulary_)
    assert V == 18
    words = ["classification", "task", "uses", "transformer"]
    cvp = [Fraction(c + 1, 14 + V) for c in (1, 1, 0, 0)]
    nlpp = [Fraction(c + 1, 10 + V) for c in (1, 2, 1, 1)]
    s_cv = Fraction(1, 2) * np.prod(cvp)
    s_nlp = Fraction(1, 2) * np.prod(nlpp)
    proba = nb.predict_proba(cv.transform([TEST]))[0]
    assert proba[1] == pytest.approx(float(s_nlp / (s_cv + s_nlp)), rel=1e-12)
    assert [np.exp(nb.feature_log_prob_[0, cv.vocabulary_[w]]) for w in words] == pytest.approx([float(x) for x in cvp])


def test_all_classes_zero_falls_back_to_prior_with_a_warning():
    X = sp.csr_matrix(np.array([[3, 0], [0, 2], [1, 0]]))
    nb = MultinomialNB(alpha=0).fit(X, ["a", "b", "a"])
    both = np.array([[1, 1]])  # word 0 unseen in b, word 1 unseen in a
    with pytest.warns(ZeroLikelihoodWarning, match="1 document"):
        proba = nb.predict_proba(both)
    assert proba[0].tolist() == pytest.approx([2 / 3, 1 / 3])
    with pytest.warns(ZeroLikelihoodWarning):
        assert nb.predict(both).tolist() == ["a"]
    assert np.isfinite(nb.predict_log_proba(np.array([[2, 0]]))[0, 0])


def numpy_multinomial(X, y, Xt, alpha):
    classes = np.unique(y)
    X, Xt = np.asarray(X, float), np.asarray(Xt, float)
    fc = np.stack([X[y == c].sum(0) for c in classes]) + alpha
    flp = np.log(fc / fc.sum(1, keepdims=True))
    prior = np.log(np.array([(y == c).mean() for c in classes]))
    jll = Xt @ flp.T + prior
    jll -= jll.max(1, keepdims=True)
    p = np.exp(jll)
    return p / p.sum(1, keepdims=True)


def test_multinomial_equals_plain_numpy(corpus_lines):
    rng = np.random.default_rng(0)
    docs = corpus_lines[:1500]
    y = rng.integers(0, 4, len(docs))
    X = CountVectorizer().fit_transform(docs)
    ours = MultinomialNB(alpha=0.5).fit(X[:1000], y[:1000]).predict_proba(X[1000:])
    ref = numpy_multinomial(X[:1000].toarray(), y[:1000], X[1000:].toarray(), 0.5)
    assert np.abs(ours - ref).max() < 1e-9


@pytest.mark.parametrize("name,kw", [("MultinomialNB", {}), ("MultinomialNB", {"alpha": 0.01, "fit_prior": False}),
                                     ("BernoulliNB", {}), ("BernoulliNB", {"binarize": 1.0}),
                                     ("ComplementNB", {}), ("ComplementNB", {"norm": True}),
                                     ("MultinomialNB", {"class_prior": [0.1, 0.2, 0.3, 0.4]})])
def test_equals_sklearn(corpus_lines, name, kw):
    sknb = pytest.importorskip("sklearn.naive_bayes")
    import pyfast_nlp

    rng = np.random.default_rng(1)
    docs = corpus_lines[:4000]
    y = np.array(["w", "x", "y", "z"])[rng.integers(0, 4, len(docs))]
    X = CountVectorizer(ngram_range=(1, 2)).fit_transform(docs)
    ours = getattr(pyfast_nlp, name)(**kw).fit(X[:3000], y[:3000])
    theirs = getattr(sknb, name)(**kw).fit(X[:3000], y[:3000])
    Xt = X[3000:]
    assert np.array_equal(ours.predict(Xt), theirs.predict(Xt))
    assert np.abs(ours.predict_proba(Xt) - theirs.predict_proba(Xt)).max() < 1e-9
    assert np.allclose(ours.feature_log_prob_, theirs.feature_log_prob_, rtol=1e-12)
    # partial_fit in batches gives the same model
    pf = getattr(pyfast_nlp, name)(**kw)
    for lo in range(0, 3000, 700):
        pf.partial_fit(X[lo:min(lo + 700, 3000)], y[lo:min(lo + 700, 3000)], classes=np.unique(y))
    assert np.abs(pf.predict_proba(Xt) - theirs.predict_proba(Xt)).max() < 1e-9
    assert ours.score(Xt, y[3000:]) == pytest.approx(theirs.score(Xt, y[3000:]))


def test_dense_and_sparse_inputs_agree():
    X = np.array([[2, 1, 0], [0, 1, 3], [1, 0, 0], [0, 0, 4]])
    y = [0, 1, 0, 1]
    a = MultinomialNB().fit(X, y).predict_proba(X)
    b = MultinomialNB().fit(sp.csr_matrix(X), y).predict_proba(sp.coo_matrix(X))
    assert np.allclose(a, b)


def test_labels_and_binarize_are_checked():
    from pyfast_nlp.exceptions import InvalidParameterError

    X = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MultinomialNB().fit(X, [0.1, 0.2, 0.3])
    assert MultinomialNB().fit(X, [1.0, 2.0, 1.0]).classes_.tolist() == [1.0, 2.0]  # whole floats are classes
    with pytest.raises(InvalidParameterError, match="'binarize' parameter"):
        BernoulliNB(binarize="x").fit(X, [0, 1, 0])


def test_bad_input():
    X = np.array([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="Negative values"):
        MultinomialNB().fit(np.array([[1, -1], [2, 3]]), [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        MultinomialNB().fit(np.array([[1, np.nan], [2, 3]]), [0, 1])
    with pytest.raises(ValueError, match="ragged|2-D"):
        MultinomialNB().fit([[1, 2], [3]], [0, 1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MultinomialNB().fit(X, [0, 1, 1])
    with pytest.raises(ValueError, match="2-D"):
        MultinomialNB().fit(np.array([1, 2]), [0, 1])
    with pytest.raises(ValueError, match="classes must be passed"):
        MultinomialNB().partial_fit(X, [0, 1])
    nb = MultinomialNB().partial_fit(X, [0, 1], classes=[0, 1])
    with pytest.raises(ValueError, match="labels not in classes"):
        nb.partial_fit(X, [0, 2])
    with pytest.raises(ValueError, match="expecting 2 features"):
        nb.predict(np.array([[1, 2, 3]]))
    with pytest.raises(ValueError, match="alpha"):
        MultinomialNB(alpha=-1).fit(X, [0, 1])
    with pytest.raises(ValueError, match="y contains NaN"):
        MultinomialNB().fit(X, [0.0, np.nan])
    with pytest.raises(ValueError, match="numeric"):
        MultinomialNB().fit(np.array([["a", "b"], ["c", "d"]]), [0, 1])
    with pytest.raises(ValueError, match="Number of priors"):
        MultinomialNB(class_prior=[1.0]).fit(X, [0, 1])
    with pytest.raises(NotFittedError):
        MultinomialNB().predict(X)
    with pytest.raises(ValueError, match="empty"):
        MultinomialNB().fit(np.zeros((0, 3)), [])
