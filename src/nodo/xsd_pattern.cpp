#include <pagohub/nodo/xsd_pattern.hpp>

#include <cstddef>
#include <string>

namespace pagohub::nodo {

namespace {

using char_class = xsd_pattern::char_class;
using instruction = xsd_pattern::instruction;
using op = instruction::op;

// Bounds that keep a hostile or mistaken pattern from building a huge program: the largest
// counted repetition in the pagoPA schemas is {3,138}.
constexpr int max_count = 1000;
constexpr std::size_t max_program = 20000;

void add(char_class& c, char32_t from, char32_t to) {
  for (char32_t x = from; x <= to && x < 128; ++x) {
    if (x < 64) {
      c.low |= std::uint64_t{1} << x;
    } else {
      c.high |= std::uint64_t{1} << (x - 64);
    }
  }
}

char_class negate(char_class c) {
  return {~c.low, ~c.high, !c.non_ascii};
}

char_class merge(const char_class& a, const char_class& b) {
  return {a.low | b.low, a.high | b.high, a.non_ascii || b.non_ascii};
}

char_class digits() {
  char_class c;
  add(c, '0', '9');
  return c;
}

// XSD \s: space, tab, newline, carriage return (XSD §F.1.1).
char_class spaces() {
  char_class c;
  add(c, ' ', ' ');
  add(c, '\t', '\t');
  add(c, '\n', '\n');
  add(c, '\r', '\r');
  return c;
}

char_class single(char32_t x) {
  char_class c;
  add(c, x, x);
  return c;
}

struct node {
  enum class kind { cls, seq, alt, rep } k = kind::seq;
  int cls = 0;
  std::vector<node> kids;
  int min = 1;
  int max = 1;  // -1: unbounded
};

// Recursive descent over the grammar of XSD §F.1; `ok` turns false on anything unsupported.
class parser {
 public:
  explicit parser(std::string_view p) : p_(p) {}

  std::optional<node> parse(std::vector<char_class>& classes) {
    classes_ = &classes;
    node n = reg_exp(0);
    if (!ok_ || i_ != p_.size()) return std::nullopt;
    return n;
  }

 private:
  std::string_view p_;
  std::size_t i_ = 0;
  bool ok_ = true;
  std::vector<char_class>* classes_ = nullptr;

  bool more() const { return i_ < p_.size(); }
  char peek() const { return p_[i_]; }
  void fail() { ok_ = false; }

  node leaf(const char_class& c) {
    classes_->push_back(c);
    node n;
    n.k = node::kind::cls;
    n.cls = static_cast<int>(classes_->size() - 1);
    return n;
  }

  node reg_exp(int depth) {
    if (depth > 32) {
      fail();
      return {};
    }
    node first = branch(depth);
    if (!more() || peek() != '|') return first;
    node alt;
    alt.k = node::kind::alt;
    alt.kids.push_back(std::move(first));
    while (ok_ && more() && peek() == '|') {
      ++i_;
      alt.kids.push_back(branch(depth));
    }
    return alt;
  }

  node branch(int depth) {
    node seq;
    seq.k = node::kind::seq;
    while (ok_ && more() && peek() != '|' && peek() != ')') seq.kids.push_back(piece(depth));
    return seq;
  }

  int number() {
    int n = 0;
    bool any = false;
    while (more() && peek() >= '0' && peek() <= '9') {
      n = n * 10 + (peek() - '0');
      any = true;
      ++i_;
      if (n > max_count) {
        fail();
        return 0;
      }
    }
    if (!any) fail();
    return n;
  }

  node piece(int depth) {
    node a = atom(depth);
    if (!ok_ || !more()) return a;
    int min = 1;
    int max = 1;
    switch (peek()) {
      case '?':
        min = 0;
        ++i_;
        break;
      case '*':
        min = 0;
        max = -1;
        ++i_;
        break;
      case '+':
        max = -1;
        ++i_;
        break;
      case '{': {
        ++i_;
        min = number();
        max = min;
        if (more() && peek() == ',') {
          ++i_;
          max = more() && peek() == '}' ? -1 : number();
        }
        if (!more() || peek() != '}' || (max != -1 && max < min)) {
          fail();
          return a;
        }
        ++i_;
        break;
      }
      default:
        return a;
    }
    node r;
    r.k = node::kind::rep;
    r.min = min;
    r.max = max;
    r.kids.push_back(std::move(a));
    return r;
  }

  // A class escape (after the backslash): \d \D \s \S, or a single escaped character.
  std::optional<char_class> escape() {
    if (!more()) return std::nullopt;
    const char c = p_[i_++];
    switch (c) {
      case 'd':
        return digits();
      case 'D':
        return negate(digits());
      case 's':
        return spaces();
      case 'S':
        return negate(spaces());
      case 'n':
        return single('\n');
      case 'r':
        return single('\r');
      case 't':
        return single('\t');
      default:
        break;
    }
    // XSD's single-character escapes are punctuation; letters and digits are multi-character
    // escapes (\w, \i, \c, \p{..}) or back-references, none of which this engine reads.
    const auto u = static_cast<unsigned char>(c);
    if (u < 128 && std::string_view(R"(\|.-^?*+{}()[]/$)").find(c) != std::string_view::npos)
      return single(u);
    return std::nullopt;
  }

  node atom(int depth) {
    const char c = p_[i_];
    if (static_cast<unsigned char>(c) >= 128) {
      fail();
      return {};
    }
    switch (c) {
      case '(': {
        ++i_;
        node inner = reg_exp(depth + 1);
        if (!more() || peek() != ')') {
          fail();
          return inner;
        }
        ++i_;
        return inner;
      }
      case '[':
        ++i_;
        return leaf(group());
      case '.':
        ++i_;
        // XSD '.': any character but newline and carriage return.
        return leaf(negate(merge(single('\n'), single('\r'))));
      case '\\': {
        ++i_;
        auto e = escape();
        if (!e) {
          fail();
          return {};
        }
        return leaf(*e);
      }
      case '?':
      case '*':
      case '+':
      case '{':
      case '}':
      case ')':
      case ']':
        fail();
        return {};
      default:
        ++i_;
        return leaf(single(static_cast<unsigned char>(c)));
    }
  }

  // After '[': the class up to its ']'.
  char_class group() {
    char_class out;
    bool negated = false;
    if (more() && peek() == '^') {
      negated = true;
      ++i_;
    }
    bool first = true;
    while (ok_) {
      if (!more()) {
        fail();
        break;
      }
      char c = peek();
      if (c == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      if (c == '[' || static_cast<unsigned char>(c) >= 128) {
        fail();  // nested classes are subtraction (-[...]), not supported; non-ASCII likewise
        break;
      }
      char32_t from = 0;
      if (c == '\\') {
        ++i_;
        const std::size_t at = i_;
        auto e = escape();
        if (!e) {
          fail();
          break;
        }
        const char escaped = p_[at];
        if (escaped == 'd' || escaped == 'D' || escaped == 's' || escaped == 'S') {
          out = merge(out, *e);
          continue;
        }
        from = escaped == 'n' ? U'\n' : escaped == 'r' ? U'\r' : escaped == 't' ? U'\t' : escaped;
      } else {
        if (c == '-' && i_ + 1 < p_.size() && p_[i_ + 1] == '[') {
          fail();  // class subtraction
          break;
        }
        from = static_cast<unsigned char>(c);
        ++i_;
      }
      char32_t to = from;
      if (more() && peek() == '-' && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        char d = peek();
        if (d == '[' || static_cast<unsigned char>(d) >= 128) {
          fail();
          break;
        }
        if (d == '\\') {
          ++i_;
          if (!more()) {
            fail();
            break;
          }
          d = p_[i_];
          if (std::string_view(R"(\|.-^?*+{}()[]/$)").find(d) == std::string_view::npos) {
            fail();
            break;
          }
        }
        ++i_;
        to = static_cast<unsigned char>(d);
        if (to < from) {
          fail();
          break;
        }
      }
      add(out, from, to);
    }
    return negated ? negate(out) : out;
  }
};

class emitter {
 public:
  explicit emitter(std::vector<instruction>& prog) : prog_(prog) {}
  bool ok() const { return ok_; }

  void emit(const node& n) {
    if (!ok_) return;
    if (prog_.size() > max_program) {
      ok_ = false;
      return;
    }
    switch (n.k) {
      case node::kind::cls:
        prog_.push_back({op::character, n.cls, 0});
        return;
      case node::kind::seq:
        for (const auto& k : n.kids) emit(k);
        return;
      case node::kind::alt: {
        std::vector<std::size_t> to_end;
        for (std::size_t i = 0; i + 1 < n.kids.size(); ++i) {
          const std::size_t split = prog_.size();
          prog_.push_back({op::split, static_cast<int>(split + 1), 0});
          emit(n.kids[i]);
          to_end.push_back(prog_.size());
          prog_.push_back({op::jump, 0, 0});
          prog_[split].y = static_cast<int>(prog_.size());
        }
        emit(n.kids.back());
        for (auto j : to_end) prog_[j].x = static_cast<int>(prog_.size());
        return;
      }
      case node::kind::rep: {
        const node& kid = n.kids.front();
        for (int i = 0; i < n.min; ++i) emit(kid);
        if (n.max == -1) {
          const std::size_t loop = prog_.size();
          prog_.push_back({op::split, static_cast<int>(loop + 1), 0});
          emit(kid);
          prog_.push_back({op::jump, static_cast<int>(loop), 0});
          prog_[loop].y = static_cast<int>(prog_.size());
          return;
        }
        std::vector<std::size_t> skips;
        for (int i = n.min; i < n.max; ++i) {
          skips.push_back(prog_.size());
          prog_.push_back({op::split, static_cast<int>(prog_.size() + 1), 0});
          emit(kid);
        }
        for (auto s : skips) prog_[s].y = static_cast<int>(prog_.size());
        return;
      }
    }
  }

 private:
  std::vector<instruction>& prog_;
  bool ok_ = true;
};

// The next code point of UTF-8 text; a malformed sequence reads as one non-ASCII character.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i++]);
  if (b < 0x80) return b;
  std::size_t extra = (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : 0;
  char32_t c = extra == 1 ? (b & 0x1F) : extra == 2 ? (b & 0x0F) : (b & 0x07);
  if (extra == 0) return 0xFFFD;
  for (; extra > 0; --extra) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return 0xFFFD;
    c = (c << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  return c < 0x80 ? 0xFFFD : c;  // overlong forms are not ASCII in disguise
}

// Per-thread scratch for the simulation, reused across matches: no allocation per match once
// grown to the largest program.
struct scratch {
  std::vector<std::uint32_t> mark;
  std::vector<int> current;
  std::vector<int> next;
  std::vector<int> stack;
  std::uint32_t generation = 0;

  void prepare(std::size_t n) {
    if (mark.size() < n) mark.resize(n, 0);
    current.clear();
    next.clear();
  }
  std::uint32_t fresh() {
    if (++generation == 0) {
      std::fill(mark.begin(), mark.end(), 0);
      generation = 1;
    }
    return generation;
  }
};

// Adds pc and everything reachable from it without consuming a character.
void add_thread(const std::vector<instruction>& prog, scratch& s, std::vector<int>& list, int pc,
                std::uint32_t gen) {
  s.stack.clear();
  s.stack.push_back(pc);
  while (!s.stack.empty()) {
    const int at = s.stack.back();
    s.stack.pop_back();
    auto& m = s.mark[static_cast<std::size_t>(at)];
    if (m == gen) continue;
    m = gen;
    const auto& in = prog[static_cast<std::size_t>(at)];
    switch (in.kind) {
      case op::jump:
        s.stack.push_back(in.x);
        break;
      case op::split:
        s.stack.push_back(in.y);
        s.stack.push_back(in.x);
        break;
      case op::character:
      case op::match:
        list.push_back(at);
        break;
    }
  }
}

}  // namespace

std::optional<xsd_pattern> xsd_pattern::compile(std::string_view pattern) {
  xsd_pattern out;
  auto tree = parser(pattern).parse(out.classes_);
  if (!tree) return std::nullopt;
  emitter e(out.program_);
  e.emit(*tree);
  if (!e.ok() || out.program_.size() > max_program) return std::nullopt;
  out.program_.push_back({op::match, 0, 0});
  return out;
}

bool xsd_pattern::matches(std::string_view value) const {
  thread_local scratch s;
  s.prepare(program_.size());
  add_thread(program_, s, s.current, 0, s.fresh());
  std::size_t i = 0;
  while (i < value.size()) {
    if (s.current.empty()) return false;
    const char32_t c = next_code_point(value, i);
    const std::uint32_t gen = s.fresh();
    s.next.clear();
    for (const int pc : s.current) {
      const auto& in = program_[static_cast<std::size_t>(pc)];
      if (in.kind == op::character && classes_[static_cast<std::size_t>(in.x)].contains(c))
        add_thread(program_, s, s.next, pc + 1, gen);
    }
    s.current.swap(s.next);
  }
  for (const int pc : s.current)
    if (program_[static_cast<std::size_t>(pc)].kind == op::match) return true;
  return false;
}

}  // namespace pagohub::nodo
