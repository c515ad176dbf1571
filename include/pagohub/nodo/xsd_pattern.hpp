#pragma once
// XSD pattern facets (XML Schema Part 2, appendix F) for gSOAP's fsvalidate hook, without
// std::regex: a pattern is compiled once into a small NFA and matched in one pass over the
// value (time linear in its length, no recursion, no allocation per match). The pagoPA schemas
// use a small subset: character classes with ranges, \d \s \S, '.', groups, alternation and the
// quantifiers ? * + {n} {n,} {n,m}. Anything else is refused at compile time, so that the
// caller can fall back to a general engine.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pagohub::nodo {

/// A compiled XSD pattern. Patterns are implicitly anchored (XSD §F: the whole value must
/// match). Values are UTF-8; a character class or quantifier counts characters, not bytes.
/// `\d` is [0-9], as in the ECMAScript engine it replaces (XSD's \d would also accept other
/// Unicode digits, which no pagoPA value may carry).
class xsd_pattern {
 public:
  /// The pattern compiled, or nullopt when it uses syntax outside the supported subset
  /// (\p{..}, \w, \i, \c, class subtraction, back-references...).
  static std::optional<xsd_pattern> compile(std::string_view pattern);

  /// True when the whole of `value` matches.
  bool matches(std::string_view value) const;

  /// One character class: ASCII members as a bitmap, and whether characters beyond ASCII are
  /// members (negated classes, \S and '.').
  struct char_class {
    std::uint64_t low = 0;   ///< code points 0..63
    std::uint64_t high = 0;  ///< code points 64..127
    bool non_ascii = false;
    bool contains(char32_t c) const noexcept {
      if (c < 64) return ((low >> c) & 1U) != 0;
      if (c < 128) return ((high >> (c - 64)) & 1U) != 0;
      return non_ascii;
    }
  };

  /// One NFA instruction (public for the compiler in the .cpp only).
  struct instruction {
    enum class op : std::uint8_t { character, split, jump, match } kind = op::match;
    int x = 0;  ///< character: class index; split/jump: target
    int y = 0;  ///< split: second target
  };

 private:
  std::vector<instruction> program_;
  std::vector<char_class> classes_;
};

}  // namespace pagohub::nodo
