// Unicode character properties and UTF-8 coding, matching Python's str methods.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace pfn {

struct LowerEntry {
  uint32_t cp;
  uint32_t to[3];
};

namespace uni {
enum : uint8_t { kWord = 1, kHasLower = 2, kSpace = 4, kCased = 8, kCaseIgnorable = 16 };

extern const uint16_t kPropStage1[];
extern const uint8_t kPropStage2[];

// Property bits of a code point (two-stage table generated from Python's database).
inline uint8_t props(uint32_t cp) {
  if (cp >= 0x110000) return 0;
  return kPropStage2[static_cast<size_t>(kPropStage1[cp >> 8]) * 256 + (cp & 0xFF)];
}

// ASCII flags for the tokenizer's fast path: word character, upper-case letter.
enum : uint8_t { kAsciiWord = 1, kAsciiUpper = 2, kAsciiSpace = 4 };
constexpr uint8_t ascii_flags(unsigned c) {
  return static_cast<uint8_t>(
      (((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
           ? kAsciiWord : 0) |
      ((c >= 'A' && c <= 'Z') ? kAsciiUpper : 0) |
      // str.split()'s ASCII whitespace: \t \n \v \f \r, 0x1c-0x1f and the space
      (((c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20)) ? kAsciiSpace : 0));
}

// Full lower-case mapping as str.lower() does it (Greek capital sigma excluded:
// it depends on context and the tokenizer handles it). Returns the count written.
int lower_full(uint32_t cp, uint32_t out[3]);

inline bool is_word(uint32_t cp) { return props(cp) & kWord; }
inline bool is_space(uint32_t cp) { return props(cp) & kSpace; }

// Script classes used to split mixed-script words ("GIMP에서" -> "gimp", "에서").
enum class Script : uint8_t { Other, Hangul, Han, Kana };
inline Script script_of(uint32_t cp) {
  if (cp < 0x1100) return Script::Other;
  if ((cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0x1100 && cp <= 0x11FF) ||
      (cp >= 0x3130 && cp <= 0x318F) || (cp >= 0xA960 && cp <= 0xA97F) ||
      (cp >= 0xD7B0 && cp <= 0xD7FF))
    return Script::Hangul;
  if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3FFFF))
    return Script::Han;
  if ((cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x31F0 && cp <= 0x31FF) ||
      (cp >= 0xFF66 && cp <= 0xFF9F))
    return Script::Kana;
  return Script::Other;
}

inline bool is_hangul_syllable(uint32_t cp) { return cp >= 0xAC00 && cp <= 0xD7A3; }
}  // namespace uni

// Thrown for ill-formed UTF-8; `offset` is the byte offset of the bad sequence.
class Utf8Error : public std::runtime_error {
 public:
  Utf8Error(size_t offset, unsigned char byte);
  size_t offset;
  unsigned char byte;
};

// Decodes one code point at s[0..n). Returns the byte length consumed (>= 1) and sets
// *cp. On ill-formed input returns the length of the maximal ill-formed subpart (the
// unit Python's 'replace' error handler replaces) as a negative number.
inline int utf8_decode(const unsigned char* s, size_t n, uint32_t* cp) {
  unsigned char b = s[0];
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  int len;
  uint32_t c;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
    c = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    c = b & 0x0F;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    c = b & 0x07;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    if (static_cast<size_t>(k) >= n) return -k;
    unsigned char t = s[k];
    if (t < lo || t > hi) return -k;
    lo = 0x80;
    hi = 0xBF;
    c = (c << 6) | (t & 0x3F);
  }
  *cp = c;
  return len;
}

inline void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes a whole UTF-8 string into code points; throws Utf8Error unless replace.
void utf8_to_u32(const char* s, size_t n, std::u32string& out, bool replace);
void u32_to_utf8(const char32_t* s, size_t n, std::string& out);

}  // namespace pfn
