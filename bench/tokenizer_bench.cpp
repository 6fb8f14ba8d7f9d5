// Tokenizer speed: load time of a tokenizer, then single-threaded encode
// and decode throughput over a text file. Prints one JSON line so
// run_tokenizer_bench.sh can put it beside the reference's figures.
//   tokenizer_bench --model-root DIR --text FILE [--repeat N]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mlxpack/tokenizer.h"

using namespace mlxpack;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// FNV-1a over the ids' 32-bit little-endian bytes; the reference script
// computes the same, so the run shows whether the two encodings are equal.
uint32_t ids_checksum(const std::vector<int32_t>& ids) {
  uint32_t h = 2166136261u;
  for (int32_t id : ids) {
    const auto v = static_cast<uint32_t>(id);
    for (int shift = 0; shift < 32; shift += 8) h = (h ^ ((v >> shift) & 0xFF)) * 16777619u;
  }
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root;
  std::string text_path;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model-root")) root = argv[i + 1];
    else if (!std::strcmp(argv[i], "--text")) text_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
  }
  if (root.empty() || text_path.empty()) {
    std::fprintf(stderr, "usage: tokenizer_bench --model-root DIR --text FILE [--repeat N]\n");
    return 2;
  }
  std::ifstream in(text_path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const double t0 = now_seconds();
  auto tok = Tokenizer::load(root);
  const double load_s = now_seconds() - t0;
  if (!tok.is_ok()) {
    std::fprintf(stderr, "%s\n", tok.status().to_string().c_str());
    return 1;
  }
  // The first pass warms the piece cache, as a long-running process would
  // be; the best of the following passes is reported (machines are noisy).
  double best_encode = 1e30;
  size_t tokens = 0;
  std::vector<int32_t> ids;
  for (int r = 0; r < repeat; ++r) {
    const double s = now_seconds();
    auto result = (*tok)->encode(text, false);
    const double e = now_seconds() - s;
    if (!result.is_ok()) {
      std::fprintf(stderr, "%s\n", result.status().to_string().c_str());
      return 1;
    }
    if (r == 0) {
      std::printf("{\"pass\":\"cold\",\"encode_mb_s\":%.2f}\n", text.size() / 1e6 / e);
    }
    best_encode = std::min(best_encode, e);
    tokens = result->size();
    ids = std::move(*result);
  }
  const double s = now_seconds();
  auto decoded = (*tok)->decode(ids);
  const double decode_s = now_seconds() - s;
  std::printf(
      "{\"impl\":\"mlxpack\",\"bytes\":%zu,\"tokens\":%zu,\"ids_fnv1a\":%u,\"load_ms\":%.1f,"
      "\"encode_mb_s\":%.2f,\"decode_mb_s\":%.2f}\n",
      text.size(), tokens, ids_checksum(ids), load_s * 1e3, text.size() / 1e6 / best_encode,
      decoded.is_ok() ? text.size() / 1e6 / decode_s : 0.0);
  return 0;
}
