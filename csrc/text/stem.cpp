#include "common/parallel.h"
#include "common/string_map.h"
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

StemmedBatch stem_many(StemmerKind kind, const std::vector<std::string_view>& words,
                       int num_threads) {
  StemmedBatch out;
  StringIdMap distinct(words.size() / 8 + 16);
  out.index.resize(words.size());
  for (size_t i = 0; i < words.size(); ++i) out.index[i] = distinct.insert(words[i]);
  const long n = static_cast<long>(distinct.size());
  out.stems.resize(static_cast<size_t>(n));
  int threads = resolve_threads(num_threads, static_cast<size_t>(n), 1 << 12);
  FirstError err;
#pragma omp parallel num_threads(threads)
  {
    std::u32string work;
#pragma omp for schedule(dynamic, 256)
    for (long i = 0; i < n; ++i)
      err.run([&] { stem(kind, distinct.key(static_cast<int32_t>(i)), out.stems[i], work); });
  }
  err.rethrow();
  return out;
}

}  // namespace pfn
