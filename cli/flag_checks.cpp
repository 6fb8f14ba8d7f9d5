#include "cli/flag_checks.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace mlxpack::cli {

CLI::Validator alignment_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        char* end = nullptr;
        const unsigned long long a = std::strtoull(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || a < 64 || a > (1u << 20) || (a & (a - 1)) != 0) {
          return "alignment is " + v + "; expected a power of two in [64, 1048576]";
        }
        return "";
      },
      "POWER_OF_TWO in [64, 1048576]");
}

CLI::Validator open_closed_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& v) -> std::string {
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(x > lo && x <= hi)) {
          return "value " + v + " is outside (" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]";
        }
        return "";
      },
      "NUMBER in (" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]");
}

CLI::Validator bits_group_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        int bits = 0, group = 0;
        char extra = 0;
        const bool parsed = std::sscanf(v.c_str(), "%d,%d%c", &bits, &group, &extra) == 2;
        const bool bits_ok = bits == 2 || bits == 3 || bits == 4 || bits == 5 || bits == 6 || bits == 8;
        const bool group_ok = group == 32 || group == 64 || group == 128;
        if (!parsed || !bits_ok || !group_ok) {
          return "'" + v + "' is not BITS,GROUP with BITS in {2,3,4,5,6,8} and GROUP in {32,64,128}";
        }
        return "";
      },
      "BITS,GROUP");
}

CLI::Validator recipe_check() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        for (const char* name : {"mixed_2_6", "mixed_3_4", "mixed_3_6", "mixed_4_6"})
          if (v == name) return "";
        struct stat st;
        if (::stat(v.c_str(), &st) == 0) return "";
        return "'" + v + "' is neither a recipe name (mixed_2_6, mixed_3_4, mixed_3_6, mixed_4_6) nor an existing file";
      },
      "NAME|FILE");
}

std::string with_flag_names(std::string message) {
  static const std::pair<const char*, const char*> kFlags[] = {
      {"RuntimeOptions.threads", "--threads"},
      {"RuntimeOptions.context_size", "--context-size"},
      {"RuntimeOptions.num_sink_tokens", "--num-sink-tokens"},
      {"RuntimeOptions.eviction_batch_percent", "--eviction-batch-percent"},
      {"GenerationOptions.max_tokens", "--max-tokens"},
      {"GenerationOptions.temperature", "--temp"},
      {"GenerationOptions.top_p", "--top-p"},
      {"GenerationOptions.top_k", "--top-k"},
      {"GenerationOptions.logprobs", "--logprobs"},
      {"QuantOptions.recipe", "--q-recipe"},
  };
  for (const auto& [field, flag] : kFlags) {
    const std::string from(field);
    for (size_t at = message.find(from); at != std::string::npos; at = message.find(from, at + std::strlen(flag))) {
      message.replace(at, from.size(), flag);
    }
  }
  return message;
}

}  // namespace mlxpack::cli
