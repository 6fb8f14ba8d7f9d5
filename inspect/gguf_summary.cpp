#include "inspect/gguf_summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "format/names.h"
#include "inspect/human_size.h"

namespace mlxpack {

namespace {

using ordered_json = nlohmann::ordered_json;

constexpr size_t kShownItems = 8;
constexpr size_t kShownChars = 120;

std::string clip(const std::string& s) {
  const std::string p = printable(s);
  return p.size() <= kShownChars ? p : p.substr(0, kShownChars) + "... (" + std::to_string(s.size()) + " bytes)";
}

// A value as JSON: scalars as they are, strings clipped, arrays as their
// first items and their length.
ordered_json value_json(const GgufValue& v) {
  switch (v.type) {
    case GgufType::kString: return clip(v.s);
    case GgufType::kBool: return v.u != 0;
    case GgufType::kF32: case GgufType::kF64: return v.f;
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64: return v.i;
    case GgufType::kArray: {
      ordered_json items = ordered_json::array();
      for (size_t k = 0; k < std::min<uint64_t>(v.size(), kShownItems); ++k) {
        if (!v.strings.empty()) items.push_back(clip(v.strings[k]));
        else if (!v.arrays.empty()) items.push_back(value_json(v.arrays[k]));
        else items.push_back(v.number_at(k));
      }
      return ordered_json{{"type", std::string("array of ") + gguf_type_name(v.element)},
                          {"length", v.size()}, {"first", items}};
    }
    default: return v.u;
  }
}

std::string dims_text(const GgufTensorInfo& t) {
  std::string s = "[";
  for (size_t i = 0; i < t.dims.size(); ++i) s += (i ? ", " : "") + std::to_string(t.dims[i]);
  return s + "]";
}

struct TypeCount {
  uint64_t tensors = 0, elements = 0, bytes = 0;
};

std::map<std::string, TypeCount> by_type(const GgufFile& f) {
  std::map<std::string, TypeCount> counts;
  for (const GgufTensorInfo& t : f.tensors) {
    TypeCount& c = counts[ggml_type(t.type)->name];
    ++c.tensors, c.elements += t.elements, c.bytes += t.size_bytes;
  }
  return counts;
}

}  // namespace

std::string gguf_summary_json(const GgufFile& f, bool list_tensors) {
  ordered_json j;
  j["format"] = "gguf";
  j["version"] = f.version;
  j["alignment"] = f.alignment;
  j["file_size"] = f.file_size;
  j["tensor_count"] = f.tensors.size();
  uint64_t params = 0;
  for (const GgufTensorInfo& t : f.tensors) params += t.elements;
  j["parameters"] = params;
  ordered_json types = ordered_json::object();
  for (const auto& [name, c] : by_type(f)) {
    types[name] = {{"tensors", c.tensors}, {"parameters", c.elements}, {"bytes", c.bytes},
                   {"bits_per_weight", c.elements ? 8.0 * static_cast<double>(c.bytes) / static_cast<double>(c.elements) : 0}};
  }
  j["tensor_types"] = types;
  ordered_json meta = ordered_json::object();
  for (const std::string& k : f.keys) meta[printable(k)] = value_json(*f.find(k));
  j["metadata"] = meta;
  if (list_tensors) {
    ordered_json ts = ordered_json::array();
    for (const GgufTensorInfo& t : f.tensors) {
      ts.push_back({{"name", printable(t.name)}, {"type", ggml_type(t.type)->name}, {"dims", t.dims},
                    {"offset", t.offset}, {"size_bytes", t.size_bytes}});
    }
    j["tensors"] = ts;
  }
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string gguf_summary_text(const GgufFile& f, bool list_tensors) {
  auto str = [&](const std::string& key) {
    const GgufValue* v = f.find(key);
    return v && v->type == GgufType::kString ? clip(v->s) : std::string("-");
  };
  const std::string arch = str("general.architecture");
  std::string out = "GGUF file (llama.cpp's format), version " + std::to_string(f.version) + ", alignment " +
                    std::to_string(f.alignment) + ", " + human_size(f.file_size) + "\n";
  out += "  architecture  " + arch + "\n";
  out += "  name          " + str("general.name") + "\n";
  size_t width = 0;
  for (const std::string& k : f.keys) {
    if (k.rfind(arch + ".", 0) == 0) width = std::max(width, printable(k).size());
  }
  for (const std::string& k : f.keys) {
    if (k.rfind(arch + ".", 0) != 0) continue;
    const std::string name = printable(k);
    out += "    " + name + std::string(width - name.size() + 2, ' ') + value_json(*f.find(k)).dump() + "\n";
  }
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  out += "  tokenizer     " + str("tokenizer.ggml.model") + " (pre " + str("tokenizer.ggml.pre") + "), " +
         std::to_string(tokens ? tokens->size() : 0) + " tokens" +
         (f.find("tokenizer.chat_template") ? ", chat template" : "") + "\n";
  uint64_t params = 0;
  for (const GgufTensorInfo& t : f.tensors) params += t.elements;
  out += "  tensors       " + std::to_string(f.tensors.size()) + ", " + std::to_string(params) + " parameters\n";
  for (const auto& [name, c] : by_type(f)) {
    char bpw[32];
    std::snprintf(bpw, sizeof bpw, "%.2f", c.elements ? 8.0 * static_cast<double>(c.bytes) / static_cast<double>(c.elements) : 0.0);
    out += "    " + name + ": " + std::to_string(c.tensors) + " tensors, " + human_size(c.bytes) + ", " + bpw +
           " bits per weight\n";
  }
  out += "  metadata      " + std::to_string(f.keys.size()) + " keys (--json lists them)\n";
  out += "  import        mlxpack convert FILE OUT.mlxpack (or --output-format mlx-dir)\n";
  if (list_tensors) {
    for (const GgufTensorInfo& t : f.tensors) {
      out += "  " + printable(t.name) + "  " + ggml_type(t.type)->name + " " + dims_text(t) + "\n";
    }
  }
  return out;
}

}  // namespace mlxpack
