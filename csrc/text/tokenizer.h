// Tokenizer: UTF-8 text -> tokens, in one pass, with Python's notion of case and words.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/unicode.h"

namespace pfn {

enum class Pattern : uint8_t {
  Word,        // maximal runs of Unicode word characters (Python's \w), like (?u)\b\w\w+\b
  Char,        // every code point is a token
  Whitespace,  // runs of non-space characters, like str.split()
};

struct TokenizerConfig {
  bool lowercase = true;
  Pattern pattern = Pattern::Word;
  int min_token_len = 2;      // in code points; runs shorter than this are dropped
  bool split_script = false;  // split a word where the script changes (Hangul/Han/Kana/other)
  bool replace_errors = false;  // ill-formed UTF-8 -> U+FFFD instead of Utf8Error
};

namespace detail {
inline uint32_t ascii_lower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Python's final-sigma rule: capital sigma lowers to U+03C2 at the end of a cased word.
inline uint32_t lower_sigma(bool prev_cased, const unsigned char* rest, size_t n) {
  if (!prev_cased) return 0x3C3;
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    int k = utf8_decode(rest + i, n - i, &cp);
    if (k < 0) break;
    uint8_t p = uni::props(cp);
    if (!(p & uni::kCaseIgnorable)) return (p & uni::kCased) ? 0x3C3 : 0x3C2;
    i += static_cast<size_t>(k);
  }
  return 0x3C2;
}
}  // namespace detail

// Calls emit(std::string_view) for every token of `text` (the view is only valid during
// the call). `buf` is caller-owned scratch so batch loops do not reallocate.
template <class Emit>
void for_each_token(const TokenizerConfig& cfg, std::string_view text, std::string& buf,
                    Emit&& emit) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  buf.clear();
  int tok_len = 0;
  uni::Script tok_script = uni::Script::Other;
  bool prev_cased = false;

  auto flush = [&]() {
    if (tok_len > 0 && tok_len >= cfg.min_token_len) emit(std::string_view(buf));
    buf.clear();
    tok_len = 0;
  };
  auto feed = [&](uint32_t c) {
    switch (cfg.pattern) {
      case Pattern::Word:
        if (uni::is_word(c)) {
          if (cfg.split_script) {
            uni::Script sc = uni::script_of(c);
            if (tok_len > 0 && sc != tok_script) flush();
            tok_script = sc;
          }
          utf8_append(buf, c);
          ++tok_len;
        } else if (tok_len) {
          flush();
        }
        break;
      case Pattern::Whitespace:
        if (uni::is_space(c)) {
          if (tok_len) flush();
        } else {
          utf8_append(buf, c);
          ++tok_len;
        }
        break;
      case Pattern::Char:
        utf8_append(buf, c);
        tok_len = 1;
        flush();
        break;
    }
  };

  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    int k;
    if (s[i] < 0x80) {
      cp = s[i];
      k = 1;
    } else {
      k = utf8_decode(s + i, n - i, &cp);
      if (k < 0) {
        if (!cfg.replace_errors) throw Utf8Error(i, s[i]);
        cp = 0xFFFD;
        k = -k;
      }
    }
    if (cp < 0x80) {
      // ASCII: letters and digits are cased/word as expected; "'", '.', ':' are case-ignorable.
      bool alpha = (cp | 32) >= 'a' && (cp | 32) <= 'z';
      if (!(cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`')) prev_cased = alpha;
      feed(cfg.lowercase ? detail::ascii_lower(cp) : cp);
    } else {
      uint8_t p = uni::props(cp);
      if (!cfg.lowercase) {
        feed(cp);
      } else if (cp == 0x3A3) {
        feed(detail::lower_sigma(prev_cased, s + i + k, n - i - k));
      } else if (p & uni::kHasLower) {
        uint32_t out[3];
        int m = uni::lower_full(cp, out);
        for (int j = 0; j < m; ++j) feed(out[j]);
      } else {
        feed(cp);
      }
      if (!(p & uni::kCaseIgnorable)) prev_cased = p & uni::kCased;
    }
    i += static_cast<size_t>(k);
  }
  if (tok_len) flush();
}

}  // namespace pfn
