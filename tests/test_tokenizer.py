import pickle
import random
import re

import pytest

from pyfast_nlp import Tokenizer

SK_PATTERN = re.compile(r"(?u)\b\w\w+\b")

# Characters chosen to stress Unicode word rules and case mapping: accented Latin,
# Greek (final sigma), Turkish dotted I (lowers to two code points), Cyrillic, Hangul,
# CJK, digits of other scripts, combining marks, underscore, punctuation, emoji.
POOL = list("abcXYZ_09 .,;:'-\t\n") + list("éÉñÑßẞİıΣσςΑΩαωДдЖж한국어에서ㄱㅏ漢字カナ٣٤①½") + [
    "\u0301", "\u0307", "\u200d", "\U0001F600", "\u00a0", "\u2028", "ǅ", "ᾼ", "ﬁ", "Ⅻ"]


def random_text(rng, n):
    return "".join(rng.choice(POOL) for _ in range(n))


@pytest.mark.parametrize("seed", range(20))
def test_word_pattern_equals_sklearn_regex(seed):
    rng = random.Random(seed)
    tok, tok_keep = Tokenizer(), Tokenizer(lowercase=False)
    for _ in range(50):
        s = random_text(rng, rng.randint(0, 60))
        assert tok.tokenize(s) == SK_PATTERN.findall(s.lower()), repr(s)
        assert tok_keep.tokenize(s) == SK_PATTERN.findall(s), repr(s)


@pytest.mark.parametrize("seed", range(5))
def test_other_patterns_equal_python(seed):
    rng = random.Random(100 + seed)
    for _ in range(50):
        s = random_text(rng, rng.randint(0, 60))
        assert Tokenizer(min_token_len=1).tokenize(s) == re.findall(r"\w+", s.lower())
        assert Tokenizer(pattern="whitespace", lowercase=False).tokenize(s) == s.split()
        assert Tokenizer(pattern="char").tokenize(s) == list(s.lower())


@pytest.mark.parametrize("seed", range(4))
def test_whitespace_pattern_on_long_mostly_ascii_lines(seed):
    # The whitespace pattern hands out clean ASCII tokens 64 bytes at a time: tokens across
    # block edges, longer than a block, with upper case, ASCII controls that are (0x1c-0x1f)
    # and are not (0x00-0x08, 0x0e-0x1b, 0x7f) whitespace, and non-ASCII whitespace and letters.
    rng = random.Random(500 + seed)
    pieces = [" ", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1f", "\x00", "\x08", "\x0e",
              "\x1b", "\x7f", "\xa0", "\u3000", "\x85", "\u2003", "é", "Ω", "ß", "İ", "한", "A", "Z", "_"]
    letters = "abcdefghijklmnopqrstuvwxyz0123456789.,'-"
    for _ in range(20):
        parts = []
        for _ in range(rng.randint(0, 120)):
            r = rng.random()
            if r < 0.8:
                n = rng.choice([1, 2, 3, 5, 8, 13, 31, 63, 64, 65, 100, 140])
                parts.append("".join(rng.choice(letters) for _ in range(n)))
            parts.append(rng.choice(pieces) if r < 0.95 else " ")
        s = "".join(parts)
        for lowercase in (False, True):
            src = s.lower() if lowercase else s
            for m in (1, 2, 3):
                got = Tokenizer(pattern="whitespace", lowercase=lowercase, min_token_len=m).tokenize(s)
                assert got == [t for t in src.split() if len(t) >= m], (repr(s), lowercase, m)
                assert Tokenizer(pattern="whitespace", lowercase=lowercase, min_token_len=m).tokenize(
                    s.encode("utf-8")) == got


@pytest.mark.parametrize("seed", range(4))
def test_word_pattern_on_long_mostly_ascii_lines(seed):
    # The word pattern hands out runs of ASCII word characters 64 bytes at a time: runs
    # across block edges, longer than a block, with upper case, next to non-ASCII letters
    # (the word goes on) and non-ASCII punctuation (it does not).
    rng = random.Random(700 + seed)
    seps = [" ", ", ", ".", "-", "\n", "\t", "'", "(", ")", "\x00", "\x7f", "—", "\xa0", "é", "Ω", "ß", "İ", "한",
            "_", "1", "ǅ", "’", " — ", " ’ ", " é ", ". Ω", "\n한 "]
    letters = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_"
    for _ in range(20):
        parts = []
        for _ in range(rng.randint(0, 120)):
            n = rng.choice([1, 2, 3, 5, 8, 13, 31, 63, 64, 65, 100, 140])
            parts.append("".join(rng.choice(letters if rng.random() < 0.3 else letters[:26])
                                 for _ in range(n)))
            parts.append(rng.choice(seps) if rng.random() < 0.4 else " ")
        s = "".join(parts)
        for lowercase in (False, True):
            src = s.lower() if lowercase else s
            for m in (1, 2, 3):
                tok = Tokenizer(lowercase=lowercase, min_token_len=m)
                got = tok.tokenize(s)
                assert got == [t for t in re.findall(r"\w+", src) if len(t) >= m], (repr(s), lowercase, m)
                assert tok.tokenize(s.encode("utf-8")) == got


def test_real_text_equals_sklearn_regex(corpus_lines):
    tok = Tokenizer()
    text = "\n".join(corpus_lines[:3000])
    assert tok.tokenize(text) == SK_PATTERN.findall(text.lower())


def test_final_sigma_and_expanding_lowercase():
    assert Tokenizer().tokenize("ΟΔΟΣ ΣΑΣ") == ["οδος", "σας"]
    # İ lowers to i + combining dot (not a word character), exactly as str.lower does
    assert Tokenizer().tokenize("İstanbul") == SK_PATTERN.findall("İstanbul".lower()) == ["stanbul"]


def test_korean_split_at_script_change_and_nfc_only():
    assert Tokenizer(korean=True).tokenize("GIMP에서 이미지를 3개") == ["gimp", "에서", "이미지를", "3", "개"]
    # NFD Hangul (jamo) is composed, never the other way round
    nfd = "\u1112\u1161\u11ab\u1100\u116e\u11a8"  # 한국 as jamo
    assert Tokenizer(korean=True, normalize="NFC").tokenize(nfd) == ["한국"]
    with pytest.raises(ValueError, match="NFC"):
        Tokenizer(normalize="NFD")


def test_bytes_and_str_agree_and_empty_input():
    tok = Tokenizer()
    s = "Crème brûlée — ПРИВЕТ мир 한국어"
    assert tok.tokenize(s.encode("utf-8")) == tok.tokenize(s)
    assert tok.tokenize("") == [] and tok.tokenize(b"") == []
    assert tok.tokenize_batch([]) == []
    assert tok.tokenize_batch(["", "a b", "hello world"]) == [[], [], ["hello", "world"]]


def test_invalid_utf8_names_the_offset_or_is_replaced():
    bad = b"good text \xff\xfe more"
    with pytest.raises(ValueError, match="byte offset 10"):
        Tokenizer().tokenize(bad)
    with pytest.raises(ValueError, match="document 1: invalid UTF-8 at byte offset 1"):
        Tokenizer().tokenize_batch([b"ok", b"a\xc3("])
    rep = Tokenizer(errors="replace")
    for b in (bad, b"\xe2\x82", b"ab\xf0\x9f\x98cd", b"\xed\xa0\x80xy", b"\xc0\xafzz"):
        assert rep.tokenize(b) == Tokenizer().tokenize(b.decode("utf-8", "replace")), b
        assert Tokenizer(errors="replace", pattern="char").tokenize(b) == list(b.decode("utf-8", "replace").lower())


def test_wrong_types_are_clear_errors():
    with pytest.raises(TypeError, match="str or bytes"):
        Tokenizer().tokenize(42)
    with pytest.raises(TypeError, match="item 1 is int"):
        Tokenizer().tokenize_batch(["a", 3])
    with pytest.raises(TypeError, match="not a single string"):
        Tokenizer().tokenize_batch("abc")
    with pytest.raises(ValueError, match="unknown pattern"):
        Tokenizer(pattern="regex")
    with pytest.raises(UnicodeEncodeError):
        Tokenizer().tokenize("lone \ud800 surrogate")


def test_batch_is_parallel_and_equals_serial(corpus_lines):
    tok = Tokenizer(stemmer="english")
    serial = [tok.tokenize(line) for line in corpus_lines]
    assert tok.tokenize_batch(corpus_lines, num_threads=2) == serial
    assert tok.tokenize_batch(corpus_lines, num_threads=1) == serial


def test_file_is_streamed_in_chunks(tmp_path, corpus_lines):
    long_line = " ".join(f"w{i}" for i in range(5000))  # longer than a 4096-byte read
    lines = corpus_lines[:2000] + [long_line, "", long_line + long_line, "Ünïcödé at the end", "no newline"]
    p = tmp_path / "c.txt"
    p.write_text("\r\n".join(lines), encoding="utf-8")
    tok = Tokenizer()
    expected = [tok.tokenize(line) for line in lines]
    for chunk in (1, 7, 4096, 1 << 20):  # tiny chunks cross line and character boundaries
        assert list(tok.tokenize_file(p, chunk_bytes=chunk)) == expected


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(Tokenizer().tokenize_file(tmp_path / "missing.txt"))
    p = tmp_path / "bad.txt"
    p.write_bytes(b"fine\nalso fine\nbroken \xff here\n")
    with pytest.raises(ValueError, match="line 3: invalid UTF-8 at byte offset 7"):
        list(Tokenizer().tokenize_file(p))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert list(Tokenizer().tokenize_file(empty)) == []


def test_callable_stemmer_and_pickle():
    tok = Tokenizer(stemmer=str.upper)
    assert tok.tokenize("ab cd") == ["AB", "CD"]
    t2 = pickle.loads(pickle.dumps(Tokenizer(stemmer="porter", korean=True)))
    assert t2.tokenize("Running 테스트를") == ["run", "테스트를"]
