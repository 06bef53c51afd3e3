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

// Python's final-sigma rule: capital sigma lowers to U+03C2 at the end of a cased word.
inline uint32_t lower_sigma(const unsigned char* s, size_t at, size_t n, int len) {
  // Preceded by a cased letter, skipping case-ignorable characters?
  bool prev_cased = false;
  size_t j = at;
  while (j > 0) {
    size_t b = j - 1;
    while (b > 0 && (s[b] & 0xC0) == 0x80) --b;  // start of the previous character
    uint32_t cp;
    if (utf8_decode(s + b, n - b, &cp) < 0) break;
    uint8_t p = uni::props(cp);
    if (!(p & uni::kCaseIgnorable)) {
      prev_cased = p & uni::kCased;
      break;
    }
    j = b;
  }
  if (!prev_cased) return 0x3C3;
  // ... and not followed by one?
  size_t i = at + static_cast<size_t>(len);
  while (i < n) {
    uint32_t cp;
    int k = utf8_decode(s + i, n - i, &cp);
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

  static constexpr auto kFlags = [] {
    struct T { uint8_t f[128]; } t{};
    for (unsigned c = 0; c < 128; ++c) t.f[c] = uni::ascii_flags(c);
    return t;
  }();
  const bool lower = cfg.lowercase;
  const bool word = cfg.pattern == Pattern::Word;
  const bool split = cfg.split_script;
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      if (word) {
        // Hot path: a run of ASCII word characters is copied (lower-cased) in one go.
        size_t j = i;
        uint8_t seen = 0;
        while (j < n && s[j] < 0x80 && (kFlags.f[s[j]] & uni::kAsciiWord)) seen |= kFlags.f[s[j++]];
        if (j > i && tok_len == 0 && (j == n || s[j] < 0x80) && !(lower && (seen & uni::kAsciiUpper))) {
          // A whole token that needs no change: hand out a view of the input, no copy.
          if (j - i >= static_cast<size_t>(cfg.min_token_len))
            emit(std::string_view(reinterpret_cast<const char*>(s + i), j - i));
          tok_script = uni::Script::Other;
          i = j;
        } else if (j > i) {
          if (split && tok_len > 0 && tok_script != uni::Script::Other) flush();
          tok_script = uni::Script::Other;
          size_t old = buf.size();
          buf.resize(old + (j - i));
          char* dst = &buf[old];
          for (size_t k = i; k < j; ++k)
            dst[k - i] = static_cast<char>((lower && (kFlags.f[s[k]] & uni::kAsciiUpper)) ? s[k] + 32 : s[k]);
          tok_len += static_cast<int>(j - i);
          i = j;
          if (i < n && s[i] >= 0x80) continue;  // the word may go on with non-ASCII letters
        }
        if (tok_len) flush();
        ++i;  // an ASCII non-word character (or the run's end)
        while (i < n && s[i] < 0x80 && !(kFlags.f[s[i]] & uni::kAsciiWord)) ++i;
      } else if (cfg.pattern == Pattern::Whitespace && tok_len == 0) {
        // Hot path: a whole ASCII token that needs no change is a view of the input.
        size_t j = i;
        uint8_t seen = 0;
        while (j < n && s[j] < 0x80 && !(kFlags.f[s[j]] & uni::kAsciiSpace)) seen |= kFlags.f[s[j++]];
        if (j > i && (j == n || s[j] < 0x80) && !(lower && (seen & uni::kAsciiUpper))) {
          if (j - i >= static_cast<size_t>(cfg.min_token_len))
            emit(std::string_view(reinterpret_cast<const char*>(s + i), j - i));
          i = j;
        } else if (j == i) {
          ++i;  // a space
        } else {
          for (; i < j; ++i) feed((lower && (kFlags.f[s[i]] & uni::kAsciiUpper)) ? s[i] + 32u : s[i]);
        }
      } else {
        const unsigned char b = s[i++];
        feed((lower && (kFlags.f[b] & uni::kAsciiUpper)) ? b + 32u : b);
      }
      continue;
    }
    uint32_t cp;
    int k = utf8_decode(s + i, n - i, &cp);
    if (k < 0) {
      if (!cfg.replace_errors) throw Utf8Error(i, s[i]);
      cp = 0xFFFD;
      k = -k;
    }
    if (!lower) {
      feed(cp);
    } else if (cp == 0x3A3) {
      feed(detail::lower_sigma(s, i, n, k));
    } else if (uni::props(cp) & uni::kHasLower) {
      uint32_t out[3];
      int m = uni::lower_full(cp, out);
      for (int j = 0; j < m; ++j) feed(out[j]);
    } else {
      feed(cp);
    }
    i += static_cast<size_t>(k);
  }
  if (tok_len) flush();
}

}  // namespace pfn
