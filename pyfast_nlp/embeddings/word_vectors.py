"""Word vectors: files (GloVe text, word2vec text/binary, .npz), similarity, analogies,
evaluation on the standard test sets, PCA and plots."""
from __future__ import annotations

import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import _core
from .._base import resolve_threads
from .._io import atomic_path, atomic_write, check_file, read_npz, str_array

PathLike = Union[str, "os.PathLike[str]"]
_BAD_WORD = re.compile(r"[\s]")
_CELLS = 1 << 24  # similarities per matrix product (64 MB of float32)


def _chunk(n_words: int) -> int:
    """Queries per matrix product, so the similarity block stays about 64 MB."""
    return max(1, min(4096, _CELLS // max(1, n_words)))


__all__ = ["WordVectors"]


class WordVectors:
    """A word -> vector table with the usual queries, computed with matrix products.

    >>> import numpy as np
    >>> from pyfast_nlp import WordVectors
    >>> wv = WordVectors(["king", "queen", "man", "woman"],
    ...                  np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=np.float32))
    >>> wv.analogy("man", "woman", "king")      # man is to woman as king is to ?
    'queen'
    >>> round(wv.similarity("man", "king"), 4)
    0.7071
    >>> [w for w, _ in wv.most_similar("king", topn=2)]
    ['man', 'queen']
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray, duplicates: str = "error",
                 _check_finite: bool = True, _words_are_str: bool = False) -> None:
        """``duplicates``: a word given twice is a ``ValueError`` (``"error"``), or resolves to its
        first row (``"first"``, what the file loaders use: published vector files hold a few)."""
        if duplicates not in ("error", "first"):
            raise ValueError(f"duplicates must be 'error' or 'first', not {duplicates!r}")
        words = list(words)
        vec = np.asarray(vectors)
        if vec.ndim != 2:
            raise ValueError(f"vectors must be 2-D (words x dim), got shape {vec.shape}")
        if vec.shape[0] != len(words):
            raise ValueError(f"{len(words)} words but {vec.shape[0]} vectors")
        if not np.issubdtype(vec.dtype, np.number):
            raise TypeError(f"vectors must be numbers, got dtype {vec.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32's range become inf, refused below
            vec = np.ascontiguousarray(vec, dtype=np.float32)
        if _check_finite and not np.all(np.isfinite(vec)):
            bad = int(np.flatnonzero(~np.all(np.isfinite(vec), axis=1))[0])
            raise ValueError(f"the vector of {words[bad]!r} (row {bad}) has values that are not finite "
                             "(or beyond float32's range)")
        if not _words_are_str and not all(type(w) is str for w in words):
            bad = next(i for i, w in enumerate(words) if not isinstance(w, str))
            raise TypeError(f"words must be str; row {bad} is {type(words[bad]).__name__}")
        self._index_map: Optional[Dict[str, int]] = None
        if duplicates == "error":
            index = self._build_index(words)
            if len(index) != len(words):
                seen: Dict[str, int] = {}
                for i, w in enumerate(words):
                    first = seen.setdefault(w, i)
                    if first != i:
                        raise ValueError(f"the word {w!r} is given twice (rows {first} and {i}); "
                                         "pass duplicates='first' to keep the first")
            self._index_map = index
        self.words = words
        self.vectors = vec
        self._unit: Optional[np.ndarray] = None

    # ------------------------------------------------------------------ access
    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self._row(word)]

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words, dim={self.dim})"

    @staticmethod
    def _build_index(words: List[str]) -> Dict[str, int]:
        # built from the end, so a repeated word resolves to its first row
        return dict(zip(reversed(words), range(len(words) - 1, -1, -1)))

    @property
    def _index(self) -> Dict[str, int]:
        """word -> row, built on first use (a memory-mapped table opens without it)."""
        if self._index_map is None:
            self._index_map = self._build_index(self.words)
        return self._index_map

    # gensim KeyedVectors' names
    @property
    def vector_size(self) -> int:
        """gensim's name for :attr:`dim`."""
        return self.dim

    @property
    def index_to_key(self) -> List[str]:
        """The words by row (gensim's name for :attr:`words`)."""
        return self.words

    @property
    def key_to_index(self) -> Dict[str, int]:
        """word -> row (a repeated word maps to its first row)."""
        return self._index

    def get_vector(self, key: str, norm: bool = False) -> np.ndarray:
        """The vector of ``key`` (``norm=True``: scaled to length 1); a ``KeyError`` for an unknown word."""
        i = self._row(key)
        return self.unit_vectors[i] if norm else self.vectors[i]

    def get_index(self, key: str, default: Optional[int] = None) -> int:
        """The row of ``key``; ``default`` when it is unknown and a default is given, else ``KeyError``."""
        i = self._index.get(key)
        if i is None:
            if default is not None:
                return default
            raise KeyError(f"word {key!r} is not in the vocabulary")
        return i

    def has_index_for(self, key: str) -> bool:
        return key in self._index

    def to_gensim(self) -> Any:
        """This table as a gensim ``KeyedVectors`` (needs gensim, which pyfast_nlp never requires)."""
        try:
            from gensim.models import KeyedVectors
        except ImportError:
            raise ImportError("to_gensim() needs gensim: pip install gensim") from None
        kv = KeyedVectors(self.dim, count=0, dtype=np.float32)
        kv.add_vectors(list(self.words), np.array(self.vectors, dtype=np.float32, copy=True))
        return kv

    @classmethod
    def from_gensim(cls, kv: Any) -> "WordVectors":
        """A gensim ``KeyedVectors`` (or a gensim model, whose ``.wv`` is taken) as WordVectors."""
        kv = getattr(kv, "wv", kv)
        if not hasattr(kv, "index_to_key") or not hasattr(kv, "vectors"):
            raise TypeError(f"expected a gensim KeyedVectors, not {type(kv).__name__}")
        return cls(list(kv.index_to_key), np.asarray(kv.vectors))

    def index(self, word: str) -> Optional[int]:
        """Row of ``word``, or ``None``."""
        return self._index.get(word)

    def _row(self, word: str) -> int:
        i = self._index.get(word)
        if i is None:
            raise KeyError(f"word {word!r} is not in the vocabulary")
        return i

    @property
    def unit_vectors(self) -> np.ndarray:
        """Rows scaled to length 1 (zero rows stay zero); computed once."""
        if self._unit is None:
            # Row by block in float64: a float32 norm overflows for values beyond ~1e19 and
            # would turn such rows into zeros.
            unit = np.empty_like(self.vectors)
            for b in range(0, len(self.vectors), 1 << 14):
                v = self.vectors[b:b + (1 << 14)].astype(np.float64)
                norms = np.linalg.norm(v, axis=1, keepdims=True)
                unit[b:b + (1 << 14)] = v / np.where(norms == 0, 1, norms)
            self._unit = unit
        return self._unit

    # ------------------------------------------------------------------ queries
    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words."""
        u = self.unit_vectors
        return float(u[self._row(a)] @ u[self._row(b)])

    def _query_matrix(self, queries: Sequence[Union[str, np.ndarray]]) -> Tuple[np.ndarray, List[List[int]]]:
        vecs, exclude = [], []
        for q in queries:
            if isinstance(q, str):
                i = self._row(q)
                vecs.append(self.unit_vectors[i])
                exclude.append([i])
            else:
                v = self._vector_arg(q)
                n = np.linalg.norm(v)
                vecs.append(v / n if n else v)
                exclude.append([])
        return np.stack(vecs), exclude

    def most_similar(self, positive: Union[str, np.ndarray, Sequence[Union[str, np.ndarray]], None] = None,
                     negative: Union[str, np.ndarray, Sequence[Union[str, np.ndarray]], None] = None,
                     topn: Optional[int] = 10, restrict_vocab: Optional[int] = None) -> Any:
        """The ``topn`` words closest by cosine similarity to the mean of the unit vectors of
        ``positive`` minus those of ``negative`` (words or vectors), best first, as
        ``(word, similarity)``, leaving out the words asked about: gensim's
        ``KeyedVectors.most_similar``. ``topn=None`` returns the similarity to every word (an
        array); ``restrict_vocab`` searches only the first that many words (the most frequent).
        For many separate queries at once use :meth:`most_similar_batch`."""
        pos, neg = _as_list(positive), _as_list(negative)
        if not pos and not neg:
            raise ValueError("most_similar needs at least one positive or negative word or vector")
        mean = np.zeros(self.dim, dtype=np.float64)
        exclude: List[int] = []
        for items, sign in ((pos, 1.0), (neg, -1.0)):
            for q in items:
                if isinstance(q, str):
                    i = self._row(q)
                    exclude.append(i)
                    mean += sign * self.unit_vectors[i]
                else:
                    v = self._vector_arg(q)
                    n = np.linalg.norm(v)
                    mean += sign * (v / n if n else v)
        n = np.linalg.norm(mean)
        q = (mean / n if n else mean).astype(np.float32)
        if topn is None:
            u = self.unit_vectors[: restrict_vocab] if restrict_vocab else self.unit_vectors
            return u @ q
        return self._top(q[None, :], [exclude], topn, restrict_vocab)[0]

    def most_similar_batch(self, queries: Sequence[Union[str, np.ndarray]], topn: int = 10,
                           restrict_vocab: Optional[int] = None) -> List[List[Tuple[str, float]]]:
        """One :meth:`most_similar` answer per query (a word, left out of its own answer, or a
        vector), computed in matrix products of about 16 M similarities."""
        queries = list(queries)
        if not queries:
            return []
        q, exclude = self._query_matrix(queries)
        return self._top(q, exclude, topn, restrict_vocab)

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word furthest from the mean of the others' unit vectors (gensim's
        ``doesnt_match``); words not in the vocabulary are left out, with a warning."""
        import warnings

        words = [words] if isinstance(words, str) else list(words)
        known = [w for w in words if w in self._index]
        if len(known) < len(words):
            warnings.warn(f"doesnt_match leaves out words not in the vocabulary: "
                          f"{[w for w in words if w not in self._index]}", stacklevel=2)
        if not known:
            raise ValueError("doesnt_match needs at least one word in the vocabulary")
        u = self.unit_vectors[[self._index[w] for w in known]].astype(np.float64)
        mean = u.mean(axis=0)
        n = np.linalg.norm(mean)
        return known[int(np.argmin(u @ (mean / n if n else mean)))]

    def _vector_arg(self, q: Any) -> np.ndarray:
        v = np.asarray(q, dtype=np.float32)
        if v.shape != (self.dim,):
            raise ValueError(f"a query vector must have shape ({self.dim},), not {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("a query vector has values that are not finite")
        return v

    def _top(self, q: np.ndarray, exclude: List[List[int]], topn: int,
             restrict_vocab: Optional[int]) -> List[List[Tuple[str, float]]]:
        if isinstance(topn, bool) or not isinstance(topn, (int, np.integer)) or topn < 1:
            raise ValueError(f"topn must be a positive int, not {topn!r}")
        u = self.unit_vectors[: restrict_vocab] if restrict_vocab else self.unit_vectors
        out = []
        step = _chunk(len(u))
        for s in range(0, len(q), step):
            sims = q[s:s + step] @ u.T
            for r, ex in enumerate(exclude[s:s + step]):
                for i in ex:
                    if i < sims.shape[1]:
                        sims[r, i] = -np.inf
            k = min(topn, sims.shape[1])
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            for r in range(sims.shape[0]):
                order = best[r][np.argsort(-sims[r, best[r]], kind="stable")]
                out.append([(self.words[i], float(sims[r, i])) for i in order if np.isfinite(sims[r, i])])
        return out

    def analogy(self, a: Union[str, Sequence[str]], b: Union[str, Sequence[str]], c: Union[str, Sequence[str]],
                topn: int = 1, method: str = "add", restrict_vocab: Optional[int] = None) -> Any:
        """``a`` is to ``b`` as ``c`` is to ?: the word ``d`` maximising
        ``cos(d, b) - cos(d, a) + cos(d, c)`` (``method="add"``, 3CosAdd) or
        ``cos'(d, b) cos'(d, c) / (cos'(d, a) + 0.001)`` with ``cos' = (1 + cos) / 2``
        (``method="mul"``, 3CosMul, Levy and Goldberg 2014), leaving out a, b and c.
        Returns a word (``topn=1``) or a list of ``(word, score)``; lists of words for
        ``a``, ``b``, ``c`` answer many questions at once."""
        if method not in ("add", "mul"):
            raise ValueError(f"method must be 'add' or 'mul', not {method!r}")
        single = isinstance(a, str)
        A, B, C = ([a], [b], [c]) if single else (list(a), list(b), list(c))
        if not (len(A) == len(B) == len(C)):
            raise ValueError("a, b and c must have the same length")
        ia = np.array([self._row(w) for w in A], dtype=np.int64)
        ib = np.array([self._row(w) for w in B], dtype=np.int64)
        ic = np.array([self._row(w) for w in C], dtype=np.int64)
        top = self._analogy_top(ia, ib, ic, max(topn, 1), method, restrict_vocab)
        res = []
        for row in top:
            res.append(row[0][0] if topn == 1 and row else row[:topn])
        return res[0] if single else res

    def _analogy_top(self, ia: np.ndarray, ib: np.ndarray, ic: np.ndarray, topn: int, method: str,
                     restrict_vocab: Optional[int]) -> List[List[Tuple[str, float]]]:
        u = self.unit_vectors[: restrict_vocab] if restrict_vocab else self.unit_vectors
        U = self.unit_vectors
        out = []
        step = _chunk(len(u))
        for s in range(0, len(ia), step):
            a, b, c = ia[s:s + step], ib[s:s + step], ic[s:s + step]
            if method == "add":
                sims = (U[b] - U[a] + U[c]) @ u.T
            else:
                sa, sb, sc = ((U[x] @ u.T + 1) / 2 for x in (a, b, c))
                sims = sb * sc / (sa + 1e-3)
            rows = np.arange(len(a))
            for x in (a, b, c):
                ok = x < sims.shape[1]
                sims[rows[ok], x[ok]] = -np.inf
            k = min(topn, sims.shape[1])
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            for r in range(len(a)):
                order = best[r][np.argsort(-sims[r, best[r]], kind="stable")]
                out.append([(self.words[i], float(sims[r, i])) for i in order if np.isfinite(sims[r, i])])
        return out

    # ------------------------------------------------------------------ evaluation
    def _ok_vocab(self, restrict_vocab: int, case_insensitive: bool) -> Dict[str, int]:
        # As gensim: the first restrict_vocab words; upper-cased keys map to the most
        # frequent (earliest) of a word's case variants.
        ok = self.words[:restrict_vocab]
        if case_insensitive:
            return {w.upper(): i for i, w in reversed(list(enumerate(ok)))}
        return {w: i for i, w in reversed(list(enumerate(ok)))}

    def evaluate_analogies(self, path: PathLike, restrict_vocab: int = 30000, case_insensitive: bool = True,
                           method: str = "add") -> Dict[str, Any]:
        """Accuracy on a Google-format analogy file (``questions-words.txt``: ``: section``
        headers, then ``a b c d`` lines), by gensim's rules: only the first
        ``restrict_vocab`` words are searched and may be used; words are upper-cased
        when ``case_insensitive``; questions with an unknown word are skipped and counted;
        the answer is the best of the top 5 that is none of a, b, c.

        Returns ``{"accuracy", "coverage", "correct", "questions", "oov", "sections"}``,
        ``sections`` mapping each section name to ``{"accuracy", "correct", "total"}``.
        """
        path = check_file(path)
        ok = self._ok_vocab(restrict_vocab, case_insensitive)
        sections: List[Tuple[str, List[Tuple[int, int, int, int, str]]]] = []
        questions = oov = 0
        with open(path, encoding="utf-8", errors="strict") as f:
            for no, line in enumerate(f, 1):
                if line.startswith(":"):
                    sections.append((line.lstrip(":").strip(), []))
                    continue
                parts = line.split()
                if not parts:
                    continue
                if not sections:
                    raise ValueError(f"{path}, line {no}: a question before the first ': section' header")
                if len(parts) != 4:
                    raise ValueError(f"{path}, line {no}: expected 4 words, found {len(parts)}")
                questions += 1
                if case_insensitive:
                    parts = [p.upper() for p in parts]
                ids = [ok.get(p) for p in parts]
                if any(i is None for i in ids):
                    oov += 1
                    continue
                sections[-1][1].append((ids[0], ids[1], ids[2], ids[3], parts[3]))
        key = (lambda w: w.upper()) if case_insensitive else (lambda w: w)
        result_sections: Dict[str, Dict[str, Any]] = {}
        total_correct = total = 0
        for name, qs in sections:
            correct = 0
            if qs:
                arr = np.array([q[:4] for q in qs], dtype=np.int64)
                tops = self._analogy_top(arr[:, 0], arr[:, 1], arr[:, 2], 5, method, restrict_vocab)
                for q, top in zip(qs, tops):
                    ignore = {key(self.words[q[0]]), key(self.words[q[1]]), key(self.words[q[2]])}
                    predicted = None
                    for w, _ in top:
                        predicted = key(w)
                        if predicted in ok and predicted not in ignore:
                            break
                    correct += predicted == q[4]
            sec = result_sections.setdefault(name, {"correct": 0, "total": 0})
            sec["correct"] += correct
            sec["total"] += len(qs)
            total_correct += correct
            total += len(qs)
        for sec in result_sections.values():
            sec["accuracy"] = sec["correct"] / sec["total"] if sec["total"] else float("nan")
        return {"accuracy": total_correct / total if total else float("nan"),
                "coverage": total / questions if questions else 0.0,
                "correct": total_correct, "questions": questions, "oov": oov, "sections": result_sections}

    def evaluate_word_pairs(self, path: PathLike, delimiter: str = "\t", restrict_vocab: int = 300000,
                            case_insensitive: bool = True) -> Dict[str, Any]:
        """Spearman (and Pearson) correlation between human similarity scores and cosine
        similarity on a WordSim-353 / SimLex-999 style file (``w1<TAB>w2<TAB>score``,
        ``#`` comment lines), by gensim's rules (pairs with an unknown word are skipped).
        Returns ``{"spearman", "pearson", "coverage", "pairs", "oov"}``."""
        from scipy import stats

        path = check_file(path)
        ok = self._ok_vocab(restrict_vocab, case_insensitive)
        gold, ia, ib = [], [], []
        oov = 0
        with open(path, encoding="utf-8", errors="strict") as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\r\n").split(delimiter)
                if len(parts) != 3:
                    continue  # as gensim: a malformed line is skipped
                try:
                    score = float(parts[2])
                except ValueError:
                    continue
                a, b = (parts[0].upper(), parts[1].upper()) if case_insensitive else (parts[0], parts[1])
                if a not in ok or b not in ok:
                    oov += 1
                    continue
                gold.append(score)
                ia.append(ok[a])
                ib.append(ok[b])
        n = len(gold)
        if n < 2:
            return {"spearman": float("nan"), "pearson": float("nan"), "coverage": n / (n + oov) if n + oov else 0.0,
                    "pairs": n, "oov": oov}
        u = self.unit_vectors
        model = np.einsum("ij,ij->i", u[ia], u[ib])
        return {"spearman": float(stats.spearmanr(gold, model)[0]), "pearson": float(stats.pearsonr(gold, model)[0]),
                "coverage": n / (n + oov), "pairs": n, "oov": oov}

    # ------------------------------------------------------------------ pictures
    def pca(self, words: Sequence[str], n_components: int = 2) -> np.ndarray:
        """Project the vectors of ``words`` on their first ``n_components`` principal
        components (centred, by SVD): an array ``(len(words), n_components)``."""
        words = list(words)
        if not 1 <= n_components <= min(len(words), self.dim):
            raise ValueError(f"n_components must be between 1 and {min(len(words), self.dim)}")
        x = np.stack([self[w] for w in words]).astype(np.float64)
        x -= x.mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        comp = vt[:n_components]
        # A deterministic sign: the largest loading of each component is positive.
        comp *= np.sign(comp[np.arange(n_components), np.abs(comp).argmax(axis=1)])[:, None]
        return x @ comp.T

    def plot(self, words: Sequence[str], path: PathLike, pairs: Optional[Iterable[Tuple[str, str]]] = None,
             title: Optional[str] = None) -> str:
        """Draw the 2-D PCA projection of ``words`` to a PNG at ``path`` (needs
        matplotlib), with an arrow for each ``(from, to)`` in ``pairs``, e.g.
        ``[("man", "woman"), ("king", "queen")]``. Returns the path."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("plot() needs matplotlib: pip install matplotlib") from None
        words = list(dict.fromkeys(list(words) + [w for p in (pairs or []) for w in p]))
        xy = self.pca(words, 2)
        pos = dict(zip(words, xy))
        fig, ax = plt.subplots(figsize=(7, 6), dpi=100)
        ax.scatter(xy[:, 0], xy[:, 1], s=18, color="#1f77b4")
        for w, (x, y) in pos.items():
            ax.annotate(w, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=10)
        for a, b in pairs or []:
            ax.annotate("", xy=pos[b], xytext=pos[a],
                        arrowprops=dict(arrowstyle="->", color="#d62728", lw=1.4))
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.set_title(title or "word vectors, PCA")
        fig.tight_layout()
        path = os.fspath(path)
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format="png")
        plt.close(fig)
        return path

    # ------------------------------------------------------------------ files
    def _check_words_for_file(self) -> None:
        for i, w in enumerate(self.words):
            if not w or _BAD_WORD.search(w):
                raise ValueError(f"word {w!r} (row {i}) is empty or contains whitespace; "
                                 "text and word2vec files cannot hold it (use save_npz)")

    def _write(self, path: PathLike, fn: Any, **kwargs: Any) -> None:
        self._check_words_for_file()
        with atomic_path(path) as tmp:
            fn(tmp, self.words, self.vectors, **kwargs)

    def save_glove(self, path: PathLike) -> None:
        """GloVe text format: ``word v1 v2 ...`` per line, no header (atomic write; values
        in the shortest form that reads back to the same float32)."""
        self._write(path, _core.write_vectors_text, header=False)

    def save_word2vec(self, path: PathLike, binary: bool = False) -> None:
        """word2vec format (``count dim`` header), text or binary, as gensim's
        ``KeyedVectors.load_word2vec_format`` reads it."""
        if binary:
            self._write(path, _core.write_word2vec_binary)
        else:
            self._write(path, _core.write_vectors_text, header=True)

    def save_npz(self, path: PathLike) -> None:
        with atomic_write(path, "wb") as f:
            np.savez(f, words=np.array(self.words, dtype=str), vectors=self.vectors)

    def save_npy(self, path: PathLike) -> None:
        """The package's memory-mappable format: the matrix as a ``.npy`` file at ``path`` and
        the words, one a line in UTF-8, beside it at ``<path without .npy>.words.txt``. Both are
        written atomically; :meth:`load_npy` with ``mmap="r"`` opens them without reading the
        matrix."""
        p = os.fspath(path)
        if not p.lower().endswith(".npy"):
            raise ValueError(f"a .npy vectors file must end in .npy: {p}")
        for i, w in enumerate(self.words):
            if "\n" in w or "\r" in w:
                raise ValueError(f"word {w!r} (row {i}) contains a line break; the .npy format's word list cannot hold it")
        with atomic_write(_words_path(p), "w", encoding="utf-8") as f:
            f.write(f"# pyfast_nlp word list: {len(self.words)} words for {os.path.basename(p)}\n")
            f.writelines(w + "\n" for w in self.words)
        with atomic_write(p, "wb") as f:
            np.save(f, np.ascontiguousarray(self.vectors, dtype=np.float32), allow_pickle=False)

    @classmethod
    def load_npy(cls, path: PathLike, mmap: Optional[str] = None) -> "WordVectors":
        """Read :meth:`save_npy`'s pair of files. ``mmap="r"`` maps the matrix read-only instead of
        reading it: a table of any size opens in the time it takes to read its word list, and
        processes that map the same file share one copy in memory. A mapped matrix is not scanned
        for NaN (that would read it all); ``save_npy`` never writes one."""
        p = check_file(path, regular=True)
        if mmap not in (None, "r", "c"):
            raise ValueError(f"mmap must be None, 'r' or 'c', not {mmap!r}")
        words_file = check_file(_words_path(p), regular=True)
        try:
            vec = np.load(p, mmap_mode=mmap, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f"{p} is not a readable .npy matrix ({e})") from None
        if vec.ndim != 2 or vec.dtype != np.float32:
            raise ValueError(f"{p}: expected a 2-D float32 matrix, found shape {vec.shape} and dtype {vec.dtype}")
        with open(words_file, encoding="utf-8", errors="strict", newline="\n") as f:
            head = f.readline()
            if not head.startswith("# pyfast_nlp word list"):
                raise ValueError(f"{words_file} is not a pyfast_nlp word list")
            words = f.read().split("\n")
        if words and words[-1] == "":
            words.pop()
        if len(words) != vec.shape[0]:
            raise ValueError(f"{words_file} lists {len(words)} words but {p} has {vec.shape[0]} rows "
                             "(a truncated or mismatched pair of files)")
        return cls(words, vec, duplicates="first", _check_finite=mmap is None, _words_are_str=True)

    def save(self, path: PathLike, format: Optional[str] = None) -> None:
        """Save by ``format`` (``"glove"``, ``"word2vec"``, ``"word2vec-binary"``, ``"npz"``,
        ``"npy"``) or, if ``None``, by extension (``.npz``, ``.npy``, ``.bin``, anything else:
        GloVe text)."""
        fmt = format or _format_of(path, for_writing=True)
        if fmt == "npy":
            self.save_npy(path)
        elif fmt == "glove":
            self.save_glove(path)
        elif fmt == "word2vec":
            self.save_word2vec(path)
        elif fmt == "word2vec-binary":
            self.save_word2vec(path, binary=True)
        elif fmt == "npz":
            self.save_npz(path)
        else:
            raise ValueError(f"unknown format {fmt!r}")

    @classmethod
    def load_glove(cls, path: PathLike, num_threads: int = -1) -> "WordVectors":
        """Read GloVe's text format (no header); a malformed or truncated line raises
        ``ValueError`` naming it. A word may contain spaces (the last ``dim`` fields of a
        line are its values)."""
        path = check_file(path, regular=True)
        words, vec = _core.read_vectors_text(path, header=False, threads=resolve_threads(num_threads))
        return cls(words, vec, duplicates="first", _check_finite=False, _words_are_str=True)  # checked in C++

    @classmethod
    def load_word2vec(cls, path: PathLike, binary: bool = False, num_threads: int = -1) -> "WordVectors":
        """Read word2vec's text or binary format; the header's counts are checked against
        the body."""
        path = check_file(path, regular=True)
        if binary:
            words, vec = _core.read_word2vec_binary(path, threads=resolve_threads(num_threads))
        else:
            words, vec = _core.read_vectors_text(path, header=True, threads=resolve_threads(num_threads))
        return cls(words, vec, duplicates="first", _check_finite=False, _words_are_str=True)  # checked in C++

    @classmethod
    def load_npz(cls, path: PathLike) -> "WordVectors":
        path = check_file(path, regular=True)
        arrays = read_npz(path, "a word-vectors .npz file")
        if "words" not in arrays or "vectors" not in arrays:
            raise ValueError(f"{path} is not a word-vectors .npz file (no 'words' and 'vectors' arrays)")
        word_list, vec = str_array(arrays["words"], path, "words"), arrays["vectors"]
        try:
            return cls(word_list, vec, duplicates="first")
        except (TypeError, ValueError) as e:
            raise ValueError(f"{path}: {e}") from None

    @classmethod
    def load(cls, path: PathLike, format: Optional[str] = None, mmap: Optional[str] = None) -> "WordVectors":
        """Load by ``format`` or, if ``None``, by extension (``.npz``, ``.npy``, ``.bin``) and
        otherwise by the first line: ``count dim`` means word2vec text, anything else
        GloVe text. ``mmap="r"`` maps a ``.npy`` matrix instead of reading it (see :meth:`load_npy`)."""
        fmt = format or _format_of(path, for_writing=False)
        if mmap is not None and fmt != "npy":
            raise ValueError(f"mmap needs the .npy format (save(path.npy) writes it), not {fmt!r}")
        if fmt == "npy":
            return cls.load_npy(path, mmap=mmap)
        if fmt == "glove":
            return cls.load_glove(path)
        if fmt == "word2vec":
            return cls.load_word2vec(path)
        if fmt == "word2vec-binary":
            return cls.load_word2vec(path, binary=True)
        if fmt == "npz":
            return cls.load_npz(path)
        raise ValueError(f"unknown format {fmt!r}")


def _words_path(npy_path: str) -> str:
    return npy_path[:-4] + ".words.txt"


def _as_list(x: Any) -> List[Any]:
    if x is None:
        return []
    if isinstance(x, str) or (isinstance(x, np.ndarray) and x.ndim == 1):
        return [x]
    return list(x)


def _format_of(path: PathLike, for_writing: bool) -> str:
    p = os.fspath(path)
    low = p.lower()
    if low.endswith(".npz"):
        return "npz"
    if low.endswith(".npy"):
        return "npy"
    if low.endswith(".bin"):
        return "word2vec-binary"
    if for_writing:
        return "glove"
    p = check_file(p)
    with open(p, "rb") as f:
        first = f.readline(256).split()
    if len(first) == 2 and all(x.isdigit() for x in first):
        return "word2vec"
    return "glove"
