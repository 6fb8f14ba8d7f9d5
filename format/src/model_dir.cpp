#include "format/model_dir.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "format/file_io.h"
#include "format/hf_config.h"
#include "format/layout.h"
#include "format/names.h"

namespace mlxpack {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {


bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_with_ci(const std::string& s, const std::string& prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

bool is_pickle_weights(const std::string& name) {
  return ends_with(name, ".bin") || ends_with(name, ".pt") || ends_with(name, ".pth") ||
         ends_with(name, ".ckpt") || ends_with(name, ".pkl");
}

Result<json> read_json_object(const std::string& path, const std::string& label) {
  MLXPACK_ASSIGN_OR_RETURN(std::string text, read_file_to_string(path, layout::kMaxBundledFileSize));
  try {
    json doc = json::parse(text);
    if (!doc.is_object()) return Status::invalid_argument(label + ": top level is not a JSON object");
    return doc;
  } catch (const json::exception& e) {
    return Status::invalid_argument(label + ": not valid JSON: " + e.what());
  }
}

Result<SourcePlan> read_source(const std::string& dir, const std::string& name, uint64_t size) {
  SourcePlan s;
  s.name = name;
  s.path = dir + "/" + name;
  s.size_bytes = size;
  MLXPACK_ASSIGN_OR_RETURN(InputFile in, InputFile::open(s.path));
  uint8_t prefix[8] = {};
  if (in.size_bytes() >= 8) MLXPACK_RETURN_IF_ERROR(in.read_at(0, prefix, 8));
  MLXPACK_ASSIGN_OR_RETURN(uint64_t n, parse_safetensors_header_size(prefix, in.size_bytes(), s.path));
  std::string header(n, '\0');
  MLXPACK_RETURN_IF_ERROR(in.read_at(8, header.data(), header.size()));
  MLXPACK_ASSIGN_OR_RETURN(s.header, parse_safetensors_header(header, in.size_bytes(), s.path));
  s.header_region.assign(reinterpret_cast<const char*>(prefix), 8);
  s.header_region += header;
  return s;
}

// Checks model.safetensors.index.json against the shards; returns the shard names.
Result<std::set<std::string>> check_shard_index(const std::string& dir, const json& doc, const std::string& label,
                                                 const std::map<std::string, uint64_t>& safetensors_files) {
  auto wm = doc.find("weight_map");
  if (wm == doc.end() || !wm->is_object()) {
    return Status::invalid_argument(label + ": field 'weight_map' is missing or not an object");
  }
  // An empty map would name no shard, so every safetensors file would be
  // skipped and the pack would hold no weights at all.
  if (wm->empty()) {
    return Status::invalid_argument(label + ": field 'weight_map' is empty; it must map at least 1 tensor to a shard");
  }
  std::map<std::string, std::vector<std::string>> tensors_by_shard;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it->is_string()) {
      return Status::invalid_argument(label + ": weight_map['" + it.key() + "'] is not a string");
    }
    const std::string shard = it->get<std::string>();
    if (std::string reason = check_relative_path(shard); !reason.empty()) {
      return Status::invalid_argument(label + ": weight_map['" + it.key() + "'] is '" + shard + "': " + reason,
                                      FormatError::kBadPath);
    }
    if (!safetensors_files.count(shard)) {
      return Status::invalid_argument(label + ": weight_map['" + it.key() + "'] names shard '" + shard +
                                      "', which is not a safetensors file in " + dir);
    }
    tensors_by_shard[shard].push_back(it.key());
  }
  std::set<std::string> shards;
  for (const auto& [shard, names] : tensors_by_shard) shards.insert(shard);
  return shards;
}

// A symlink in the model directory. The user chose the directory, so a
// link to a regular file is read wherever it points: the Hugging Face hub
// cache keeps snapshots/<rev>/config.json as a link to ../../blobs/<hash>.
// Refused: dangling links, loops, and linked directories that lead out of
// the directory. FIFOs, devices and sockets behind a link are not regular
// files, so the caller skips them (or reports a required one missing).
Status check_symlink(const fs::path& p, const fs::path& real_dir, const std::string& dir_arg) {
  std::error_code ec;
  const fs::path target = fs::canonical(p, ec);
  if (ec == std::errc::too_many_symbolic_link_levels) {
    return Status::invalid_argument(p.string() + ": symlink loop (" + ec.message() + ")");
  }
  if (ec) return Status::invalid_argument(p.string() + ": broken symlink (" + ec.message() + ")");
  if (!fs::is_directory(target, ec)) return Status::ok();
  const auto rel = target.lexically_relative(real_dir);
  if (rel.empty() || *rel.begin() == "..") {
    return Status::invalid_argument(p.string() + ": symlinked directory leads out of " + dir_arg + " (to " +
                                    target.string() + ")");
  }
  return Status::ok();
}

}  // namespace

bool is_bundled_file_name(const std::string& name) {
  static const std::set<std::string> kNames = {
      "config.json",          "generation_config.json", "tokenizer.json",   "tokenizer_config.json",
      "special_tokens_map.json", "tokenizer.model",     "chat_template.jinja", "chat_template.json",
      "added_tokens.json",    "vocab.json",             "vocab.txt",        "merges.txt",
      "model.safetensors.index.json"};
  if (kNames.count(name)) return true;
  return starts_with_ci(name, "README") || starts_with_ci(name, "LICENSE") || starts_with_ci(name, "LICENCE") ||
         starts_with_ci(name, "NOTICE") || starts_with_ci(name, "USE_POLICY");
}

Result<ModelDirPlan> plan_model_dir(const std::string& dir_arg) {
  std::error_code ec;
  const fs::path dir(dir_arg);
  if (!fs::is_directory(dir, ec)) {
    return Status::invalid_argument(dir_arg + ": not a directory" + (ec ? " (" + ec.message() + ")" : ""));
  }
  const fs::path real_dir = fs::canonical(dir, ec);
  if (ec) return Status::io_error(dir_arg + ": cannot resolve: " + ec.message());

  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return Status::io_error(dir_arg + ": cannot list: " + ec.message());
  if (names.empty()) return Status::invalid_argument(dir_arg + ": directory is empty; nothing to pack");
  std::sort(names.begin(), names.end());

  ModelDirPlan plan;
  std::map<std::string, uint64_t> safetensors_files;  // name -> size
  std::vector<std::string> pickle_files;
  for (const std::string& name : names) {
    const fs::path p = dir / name;
    const fs::file_status link_status = fs::symlink_status(p, ec);
    if (ec) return Status::io_error(p.string() + ": cannot stat: " + ec.message());
    if (fs::is_symlink(link_status)) {
      MLXPACK_RETURN_IF_ERROR(check_symlink(p, real_dir, dir_arg));
    }
    const fs::file_status st = fs::status(p, ec);
    if (ec) return Status::io_error(p.string() + ": cannot stat: " + ec.message());
    if (fs::is_directory(st)) {
      plan.skipped.push_back(name + "/: subdirectory (only top-level files are packed)");
      continue;
    }
    if (!fs::is_regular_file(st)) {
      plan.skipped.push_back(name + ": not a regular file");
      continue;
    }
    const uint64_t size = fs::file_size(p, ec);
    if (ec) return Status::io_error(p.string() + ": cannot stat: " + ec.message());
    if (ends_with(name, ".safetensors")) {
      safetensors_files[name] = size;
    } else if (is_bundled_file_name(name)) {
      plan.files.push_back({name, p.string(), size});
    } else if (is_pickle_weights(name)) {
      pickle_files.push_back(name);
    } else {
      plan.skipped.push_back(name + ": not a file mlxpack bundles");
    }
  }

  const auto has_file = [&](const std::string& n) {
    return std::any_of(plan.files.begin(), plan.files.end(), [&](const auto& f) { return f.name == n; });
  };
  if (safetensors_files.empty() && !pickle_files.empty()) {
    return Status::invalid_argument(dir_arg + ": weights are in pickle format (" + pickle_files.front() +
                                    "); mlxpack reads only safetensors: convert them to safetensors first "
                                    "(e.g. with transformers: model.save_pretrained(dir, safe_serialization=True))");
  }
  for (const std::string& p : pickle_files) plan.skipped.push_back(p + ": pickle weights (safetensors used instead)");
  if (!has_file("config.json")) {
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(fs::path(dir_arg) / "config.json", ec);
    if (!ec && fs::exists(st)) {  // there, but a FIFO, a device, a directory, a dangling link...
      return Status::invalid_argument(dir_arg + "/config.json: not a regular file; a model directory needs one");
    }
    return Status::invalid_argument(dir_arg + ": no config.json; a model directory needs one");
  }
  const std::string config_path = dir_arg + "/config.json";
  MLXPACK_ASSIGN_OR_RETURN(const std::string config_text, read_file_to_string(config_path, layout::kMaxBundledFileSize));
  MLXPACK_ASSIGN_OR_RETURN(const HfConfig config, parse_hf_config(config_text, config_path));
  plan.architecture = !config.architecture.empty() ? config.architecture
                      : !config.model_type.empty() ? config.model_type
                                                   : "unknown";
  if (safetensors_files.empty()) {
    return Status::invalid_argument(dir_arg + ": no .safetensors weights found");
  }

  // With a shard index, the shards it names are the weights; other
  // safetensors files (e.g. a consolidated copy) are skipped, as transformers does.
  std::set<std::string> weight_files;
  const bool sharded = has_file("model.safetensors.index.json");
  const std::string index_label = dir_arg + "/model.safetensors.index.json";
  json index;
  if (sharded) {
    MLXPACK_ASSIGN_OR_RETURN(index, read_json_object(index_label, index_label));
    MLXPACK_ASSIGN_OR_RETURN(weight_files, check_shard_index(dir_arg, index, index_label, safetensors_files));
    for (const auto& [name, size] : safetensors_files) {
      if (!weight_files.count(name)) plan.skipped.push_back(name + ": not named in model.safetensors.index.json");
    }
  } else {
    for (const auto& [name, size] : safetensors_files) weight_files.insert(name);
  }

  std::map<std::string, std::string> tensor_home;  // tensor name -> file
  for (const std::string& name : weight_files) {
    MLXPACK_ASSIGN_OR_RETURN(SourcePlan s, read_source(dir_arg, name, safetensors_files[name]));
    for (const SafetensorsTensor& t : s.header.tensors) {
      auto [it, inserted] = tensor_home.emplace(t.name, name);
      if (!inserted) {
        return Status::invalid_argument(dir_arg + ": tensor '" + t.name + "' is in both " + it->second + " and " +
                                        name);
      }
      plan.tensor_bytes += t.size_bytes();
      ++plan.tensor_count;
    }
    plan.sources.push_back(std::move(s));
  }

  if (sharded) {
    // Each tensor of the index is in the shard it names (once: shard headers
    // have unique keys, and tensor_home is unique across shards), and every
    // shard tensor is in the index.
    const json& wm = index["weight_map"];
    for (auto it = wm.begin(); it != wm.end(); ++it) {
      auto home = tensor_home.find(it.key());
      if (home == tensor_home.end() || home->second != it->get<std::string>()) {
        return Status::invalid_argument(index_label + ": tensor '" + it.key() +
                                        "' is mapped to " + it->get<std::string>() + " but is not in that shard");
      }
    }
    for (const auto& [tensor, file] : tensor_home) {
      if (!wm.contains(tensor)) {
        return Status::invalid_argument(index_label + ": tensor '" + tensor + "' of " +
                                        file + " is missing from weight_map");
      }
    }
  }
  return plan;
}

}  // namespace mlxpack
