// A C++ consumer of the installed library:
//   consumer_cxx PACK EXPECTED_IDS
// generates 200 greedy tokens from BOS with PACK's model, through the C++
// API and through the C API, and compares both with the ids in EXPECTED_IDS
// (comma- or space-separated). Exit 0 when all three agree.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <mlxpack/mlxpack_runtime.h>
#include <mlxpack/runtime.h>

namespace {

std::vector<int32_t> read_ids(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  for (char& c : s) {
    if (c == ',') c = ' ';
  }
  std::istringstream items(s);
  std::vector<int32_t> ids;
  for (int32_t id; items >> id;) ids.push_back(id);
  return ids;
}

int collect(void* user, int32_t id, float /*logprob*/, int /*is_stop*/) {
  static_cast<std::vector<int32_t>*>(user)->push_back(id);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: consumer_cxx PACK EXPECTED_IDS\n";
    return 2;
  }
  const std::vector<int32_t> expected = read_ids(argv[2]);
  mlxpack::RuntimeOptions options;
  options.threads = 1;
  auto rt = mlxpack::Runtime::open(argv[1], options);
  if (!rt.is_ok()) {
    std::cerr << rt.status().to_string() << "\n";
    return 1;
  }
  mlxpack::GenerationOptions g;
  g.max_tokens = static_cast<int>(expected.size());
  std::vector<int32_t> from_cxx;
  const mlxpack::Status s = (*rt)->generate({(*rt)->bos_token_id()}, g, [&](const mlxpack::TokenEvent& e) {
    from_cxx.push_back(e.id);
    return true;
  }, nullptr);
  if (!s.is_ok()) {
    std::cerr << s.to_string() << "\n";
    return 1;
  }

  mlxpack_runtime* c_rt = nullptr;
  if (mlxpack_runtime_open(argv[1], 1, 0, &c_rt) != MLXPACK_OK) {
    std::cerr << mlxpack_last_error() << "\n";
    return 1;
  }
  mlxpack_generation_options c_options;
  mlxpack_generation_options_init(&c_options);
  c_options.max_tokens = g.max_tokens;
  const int32_t bos = mlxpack_runtime_bos_id(c_rt);
  std::vector<int32_t> from_c;
  const mlxpack_status cs = mlxpack_generate(c_rt, &bos, 1, &c_options, collect, &from_c, nullptr);
  char* text = nullptr;
  size_t size = 0;
  if (cs == MLXPACK_OK && mlxpack_decode(c_rt, from_c.data(), from_c.size(), 1, &text, &size) == MLXPACK_OK) {
    std::printf("%.*s\n", static_cast<int>(size), text);
  }
  mlxpack_free(text);
  mlxpack_runtime_close(c_rt);

  const bool same = from_cxx == expected && from_c == expected;
  std::printf("%zu ids (C++) and %zu ids (C) against %zu expected: %s\n", from_cxx.size(), from_c.size(),
              expected.size(), same ? "identical" : "DIFFERENT");
  return same ? 0 : 1;
}
