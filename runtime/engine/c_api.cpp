// The C API over mlxpack::Runtime (mlxpack/mlxpack_runtime.h). Every entry
// point catches everything: no exception may cross into C.
#include "mlxpack/mlxpack_runtime.h"

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loader/src/c_api_support.h"
#include "mlxpack/chat_template.h"
#include "mlxpack/runtime.h"

struct mlxpack_runtime {
  std::unique_ptr<mlxpack::Runtime> runtime;
};

namespace {

using mlxpack::c_api::fail;
using mlxpack::c_api::fail_message;
using mlxpack::c_api::guarded;

// Hands `bytes` to the caller as a malloc'ed, NUL-terminated buffer.
mlxpack_status give_text(const std::string& bytes, char** text, size_t* size) {
  char* buf = mlxpack::c_api::malloc_copy(bytes);
  if (buf == nullptr) return fail_message(MLXPACK_IO_ERROR, "out of memory");
  *text = buf;
  *size = bytes.size();
  return MLXPACK_OK;
}

// `context_json` with bos_token and eos_token set where it does not set them.
mlxpack::Result<std::string> with_special_tokens(const mlxpack::Runtime& rt, const char* context_json) {
  nlohmann::json context = nlohmann::json::parse(context_json, nullptr, /*allow_exceptions=*/false);
  if (context.is_discarded() || !context.is_object()) {
    return mlxpack::Status::invalid_argument("context_json: not a JSON object");
  }
  if (!context.contains("bos_token")) context["bos_token"] = rt.bos_token();
  if (!context.contains("eos_token")) context["eos_token"] = rt.eos_token();
  return context.dump();
}

}  // namespace

extern "C" {

mlxpack_status mlxpack_runtime_open(const char* model_root, int threads, int context_size, mlxpack_runtime** out) {
  return mlxpack_runtime_open_with_adapter(model_root, threads, context_size, nullptr, out);
}

mlxpack_status mlxpack_runtime_open_with_adapter(const char* model_root, int threads, int context_size,
                                                 const char* adapter_path, mlxpack_runtime** out) {
  mlxpack_runtime_options options;
  mlxpack_runtime_options_init(&options);
  options.threads = threads;
  options.context_size = context_size;
  options.adapter_path = adapter_path;
  return mlxpack_runtime_open_with_options(model_root, &options, out);
}

void mlxpack_runtime_options_init(mlxpack_runtime_options* options) {
  if (options == nullptr) return;
  *options = mlxpack_runtime_options{};
  options->struct_size = sizeof(mlxpack_runtime_options);
  options->kv_cache_type = MLXPACK_KV_CACHE_F16;
}

mlxpack_status mlxpack_runtime_open_with_options(const char* model_root, const mlxpack_runtime_options* options,
                                                 mlxpack_runtime** out) {
  return guarded([&] {
    if (model_root == nullptr || out == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "model_root and out must not be NULL");
    }
    *out = nullptr;
    mlxpack_runtime_options c;
    mlxpack_runtime_options_init(&c);
    if (options) {
      // Version 1 ends after num_draft_tokens; later versions only append.
      if (options->struct_size < sizeof(mlxpack_runtime_options)) {
        return fail_message(MLXPACK_INVALID_ARGUMENT, "mlxpack_runtime_options.struct_size is " +
                                                          std::to_string(options->struct_size) +
                                                          "; call mlxpack_runtime_options_init first");
      }
      c = *options;
    }
    constexpr mlxpack::KvCacheType kTypes[] = {mlxpack::KvCacheType::kF16, mlxpack::KvCacheType::kF32,
                                               mlxpack::KvCacheType::kQ8_0};
    if (c.kv_cache_type < 0 || c.kv_cache_type > MLXPACK_KV_CACHE_Q8_0) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "mlxpack_runtime_options.kv_cache_type is " +
                                                        std::to_string(c.kv_cache_type) + ", not in 0..2");
    }
    mlxpack::RuntimeOptions ro;
    ro.threads = c.threads;
    ro.context_size = c.context_size;
    ro.kv_cache_type = kTypes[c.kv_cache_type];
    mlxpack::AdapterOptions adapters;
    if (c.adapter_path != nullptr) adapters.adapter_path = c.adapter_path;
    auto rt = mlxpack::Runtime::open(model_root, ro, adapters);
    if (!rt.is_ok()) return fail(rt.status());
    mlxpack::SpeculativeOptions speculative;
    if (c.draft_model != nullptr) speculative.draft_model = c.draft_model;
    speculative.prompt_lookup_ngram = c.prompt_lookup_ngram;
    speculative.num_draft_tokens = c.num_draft_tokens;
    const mlxpack::Status set = (*rt)->set_speculation(speculative);
    if (!set.is_ok()) return fail(set);
    auto handle = std::make_unique<mlxpack_runtime>();
    handle->runtime = std::move(rt).value();
    *out = handle.release();
    return MLXPACK_OK;
  });
}

void mlxpack_runtime_close(mlxpack_runtime* runtime) { delete runtime; }

int mlxpack_runtime_kv_cache_type(const mlxpack_runtime* runtime) {
  if (runtime == nullptr) return -1;
  switch (runtime->runtime->kv_cache_type()) {
    case mlxpack::KvCacheType::kF32: return MLXPACK_KV_CACHE_F32;
    case mlxpack::KvCacheType::kQ8_0: return MLXPACK_KV_CACHE_Q8_0;
    case mlxpack::KvCacheType::kF16: break;
  }
  return MLXPACK_KV_CACHE_F16;
}

uint64_t mlxpack_runtime_kv_cache_bytes(const mlxpack_runtime* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime->kv_cache_bytes();
}

void mlxpack_runtime_speculation_stats(const mlxpack_runtime* runtime, int* drafted, int* accepted,
                                       int* model_passes) {
  const mlxpack::SpeculationStats none;
  const mlxpack::SpeculationStats& s = runtime == nullptr ? none : runtime->runtime->speculation_stats();
  if (drafted) *drafted = s.drafted;
  if (accepted) *accepted = s.accepted;
  if (model_passes) *model_passes = s.model_passes;
}

int32_t mlxpack_runtime_vocab_size(const mlxpack_runtime* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime->vocab_size();
}

int32_t mlxpack_runtime_bos_id(const mlxpack_runtime* runtime) {
  return runtime == nullptr ? -1 : runtime->runtime->bos_token_id();
}

mlxpack_status mlxpack_encode(const mlxpack_runtime* runtime, const char* text, size_t size, int add_special_tokens,
                              int32_t** ids, size_t* n) {
  return guarded([&] {
    if (runtime == nullptr || (text == nullptr && size > 0) || ids == nullptr || n == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "runtime, text, ids and n must not be NULL");
    }
    auto encoded = runtime->runtime->tokenizer().encode(std::string_view(text == nullptr ? "" : text, size),
                                                        add_special_tokens != 0);
    if (!encoded.is_ok()) return fail(encoded.status());
    const std::string_view bytes(reinterpret_cast<const char*>(encoded->data()), encoded->size() * sizeof(int32_t));
    char* buf = mlxpack::c_api::malloc_copy(bytes);
    if (buf == nullptr) return fail_message(MLXPACK_IO_ERROR, "out of memory");
    *ids = reinterpret_cast<int32_t*>(buf);  // malloc's alignment suits int32_t
    *n = encoded->size();
    return MLXPACK_OK;
  });
}

mlxpack_status mlxpack_decode(const mlxpack_runtime* runtime, const int32_t* ids, size_t n, int skip_special_tokens,
                              char** text, size_t* size) {
  return guarded([&] {
    if (runtime == nullptr || (ids == nullptr && n > 0) || text == nullptr || size == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "runtime, ids, text and size must not be NULL");
    }
    mlxpack::DecodeOptions options;
    options.skip_special_tokens = skip_special_tokens != 0;
    auto decoded = runtime->runtime->tokenizer().decode(std::vector<int32_t>(ids, ids + n), options);
    if (!decoded.is_ok()) return fail(decoded.status());
    return give_text(*decoded, text, size);
  });
}

mlxpack_status mlxpack_apply_chat_template(const mlxpack_runtime* runtime, const char* context_json, char** text,
                                           size_t* size) {
  return guarded([&] {
    if (runtime == nullptr || context_json == nullptr || text == nullptr || size == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "runtime, context_json, text and size must not be NULL");
    }
    const mlxpack::Runtime& rt = *runtime->runtime;
    if (rt.chat_template_source().empty()) {
      return fail(mlxpack::Status::not_found("the model has no chat template"));
    }
    auto tmpl = mlxpack::ChatTemplate::parse(rt.chat_template_source());
    if (!tmpl.is_ok()) return fail(tmpl.status());
    auto context = with_special_tokens(rt, context_json);
    if (!context.is_ok()) return fail(context.status());
    auto rendered = tmpl->render(*context);
    if (!rendered.is_ok()) return fail(rendered.status());
    return give_text(*rendered, text, size);
  });
}

void mlxpack_generation_options_init(mlxpack_generation_options* options) {
  if (options == nullptr) return;
  const mlxpack::GenerationOptions defaults;
  options->max_tokens = defaults.max_tokens;
  options->temperature = defaults.temperature;
  options->top_p = defaults.top_p;
  options->top_k = defaults.top_k;
  options->seed = defaults.seed;
}

void mlxpack_logit_filters_init(mlxpack_logit_filters* filters) {
  if (filters == nullptr) return;
  const mlxpack::LogitFilters defaults;
  filters->struct_size = sizeof(mlxpack_logit_filters);
  filters->min_p = defaults.min_p;
  filters->repetition_penalty = defaults.repetition_penalty;
  filters->repetition_context = defaults.repetition_context;
}

mlxpack_status mlxpack_generate_filtered(mlxpack_runtime* runtime, const int32_t* input, size_t n,
                                         const mlxpack_generation_options* options,
                                         const mlxpack_logit_filters* filters, mlxpack_token_callback on_token,
                                         void* user, size_t* n_generated) {
  return guarded([&] {
    if (n_generated) *n_generated = 0;
    if (runtime == nullptr || (input == nullptr && n > 0) || on_token == nullptr) {
      return fail_message(MLXPACK_INVALID_ARGUMENT, "runtime, input and on_token must not be NULL");
    }
    mlxpack_generation_options c;
    mlxpack_generation_options_init(&c);
    if (options) c = *options;
    mlxpack::GenerationOptions g;
    g.max_tokens = c.max_tokens;
    g.temperature = c.temperature;
    g.top_p = c.top_p;
    g.top_k = c.top_k;
    g.seed = c.seed;
    mlxpack::LogitFilters f;
    if (filters) {
      // Version 1 ends after repetition_context; later versions only append.
      if (filters->struct_size < sizeof(mlxpack_logit_filters)) {
        return fail_message(MLXPACK_INVALID_ARGUMENT, "mlxpack_logit_filters.struct_size is " +
                                                          std::to_string(filters->struct_size) +
                                                          "; call mlxpack_logit_filters_init first");
      }
      f.min_p = filters->min_p;
      f.repetition_penalty = filters->repetition_penalty;
      f.repetition_context = filters->repetition_context;
    }
    size_t produced = 0;
    const mlxpack::Status s = runtime->runtime->generate(
        std::vector<int32_t>(input, input + n), g, f,
        [&](const mlxpack::TokenEvent& e) {
          ++produced;
          return on_token(user, e.id, e.logprob, e.is_stop ? 1 : 0) != 0;
        },
        nullptr);
    if (n_generated) *n_generated = produced;
    return s.is_ok() ? MLXPACK_OK : fail(s);
  });
}

mlxpack_status mlxpack_generate(mlxpack_runtime* runtime, const int32_t* input, size_t n,
                                const mlxpack_generation_options* options, mlxpack_token_callback on_token,
                                void* user, size_t* n_generated) {
  return mlxpack_generate_filtered(runtime, input, n, options, nullptr, on_token, user, n_generated);
}

void mlxpack_runtime_reset(mlxpack_runtime* runtime) {
  if (runtime != nullptr) runtime->runtime->reset();
}

}  // extern "C"
