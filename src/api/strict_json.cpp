#include "strict_json.hpp"

#include <pagohub/core/text.hpp>

#include <set>

namespace pagohub::api {

namespace {

http::field_error omitted_entry(std::size_t n) {
  return {"", std::string(too_many_errors_code),
          std::to_string(n) + (n == 1 ? " more error is" : " more errors are") +
              " not listed; correct the ones above and send again"};
}

}  // namespace

void error_list::add(std::string path, std::string code, std::string message) {
  if (items_.size() >= max_listed_errors) {
    ++omitted_;
    return;
  }
  items_.push_back({std::move(path), std::move(code), std::move(message)});
}

std::vector<http::field_error> error_list::take() {
  std::vector<http::field_error> out = std::move(items_);
  if (omitted_ > 0) out.push_back(omitted_entry(omitted_));
  items_.clear();
  omitted_ = 0;
  return out;
}

void cap_errors(std::vector<http::field_error>& errors) {
  if (errors.size() <= max_listed_errors) return;
  // Cut already (an error_list's result): its last entry counts the rest.
  if (errors.size() == max_listed_errors + 1 && errors.back().code == too_many_errors_code) return;
  const std::size_t omitted = errors.size() - max_listed_errors;
  errors.resize(max_listed_errors);
  errors.push_back(omitted_entry(omitted));
}

std::string json_pointer_token(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

using json = nlohmann::json;

// Builds the document like nlohmann's own DOM parser, and also tracks the path of the value
// being read so that a duplicate member can be named.
class builder final : public nlohmann::json_sax<json> {
 public:
  json root;
  error_list errors;
  std::string syntax_message;
  // A string or member name holds U+0000: PostgreSQL cannot store it in text, so the body is
  // refused like one that is not UTF-8 (HTTP 400), but with the path of each such value.
  bool nul = false;

  bool null() override { return put(json(nullptr)); }
  bool boolean(bool v) override { return put(json(v)); }
  bool number_integer(number_integer_t v) override { return put(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put(json(v)); }
  bool number_float(number_float_t v, const string_t& /*text*/) override { return put(json(v)); }
  bool string(string_t& v) override {
    const bool has_nul = v.find('\0') != std::string::npos;
    auto [target, path] = slot();
    if (has_nul) {
      nul = true;
      errors.add(std::move(path), "invalid", "must not contain the NUL character (\\u0000)");
    }
    *target = json(std::move(v));
    return true;
  }
  bool binary(binary_t& /*v*/) override { return false; }  // never produced by the text parser

  bool start_object(std::size_t /*size*/) override {
    if (!open(json::object())) return false;
    return true;
  }
  bool key(string_t& k) override {
    auto& f = frames_.back();
    if (k.find('\0') != std::string::npos) {
      nul = true;
      errors.add(path_of(f.path, k), "invalid",
                 "the member name must not contain the NUL character (\\u0000)");
    } else if (!f.keys.insert(k).second) {
      errors.add(path_of(f.path, k), "duplicate_member",
                 "member \"" + k + "\" appears more than once");
    }
    f.pending_key = k;
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t /*size*/) override { return open(json::array()); }
  bool end_array() override { return close(); }

  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) override {
    syntax_message =
        "the body is not valid JSON (at byte " + std::to_string(position) + "): " + describe(ex);
    return false;
  }

 private:
  struct frame {
    json* value;
    std::string path;
    std::set<std::string, std::less<>> keys;
    std::string pending_key;
  };
  std::vector<frame> frames_;

  static std::string path_of(const std::string& parent, std::string_view token) {
    return parent + "/" + json_pointer_token(token);
  }

  // nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1,
  // column 2: "; keep the part after the last ": " that says what was wrong.
  // nlohmann's message quotes the bytes it stopped at ("last read: '...'"), which may be any
  // length and invalid UTF-8: cut, and made valid, for the problem+json answer and for an
  // import's staged row, whose COPY one invalid byte would fail.
  static std::string describe(const nlohmann::detail::exception& ex) {
    std::string what = ex.what();
    const auto colon = what.rfind(": ");
    return core::utf8_cut(colon == std::string::npos ? what : what.substr(colon + 2), 300);
  }

  // Where the next value goes, and its path.
  std::pair<json*, std::string> slot() {
    if (frames_.empty()) return {&root, ""};
    auto& f = frames_.back();
    if (f.value->is_object()) {
      // A duplicate replaces the earlier value; the error above already refuses the body.
      return {&(*f.value)[f.pending_key], path_of(f.path, f.pending_key)};
    }
    f.value->push_back(json());
    return {&f.value->back(), f.path + "/" + std::to_string(f.value->size() - 1)};
  }

  bool put(json v) {
    *slot().first = std::move(v);
    return true;
  }

  bool open(json empty) {
    if (frames_.size() >= max_json_depth) {
      syntax_message = "the body nests deeper than " + std::to_string(max_json_depth) + " levels";
      return false;
    }
    auto [target, path] = slot();
    *target = std::move(empty);
    frames_.push_back(frame{target, std::move(path), {}, {}});
    return true;
  }

  bool close() {
    frames_.pop_back();
    return true;
  }
};

}  // namespace

std::expected<nlohmann::json, json_problem> parse_strict_json(std::string_view text) {
  builder b;
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &b, json::input_format_t::json, true);
  } catch (const json::exception& e) {
    b.syntax_message = std::string("the body is not valid JSON: ") + e.what();
  }
  if (!ok) {
    json_problem p;
    p.syntax = true;
    p.errors.push_back(
        {"", "syntax", b.syntax_message.empty() ? "the body is not valid JSON" : b.syntax_message});
    return std::unexpected(std::move(p));
  }
  if (!b.errors.empty()) return std::unexpected(json_problem{b.nul, b.errors.take()});
  return std::move(b.root);
}

}  // namespace pagohub::api
