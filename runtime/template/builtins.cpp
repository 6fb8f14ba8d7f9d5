// Filters, tests, methods of strings/lists/dicts, and global functions.
// Names and behaviour follow the reference (@huggingface/jinja), with the
// arguments Python's Jinja accepts where the reference ignores them (e.g.
// str.strip(chars)), since templates are written against Python.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

#include "runtime/template/interpreter.h"
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

// Ordering for sort/dictsort/min/max: numbers (and booleans) by value,
// strings by code point (case-insensitively unless asked), else an error.
int compare_values(const Value& a, const Value& b, bool case_sensitive) {
  const bool a_num = a.is_number() || a.kind == Kind::kBool;
  const bool b_num = b.is_number() || b.kind == Kind::kBool;
  if (a_num && b_num) {
    const double x = a.as_double();
    const double y = b.as_double();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_none() && b.is_none()) return 0;
  if (a.is_string() && b.is_string()) {
    charge_read(a.string.size() + b.string.size());  // sorting long strings is work per comparison
    const std::string x = case_sensitive ? a.string : text::to_lower(a.string);
    const std::string y = case_sensitive ? b.string : text::to_lower(b.string);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  throw TemplateError(std::string("cannot compare ") + a.type_name() + " with " + b.type_name());
}

Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (v.is_attribute_container()) {
      const Value* found = v.object->find(part);
      v = found ? *found : Value();
    } else if (v.is_array() && !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit)) {
      const size_t index = std::stoul(part);
      v = index < v.array->size() ? (*v.array)[index] : Value();
    } else {
      return Value();
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return v;
}

const Value* arg(const CallArgs& args, size_t index, const char* name) { return args.get(index, name); }

bool bool_arg(const CallArgs& args, size_t index, const char* name, bool fallback) {
  const Value* v = arg(args, index, name);
  if (!v || v->is_undefined()) return fallback;
  if (v->kind != Kind::kBool) throw TemplateError(std::string(name) + " must be a boolean");
  return v->boolean;
}

Value bound(std::function<Value(CallArgs&)> f) {
  return Value::from_function([f = std::move(f)](CallArgs& args, Interpreter&, const EnvPtr&) { return f(args); });
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

}  // namespace

Value Interpreter::get_member(const Value& object, const Value& property, int line) {
  (void)line;
  if (object.is_attribute_container()) {
    if (!property.is_string()) throw TemplateError(std::string("cannot index a dict with a ") + property.type_name(), line);
    if (const Value* v = object.object->find(property.string)) return *v;
    if (object.kind != Kind::kObject) return Value();
    const std::shared_ptr<Object> obj = object.object;
    const std::string& name = property.string;
    if (name == "get") {
      return bound([obj](CallArgs& args) {
        const Value* key = arg(args, 0, "key");
        if (!key || !key->is_string()) throw TemplateError("dict.get() key must be a string");
        if (const Value* v = obj->find(key->string)) return *v;
        const Value* fallback = arg(args, 1, "default");
        return fallback ? *fallback : Value::none();
      });
    }
    if (name == "items" || name == "keys" || name == "values") {
      return bound([obj, name](CallArgs&) {
        Array out;
        for (const auto& [k, v] : obj->items) {
          if (name == "items") {
            out.push_back(Value::from_array({Value::from_string(k), v}));
          } else {
            out.push_back(name == "keys" ? Value::from_string(k) : v);
          }
        }
        return Value::from_array(std::move(out));
      });
    }
    if (name == "dictsort") {
      return bound([obj](CallArgs& args) {
        const bool case_sensitive = bool_arg(args, 0, "case_sensitive", false);
        const Value* by = arg(args, 1, "by");
        const bool by_value = by && by->is_string() && by->string == "value";
        if (by && !(by->is_string() && (by->string == "key" || by->string == "value"))) {
          throw TemplateError("dictsort: by must be 'key' or 'value'");
        }
        const bool reverse = bool_arg(args, 2, "reverse", false);
        std::vector<std::pair<std::string, Value>> items = obj->items;
        std::stable_sort(items.begin(), items.end(), [&](const auto& a, const auto& b) {
          const int c = by_value ? compare_values(a.second, b.second, case_sensitive)
                                 : compare_values(Value::from_string(a.first), Value::from_string(b.first), case_sensitive);
          return reverse ? c > 0 : c < 0;
        });
        Array out;
        for (auto& [k, v] : items) out.push_back(Value::from_array({Value::from_string(k), v}));
        return Value::from_array(std::move(out));
      });
    }
    return Value();
  }
  if (object.is_array() || object.is_string()) {
    if (property.kind == Kind::kInt) {
      if (object.is_array()) {
        const auto n = static_cast<int64_t>(object.array->size());
        const int64_t i = property.integer < 0 ? property.integer + n : property.integer;
        return i >= 0 && i < n ? (*object.array)[static_cast<size_t>(i)] : Value();
      }
      // Walk to the code point instead of splitting the whole string.
      const std::string& s = object.string;
      charge_read(s.size());
      const auto n = static_cast<int64_t>(text::codepoint_count(s));
      const int64_t i = property.integer < 0 ? property.integer + n : property.integer;
      if (i < 0 || i >= n) return Value();
      size_t begin = 0;
      for (int64_t seen = -1; begin < s.size(); ++begin) {
        if ((static_cast<unsigned char>(s[begin]) & 0xC0) != 0x80 && ++seen == i) break;
      }
      size_t end = begin + 1;
      while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
      return Value::from_string(s.substr(begin, end - begin));
    }
    if (!property.is_string()) throw TemplateError(std::string("cannot index with a ") + property.type_name(), line);
    const std::string& name = property.string;
    if (object.is_array()) {
      const std::shared_ptr<Array> arr = object.array;
      if (name == "length") return Value::from_int(static_cast<int64_t>(arr->size()));
      if (name == "append") {
        return bound([this, arr](CallArgs& args) {
          if (args.positional.size() != 1) throw TemplateError("append() takes one argument");
          check_sequence(arr->size() + 1, 0);
          check_nesting(args.positional[0], 0);
          charge_allocation(sizeof(Value));
          arr->push_back(args.positional[0]);
          note_mutation(arr);
          return Value::none();
        });
      }
      return Value();
    }
    const std::string s = object.string;
    if (name == "length") return Value::from_int(static_cast<int64_t>(text::codepoint_count(s)));
    if (name == "upper") return bound([s](CallArgs&) { return Value::from_string(text::to_upper(s)); });
    if (name == "lower") return bound([s](CallArgs&) { return Value::from_string(text::to_lower(s)); });
    if (name == "title") return bound([s](CallArgs&) { return Value::from_string(title_case(s)); });
    if (name == "capitalize") return bound([s](CallArgs&) { return Value::from_string(capitalize(s)); });
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      const bool left = name != "rstrip";
      const bool right = name != "lstrip";
      return bound([s, left, right](CallArgs& args) {
        return Value::from_string(strip_chars(s, arg(args, 0, "chars"), left, right));
      });
    }
    if (name == "startswith" || name == "endswith") {
      const bool starts = name == "startswith";
      return bound([s, starts](CallArgs& args) {
        const Value* p = arg(args, 0, "prefix");
        if (!p) throw TemplateError(std::string(starts ? "startswith" : "endswith") + "() needs an argument");
        return Value::from_bool(starts_or_ends(s, *p, starts, starts ? "startswith" : "endswith"));
      });
    }
    if (name == "split") {
      return bound([s](CallArgs& args) { return split_string(s, arg(args, 0, "sep"), arg(args, 1, "maxsplit")); });
    }
    if (name == "replace") {
      return bound([this, s](CallArgs& args) {
        const Value* from = arg(args, 0, "old");
        const Value* to = arg(args, 1, "new");
        if (!from || !to || !from->is_string() || !to->is_string()) throw TemplateError("replace() needs two strings");
        const Value* count = arg(args, 2, "count");
        if (count && !count->is_none() && count->kind != Kind::kInt) throw TemplateError("replace() count must be an integer");
        std::string out = replace_all(s, from->string, to->string, count && count->kind == Kind::kInt ? count->integer : -1);
        check_size(out.size(), 0);
        return Value::from_string(std::move(out));
      });
    }
    if (name == "join") {
      return bound([this, s](CallArgs& args) {
        const Value* items = arg(args, 0, "iterable");
        if (!items || !items->is_array()) throw TemplateError("str.join() needs a list");
        std::string out;
        for (size_t k = 0; k < items->array->size(); ++k) {
          if (k) out += s;
          out += to_display_string((*items->array)[k]);
          check_size(out.size(), 0);
        }
        return Value::from_string(std::move(out));
      });
    }
    if (name == "find" || name == "count") {
      const bool find = name == "find";
      return bound([s, find](CallArgs& args) {
        const Value* sub = arg(args, 0, "sub");
        if (!sub || !sub->is_string()) throw TemplateError("needs a string argument");
        if (find) {
          const size_t hit = find_linear(s, sub->string);
          return Value::from_int(hit == std::string::npos ? -1 : static_cast<int64_t>(text::codepoint_count(s.substr(0, hit))));
        }
        if (sub->string.empty()) return Value::from_int(static_cast<int64_t>(text::codepoint_count(s)) + 1);
        int64_t n = 0;
        for (size_t pos = find_linear(s, sub->string); pos != std::string::npos;
             pos = find_linear(s, sub->string, pos + sub->string.size())) {
          ++n;
        }
        return Value::from_int(n);
      });
    }
    return Value();
  }
  return Value();
}

bool Interpreter::apply_test(const std::string& name, const Value& v, const std::vector<Value>& args, int line) {
  auto need_arg = [&]() -> const Value& {
    if (args.empty()) throw TemplateError("test '" + name + "' needs an argument", line);
    return args[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.kind == Kind::kBool;
  if (name == "false") return v.kind == Kind::kBool && !v.boolean;
  if (name == "true") return v.kind == Kind::kBool && v.boolean;
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind == Kind::kInt;
  if (name == "float") return v.kind == Kind::kFloat;
  if (name == "iterable") return v.is_array() || v.is_string();
  if (name == "mapping") return v.is_mapping();
  if (name == "sequence") return v.is_array() || v.is_mapping() || v.is_string();
  if (name == "callable") return v.kind == Kind::kFunction;
  if (name == "lower") return v.is_string() && v.string == text::to_lower(v.string);
  if (name == "upper") return v.is_string() && v.string == text::to_upper(v.string);
  if (name == "odd" || name == "even") {
    if (v.kind != Kind::kInt) throw TemplateError("test '" + name + "' needs an integer, got " + v.type_name(), line);
    return (v.integer % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const Value& d = need_arg();
    if (v.kind != Kind::kInt || d.kind != Kind::kInt || d.integer == 0) throw TemplateError("divisibleby needs non-zero integers", line);
    return v.integer % d.integer == 0;
  }
  if (name == "equalto" || name == "eq" || name == "==") return loose_equals(v, need_arg());
  if (name == "ne" || name == "!=") return !loose_equals(v, need_arg());
  if (name == "sameas") return strict_equals(v, need_arg());
  if (name == "lt" || name == "lessthan" || name == "<") return compare_values(v, need_arg(), true) < 0;
  if (name == "le" || name == "<=") return compare_values(v, need_arg(), true) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare_values(v, need_arg(), true) > 0;
  if (name == "ge" || name == ">=") return compare_values(v, need_arg(), true) >= 0;
  if (name == "in") {
    const Value& container = need_arg();
    if (container.is_array()) {
      for (const Value& item : *container.array)
        if (strict_equals(item, v)) return true;
      return false;
    }
    if (container.is_string() && v.is_string()) return find_linear(container.string, v.string) != std::string::npos;
    if (container.is_mapping() && v.is_string()) return container.object->find(v.string) != nullptr;
    return false;
  }
  throw TemplateError("unknown test '" + name + "'", line);
}

Value Interpreter::apply_filter(const Value& operand, const Node& filter, const EnvPtr& env) {
  const int line = filter.line;
  std::string name;
  CallArgs args;
  if (filter.kind == NodeKind::kIdentifier) {
    name = filter.str;
  } else if (filter.kind == NodeKind::kCall && filter.a->kind == NodeKind::kIdentifier) {
    name = filter.a->str;
    args = evaluate_arguments(filter.args, env);
  } else {
    throw TemplateError("a filter must be a name or a call", line);
  }
  auto fail = [&]() -> Value {
    throw TemplateError("filter '" + name + "' cannot be applied to a " + operand.type_name(), line);
  };

  if (name == "safe") return operand;
  if (name == "tojson") {
    JsonOptions options;
    if (const Value* indent = args.kwarg("indent"); indent && !indent->is_none()) {
      if (indent->kind != Kind::kInt) throw TemplateError("tojson: indent must be an integer", line);
      options.indent = indent->integer;
    } else if (!args.positional.empty() && args.positional[0].kind == Kind::kInt) {
      options.indent = args.positional[0].integer;
    }
    if (const Value* v = args.kwarg("ensure_ascii")) options.ensure_ascii = v->truthy();
    if (const Value* v = args.kwarg("sort_keys")) options.sort_keys = v->truthy();
    if (const Value* v = args.kwarg("separators"); v && !v->is_none()) {
      if (!v->is_array() || v->array->size() != 2 || !(*v->array)[0].is_string() || !(*v->array)[1].is_string()) {
        throw TemplateError("tojson: separators must be two strings", line);
      }
      options.separators = std::make_pair((*v->array)[0].string, (*v->array)[1].string);
    }
    std::string out = to_json(operand, options);
    check_size(out.size(), line);
    return Value::from_string(std::move(out));
  }
  if (name == "default" || name == "d") {
    const Value* fallback = arg(args, 0, "default_value");
    const bool boolean = bool_arg(args, 1, "boolean", false);
    if (operand.is_undefined() || (boolean && !operand.truthy())) return fallback ? *fallback : Value::from_string("");
    return operand;
  }
  if (name == "string") {
    if (operand.is_none()) return Value::from_string("None");
    if (operand.is_undefined()) return Value::from_string("");
    return Value::from_string(to_display_string(operand));
  }
  if (name == "length" || name == "count") {
    if (operand.is_array()) return Value::from_int(static_cast<int64_t>(operand.array->size()));
    if (operand.is_string()) return Value::from_int(static_cast<int64_t>(text::codepoint_count(operand.string)));
    if (operand.is_attribute_container()) return Value::from_int(static_cast<int64_t>(operand.object->items.size()));
    return fail();
  }
  if (name == "int" || name == "float") {
    const Value* fallback = arg(args, 0, "default");
    const bool to_int = name == "int";
    Value result;
    if (operand.is_string()) {
      const std::string_view t = text::trim_js_space(operand.string, true, true);
      char* end = nullptr;
      const std::string str(t);
      errno = 0;
      if (to_int) {
        const long long v = std::strtoll(str.c_str(), &end, 10);
        if (end == str.c_str() || errno == ERANGE) return fallback ? *fallback : Value::from_int(0);
        return Value::from_int(v);
      }
      const double v = std::strtod(str.c_str(), &end);
      if (end == str.c_str()) return fallback ? *fallback : Value::from_float(0);
      return Value::from_float(v);
    }
    if (operand.kind == Kind::kBool) return to_int ? Value::from_int(operand.boolean) : Value::from_float(operand.boolean);
    if (operand.kind == Kind::kInt) return to_int ? operand : Value::from_float(static_cast<double>(operand.integer));
    if (operand.kind == Kind::kFloat) {
      if (!to_int) return operand;
      if (!std::isfinite(operand.number) || std::fabs(operand.number) >= 9.2e18) return fail();
      return Value::from_int(static_cast<int64_t>(std::trunc(operand.number)));
    }
    if (fallback) return *fallback;
    return fail();
  }
  if (name == "join") {
    const Value* sep_v = arg(args, 0, "d");
    if (!sep_v) sep_v = args.kwarg("separator");
    if (sep_v && !sep_v->is_string()) throw TemplateError("join: separator must be a string", line);
    const std::string sep = sep_v ? sep_v->string : "";
    const Value* attribute = args.kwarg("attribute");
    std::vector<std::string> parts;
    if (operand.is_string()) {
      parts = split_codepoints_charged(operand.string);
    } else if (operand.is_array()) {
      for (const Value& item : *operand.array) {
        parts.push_back(to_display_string(attribute && attribute->is_string() ? attribute_path(item, attribute->string) : item));
      }
    } else {
      return fail();
    }
    std::string out;
    for (size_t k = 0; k < parts.size(); ++k) {
      if (k) out += sep;
      out += parts[k];
      check_size(out.size(), line);
    }
    return Value::from_string(std::move(out));
  }
  if (name == "items") {
    if (!operand.is_attribute_container()) return fail();
    Array out;
    for (const auto& [k, v] : operand.object->items) out.push_back(Value::from_array({Value::from_string(k), v}));
    return Value::from_array(std::move(out));
  }
  if (name == "dictsort") {
    if (!operand.is_mapping()) return fail();
    Value method = get_member(operand, Value::from_string("dictsort"), line);
    return call(method, args, env, line);
  }
  if (name == "list") {
    if (operand.is_array()) return Value::from_array(*operand.array);
    if (operand.is_string()) {
      check_sequence(text::codepoint_count(operand.string), line);
      Array out;
      for (std::string& c : split_codepoints_charged(operand.string)) out.push_back(Value::from_string(std::move(c)));
      return Value::from_array(std::move(out));
    }
    if (operand.is_mapping()) {
      Array out;
      for (const auto& [k, v] : operand.object->items) out.push_back(Value::from_string(k));
      return Value::from_array(std::move(out));
    }
    return fail();
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize" || name == "trim" ||
      name == "indent" || name == "replace" || name == "escape" || name == "e" || name == "wordcount") {
    if (!operand.is_string()) return fail();
    const std::string& s = operand.string;
    if (name == "upper") return Value::from_string(text::to_upper(s));
    if (name == "lower") return Value::from_string(text::to_lower(s));
    if (name == "title") return Value::from_string(title_case(s));
    if (name == "capitalize") return Value::from_string(capitalize(s));
    if (name == "trim") return Value::from_string(strip_chars(s, arg(args, 0, "chars"), true, true));
    if (name == "escape" || name == "e") return Value::from_string(html_escape(s));
    if (name == "wordcount") return Value::from_int(static_cast<int64_t>(split_string(s, nullptr, nullptr).array->size()));
    if (name == "replace") {
      Value method = get_member(operand, Value::from_string("replace"), line);
      return call(method, args, env, line);
    }
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
      check_size(out.size(), line);
      if (nl == std::string::npos) break;
      out.push_back('\n');
      pos = nl + 1;
    }
    return Value::from_string(std::move(out));
  }
  if (name == "abs" || name == "round") {
    if (!operand.is_number()) return fail();
    if (name == "abs") {
      if (operand.kind == Kind::kInt) {
        if (operand.integer == INT64_MIN) return Value::from_float(9.223372036854775808e18);
        return Value::from_int(std::llabs(operand.integer));
      }
      return Value::from_float(std::fabs(operand.number));
    }
    const Value* precision_v = arg(args, 0, "precision");
    const int64_t precision = precision_v && precision_v->kind == Kind::kInt ? std::clamp<int64_t>(precision_v->integer, 0, 15) : 0;
    const Value* method_v = arg(args, 1, "method");
    const std::string method = method_v && method_v->is_string() ? method_v->string : "common";
    const double scale = std::pow(10.0, static_cast<double>(precision));
    const double x = operand.as_double() * scale;
    const double r = method == "floor" ? std::floor(x) : method == "ceil" ? std::ceil(x) : std::round(x);
    return Value::from_float(r / scale);
  }
  if (name == "bool") return Value::from_bool(operand.truthy());
  if (operand.is_string() && (name == "first" || name == "last" || name == "reverse")) {
    std::vector<std::string> cps = split_codepoints_charged(operand.string);
    if (name == "reverse") {
      std::reverse(cps.begin(), cps.end());
      std::string out;
      for (const std::string& c : cps) out += c;
      return Value::from_string(std::move(out));
    }
    if (cps.empty()) return Value();
    return Value::from_string(name == "first" ? cps.front() : cps.back());
  }
  if (!operand.is_array()) {
    if (operand.is_mapping()) {
      Value method = get_member(operand, Value::from_string(name), line);
      if (method.kind == Kind::kFunction) return call(method, args, env, line);
    }
    return fail();
  }
  const Array& items = *operand.array;
  if (name == "first") return items.empty() ? Value() : items.front();
  if (name == "last") return items.empty() ? Value() : items.back();
  if (name == "reverse") return Value::from_array(Array(items.rbegin(), items.rend()));
  if (name == "unique") {
    Array out;
    for (const Value& item : items) {
      bool seen = false;
      charge_work(out.size());  // quadratic in the list: each comparison is work
      for (const Value& o : out)
        if (strict_equals(o, item)) seen = true;
      if (!seen) out.push_back(item);
    }
    return Value::from_array(std::move(out));
  }
  if (name == "sum") {
    const Value* attribute = args.kwarg("attribute");
    const Value* start = args.kwarg("start");
    Value total = start ? *start : Value::from_int(0);
    for (const Value& item : items) {
      const Value x = attribute && attribute->is_string() ? attribute_path(item, attribute->string) : item;
      if (!x.is_number() || !total.is_number()) throw TemplateError("sum: items must be numbers", line);
      if (total.kind == Kind::kInt && x.kind == Kind::kInt) {
        int64_t r;
        total = __builtin_add_overflow(total.integer, x.integer, &r) ? Value::from_float(total.as_double() + x.as_double())
                                                                      : Value::from_int(r);
      } else {
        total = Value::from_float(total.as_double() + x.as_double());
      }
    }
    return total;
  }
  if (name == "sort" || name == "min" || name == "max") {
    const bool reverse = name == "sort" && bool_arg(args, 0, "reverse", false);
    const bool case_sensitive = bool_arg(args, name == "sort" ? 1 : 0, "case_sensitive", false);
    const Value* attribute = arg(args, name == "sort" ? 2 : 1, "attribute");
    auto key = [&](const Value& item) -> Value {
      if (!attribute || attribute->is_none() || attribute->is_undefined()) return item;
      const std::string path = attribute->kind == Kind::kInt ? std::to_string(attribute->integer) : attribute->string;
      return attribute_path(item, path);
    };
    if (name != "sort") {
      if (items.empty()) return Value();
      size_t best = 0;
      for (size_t k = 1; k < items.size(); ++k) {
        const int c = compare_values(key(items[k]), key(items[best]), case_sensitive);
        if (name == "min" ? c < 0 : c > 0) best = k;
      }
      return items[best];
    }
    Array sorted = items;
    std::stable_sort(sorted.begin(), sorted.end(), [&](const Value& a, const Value& b) {
      const int c = compare_values(key(a), key(b), case_sensitive);
      return reverse ? c > 0 : c < 0;
    });
    return Value::from_array(std::move(sorted));
  }
  if (name == "selectattr" || name == "rejectattr" || name == "select" || name == "reject") {
    const bool by_attribute = name == "selectattr" || name == "rejectattr";
    const bool keep_matches = name == "selectattr" || name == "select";
    size_t next = 0;
    std::string attribute;
    if (by_attribute) {
      if (args.positional.empty() || !args.positional[0].is_string()) {
        throw TemplateError(name + ": the first argument must be an attribute name", line);
      }
      attribute = args.positional[0].string;
      next = 1;
    }
    std::string test;
    if (next < args.positional.size()) {
      if (!args.positional[next].is_string()) throw TemplateError(name + ": the test name must be a string", line);
      test = args.positional[next].string;
    }
    std::vector<Value> test_args(args.positional.begin() + static_cast<std::ptrdiff_t>(std::min(next + 1, args.positional.size())),
                                 args.positional.end());
    Array out;
    for (const Value& item : items) {
      if (by_attribute && !item.is_attribute_container()) throw TemplateError(name + " can only be applied to a list of dicts", line);
      const Value x = by_attribute ? attribute_path(item, attribute) : item;
      const bool match = test.empty() ? x.truthy() : apply_test(test, x, test_args, line);
      if (match == keep_matches) out.push_back(item);
    }
    return Value::from_array(std::move(out));
  }
  if (name == "map") {
    Array out;
    if (const Value* attribute = args.kwarg("attribute")) {
      if (!attribute->is_string()) throw TemplateError("map: attribute must be a string", line);
      const Value* fallback = args.kwarg("default");
      for (const Value& item : items) {
        Value x = attribute_path(item, attribute->string);
        out.push_back(x.is_undefined() && fallback ? *fallback : x);
      }
      return Value::from_array(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].is_string()) {
      throw TemplateError("map needs attribute=NAME or a filter name", line);
    }
    Node call_node;
    call_node.kind = NodeKind::kIdentifier;
    call_node.str = args.positional[0].string;
    call_node.line = line;
    for (const Value& item : items) out.push_back(apply_filter(item, call_node, env));
    return Value::from_array(std::move(out));
  }
  if (name == "batch") {
    const Value* size = arg(args, 0, "linecount");
    if (!size || size->kind != Kind::kInt || size->integer <= 0) throw TemplateError("batch: size must be a positive integer", line);
    Array out;
    for (size_t k = 0; k < items.size(); k += static_cast<size_t>(size->integer)) {
      out.push_back(Value::from_array(Array(items.begin() + static_cast<std::ptrdiff_t>(k),
                                            items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), k + static_cast<size_t>(size->integer))))));
    }
    return Value::from_array(std::move(out));
  }
  return fail();
}

void Interpreter::install_globals(const EnvPtr& env) {
  env->set("true", Value::from_bool(true));
  env->set("false", Value::from_bool(false));
  env->set("none", Value::none());
  env->set("True", Value::from_bool(true));
  env->set("False", Value::from_bool(false));
  env->set("None", Value::none());
  env->set("raise_exception", Value::from_function([](CallArgs& args, Interpreter&, const EnvPtr&) -> Value {
    std::string message;
    for (size_t k = 0; k < args.positional.size(); ++k) {
      if (k) message += ",";
      message += to_display_string(args.positional[k]);
    }
    throw TemplateError(message, 0, /*raised=*/true);
  }));
  env->set("range", Value::from_function([](CallArgs& args, Interpreter& self, const EnvPtr&) {
    std::vector<int64_t> n;
    for (const Value& v : args.positional) {
      if (v.kind != Kind::kInt) throw TemplateError("range() arguments must be integers");
      n.push_back(v.integer);
    }
    if (n.empty() || n.size() > 3) throw TemplateError("range() takes 1 to 3 arguments");
    const int64_t start = n.size() == 1 ? 0 : n[0];
    const int64_t stop = n.size() == 1 ? n[0] : n[1];
    const int64_t step = n.size() == 3 ? n[2] : 1;
    if (step == 0) throw TemplateError("range() step must not be zero");
    // The exact length in 128 bits: bounds near 2^63 must not overflow.
    const __int128 span = static_cast<__int128>(stop) - start;
    __int128 count = 0;
    if (step > 0 && span > 0) count = (span + step - 1) / step;
    if (step < 0 && span < 0) count = (span + step + 1) / step;
    self.check_sequence(static_cast<uint64_t>(std::min<__int128>(count, INT64_MAX)), 0);
    Array out;
    out.reserve(static_cast<size_t>(count));
    for (__int128 k = 0; k < count; ++k) out.push_back(Value::from_int(static_cast<int64_t>(start + k * step)));
    return Value::from_array(std::move(out));
  }));
  env->set("strftime_now", Value::from_function([](CallArgs& args, Interpreter&, const EnvPtr&) {
    if (args.positional.empty() || !args.positional[0].is_string()) throw TemplateError("strftime_now() needs a format string");
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof(buf), args.positional[0].string.c_str(), &local);
    return Value::from_string(std::string(buf, n));
  }));
  env->set("namespace", Value::from_function([](CallArgs& args, Interpreter&, const EnvPtr&) {
    if (args.positional.size() > 1) throw TemplateError("namespace() takes at most 1 positional argument");
    Value ns = Value::new_object(Kind::kNamespace);
    if (!args.positional.empty()) {
      const Value& source = args.positional[0];
      if (source.is_mapping()) {
        for (const auto& [k, v] : source.object->items) ns.object->set(k, v);
      } else if (source.is_array()) {
        for (const Value& pair : *source.array) {
          if (!pair.is_array() || pair.array->size() != 2 || !(*pair.array)[0].is_string()) {
            throw TemplateError("namespace() expects a dict or a list of [key, value] pairs");
          }
          ns.object->set((*pair.array)[0].string, (*pair.array)[1]);
        }
      } else {
        throw TemplateError(std::string("namespace() cannot be built from a ") + source.type_name());
      }
    }
    for (const auto& [k, v] : args.keyword) ns.object->set(k, v);
    return ns;
  }));
}

}  // namespace mlxpack::jinja
