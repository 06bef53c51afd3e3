// A light, dictionary-free Korean stemmer. It looks only at the word's trailing Hangul
// syllables and keeps at least one syllable:
//  1. Suffix: the longest match among verb/adjective endings (어미: -습니다, -ㅂ니다 fused
//     into the last syllable as in 합니다 -> 하, -는, -고, -지만, -어서, -나요, -는지, -다는,
//     -수록, -음, copula -입니다/-인가요, ...) and particles (조사: -에서, -으로, -은/-는,
//     -을/-를, -이/-가, -나, -뿐, -만으로, ..., each respecting the vowel/consonant rule:
//     은/을/과/이/으로 after a final consonant, 는/를/와/가/나/로 after a vowel).
//     After a one-syllable stem a one-syllable ending needs a verb-like stem: a common stem
//     syllable (하 되 있 없 ...) or one closed by an obstruent (넣고, 겪지, 찾기; also
//     ㄹ before -고: 알고), not by ㄴ ㄹ ㅁ ㅇ, which nouns end in (참고, 화면 stay); after
//     one syllable 가 나 도 로 are never particles (추가, 하나, 속도, 따로); -기 after a
//     vowel and -인 need two syllables before them (보기, 확인 stay). On a tie the particle
//     wins, unless a past-tense ㅆ or 하/되 precedes it (찍혔을, 선택하는 are verbs).
//  2. After an ending: a fused past tense ㅆ is undone (했 -> 하, 됐 -> 되, 왔 -> 오,
//     였 -> 이; 있/없 are left alone), a bare 었/았/였, the honorific 시 and a copula 이
//     after a noun (경우이지만 -> 경우) are dropped; -운 restores a ㅂ stem (새로운 -> 새롭)
//     and -ㅕ진 a ㅣ stem (그려진 -> 그리).
//  3. Noun suffixes go when two syllables remain: plural 들, 적 (일반적 -> 일반), 성
//     (가능성 -> 가능), 화 (활성화 -> 활성), 값, 형, 용 (사용자용 -> 사용자), and after a
//     particle the nominaliser 기 (그리기를 -> 그리).
//  4. A future/adnominal ㄹ fused into 킬 칠 릴 꿀 룰 눌 is undone (일으킬 -> 일으키); the
//     auxiliary 있 after -어 (저장되어있 -> 저장되), the adjective suffix 스럽, the causative
//     시키/시켜 and 가능 after a noun are removed (취소시킬 -> 취소, 사용가능 -> 사용).
//  5. A derivational 하/되 (also fused 한/할/함/해, 된/될/됨/돼) after a noun of two or
//     more syllables is removed (사용합니다 -> 사용); after one syllable, or alone, it is
//     normalised to the verb 하/되 (대한 -> 대하, 할 -> 하).
// Frequent irregular forms (아닌 -> 아니, 만듭니다 -> 만들) are listed; common adverbs and
// conjunctions (또는, 많이, 그대로, ...) and words in -없이 are left whole.
#include <algorithm>
#include <cstring>
#include <string_view>
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

inline U32 u(const char32_t* s) { return U32(s); }

bool ends(const U32& w, std::u32string_view s) {
  return s.size() < w.size() && std::u32string_view(w).substr(w.size() - s.size()) == s;
}

enum After { kAny, kConsonant, kVowel, kVowelOrL, kVerbStem, kVerbLike, kYeo };

// A final consonant that nouns rarely end in (not ㄴ ㄹ ㅁ ㅇ): 넣, 겪, 찾, 그렇.
inline bool obstruent_final(char32_t c) {
  const int j = jong(c);
  return j != 0 && j != kJongN && j != kJongL && j != kJongM && j != 21;
}
struct Rule {
  U32 suffix;
  After after;
};

std::vector<Rule> rules(std::initializer_list<std::pair<const char32_t*, After>> l) {
  std::vector<Rule> r;
  for (auto& p : l) r.push_back({u(p.first), p.second});
  std::stable_sort(r.begin(), r.end(),
                   [](const Rule& a, const Rule& b) { return a.suffix.size() > b.suffix.size(); });
  return r;
}

// 하/되 and their fused forms (한 할 함 해, 된 될 됨 돼).
bool is_ha_doe(char32_t c) {
  if (!syl(c)) return false;
  int ch = cho(c), ju = jung(c), jo = jong(c);
  bool ha = ch == 18 && (ju == 0 || ju == 1);
  bool doe = ch == 3 && (ju == 11 || ju == 10);
  return (ha || doe) && (jo == 0 || jo == kJongN || jo == kJongL || jo == kJongM);
}

bool is_verb_stem_end(char32_t c) {
  // 하 되 있 없 않 같 주 보 (and fused 한/된/할/될): common stem-final syllables
  static const U32 set = u(U"하되있없않같주보쓰두");
  return set.find(c) != U32::npos || is_ha_doe(c);
}

bool allowed(char32_t prev, After after) {
  if (!syl(prev)) return false;
  int j = jong(prev);
  switch (after) {
    case kAny: return true;
    case kConsonant: return j != 0;
    case kVowel: return j == 0;
    case kVowelOrL: return j == 0 || j == kJongL;
    case kVerbStem: return is_verb_stem_end(prev);
    case kVerbLike:  // also 나누어, 바꾸어, 바뀌어 (stems in ㅜ/ㅟ)
      return is_verb_stem_end(prev) || obstruent_final(prev) || jung(prev) == 13 || jung(prev) == 16;
    case kYeo: return jung(prev) == 6;  // ㅕ: a contracted ㅣ + 어 (그려진, 고쳐진)
  }
  return false;
}

const std::vector<Rule>& endings() {
  static const std::vector<Rule> r = rules({
      {U"습니다", kAny},   {U"습니까", kAny},   {U"읍니다", kAny},   {U"니다", kAny},
      {U"니까", kAny},     {U"십시오", kAny},   {U"으십시오", kAny}, {U"세요", kAny},
      {U"으세요", kAny},   {U"시오", kAny},     {U"어요", kAny},     {U"아요", kAny},
      {U"에요", kAny},     {U"예요", kAny},     {U"는데", kAny},     {U"은데", kAny},
      {U"지만", kAny},     {U"면서", kAny},     {U"으면서", kAny},   {U"도록", kAny},
      {U"어서", kAny},     {U"아서", kAny},     {U"어야", kAny},     {U"아야", kAny},
      {U"어도", kAny},     {U"아도", kAny},     {U"으면", kAny},     {U"으며", kAny},
      {U"으니", kAny},     {U"므로", kAny},     {U"으므로", kAny},   {U"거나", kAny},
      {U"려면", kAny},     {U"으려면", kAny},   {U"려고", kAny},     {U"으려고", kAny},
      {U"나요", kAny},     {U"가요", kAny},     {U"입니다", kAny},   {U"입니까", kAny},
      {U"다면", kAny},     {U"이다", kConsonant}, {U"어", kVerbLike},
      {U"야", kVerbStem},  {U"는지", kAny},     {U"은지", kAny},     {U"다고", kAny},
      {U"을수록", kAny},   {U"수록", kAny},     {U"진", kYeo},       {U"려", kVowel},
      {U"음", kVerbLike},  {U"다는", kAny},     {U"려는", kAny},
      {U"인가요", kAny},   {U"인지", kAny},     {U"이며", kConsonant}, {U"이고", kConsonant},
      {U"었다", kAny},     {U"았다", kAny},     {U"였다", kAny},     {U"여서", kAny},
      {U"다", kAny},       {U"고", kAny},       {U"며", kAny},       {U"면", kAny},
      {U"서", kAny},       {U"게", kAny},       {U"는", kAny},       {U"은", kConsonant},
      {U"을", kConsonant}, {U"던", kAny},       {U"여", kAny},       {U"지", kVerbLike},
      {U"기", kAny},       {U"인", kAny}, {U"운", kAny},
  });
  return r;
}

const std::vector<Rule>& particles() {
  static const std::vector<Rule> r = rules({
      {U"에서부터", kAny},     {U"으로부터", kConsonant}, {U"로부터", kVowelOrL}, {U"에게서", kAny},
      {U"에서는", kAny},       {U"에서도", kAny},         {U"에서의", kAny},      {U"에게는", kAny},
      {U"으로는", kConsonant}, {U"으로도", kConsonant},   {U"으로서", kConsonant}, {U"으로써", kConsonant},
      {U"로는", kVowelOrL},    {U"로도", kVowelOrL},      {U"로서", kVowelOrL},   {U"로써", kVowelOrL},
      {U"이라고", kConsonant}, {U"라고", kVowel},         {U"에게", kAny},        {U"에서", kAny},
      {U"께서", kAny},         {U"한테", kAny},           {U"으로", kConsonant},  {U"로", kVowelOrL},
      {U"부터", kAny},         {U"까지", kAny},           {U"마저", kAny},        {U"조차", kAny},
      {U"처럼", kAny},         {U"보다", kAny},           {U"만큼", kAny},        {U"이나", kConsonant},
      {U"이랑", kConsonant},   {U"과는", kConsonant},     {U"와는", kVowel},      {U"에는", kAny},
      {U"에도", kAny},         {U"에의", kAny},           {U"이라는", kConsonant}, {U"라는", kVowel},
      {U"은", kConsonant},     {U"는", kVowel},           {U"이", kConsonant},    {U"가", kVowel},
      {U"을", kConsonant},     {U"를", kVowel},           {U"에", kAny},          {U"의", kAny},
      {U"도", kAny},           {U"만", kAny},             {U"와", kVowel},        {U"과", kConsonant},
      {U"랑", kVowel},         {U"나", kVowel},           {U"에게나", kAny},
      {U"뿐", kAny},           {U"뿐만", kAny},           {U"에서만", kAny},      {U"에만", kAny},
      {U"으로만", kConsonant}, {U"로만", kVowelOrL},      {U"만을", kAny},        {U"만이", kAny},
      {U"만으로", kAny},       {U"만으로는", kAny},       {U"만의", kAny},
  });
  return r;
}

const std::vector<U32>& keep_whole() {
  static const std::vector<U32> k = [] {
    std::vector<U32> v;
    for (const char32_t* s : {U"또는", U"또한", U"거의", U"새로", U"다시", U"함께", U"매우", U"아주", U"이미", U"만약",
                          U"그리고", U"하지만", U"그러나", U"따라서", U"그래서", U"그런데", U"모든", U"한",
                          U"이런", U"그런", U"어떤", U"다른", U"에서", U"으로", U"까지", U"부터", U"보다", U"처럼",
                          U"같이", U"많이", U"굳이", U"높이", U"깊이", U"길이", U"넓이", U"그대로", U"대체로",
                          U"때때로", U"때로", U"스스로", U"아마도", U"적어도", U"서로"})
      v.push_back(u(s));
    return v;
  }();
  return k;
}

// Longest rule whose suffix ends `w` and whose condition holds; returns its length.
// A one-syllable ending after a one-syllable stem needs a verb-like stem (있고, 하는,
// but 참고, 화면 stay); the particle 가 needs two syllables before it (추가, 국가 stay).
size_t best_match(const U32& w, const std::vector<Rule>& rs, bool is_particle) {
  for (const Rule& r : rs) {
    if (!ends(w, r.suffix)) continue;
    size_t left = w.size() - r.suffix.size();
    char32_t prev = w[left - 1];
    if (!allowed(prev, r.after)) continue;
    if (r.suffix.size() == 1 && left == 1) {
      // 가 나 도 로 after one syllable are part of the noun (추가, 하나, 속도, 따로)
      static const U32 not_after_one = u(U"가나도로");
      if (is_particle && not_after_one.find(r.suffix[0]) != U32::npos) continue;
      // a verb-like stem: a common stem syllable, or one closed by an obstruent (넣고, 겪지,
      // 찾기); nouns rarely end so, while ㄴ ㄹ ㅁ ㅇ endings are common in nouns (참고, 화면)
      // ㄹ-final verbs before -고 (알고, 열고, 들고)
      const bool l_go = r.suffix[0] == 0xACE0 /*고*/ && jong(prev) == kJongL;
      if (!is_particle && !l_go && !obstruent_final(prev) && !is_verb_stem_end(prev)) continue;
    }
    if (!is_particle && r.suffix == U"기" && left < 2 && jong(prev) == 0) continue;  // 보기, 크기
    if (!is_particle && r.suffix == U"인" && left < 2) continue;  // 확인, 원인 are nouns
    return r.suffix.size();
  }
  return 0;
}

// Undo a fused past-tense ㅆ on the last syllable, or drop a bare 었/았/였.
void strip_past(U32& w) {
  char32_t c = w.back();
  if (!syl(c) || jong(c) != kJongSS || c == 0xC788 /*있*/ || c == 0xC5C6 /*없*/) return;
  int ch = cho(c), ju = jung(c);
  if (ch == 11 && (ju == 0 || ju == 4 || ju == 6) && w.size() > 1) {  // 았 었 였
    w.pop_back();
    return;
  }
  int nj = ju;
  if (ch == 18 && ju == 1) nj = 0;  // 했 -> 하
  else if (ju == 10) nj = 11;       // 됐 -> 되
  else if (ju == 9) nj = 8;         // 왔 -> 오
  else if (ju == 14) nj = 13;       // 줬 -> 주
  else if (ju == 6) nj = 20;        // 켰 -> 키, 였 -> 이
  w.back() = make(ch, nj, 0);
}

}  // namespace

void stem_korean(U32& w) {
  if (w.empty() || !syl(w.back())) return;
  for (const U32& k : keep_whole())
    if (w == k) return;
  if (ends(w, U"없이")) return;  // adverbs: 끊임없이, 관계없이
  static const std::vector<std::pair<U32, U32>> irregular = [] {
    std::vector<std::pair<U32, U32>> v;
    for (auto p : std::initializer_list<std::pair<const char32_t*, const char32_t*>>{
             {U"아닌", U"아니"}, {U"아니라", U"아니"}, {U"가진", U"가지"}, {U"큰", U"크"},
             {U"만든", U"만들"}, {U"만듭니다", U"만들"}, {U"만들어", U"만들"}, {U"만드는", U"만들"}})
      v.emplace_back(u(p.first), u(p.second));
    return v;
  }();
  for (const auto& p : irregular) {
    if (w == p.first) {
      w = p.second;
      return;
    }
  }
  bool noun = false;  // a particle was removed: what is left is a noun
  if (w.size() >= 2) {
    const size_t e = best_match(w, endings(), false);
    const size_t p = best_match(w, particles(), true);
    // On a tie the particle wins, unless a past-tense ㅆ precedes it (찍혔을 is a verb).
    const char32_t before = p > 0 ? w[w.size() - p - 1] : 0;
    const bool verb_before = p > 0 && (jong(before) == kJongSS || is_ha_doe(before));
    if (p > 0 && (p > e || (p == e && !verb_before))) {
      noun = true;
      w.resize(w.size() - p);
      if (w.size() > 2 && w.back() == 0xAE30 /*기*/) w.pop_back();  // 그리기를 -> 그리
    } else if (e > 0) {
      const U32 ending = w.substr(w.size() - e);
      w.resize(w.size() - e);
      char32_t& last = w.back();
      if (ending == U"진") {
        last = make(cho(last), 20, 0);  // 그려진 -> 그리, 고쳐진 -> 고치
      } else if ((ending == U"니다" || ending == U"니까") && jong(last) == kJongB) {
        last = make(cho(last), jung(last), 0);  // 합니다 -> 하
      } else if (ending == U"운" && jong(last) == 0) {
        last = make(cho(last), jung(last), kJongB);  // 새로운 -> 새롭
      }
      strip_past(w);
      if (w.size() > 1 && w.back() == 0xC2DC /*시*/) w.pop_back();
      strip_past(w);
      // copula 이 after a noun (경우이지만 -> 경우), not the passive/causative 이 of a
      // verb stem closed by an obstruent or ㄹ (덧붙이, 놓이, 기울이)
      if (w.size() > 2 && w.back() == 0xC774 /*이*/ && !obstruent_final(w[w.size() - 2]) &&
          jong(w[w.size() - 2]) != kJongL)
        w.pop_back();
    }
  }
  // Noun suffixes (plural 들, 적, 성, 화) when two syllables remain: 일반적 -> 일반.
  static const U32 suffixes = u(U"들적성화값형용");
  if (w.size() > 2 && suffixes.find(w.back()) != U32::npos) w.pop_back();
  // Future/adnominal ㄹ fused into a verb's last syllable (일으킬 -> 일으키, 마칠 -> 마치);
  // only for syllables that are rarely noun endings.
  if (w.size() >= 2) {
    static const U32 fused_l = u(U"킬칠릴꿀룰눌");
    char32_t& c = w.back();
    if (fused_l.find(c) != U32::npos) c = make(cho(c), jung(c), 0);
  }
  // Auxiliary 있 after -어/-아 (저장되어있 -> 저장되), the adjective suffix 스럽
  // (자연스럽 -> 자연) and the causative 시키/시켜 after a noun (취소시키 -> 취소).
  auto ends_with = [&](const char32_t* t) { return ends(w, t); };
  if (w.size() >= 3 && (ends_with(U"어있") || ends_with(U"아있"))) w.resize(w.size() - 2);
  if (w.size() >= 4 && ends_with(U"스럽")) w.resize(w.size() - 2);
  if (w.size() >= 4 && ends_with(U"가능")) w.resize(w.size() - 2);  // 사용가능 -> 사용
  if (w.size() >= 4 && (ends_with(U"시키") || ends_with(U"시켜"))) w.resize(w.size() - 2);
  // Derivational 하/되 after a noun of two or more syllables (사용하 -> 사용); after one
  // syllable it stays a verb (대한 -> 대하); alone, the verb itself (할 -> 하).
  // After a particle a fused-looking 한/된 is part of a noun (제한으로 -> 제한, not 제하).
  if (noun && syl(w.back()) && jong(w.back()) != 0) return;
  if (w.size() >= 3 && is_ha_doe(w.back())) {
    w.pop_back();
    if (w.size() > 2 && suffixes.find(w.back()) != U32::npos) w.pop_back();  // 활성화된 -> 활성
  } else if (w.size() <= 2 && is_ha_doe(w.back())) {
    char32_t c = w.back();
    w.back() = make(cho(c), cho(c) == 18 ? 0 : 11, 0);
  }
}

}  // namespace pfn
