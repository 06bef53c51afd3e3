import re

import pytest

from pyfast_nlp import Stemmer, Tokenizer

# Output of the published algorithms (snowballstem.org English; Porter 1980 paper examples).
ENGLISH = {
    "consign": "consign", "consigned": "consign", "consigning": "consign",
    "consignment": "consign", "generously": "generous", "knightly": "knight",
    "skies": "sky", "dying": "die", "news": "news", "proceed": "proceed",
    "exceeding": "exceed", "innings": "inning", "cries": "cri", "ties": "tie",
    "happily": "happili", "relational": "relat", "universal": "universal",
    "emergency": "emergenc", "added": "add", "hopping": "hop", "pasted": "paste",
    "sayings": "say", "dog's": "dog", "ab": "ab", "café": "café",
}
PORTER = {
    "caresses": "caress", "ponies": "poni", "ties": "ti", "caress": "caress", "cats": "cat",
    "feed": "feed", "agreed": "agre", "plastered": "plaster", "motoring": "motor",
    "sing": "sing", "conflated": "conflat", "troubled": "troubl", "sized": "size",
    "hopping": "hop", "falling": "fall", "filing": "file", "happy": "happi",
    "relational": "relat", "conditional": "condit", "rational": "ration",
    "generalization": "gener", "electrical": "electr", "adjustment": "adjust",
    "controlling": "control", "rolling": "roll",
}
KOREAN = {
    "합니다": "하", "했다": "하", "사용합니다": "사용", "이미지를": "이미지",
    "시스템에서": "시스템", "있습니다": "있", "새로운": "새롭", "추가": "추가",
    "학교에서는": "학교", "사용자들이": "사용자", "일반적으로": "일반", "됩니다": "되",
    "선택하면": "선택", "열었다": "열", "책을": "책", "GIMP": "GIMP", "화면": "화면",
    "제한으로": "제한", "찍혔을": "찍히", "그려진": "그리", "취소시킬": "취소", "넣고": "넣",
    "하나": "하나", "일으킬": "일으키", "있는지": "있", "사용해야": "사용", "도구나": "도구",
    "많을수록": "많", "놓기": "놓", "가능성이": "가능", "활성화된": "활성", "대한": "대하",
    "경우이지만": "경우", "끊임없이": "끊임없이", "많이": "많이", "없음": "없", "알고": "알",
    "저장되어있는": "저장", "자연스러운": "자연", "사용가능": "사용", "속도": "속도", "따로": "따로",
    "확인": "확인", "사용하려는": "사용", "끝났다는": "끝나", "참고": "참고",
}


@pytest.mark.parametrize("lang,table", [("english", ENGLISH), ("porter", PORTER), ("korean", KOREAN)])
def test_known_stems(lang, table):
    st = Stemmer(lang)
    words = list(table)
    assert [st.stem(w) for w in words] == [table[w] for w in words]
    assert st.stem_batch(words) == [table[w] for w in words]


@pytest.mark.parametrize("lang", ["english", "porter"])
def test_identical_to_pystemmer_on_a_real_vocabulary(lang, corpus_lines):
    Snowball = pytest.importorskip("Stemmer")
    words = sorted(set(re.findall(r"[a-z']+", "\n".join(corpus_lines).lower())))
    assert len(words) > 10000
    ours = Stemmer(lang).stem_batch(words)
    theirs = Snowball.Stemmer(lang).stemWords(words)
    diff = [(w, a, b) for w, a, b in zip(words, ours, theirs) if a != b]
    assert diff == []


def test_parallel_batch_equals_serial(corpus_lines):
    words = Tokenizer().tokenize(" ".join(corpus_lines[:5000]))
    st = Stemmer("english", num_threads=2)
    assert st.stem_batch(words) == [st.stem(w) for w in words]


def test_errors():
    with pytest.raises(ValueError, match="unknown stemmer"):
        Stemmer("klingon")
    with pytest.raises(TypeError):
        Stemmer().stem(3)
    with pytest.raises(TypeError, match="not a single string"):
        Stemmer().stem_batch("word")
    with pytest.raises(TypeError):
        Stemmer().stem_batch(["ok", None])
    assert Stemmer("korean").stem("") == ""
