// Analyzer: tokenizer + stop words + stemmer + word n-grams, the unit every counting
// kernel runs per document.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/string_map.h"
#include "text/stemmer.h"
#include "text/tokenizer.h"

namespace pfn {

struct AnalyzerConfig {
  TokenizerConfig tok;
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
  const AnalyzerConfig& cfg_;
  std::string buf_, stemmed_, toks_, gram_;
  std::u32string work_;
  std::vector<size_t> ends_;
};

}  // namespace pfn
