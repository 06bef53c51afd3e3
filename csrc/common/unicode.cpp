#include "common/unicode.h"

#include <algorithm>
#include <cstdio>

namespace pfn {
namespace uni {
#include "common/unicode_tables.inc"
}  // namespace uni
namespace {

std::string utf8_error_message(size_t offset, unsigned char byte) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "invalid UTF-8 at byte offset %zu (byte 0x%02X)", offset, byte);
  return buf;
}
}  // namespace

Utf8Error::Utf8Error(size_t off, unsigned char b)
    : std::runtime_error(utf8_error_message(off, b)), offset(off), byte(b) {}

namespace uni {
int lower_full(uint32_t cp, uint32_t out[3]) {
  const LowerEntry* end = kLower + sizeof(kLower) / sizeof(kLower[0]);
  const LowerEntry* e = std::lower_bound(kLower, end, cp,
                                         [](const LowerEntry& a, uint32_t v) { return a.cp < v; });
  if (e == end || e->cp != cp) {
    out[0] = cp;
    return 1;
  }
  int n = 0;
  for (int k = 0; k < 3 && e->to[k]; ++k) out[n++] = e->to[k];
  return n;
}
}  // namespace uni

void utf8_to_u32(const char* s, size_t n, std::u32string& out, bool replace) {
  out.clear();
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    int k = utf8_decode(p + i, n - i, &cp);
    if (k < 0) {
      if (!replace) throw Utf8Error(i, p[i]);
      out.push_back(0xFFFD);
      i += static_cast<size_t>(-k);
    } else {
      out.push_back(static_cast<char32_t>(cp));
      i += static_cast<size_t>(k);
    }
  }
}

void u32_to_utf8(const char32_t* s, size_t n, std::string& out) {
  out.clear();
  for (size_t i = 0; i < n; ++i) utf8_append(out, s[i]);
}

}  // namespace pfn
