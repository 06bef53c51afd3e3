// Analyzer: what every counting kernel runs per document, as scikit-learn's build_analyzer:
// words (tokenizer + stop words + stemmer + word n-grams), or character n-grams over the
// whole text ("char") or inside words padded with spaces ("char_wb").
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/string_map.h"
#include "text/stemmer.h"
#include "text/tokenizer.h"

namespace pfn {

// Terms made of words, or of characters (scikit-learn's analyzer="char" / "char_wb").
enum class Unit : uint8_t { Word, Char, CharWB };

struct AnalyzerConfig {
  Unit unit = Unit::Word;
  TokenizerConfig tok;  // for Char/CharWB only lowercase and replace_errors apply
  StemmerKind stemmer = StemmerKind::None;
  int ngram_min = 1;
  int ngram_max = 1;
  std::shared_ptr<const StringIdMap> stop_words;  // matched before stemming; may be null
};

// Thrown when document `doc` is not valid UTF-8.
class DocumentError : public std::runtime_error {
 public:
  DocumentError(size_t doc, const Utf8Error& e)
      : std::runtime_error("document " + std::to_string(doc) + ": " + e.what()),
        doc(doc), offset(e.offset) {}
  size_t doc, offset;
};

// Per-thread scratch; analyze() calls emit(std::string_view) per term of the document.
class Analyzer {
 public:
  explicit Analyzer(const AnalyzerConfig& cfg) : cfg_(cfg) {}

  template <class Emit>
  void analyze(std::string_view doc, Emit&& emit) {
    if (cfg_.unit != Unit::Word) return char_ngrams(doc, emit);
    const bool simple = cfg_.ngram_max <= 1;
    toks_.clear();
    ends_.clear();
    for_each_token(cfg_.tok, doc, buf_, [&](std::string_view t) {
      if (cfg_.stop_words && cfg_.stop_words->find(t) >= 0) return;
      if (cfg_.stemmer != StemmerKind::None) {
        stem(cfg_.stemmer, t, stemmed_, work_);
        t = stemmed_;
        if (t.empty()) return;  // Porter stems "s" to nothing: an empty term is never a token
      }
      if (simple) {
        emit(t);
      } else {
        toks_.append(t);
        ends_.push_back(toks_.size());
      }
    });
    if (simple) return;
    const size_t n = ends_.size();
    for (int k = cfg_.ngram_min; k <= cfg_.ngram_max; ++k) {
      for (size_t i = 0; i + static_cast<size_t>(k) <= n; ++i) {
        size_t b = i ? ends_[i - 1] : 0;
        if (k == 1) {
          emit(std::string_view(toks_).substr(b, ends_[i] - b));
          continue;
        }
        gram_.clear();
        for (size_t j = i; j < i + static_cast<size_t>(k); ++j) {
          size_t s = j ? ends_[j - 1] : 0;
          if (j > i) gram_.push_back(' ');
          gram_.append(toks_, s, ends_[j] - s);
        }
        emit(std::string_view(gram_));
      }
    }
  }

 private:
  // scikit-learn's _char_ngrams / _char_wb_ngrams on the (lower-cased) text: runs of two or
  // more whitespace characters become one space first; "char" takes every n-gram of the text,
  // "char_wb" those of each whitespace-separated word padded with a space on both sides (a
  // padded word no longer than n gives itself once, for the smallest such n only).
  template <class Emit>
  void char_ngrams(std::string_view doc, Emit& emit) {
    TokenizerConfig cc;
    cc.pattern = Pattern::Char;
    cc.min_token_len = 1;
    cc.lowercase = cfg_.tok.lowercase;
    cc.replace_errors = cfg_.tok.replace_errors;
    cps_.clear();
    bool ascii = true;
    for (unsigned char b : doc) ascii &= b < 0x80;
    if (ascii) {  // the common case: lower-case bytes directly
      for (unsigned char b : doc) cps_.push_back((cc.lowercase && b >= 'A' && b <= 'Z') ? b + 32u : b);
    } else {
      for_each_token(cc, doc, buf_, [&](std::string_view t) {
        uint32_t cp = 0xFFFD;  // (t is one code point the tokenizer decoded or replaced)
        utf8_decode(reinterpret_cast<const unsigned char*>(t.data()), t.size(), &cp);
        cps_.push_back(cp);
      });
    }
    text_.clear();  // the normalised text, UTF-8, with off_[i] the byte offset of code point i
    off_.clear();
    for (size_t i = 0; i < cps_.size();) {
      size_t j = i;
      while (j < cps_.size() && uni::is_space(cps_[j])) ++j;
      off_.push_back(text_.size());
      if (j - i >= 2) {
        text_.push_back(' ');
        i = j;
      } else {
        utf8_append(text_, cps_[i]);
        ++i;
      }
    }
    off_.push_back(text_.size());
    const size_t n = off_.size() - 1;
    const size_t lo = static_cast<size_t>(cfg_.ngram_min), hi = static_cast<size_t>(cfg_.ngram_max);
    auto gram = [&](size_t b, size_t len) { emit(std::string_view(text_).substr(off_[b], off_[b + len] - off_[b])); };
    if (cfg_.unit == Unit::Char) {
      for (size_t k = lo; k <= hi && k <= n; ++k)
        for (size_t i = 0; i + k <= n; ++i) gram(i, k);
      return;
    }
    // char_wb: each word of the text, as str.split() finds them, padded to " word "
    std::string keep = std::move(text_);
    std::vector<size_t> keep_off = std::move(off_);
    for (size_t i = 0; i < n;) {
      while (i < n && uni::is_space(code_at(keep, keep_off, i))) ++i;
      if (i == n) break;
      size_t j = i;
      while (j < n && !uni::is_space(code_at(keep, keep_off, j))) ++j;
      text_.assign(1, ' ');
      off_.assign(1, 0);
      for (size_t k = i; k < j; ++k) {
        off_.push_back(text_.size());
        text_.append(keep, keep_off[k], keep_off[k + 1] - keep_off[k]);
      }
      off_.push_back(text_.size());
      text_.push_back(' ');
      off_.push_back(text_.size());
      const size_t w = j - i + 2;  // padded length in code points
      for (size_t k = lo; k <= hi; ++k) {
        if (k >= w) {  // the whole padded word, once, and no longer n-grams
          gram(0, w);
          break;
        }
        for (size_t b = 0; b + k <= w; ++b) gram(b, k);
      }
      i = j;
    }
    text_ = std::move(keep);
    off_ = std::move(keep_off);
  }

  static uint32_t code_at(const std::string& s, const std::vector<size_t>& off, size_t i) {
    uint32_t cp = 0xFFFD;
    utf8_decode(reinterpret_cast<const unsigned char*>(s.data()) + off[i], off[i + 1] - off[i], &cp);
    return cp;
  }

  const AnalyzerConfig& cfg_;
  std::string buf_, stemmed_, toks_, gram_, text_;
  std::u32string work_;
  std::vector<size_t> ends_, off_;
  std::vector<uint32_t> cps_;
};

}  // namespace pfn
