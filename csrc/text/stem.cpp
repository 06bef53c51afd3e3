#include "common/unicode.h"
#include "text/stemmer.h"

namespace pfn {

void stem(StemmerKind kind, std::string_view word, std::string& out, std::u32string& work) {
  if (kind == StemmerKind::None) {
    out.assign(word);
    return;
  }
  utf8_to_u32(word.data(), word.size(), work, true);
  switch (kind) {
    case StemmerKind::English: stem_english(work); break;
    case StemmerKind::Porter: stem_porter(work); break;
    case StemmerKind::Korean: stem_korean(work); break;
    case StemmerKind::None: break;
  }
  u32_to_utf8(work.data(), work.size(), out);
}

}  // namespace pfn
