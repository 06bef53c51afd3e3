"""The corpus door: the one place where a corpus is told apart and turned into what a consumer
counts.

Every consumer (``Vocab.build``, ``cooccurrence``, ``CountVectorizer`` and what comes after
them) takes a corpus through :func:`open_corpus`, which sorts it into one of four kinds:

- ``"path"``: a UTF-8 file (``str`` or ``os.PathLike``), streamed by the C++ reader; a line is
  a document;
- ``"texts"``: an iterable of ``str``/``bytes`` documents (a list, or a generator, which is
  read batch by batch and never held whole unless the consumer needs every document at once);
- ``"tokens"``: an iterable of token lists (already tokenized);
- ``"ids"``: an iterable of 1-D integer id arrays.

A tokenizer whose stemmer is a Python callable cannot run inside the C++ kernels, so the door
turns a path or texts into ``"tokens"`` itself: C++ tokenizes a batch, Python stems it, and the
consumer counts token lists (no joining and re-tokenizing). The door also owns the progress bar
(bytes of a file, documents of a list) and batching; Ctrl-C is honoured between batches and,
inside the C++ readers, between chunks.

>>> from pyfast_nlp.text.corpus import open_corpus
>>> open_corpus(["a text", "another"]).kind
'texts'
>>> c = open_corpus(iter([["already", "tokens"], []]))
>>> c.kind, list(c.token_lists())
('tokens', [['already', 'tokens'], []])
"""
from __future__ import annotations

import copy
import itertools
import os
import re
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .._base import progress_bar
from .._io import check_file
from .tokenizer import Tokenizer

__all__ = ["Corpus", "CorpusLike", "Text", "open_corpus", "read_text", "KINDS"]

KINDS = ("path", "texts", "tokens", "ids")
CorpusLike = Union[str, "os.PathLike[str]", Iterable[str], Iterable[bytes], Iterable[Sequence[str]],
                   Iterable[np.ndarray]]

DOCS_PER_BATCH = 20000  # texts handed to a kernel per call: progress and Ctrl-C between calls
IDS_PER_BATCH = 1 << 20  # about a quarter of a second of counting per call


class Corpus:
    """A corpus sorted into its kind (see the module's docstring); made by :func:`open_corpus`.

    ``path`` is set for kind ``"path"``; the other kinds are read through :meth:`text_batches`,
    :meth:`token_lists` or :meth:`id_batches`, each of which may be consumed once (a generator
    is not replayed). ``tokenizer`` is the tokenizer texts are read with.
    """

    def __init__(self, kind: str, items: Any, tokenizer: Tokenizer, path: Optional[str] = None,
                 size: Optional[int] = None, progress: bool = False, desc: str = "corpus") -> None:
        self.kind = kind
        self.path = path
        self.tokenizer = tokenizer
        self.progress = progress
        self.desc = desc
        self._items = items
        self._size = size  # documents, when known without reading them

    def __repr__(self) -> str:
        what = self.path if self.kind == "path" else f"{self._size if self._size is not None else '?'} documents"
        return f"Corpus(kind={self.kind!r}, {what})"

    # ------------------------------------------------------------------ progress
    @property
    def size(self) -> Optional[int]:
        """The number of documents when it is known without reading them (a list), else None."""
        return self._size

    @contextmanager
    def progress_bar(self, min_docs: int = 0) -> Iterator[Callable[..., None]]:
        """A callback ``report(done, total=None)`` that moves the bar to ``done`` (bytes of a
        file, documents otherwise); silent unless the corpus was opened with ``progress=True``,
        and for a list of ``min_docs`` documents or fewer (too quick to be worth a bar)."""
        enabled = self.progress
        if self.kind == "path":
            total, unit = os.path.getsize(self.path), "B"
        else:
            total, unit = self._size, "doc"
            enabled = enabled and (total is None or total > min_docs)
        with progress_bar(enabled, total=total, unit=unit, unit_scale=True, desc=self.desc) as bar:
            def report(done: int, total: Optional[int] = None) -> None:
                bar.update(done - bar.n)
            yield report

    # ------------------------------------------------------------------ readers
    def text_batches(self, batch: int = DOCS_PER_BATCH) -> Iterator[Tuple[int, List[Any]]]:
        """``(index of the first document, list of texts)`` for kind ``"texts"``, ``batch``
        documents at a time; a list is sliced, never copied whole."""
        self._expect("texts")
        items = self._items
        if isinstance(items, list):
            for b in range(0, len(items), batch):
                yield b, items[b:b + batch]
            return
        it = iter(items)
        start = 0
        while True:
            chunk = list(itertools.islice(it, batch))
            if not chunk:
                return
            yield start, chunk
            start += len(chunk)

    def texts(self) -> List[Any]:
        """Every document of kind ``"texts"`` as one list (for consumers that need all of them
        at once, such as a document-term matrix); a list is returned as it is."""
        self._expect("texts")
        return self._items if isinstance(self._items, list) else list(self._items)

    def token_lists(self) -> Iterator[List[str]]:
        """Token lists, one per document: kind ``"tokens"`` as given (each a list of str)."""
        self._expect("tokens")
        for i, doc in enumerate(self._items):
            if isinstance(doc, (str, bytes)):
                raise TypeError(f"document {i}: expected a token list, got a {type(doc).__name__} "
                                "(a corpus mixes texts and token lists)")
            yield doc if isinstance(doc, list) else list(doc)

    def id_batches(self, vocab: Any = None,
                   report: Optional[Callable[..., None]] = None) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """``(ids, doc_end)`` batches, document ``d`` of the batch ending at ``doc_end[d]``: a path
        or texts analyzed in C++ and encoded with ``vocab`` (terms it lacks dropped, as the
        reference GloVe and word2vec tools do), token lists encoded with ``vocab`` likewise, or
        id arrays checked (1-D, integers, not negative). ``report(done)`` is called after each
        batch with the bytes (a path) or documents read so far."""
        if self.kind in ("path", "texts"):
            if vocab is None:
                raise ValueError("texts need a vocabulary to become ids")
            yield from self._encoded(vocab, report)
            return
        if self.kind == "ids":
            docs: Iterable[np.ndarray] = (_ids_of(d, i) for i, d in enumerate(self._items))
        else:
            if vocab is None:
                raise ValueError("token lists need a vocabulary to become ids")
            docs = (vocab.encode(t, unknown="drop") for t in self.token_lists())
        buf: List[np.ndarray] = []
        n = done = 0
        for d in docs:
            buf.append(d)
            n += len(d)
            if n >= IDS_PER_BATCH:
                done += len(buf)
                yield _flatten(buf)
                if report is not None:
                    report(done)
                buf, n = [], 0
        if buf:
            yield _flatten(buf)
            if report is not None:
                report(done + len(buf))

    def _encoded(self, vocab: Any, report: Optional[Callable[..., None]]) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        from .. import _core
        from .._base import max_line_bytes

        cfg, index = self.tokenizer.cfg, vocab.index
        if self.kind == "path":
            reader = _core.LineReader(self.path, max_line_bytes=max_line_bytes())
            while True:
                try:
                    got = reader.encode_next(cfg, index)
                except ValueError as e:
                    raise ValueError(f"{self.path}, {e}") from None
                if got is None:
                    return
                yield got
                if report is not None:
                    report(reader.bytes_done)
        else:
            for start, batch in self.text_batches():
                try:
                    yield _core.encode_texts(cfg, batch, index)
                except ValueError as e:
                    raise ValueError(_renumbered(str(e), start)) from None
                if report is not None:
                    report(start + len(batch))

    def _expect(self, kind: str) -> None:
        if self.kind != kind:
            raise TypeError(f"expected a corpus of {kind}, got {self.kind}")


def open_corpus(corpus: CorpusLike, tokenizer: Optional[Tokenizer] = None, *,
                accept: Sequence[str] = KINDS, progress: bool = False, desc: str = "corpus",
                stop_words: Optional[Sequence[str]] = None) -> Corpus:
    """Sort ``corpus`` into its kind without reading more of it than its first non-empty
    document (a generator stays a generator).

    ``tokenizer`` (default ``Tokenizer()``) is the one texts will be read with. When its
    stemmer is a Python callable, a path or texts come back as kind ``"tokens"``: tokenized in
    C++ batch by batch, ``stop_words`` removed, then stemmed in Python. ``accept`` lists the kinds
    the consumer takes; any other is a ``TypeError`` naming what was given.
    """
    tok = tokenizer if tokenizer is not None else Tokenizer()
    if isinstance(corpus, (bytes, bytearray)):
        raise TypeError("corpus must be a path, texts, token lists or id arrays, not bytes "
                        "(pass [data] for one document)")
    if isinstance(corpus, (str, os.PathLike)):
        kind, items, path, size = "path", None, check_file(corpus), None
    else:
        if isinstance(corpus, np.ndarray) and corpus.ndim == 1 and corpus.dtype.kind in "OUS":
            corpus = corpus.tolist()
        try:
            it = iter(corpus)
        except TypeError:
            raise TypeError(f"corpus must be a path or an iterable of documents, not {type(corpus).__name__}") from None
        size = len(corpus) if isinstance(corpus, (list, tuple)) else None
        kind, items = _sort(corpus, it)
        path = None
    if kind not in accept:
        raise TypeError(f"expected a corpus of {' or '.join(accept)}; got {_described(kind)}")
    if tok.python_stemmer is not None and kind in ("path", "texts"):
        source = Corpus(kind, items, tok, path, size, progress, desc)
        return Corpus("tokens", _python_stemmed(source, tok, stop_words), tok, None, size, progress, desc)
    return Corpus(kind, items, tok, path, size, progress, desc)


class Text(str):
    """A ``str`` that is always the text itself, never a file name: ``CharLM().fit(Text("notes.txt"))``
    trains on the nine characters."""


_PATH_LIKE = re.compile(r"[^\s]*[/\\][^\s]*|[\w.-]+\.[A-Za-z][A-Za-z0-9]{0,4}")


def read_text(text: Union[str, bytes, "os.PathLike[str]"]) -> str:
    """A whole corpus as one ``str``, for character models.

    An ``os.PathLike`` is a UTF-8 file to read. A ``str`` is the text itself unless it is one line
    that names an existing file, which is read, or looks like a path (a ``/`` in one word, or
    ``name.ext``) and names nothing, which is a ``FileNotFoundError`` (a mistyped path is not a
    corpus); a directory or a special file (FIFO, device) is refused. :class:`Text` marks a str as
    text whatever it looks like. ``bytes`` are decoded as UTF-8."""
    if isinstance(text, str) and not isinstance(text, Text) and "\n" not in text and len(text) < 4096:
        if os.path.exists(text):
            if not os.path.isfile(text):
                raise ValueError(f"{text} is a directory or special file, not a text file (pass "
                                 "pyfast_nlp.text.Text(...) to use the string itself as the text)")
        elif _PATH_LIKE.fullmatch(text):
            raise FileNotFoundError(f"no such file: {text} (pass pyfast_nlp.text.Text(...) to use the string "
                                    "itself as the text)")
    if isinstance(text, os.PathLike) or (isinstance(text, str) and not isinstance(text, Text) and "\n" not in text
                                         and len(text) < 4096 and os.path.isfile(text)):
        path = check_file(text)
        with open(path, "rb") as f:
            raw = f.read()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path} is not valid UTF-8 (byte {e.start}): {e.reason}") from None
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"text is not valid UTF-8 (byte {e.start}): {e.reason}") from None
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, bytes or a path, not {type(text).__name__}")
    return str(text)


# ---------------------------------------------------------------------- helpers
def _sort(corpus: Any, it: Iterator[Any]) -> Tuple[str, Any]:
    """The kind of an iterable of documents from its first non-empty one, and the documents
    (the iterable itself when it can be read again, else the peeked items chained back)."""
    seen: List[Any] = []
    first = None
    for doc in it:
        seen.append(doc)
        if len(doc):
            first = doc
            break
    replay = corpus if isinstance(corpus, (list, tuple)) else itertools.chain(seen, it)
    if first is None:
        return ("texts" if not seen or isinstance(seen[0], (str, bytes)) else "tokens"), replay
    if isinstance(first, (str, bytes)):
        return "texts", replay
    if isinstance(first, np.ndarray):
        return ("tokens" if first.dtype.kind in "OU" else "ids"), replay
    if isinstance(first, (list, tuple)):
        return ("tokens" if isinstance(first[0], str) else "ids"), replay
    raise TypeError(f"documents must be str, bytes, token lists or id arrays, not {type(first).__name__}")


def _described(kind: str) -> str:
    return {"path": "a file path", "texts": "texts", "tokens": "token lists", "ids": "id arrays"}[kind]


def _python_stemmed(source: Corpus, tok: Tokenizer, stop_words: Optional[Sequence[str]]) -> Iterator[List[str]]:
    """Token lists of a path or texts: tokenized in C++ without the stemmer, stop words removed,
    then stemmed by the Python callable (a token stemmed to nothing is dropped, as in C++)."""
    stem = tok.python_stemmer
    plain = copy.copy(tok)
    plain.stemmer = None  # the C++ tokenizer alone; the configuration is the same
    stop = frozenset(stop_words or ())

    def stemmed(toks: List[str]) -> List[str]:
        return [s for s in (stem(t) for t in toks if t not in stop) if s]

    if source.kind == "path":
        for toks in plain.tokenize_file(source.path, progress=source.progress):
            yield stemmed(toks)
    else:
        for _, batch in source.text_batches():
            for toks in plain.tokenize_batch(batch):
                yield stemmed(toks)


def _renumbered(msg: str, start: int) -> str:
    """A kernel's "document 3: ..." in a batch that starts at document ``start``, numbered in the corpus."""
    m = re.match(r"document (\d+)(.*)", msg, re.S)
    return f"document {int(m.group(1)) + start}{m.group(2)}" if m else msg


def _ids_of(doc: Any, i: int) -> np.ndarray:
    a = np.asarray(doc)
    if a.ndim != 1:
        raise ValueError(f"document {i}: id arrays must be 1-D, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"document {i}: ids must be integers, got dtype {a.dtype}")
    if a.size and a.min() < 0:
        raise ValueError(f"document {i}: negative id {a.min()}")
    return a.astype(np.int32, copy=False)


def _flatten(docs: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    ends = np.cumsum([len(d) for d in docs], dtype=np.int64)
    ids = np.concatenate(docs).astype(np.int32, copy=False) if docs else np.zeros(0, np.int32)
    return ids, ends
