"""Agreement of the Korean light stemmer with a morphological analyser (kiwipiepy).

For every Hangul word type of ../shared/data/korean_paragraphs.txt (tokenized with
Tokenizer(korean=True)), compare Stemmer("korean").stem(word) with the first content
morpheme kiwipiepy finds when it analyses the word on its own (nouns, verb and adjective
stems, roots, adverbs...). Prints the share that agree and the commonest disagreements.

    python bench/korean_stem_agreement.py [--path FILE] [--show 30]
"""
import argparse
import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, "..", "..", "shared", "data", "korean_paragraphs.txt")
CONTENT = ("NNG", "NNP", "NNB", "NR", "NP", "VV", "VA", "VX", "VCP", "VCN", "XR", "MAG", "MM", "SL", "SN")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--path", default=DEFAULT)
    ap.add_argument("--show", type=int, default=25)
    a = ap.parse_args()
    if not os.path.exists(a.path):
        print(f"corpus not found: {a.path} (it lives in the project's shared data folder)", file=sys.stderr)
        return 1
    try:
        from kiwipiepy import Kiwi
    except ImportError:
        print("kiwipiepy is not installed: pip install kiwipiepy", file=sys.stderr)
        return 1
    from pyfast_nlp import Stemmer, Tokenizer

    tok = Tokenizer(korean=True)
    counts = collections.Counter()
    for toks in tok.tokenize_file(a.path):
        counts.update(t for t in toks if any("\uac00" <= ch <= "\ud7a3" for ch in t))
    types = sorted(counts)
    stems = Stemmer("korean").stem_batch(types)
    kiwi = Kiwi()
    agree, total, wrong = 0, 0, collections.Counter()
    for w, s in zip(types, stems):
        morphs = kiwi.tokenize(w)
        ref = next((m.form for m in morphs if m.tag.split("-")[0] in CONTENT), None)
        if ref is None:
            continue
        total += 1
        if s == ref:
            agree += 1
        else:
            wrong[(w, s, ref)] = counts[w]
    print(f"word types: {total:,}  agree: {agree:,}  share: {agree / total:.1%}")
    print("commonest disagreements (word, ours, kiwi):")
    for (w, s, ref), c in wrong.most_common(a.show):
        print(f"  {c:5d}  {w}  ours={s}  kiwi={ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
