// Builtins of strings: the string filters and the methods of str.
#include <algorithm>
#include <cctype>

#include "runtime/template/builtins/builtins.h"
#include "runtime/template/template_error.h"
#include "runtime/text/unicode.h"
#include "runtime/text/utf8.h"

namespace mlxpack::jinja {

namespace {

// Python's str.strip family: with `chars`, strip those code points;
// without, whitespace.
std::string strip_chars(const std::string& s, const Value* chars, bool left, bool right) {
  if (!chars || chars->is_none() || chars->is_undefined()) return std::string(text::trim_js_space(s, left, right));
  if (!chars->is_string()) throw TemplateError("strip() argument must be a string");
  const std::vector<std::string> set = split_codepoints_charged(chars->string);
  std::vector<std::string> cps = split_codepoints_charged(s);
  auto in_set = [&](const std::string& c) { return std::find(set.begin(), set.end(), c) != set.end(); };
  size_t begin = 0;
  size_t end = cps.size();
  if (left)
    while (begin < end && in_set(cps[begin])) ++begin;
  if (right)
    while (end > begin && in_set(cps[end - 1])) --end;
  std::string out;
  for (size_t k = begin; k < end; ++k) out += cps[k];
  return out;
}

// JavaScript's /\b\w/g uppercased (the reference's title filter).
std::string title_case(const std::string& s) {
  std::string out = s;
  bool prev_word = false;
  for (char& c : out) {
    const bool word = std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    if (word && !prev_word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    prev_word = word;
  }
  return out;
}

std::string capitalize(const std::string& s) {
  if (s.empty()) return s;
  size_t p = 0;
  char32_t cp;
  if (!text::decode_next(s, &p, &cp)) return s;
  std::string out;
  text::append_utf8(&out, text::to_upper(cp));
  return out + s.substr(p);
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  if (count == 0) return s;
  std::string out;
  int64_t done = 0;
  if (from.empty()) {  // Python inserts `to` around every character
    const std::vector<std::string> cps = split_codepoints_charged(s);
    for (const std::string& c : cps) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += c;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t pos = 0;
  for (;;) {
    if (count >= 0 && done >= count) break;
    const size_t hit = find_linear(s, from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

bool starts_or_ends(const std::string& s, const Value& pattern, bool starts, const char* name) {
  auto check = [&](const std::string& p) {
    if (p.size() > s.size()) return false;
    return starts ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0;
  };
  if (pattern.is_string()) return check(pattern.string);
  if (pattern.is_array()) {
    for (const Value& item : *pattern.array) {
      if (!item.is_string()) throw TemplateError(std::string(name) + "() tuple elements must be strings");
      if (check(item.string)) return true;
    }
    return false;
  }
  throw TemplateError(std::string(name) + "() argument must be a string or a tuple of strings");
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// The operand of a filter that takes only strings: anything else fails
// (without the dispatcher's method fallback).
const std::string& string_operand(const FilterCall& c) {
  if (!c.operand.is_string()) c.fail();
  return c.operand.string;
}

// Filters.

Value filter_upper(const FilterCall& c) { return Value::from_string(text::to_upper(string_operand(c))); }
Value filter_lower(const FilterCall& c) { return Value::from_string(text::to_lower(string_operand(c))); }
Value filter_title(const FilterCall& c) { return Value::from_string(title_case(string_operand(c))); }
Value filter_capitalize(const FilterCall& c) { return Value::from_string(capitalize(string_operand(c))); }

Value filter_trim(const FilterCall& c) {
  return Value::from_string(strip_chars(string_operand(c), arg(c.args, 0, "chars"), true, true));
}

Value filter_escape(const FilterCall& c) { return Value::from_string(html_escape(string_operand(c))); }

Value filter_wordcount(const FilterCall& c) {
  return Value::from_int(static_cast<int64_t>(split_string(string_operand(c), nullptr, nullptr).array->size()));
}

// The filter is str.replace.
Value filter_replace(const FilterCall& c) {
  string_operand(c);
  Value method = c.self.get_member(c.operand, Value::from_string("replace"), c.line);
  return c.self.call(method, c.args, c.env, c.line);
}

// indent(width=4, first=False, blank=False)
Value filter_indent(const FilterCall& c) {
  const std::string& s = string_operand(c);
  const CallArgs& args = c.args;
  const int line = c.line;
  Interpreter& self = c.self;
  // indent(width=4, first=False, blank=False)
  const Value* width_v = arg(args, 0, "width");
  std::string pad = "    ";
  if (width_v) {
    if (width_v->kind == Kind::kInt) {
      pad = std::string(static_cast<size_t>(std::clamp<int64_t>(width_v->integer, 0, 1024)), ' ');
    } else if (width_v->is_string()) {
      pad = width_v->string;
    } else {
      throw TemplateError("indent: width must be an integer or a string", line);
    }
  }
  const bool first = bool_arg(args, 1, "first", false);
  const bool blank = bool_arg(args, 2, "blank", false);
  std::string out;
  size_t pos = 0;
  for (size_t index = 0;; ++index) {
    const size_t nl = s.find('\n', pos);
    const std::string lineText = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!((index == 0 && !first) || (lineText.empty() && !blank))) out += pad;
    out += lineText;
    self.check_size(out.size(), line);
    if (nl == std::string::npos) break;
    out.push_back('\n');
    pos = nl + 1;
  }
  return Value::from_string(std::move(out));
}

// first/last/reverse of a string work on code points.
Value string_first_last_reverse(const FilterCall& c) {
  std::vector<std::string> cps = split_codepoints_charged(c.operand.string);
  if (c.name == "reverse") {
    std::reverse(cps.begin(), cps.end());
    std::string out;
    for (const std::string& cp : cps) out += cp;
    return Value::from_string(std::move(out));
  }
  if (cps.empty()) return Value();
  return Value::from_string(c.name == "first" ? cps.front() : cps.back());
}

// Methods: each binds the string's value.

Value method_length(Interpreter&, const Value& o) {
  return Value::from_int(static_cast<int64_t>(text::codepoint_count(o.string)));
}

Value method_upper(Interpreter&, const Value& o) {
  return bound([s = o.string](CallArgs&) { return Value::from_string(text::to_upper(s)); });
}

Value method_lower(Interpreter&, const Value& o) {
  return bound([s = o.string](CallArgs&) { return Value::from_string(text::to_lower(s)); });
}

Value method_title(Interpreter&, const Value& o) {
  return bound([s = o.string](CallArgs&) { return Value::from_string(title_case(s)); });
}

Value method_capitalize(Interpreter&, const Value& o) {
  return bound([s = o.string](CallArgs&) { return Value::from_string(capitalize(s)); });
}

Value strip_method(const Value& o, bool left, bool right) {
  return bound([s = o.string, left, right](CallArgs& args) {
    return Value::from_string(strip_chars(s, arg(args, 0, "chars"), left, right));
  });
}
Value method_strip(Interpreter&, const Value& o) { return strip_method(o, true, true); }
Value method_lstrip(Interpreter&, const Value& o) { return strip_method(o, true, false); }
Value method_rstrip(Interpreter&, const Value& o) { return strip_method(o, false, true); }

Value starts_or_ends_method(const Value& o, bool starts) {
  return bound([s = o.string, starts](CallArgs& args) {
    const Value* p = arg(args, 0, "prefix");
    if (!p) throw TemplateError(std::string(starts ? "startswith" : "endswith") + "() needs an argument");
    return Value::from_bool(starts_or_ends(s, *p, starts, starts ? "startswith" : "endswith"));
  });
}
Value method_startswith(Interpreter&, const Value& o) { return starts_or_ends_method(o, true); }
Value method_endswith(Interpreter&, const Value& o) { return starts_or_ends_method(o, false); }

Value method_split(Interpreter&, const Value& o) {
  return bound([s = o.string](CallArgs& args) { return split_string(s, arg(args, 0, "sep"), arg(args, 1, "maxsplit")); });
}

Value method_replace(Interpreter& self, const Value& o) {
  return bound([&self, s = o.string](CallArgs& args) {
    const Value* from = arg(args, 0, "old");
    const Value* to = arg(args, 1, "new");
    if (!from || !to || !from->is_string() || !to->is_string()) throw TemplateError("replace() needs two strings");
    const Value* count = arg(args, 2, "count");
    if (count && !count->is_none() && count->kind != Kind::kInt) throw TemplateError("replace() count must be an integer");
    std::string out = replace_all(s, from->string, to->string, count && count->kind == Kind::kInt ? count->integer : -1);
    self.check_size(out.size(), 0);
    return Value::from_string(std::move(out));
  });
}

Value method_join(Interpreter& self, const Value& o) {
  return bound([&self, s = o.string](CallArgs& args) {
    const Value* items = arg(args, 0, "iterable");
    if (!items || !items->is_array()) throw TemplateError("str.join() needs a list");
    std::string out;
    for (size_t k = 0; k < items->array->size(); ++k) {
      if (k) out += s;
      out += to_display_string((*items->array)[k]);
      self.check_size(out.size(), 0);
    }
    return Value::from_string(std::move(out));
  });
}

const Value& sub_argument(const CallArgs& args) {
  const Value* sub = arg(args, 0, "sub");
  if (!sub || !sub->is_string()) throw TemplateError("needs a string argument");
  return *sub;
}

Value method_find(Interpreter&, const Value& o) {
  return bound([s = o.string](CallArgs& args) {
    const Value& sub = sub_argument(args);
    const size_t hit = find_linear(s, sub.string);
    return Value::from_int(hit == std::string::npos ? -1 : static_cast<int64_t>(text::codepoint_count(s.substr(0, hit))));
  });
}

Value method_count(Interpreter&, const Value& o) {
  return bound([s = o.string](CallArgs& args) {
    const Value& sub = sub_argument(args);
    if (sub.string.empty()) return Value::from_int(static_cast<int64_t>(text::codepoint_count(s)) + 1);
    int64_t n = 0;
    for (size_t pos = find_linear(s, sub.string); pos != std::string::npos;
         pos = find_linear(s, sub.string, pos + sub.string.size())) {
      ++n;
    }
    return Value::from_int(n);
  });
}

}  // namespace

// TemplateLimits::max_sequence_length's default: split() has no interpreter
// at hand, and its lists obey the same bound.
constexpr size_t kMaxSplitParts = TemplateLimits().max_sequence_length;

Value split_string(const std::string& s, const Value* sep, const Value* maxsplit_v) {
  int64_t maxsplit = -1;
  if (maxsplit_v && !maxsplit_v->is_none()) {
    if (maxsplit_v->kind != Kind::kInt) throw TemplateError("split() maxsplit must be an integer");
    maxsplit = maxsplit_v->integer;
  }
  Array parts;
  if (!sep || sep->is_none()) {
    std::string_view rest = text::trim_js_space(s, true, false);
    while (!rest.empty()) {
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
        parts.push_back(Value::from_string(std::string(text::trim_js_space(rest, false, true))));
        break;
      }
      size_t end = 0;
      while (end < rest.size()) {
        size_t p = end;
        char32_t cp;
        if (!text::decode_next(rest, &p, &cp)) {
          ++end;
          continue;
        }
        if (text::is_js_space(cp)) break;
        end = p;
      }
      if (parts.size() >= kMaxSplitParts) throw TemplateError("split() makes more than the limit of " + std::to_string(kMaxSplitParts) + " parts");
      parts.push_back(Value::from_string(std::string(rest.substr(0, end))));
      rest = text::trim_js_space(rest.substr(end), true, false);
    }
    return Value::from_array(std::move(parts));
  }
  if (!sep->is_string()) throw TemplateError("split() separator must be a string");
  if (sep->string.empty()) throw TemplateError("split(): empty separator");
  size_t pos = 0;
  for (;;) {
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) break;
    const size_t hit = find_linear(s, sep->string, pos);
    if (hit == std::string::npos) break;
    if (parts.size() >= kMaxSplitParts) throw TemplateError("split() makes more than the limit of " + std::to_string(kMaxSplitParts) + " parts");
    parts.push_back(Value::from_string(s.substr(pos, hit - pos)));
    pos = hit + sep->string.size();
  }
  parts.push_back(Value::from_string(s.substr(pos)));
  return Value::from_array(std::move(parts));
}

Value string_item(const std::string& s, int64_t index) {
  // Walk to the code point instead of splitting the whole string.
  charge_read(s.size());
  const auto n = static_cast<int64_t>(text::codepoint_count(s));
  const int64_t i = index < 0 ? index + n : index;
  if (i < 0 || i >= n) return Value();
  size_t begin = 0;
  for (int64_t seen = -1; begin < s.size(); ++begin) {
    if ((static_cast<unsigned char>(s[begin]) & 0xC0) != 0x80 && ++seen == i) break;
  }
  size_t end = begin + 1;
  while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
  return Value::from_string(s.substr(begin, end - begin));
}

const std::vector<FilterRow>& string_filters() {
  static const std::vector<FilterRow> kRows = {
      {"upper", Operand::kAny, filter_upper},
      {"lower", Operand::kAny, filter_lower},
      {"title", Operand::kAny, filter_title},
      {"capitalize", Operand::kAny, filter_capitalize},
      {"trim", Operand::kAny, filter_trim},
      {"indent", Operand::kAny, filter_indent},
      {"replace", Operand::kAny, filter_replace},
      {"escape", Operand::kAny, filter_escape},
      {"e", Operand::kAny, filter_escape},
      {"wordcount", Operand::kAny, filter_wordcount},
      {"first", Operand::kString, string_first_last_reverse},
      {"last", Operand::kString, string_first_last_reverse},
      {"reverse", Operand::kString, string_first_last_reverse},
  };
  return kRows;
}

const std::vector<MethodRow>& string_methods() {
  static const std::vector<MethodRow> kRows = {
      {"length", method_length},
      {"upper", method_upper},
      {"lower", method_lower},
      {"title", method_title},
      {"capitalize", method_capitalize},
      {"strip", method_strip},
      {"lstrip", method_lstrip},
      {"rstrip", method_rstrip},
      {"startswith", method_startswith},
      {"endswith", method_endswith},
      {"split", method_split},
      {"replace", method_replace},
      {"join", method_join},
      {"find", method_find},
      {"count", method_count},
  };
  return kRows;
}

}  // namespace mlxpack::jinja
