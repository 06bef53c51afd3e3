// A light, dictionary-free Korean stemmer. Rules, applied to the word's trailing
// Hangul syllables, each only when at least one syllable remains:
//  1. Verb and adjective endings (어미), longest first: -습니다, -ㅂ니다 (fused into the
//     last syllable: 합니다 -> 하), -니다, -세요, -어서, -지만, -면서, -고, -다, ... Past
//     tense -었/-았/-였 and fused ㅆ (했 -> 하, 됐 -> 되, 왔 -> 오, 였 -> 이) and the
//     honorific -시 are removed after the ending.
//  2. Otherwise particles (조사), longest first, respecting the vowel/consonant rule
//     (은/을/과/이/으로 after a final consonant, 는/를/와/가/로 after a vowel), then the
//     plural -들.
//  3. A derivational -하/-되 (also fused 한/할/함/해, 된/될/됨/돼) is removed when a
//     noun of two or more syllables precedes it: 사용합니다 -> 사용, but 합니다 -> 하.
// Non-Hangul words are returned unchanged. The word is never emptied.
#include <algorithm>
#include <cstring>
#include <vector>

#include "text/stemmer.h"

namespace pfn {
namespace {

using U32 = std::u32string;

constexpr char32_t kBase = 0xAC00;
inline bool syl(char32_t c) { return c >= 0xAC00 && c <= 0xD7A3; }
inline int jong(char32_t c) { return static_cast<int>((c - kBase) % 28); }
inline int jung(char32_t c) { return static_cast<int>(((c - kBase) / 28) % 21); }
inline int cho(char32_t c) { return static_cast<int>((c - kBase) / 28 / 21); }
inline char32_t make(int ch, int ju, int jo) {
  return kBase + static_cast<char32_t>((ch * 21 + ju) * 28 + jo);
}
enum { kJongN = 4, kJongL = 8, kJongM = 16, kJongB = 17, kJongSS = 20 };

// UTF-8 literal -> code points (literals here are short and valid).
U32 u(const char* s) {
  U32 out;
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  while (*p) {
    char32_t c;
    if (*p < 0x80) {
      c = *p++;
    } else if (*p < 0xE0) {
      c = ((p[0] & 0x1F) << 6) | (p[1] & 0x3F);
      p += 2;
    } else {
      c = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
      p += 3;
    }
    out.push_back(c);
  }
  return out;
}

bool ends(const U32& w, const U32& s) {
  return s.size() < w.size() && w.compare(w.size() - s.size(), s.size(), s) == 0;
}

struct Rule {
  U32 suffix;
  int after;  // 0: any, 1: after a final consonant, 2: after a vowel, 3: after vowel or ㄹ
};

std::vector<Rule> rules(std::initializer_list<std::pair<const char*, int>> l) {
  std::vector<Rule> r;
  for (auto& p : l) r.push_back({u(p.first), p.second});
  // longest first
  std::stable_sort(r.begin(), r.end(),
                   [](const Rule& a, const Rule& b) { return a.suffix.size() > b.suffix.size(); });
  return r;
}

bool allowed(char32_t prev, int after) {
  if (after == 0) return true;
  if (!syl(prev)) return false;
  int j = jong(prev);
  if (after == 1) return j != 0;
  if (after == 2) return j == 0;
  return j == 0 || j == kJongL;
}

const std::vector<Rule>& endings() {
  static const std::vector<Rule> r = rules({
      {"습니다", 0}, {"습니까", 0}, {"읍니다", 0}, {"니다", 0},   {"니까", 0},   {"십시오", 0},
      {"으십시오", 0}, {"세요", 0}, {"으세요", 0}, {"시오", 0},   {"어요", 0},   {"아요", 0},
      {"에요", 0},   {"예요", 0},   {"는데", 0},   {"은데", 0},   {"지만", 0},   {"면서", 0},
      {"으면서", 0}, {"도록", 0},   {"어서", 0},   {"아서", 0},   {"어야", 0},   {"아야", 0},
      {"어도", 0},   {"아도", 0},   {"으면", 0},   {"으며", 0},   {"으니", 0},   {"므로", 0},
      {"으므로", 0}, {"거나", 0},   {"려면", 0},   {"으려면", 0}, {"려고", 0},   {"으려고", 0},
      {"다", 0},     {"고", 0},     {"며", 0},     {"면", 0},     {"서", 0},     {"지", 0},
      {"게", 0},     {"는", 0},     {"은", 1},     {"을", 1},     {"기", 0},     {"던", 0},
      {"었다", 0},   {"았다", 0},   {"였다", 0},
  });
  return r;
}

const std::vector<Rule>& particles() {
  static const std::vector<Rule> r = rules({
      {"에서부터", 0}, {"으로부터", 1}, {"로부터", 3}, {"에게서", 0}, {"에서는", 0},
      {"에서도", 0},   {"에서의", 0},   {"에게는", 0}, {"으로는", 1}, {"으로도", 1},
      {"으로서", 1},   {"으로써", 1},   {"로는", 3},   {"로도", 3},   {"로서", 3},
      {"로써", 3},     {"이라고", 1},   {"라고", 2},   {"에게", 0},   {"에서", 0},
      {"께서", 0},     {"한테", 0},     {"으로", 1},   {"로", 3},     {"부터", 0},
      {"까지", 0},     {"마저", 0},     {"조차", 0},   {"처럼", 0},   {"보다", 0},
      {"만큼", 0},     {"이나", 1},     {"이랑", 1},   {"과는", 1},   {"와는", 2},
      {"에는", 0},     {"에도", 0},     {"에의", 0},   {"이며", 1},   {"이고", 1},
      {"이다", 1},     {"입니다", 1},   {"은", 1},     {"는", 2},     {"이", 1},
      {"가", 2},       {"을", 1},       {"를", 2},     {"에", 0},     {"의", 0},
      {"도", 0},       {"만", 0},       {"와", 2},     {"과", 1},     {"나", 2},
      {"랑", 2},       {"요", 0},
  });
  return r;
}

// Undo a fused past-tense ㅆ on the last syllable, or drop a bare 었/았/였.
bool strip_past(U32& w) {
  char32_t c = w.back();
  if (!syl(c) || jong(c) != kJongSS) return false;
  int ch = cho(c), ju = jung(c);
  if (ch == 11 && (ju == 0 || ju == 4 || ju == 6) && w.size() > 1) {  // 았 었 였
    w.pop_back();
    return true;
  }
  int nj = ju;
  if (ch == 18 && ju == 1) nj = 0;  // 했 -> 하
  else if (ju == 10) nj = 11;       // 됐 -> 되
  else if (ju == 9) nj = 8;         // 왔 -> 오
  else if (ju == 14) nj = 13;       // 줬 -> 주
  else if (ju == 6) nj = 20;        // 켰 -> 키, 였 -> 이
  w.back() = make(ch, nj, 0);
  return true;
}

// 하/되 and their fused forms, as the final syllable: returns true for a derivational verb.
bool is_ha_doe(char32_t c) {
  if (!syl(c)) return false;
  int ch = cho(c), ju = jung(c), jo = jong(c);
  bool ha = ch == 18 && (ju == 0 || ju == 1);    // 하 해 + ㄴ ㄹ ㅁ
  bool doe = ch == 3 && (ju == 11 || ju == 10);  // 되 돼 + ㄴ ㄹ ㅁ
  return (ha || doe) && (jo == 0 || jo == kJongN || jo == kJongL || jo == kJongM);
}

}  // namespace

void stem_korean(U32& w) {
  if (w.size() < 2 || !syl(w.back())) return;
  bool stripped = false;
  // 1. endings
  for (const Rule& r : endings()) {
    if (ends(w, r.suffix)) {
      char32_t prev = w[w.size() - r.suffix.size() - 1];
      if (!syl(prev) || !allowed(prev, r.after)) continue;
      w.resize(w.size() - r.suffix.size());
      stripped = true;
      break;
    }
  }
  if (stripped) {
    char32_t& last = w.back();
    if (syl(last) && jong(last) == kJongB && w.size() >= 1) last = make(cho(last), jung(last), 0);
    strip_past(w);
    if (w.size() > 1 && w.back() == 0xC2DC) w.pop_back();  // honorific 시
    if (w.size() > 1) strip_past(w);
  } else {
    // 2. particles, then plural 들
    for (const Rule& r : particles()) {
      if (ends(w, r.suffix)) {
        char32_t prev = w[w.size() - r.suffix.size() - 1];
        if (!allowed(prev, r.after)) continue;
        w.resize(w.size() - r.suffix.size());
        break;
      }
    }
    if (w.size() > 1 && w.back() == 0xB4E4) w.pop_back();  // 들
  }
  // 3. derivational 하/되 after a noun of two or more syllables
  if (w.size() >= 3 && is_ha_doe(w.back())) {
    w.pop_back();
  } else if (w.size() >= 1 && is_ha_doe(w.back())) {
    char32_t c = w.back();
    w.back() = make(cho(c), cho(c) == 18 ? 0 : 11, 0);  // 한/할/함/해 -> 하, 된/될/됨/돼 -> 되
  }
}

}  // namespace pfn
