// Tokenizer: UTF-8 text -> tokens, in one pass, with Python's notion of case and words.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

#if defined(__SSE2__)
// Bit k describes byte p[k] (k < 64): `tok`, a byte that belongs to a token (an ASCII word
// character [0-9A-Za-z_] for the word pattern; anything but str.split()'s ASCII whitespace,
// \t-\r and 0x1c-0x20, for the whitespace one); `other`, a non-ASCII byte; `upper`, A-Z.
// SSE2 is in every x86-64 CPU.
template <bool kWords>
inline void token_masks(const unsigned char* p, uint64_t& tok, uint64_t& other, uint64_t& upper) {
  // (unsigned char)(v - lo) <= span, as min(v - lo, span) == v - lo
  auto in_range = [](__m128i v, char lo, char span) {
    const __m128i d = _mm_sub_epi8(v, _mm_set1_epi8(lo));
    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(span)), d);
  };
  tok = other = upper = 0;
  for (int q = 0; q < 4; ++q) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * q));
    const __m128i up = in_range(v, 'A', 25);
    uint32_t t;
    if (kWords) {
      t = static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(
          _mm_or_si128(up, in_range(v, 'a', 25)), _mm_or_si128(in_range(v, '0', 9), _mm_cmpeq_epi8(v, _mm_set1_epi8('_'))))));
    } else {
      t = ~static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(in_range(v, 9, 4), in_range(v, 0x1c, 4)))) & 0xFFFFu;
    }
    tok |= uint64_t(t) << (16 * q);
    other |= uint64_t(static_cast<uint32_t>(_mm_movemask_epi8(v))) << (16 * q);
    upper |= uint64_t(static_cast<uint32_t>(_mm_movemask_epi8(up))) << (16 * q);
  }
}

// The fast path of the word (kWords) and whitespace patterns, entered between tokens:
// hands out the tokens of ASCII bytes from s + i on, 64 bytes at a time (one mispredicted
// branch a block, not one a token), as views of the input, or lower-cased through `buf`
// when they have upper case and `lower`. Returns where the byte-wise path must take over:
// the start of a token that has or touches a non-ASCII byte (a word may go on in other
// scripts) or is longer than 64 bytes, a non-ASCII byte between tokens, or n.
template <bool kWords, class Emit>
size_t ascii_tokens(const unsigned char* s, size_t i, size_t n, bool lower, size_t min_len,
                    std::string& buf, Emit& emit) {
  unsigned char tail[64];
  while (i < n) {
    const unsigned char* p = s + i;
    const bool last = n - i <= 64;
    if (last) {  // padded with spaces: no token runs past the block
      std::memset(tail, ' ', sizeof tail);
      std::memcpy(tail, p, n - i);
      p = tail;
    }
    uint64_t tok, other, upper;
    token_masks<kWords>(p, tok, other, upper);
    const int x = other ? __builtin_ctzll(other) : 64;  // the first non-ASCII byte
    size_t next = last ? n : i + 64;
    bool whole = true;  // every token in the block ends in it
    for (uint64_t left = tok; left;) {
      const int b = __builtin_ctzll(left);
      if (b > x) return i + static_cast<size_t>(x);
      const uint64_t after = ~tok & (~uint64_t(0) << b);
      if (!after) {  // the token goes on past the block: start the next block at it
        if (b == 0) return i;
        next = i + static_cast<size_t>(b);
        whole = false;
        break;
      }
      const int e = __builtin_ctzll(after);
      const uint64_t span = ((uint64_t(1) << e) - 1) & ~((uint64_t(1) << b) - 1);
      if (other & (span | (uint64_t(1) << e))) return i + static_cast<size_t>(b);
      if (static_cast<size_t>(e - b) >= min_len) {
        const char* t = reinterpret_cast<const char*>(s + i + b);
        const size_t len = static_cast<size_t>(e - b);
        if (lower && (upper & span)) {
          buf.assign(t, len);
          for (char& c : buf) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c);
          emit(std::string_view(buf));
          buf.clear();
        } else {
          emit(std::string_view(t, len));
        }
      }
      left &= ~span;
    }
    if (whole && x < 64) return i + static_cast<size_t>(x);
    i = next;
  }
  return n;
}
#endif
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
#if defined(__SSE2__)
        if (tok_len == 0 && !split) {
          i = detail::ascii_tokens<true>(s, i, n, lower, static_cast<size_t>(cfg.min_token_len), buf, emit);
          if (i == n || s[i] >= 0x80) continue;
        }
#endif
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
#if defined(__SSE2__)
        i = detail::ascii_tokens<false>(s, i, n, lower, static_cast<size_t>(cfg.min_token_len), buf, emit);
        if (i == n || s[i] >= 0x80) continue;
#endif
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
