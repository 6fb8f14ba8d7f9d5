#include "mlxpack/runtime.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "format/cpu_features.h"
#include "format/lora_adapter.h"
#include "mlxpack/chat_template.h"
#include "mlxpack/model_source.h"
#include "runtime/engine/context_window.h"
#include "runtime/engine/drafter.h"
#include "runtime/engine/model_config.h"
#include "runtime/engine/model_weights.h"
#include "runtime/engine/sampler.h"
#include "runtime/engine/thread_pool.h"
#include "runtime/engine/transformer.h"
#include "runtime/kernels/kernel_table.h"
#include "runtime/kernels/linear.h"
#include "runtime/template/model_template.h"
#include "runtime/tokenizer/hf_tokenizer.h"

namespace mlxpack {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Messages name the option's field ("RuntimeOptions.threads"); the CLI
// shows its flag instead (cli/flag_checks.cpp).
Status check_option(const char* name, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    return Status::invalid_argument(std::string(name) + " is " + std::to_string(value) + ", outside [" +
                                    std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return Status::ok();
}

// config.json of `src`, with generation_config.json's fields merged in.
Result<engine::ModelConfig> read_model_config(const ModelSource& src) {
  if (!src.has_file("config.json")) return Status::not_found(src.describe("config.json") + ": missing");
  MLXPACK_ASSIGN_OR_RETURN(std::string config_text, src.file("config.json"));
  MLXPACK_ASSIGN_OR_RETURN(engine::ModelConfig config,
                           engine::parse_model_config(config_text, src.describe("config.json")));
  if (src.has_file("generation_config.json")) {
    MLXPACK_ASSIGN_OR_RETURN(std::string gen, src.file("generation_config.json"));
    MLXPACK_RETURN_IF_ERROR(engine::merge_generation_config(gen, src.describe("generation_config.json"), &config));
  }
  return config;
}

// The machine's physical memory in bytes, 0 if unknown.
uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

// The draft model of Runtime::set_speculation, sized as `model` (context,
// batch, cache type) and sharing its pool. Its tokenizer must have as many
// tokens as `tokenizer`: proposals are ids of one vocabulary.
Result<std::unique_ptr<engine::Transformer>> open_draft(const ModelSource& src, const Tokenizer& tokenizer,
                                                        const engine::Transformer& model, engine::ThreadPool* pool) {
  MLXPACK_ASSIGN_OR_RETURN(engine::ModelConfig config, read_model_config(src));
  MLXPACK_ASSIGN_OR_RETURN(engine::ModelWeights weights, engine::bind_weights(src, config));
  MLXPACK_ASSIGN_OR_RETURN(std::optional<tokenizer::TokenizerConfig> tok_config, tokenizer::read_tokenizer_config(src));
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> draft_tokenizer,
                           tokenizer::load_tokenizer(src, tok_config, TokenizerLimits{}));
  if (draft_tokenizer->vocab_size() != tokenizer.vocab_size()) {
    return Status::invalid_argument("its tokenizer has " + std::to_string(draft_tokenizer->vocab_size()) +
                                    " tokens and the model's " + std::to_string(tokenizer.vocab_size()) +
                                    ": a draft model must share the model's vocabulary");
  }
  const engine::KvCache& cache = model.cache();
  const uint64_t kv_bytes = engine::KvCache::bytes_for(config.num_layers, cache.capacity(), config.num_kv_heads,
                                                       config.head_dim, cache.type());
  const uint64_t memory = physical_memory();
  if (memory > 0 && kv_bytes + cache.bytes() > memory) {
    return Status::invalid_argument("its KV cache would take " + std::to_string(kv_bytes) + " bytes, more than the " +
                                    std::to_string(memory - std::min(memory, cache.bytes())) +
                                    " this machine's memory leaves beside the model's");
  }
  return std::make_unique<engine::Transformer>(config, std::move(weights), pool, cache.capacity(), model.max_batch(),
                                               cache.type());
}

}  // namespace

struct Runtime::Impl {
  RuntimeOptions options;
  std::unique_ptr<ModelSource> source;
  std::unique_ptr<Tokenizer> tokenizer;
  ModelChatTemplate chat;
  std::unique_ptr<engine::ThreadPool> pool;
  std::unique_ptr<engine::Transformer> model;
  std::vector<int32_t> eos_ids;
  std::vector<float> logits;
  std::vector<float> exps;  // scratch of the log-softmax
  std::vector<float> penalized;  // logits after the repetition penalty
  // The context's most recent tokens, for the repetition penalty: appended
  // as tokens are fed or generated, trimmed to at most 2 * kMaxHistory.
  std::vector<int32_t> history;
  static constexpr size_t kMaxHistory = 1 << 20;
  void remember(const int32_t* ids, size_t n) {
    history.insert(history.end(), ids, ids + n);
    if (history.size() > 2 * kMaxHistory) history.erase(history.begin(), history.end() - kMaxHistory);
  }

  // Makes room for `incoming` more positions; returns evictions made.
  Result<int> make_room(int incoming);

  // Speculative decoding (set_speculation): the drafter, tokens per
  // proposal, the draft model's files (its weights are read in place), the
  // logits of a proposal batch, and the last generation's figures.
  std::unique_ptr<ModelSource> draft_source;
  std::unique_ptr<engine::Drafter> drafter;
  int num_draft = 0;
  std::vector<float> batch_logits;
  std::vector<int32_t> proposal;
  SpeculationStats speculation;
};

Runtime::Runtime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Runtime::~Runtime() = default;

Result<std::unique_ptr<Runtime>> Runtime::open(const std::string& model_root, const RuntimeOptions& options) {
  return open(model_root, options, AdapterOptions{});
}

Result<std::unique_ptr<Runtime>> Runtime::open(const std::string& model_root, const RuntimeOptions& options,
                                               const AdapterOptions& adapters) {
  // Sizes are checked before allocating; an allocation that fails anyway
  // (memory taken by others meanwhile) becomes an error here.
  try {
    return open_unguarded(model_root, options, adapters);
  } catch (const std::bad_alloc&) {
    return Status::out_of_memory(model_root + ": out of memory while loading the model");
  }
}

Result<std::unique_ptr<Runtime>> Runtime::open_unguarded(const std::string& model_root, const RuntimeOptions& options,
                                                         const AdapterOptions& adapters) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  MLXPACK_RETURN_IF_ERROR(check_option("RuntimeOptions.threads", options.threads, 0, 256));
  MLXPACK_RETURN_IF_ERROR(check_option("RuntimeOptions.context_size", options.context_size, 0, 1 << 22));
  MLXPACK_RETURN_IF_ERROR(check_option("RuntimeOptions.eviction_batch_percent", options.eviction_batch_percent, 1, 100));
  MLXPACK_RETURN_IF_ERROR(check_option("RuntimeOptions.prefill_batch", options.prefill_batch, 1, 4096));

  MLXPACK_ASSIGN_OR_RETURN(impl->source, ModelSource::open(model_root));
  const ModelSource& src = *impl->source;
  MLXPACK_ASSIGN_OR_RETURN(engine::ModelConfig config, read_model_config(src));
  MLXPACK_ASSIGN_OR_RETURN(engine::ModelWeights weights, engine::bind_weights(src, config));

  // tokenizer_config.json serves both the tokenizer and the chat template.
  MLXPACK_ASSIGN_OR_RETURN(std::optional<tokenizer::TokenizerConfig> tok_config, tokenizer::read_tokenizer_config(src));
  Result<std::unique_ptr<Tokenizer>> tok = tokenizer::load_tokenizer(src, tok_config, TokenizerLimits{});
  if (!tok.is_ok()) {
    return tok.status().with_context(model_root + ": no usable tokenizer (tokenizer.json or tokenizer.model)");
  }
  impl->tokenizer = std::move(tok).value();
  if (impl->tokenizer->vocab_size() > static_cast<size_t>(config.vocab_size)) {
    return Status::invalid_argument(model_root + ": the tokenizer has " + std::to_string(impl->tokenizer->vocab_size()) +
                                    " tokens but config.json's vocab_size is " + std::to_string(config.vocab_size));
  }
  Result<ModelChatTemplate> chat = find_chat_template(src, tok_config);
  if (chat.is_ok()) {
    impl->chat = std::move(chat).value();
  } else if (chat.status().code() != StatusCode::kNotFound) {
    return chat.status();
  }
#if defined(__GLIBC__)
  // Loading tokenizer.json builds and frees a JSON tree of tens of MiB in
  // small blocks, which glibc keeps mapped. Hand those pages back before the
  // weights become resident, so they do not count in the generation's RSS.
  malloc_trim(0);
#endif

  const int context = options.context_size > 0 ? options.context_size : std::min(config.max_position_embeddings, 4096);
  if (options.num_sink_tokens < 0 || options.num_sink_tokens >= context - 1) {
    return Status::invalid_argument("RuntimeOptions.num_sink_tokens is " + std::to_string(options.num_sink_tokens) +
                                    ", but must be at least 0 and leave room in a context of " +
                                    std::to_string(context) + " (at most " + std::to_string(context - 2) + ")");
  }
  for (int id : config.eos_token_ids) impl->eos_ids.push_back(id);
  impl->pool = std::make_unique<engine::ThreadPool>(options.threads > 0 ? options.threads : available_cpus());
  const int batch = std::min(options.prefill_batch, context);
  impl->logits.resize(static_cast<size_t>(config.vocab_size));
  const engine::KvType kv = options.kv_cache_type == KvCacheType::kF16   ? engine::KvType::kF16
                            : options.kv_cache_type == KvCacheType::kQ8_0 ? engine::KvType::kQ8_0
                                                                          : engine::KvType::kF32;
  // Keys and values of every layer for every position, checked against the
  // machine's memory before anything is allocated (each factor is bounded,
  // so the product fits in 64 bits).
  const uint64_t kv_bytes =
      engine::KvCache::bytes_for(config.num_layers, context, config.num_kv_heads, config.head_dim, kv);
  const uint64_t memory = physical_memory();
  if (memory > 0 && kv_bytes > memory) {
    return Status::invalid_argument("RuntimeOptions.context_size " + std::to_string(context) + ": the KV cache would take " +
                                    std::to_string(kv_bytes) + " bytes, more than this machine's " +
                                    std::to_string(memory) + " bytes of memory");
  }
  impl->model =
      std::make_unique<engine::Transformer>(config, std::move(weights), impl->pool.get(), context, batch, kv);
  if (!adapters.adapter_path.empty()) {
    MLXPACK_ASSIGN_OR_RETURN(LoraAdapter adapter, read_lora_adapter(adapters.adapter_path));
    MLXPACK_RETURN_IF_ERROR(impl->model->attach_adapter(std::move(adapter)).with_context(adapters.adapter_path));
  } else if (!adapters.ignore_bundled_adapter && src.has_file(kBundledAdapterConfig)) {
    MLXPACK_ASSIGN_OR_RETURN(std::string config_json, src.file(kBundledAdapterConfig));
    MLXPACK_ASSIGN_OR_RETURN(std::string weights, src.file(kBundledAdapterWeights));
    const std::string label = src.describe("adapter");
    MLXPACK_ASSIGN_OR_RETURN(LoraAdapter adapter, parse_lora_adapter(config_json, weights, label));
    MLXPACK_RETURN_IF_ERROR(impl->model->attach_adapter(std::move(adapter)).with_context(label));
  }
  return std::unique_ptr<Runtime>(new Runtime(std::move(impl)));
}

const Tokenizer& Runtime::tokenizer() const { return *impl_->tokenizer; }
const std::string& Runtime::chat_template_source() const { return impl_->chat.source; }
const std::string& Runtime::bos_token() const { return impl_->chat.bos_token; }
const std::string& Runtime::eos_token() const { return impl_->chat.eos_token; }
std::string Runtime::architecture() const { return impl_->model->config().arch.model_type; }
std::string Runtime::weights_summary() const { return impl_->model->weights().description; }
uint64_t Runtime::weight_bytes() const { return impl_->model->weights().weight_bytes; }
uint64_t Runtime::kv_cache_bytes() const { return impl_->model->cache().bytes(); }
KvCacheType Runtime::kv_cache_type() const {
  switch (impl_->model->cache().type()) {
    case engine::KvType::kF16: return KvCacheType::kF16;
    case engine::KvType::kQ8_0: return KvCacheType::kQ8_0;
    case engine::KvType::kF32: break;
  }
  return KvCacheType::kF32;
}
int Runtime::context_size() const { return impl_->model->cache().capacity(); }
int Runtime::context_length() const { return impl_->model->cache().length(); }
int Runtime::vocab_size() const { return impl_->model->config().vocab_size; }
int Runtime::bos_token_id() const { return impl_->model->config().bos_token_id; }
const std::vector<int32_t>& Runtime::eos_token_ids() const { return impl_->eos_ids; }
const char* Runtime::kernel_name() const { return kernels::active_table()->name; }
void Runtime::reset() {
  impl_->model->cache().set_length(0);
  impl_->history.clear();
  if (impl_->drafter) impl_->drafter->reset();
}

const SpeculationStats& Runtime::speculation_stats() const { return impl_->speculation; }

Status Runtime::set_speculation(const SpeculativeOptions& options) {
  if (!options.draft_model.empty() && options.prompt_lookup_ngram > 0) {
    return Status::invalid_argument("SpeculativeOptions: a draft model and prompt lookup are two ways to propose "
                                    "tokens; choose one");
  }
  MLXPACK_RETURN_IF_ERROR(check_option("SpeculativeOptions.prompt_lookup_ngram", options.prompt_lookup_ngram, 0, 64));
  MLXPACK_RETURN_IF_ERROR(check_option("SpeculativeOptions.num_draft_tokens", options.num_draft_tokens, 0, 64));
  Impl& impl = *impl_;
  const engine::Transformer& model = *impl.model;
  if (!options.draft_model.empty()) {
    const std::string label = "draft model " + options.draft_model;
    Result<std::unique_ptr<ModelSource>> source = ModelSource::open(options.draft_model);
    if (!source.is_ok()) return source.status().with_context(label);
    Result<std::unique_ptr<engine::Transformer>> draft = open_draft(**source, *impl.tokenizer, model, impl.pool.get());
    if (!draft.is_ok()) return draft.status().with_context(label);
    impl.drafter = std::make_unique<engine::ModelDrafter>(std::move(draft).value(), impl.options.num_sink_tokens,
                                                          impl.options.eviction_batch_percent,
                                                          model.config().vocab_size);
    impl.draft_source = std::move(source).value();
    impl.num_draft = options.num_draft_tokens > 0 ? options.num_draft_tokens : 3;
  } else if (options.prompt_lookup_ngram > 0) {
    impl.drafter = std::make_unique<engine::PromptLookupDrafter>(options.prompt_lookup_ngram);
    impl.draft_source.reset();
    impl.num_draft = options.num_draft_tokens > 0 ? options.num_draft_tokens : 10;
  } else {
    impl.drafter.reset();
    impl.draft_source.reset();
    impl.num_draft = 0;
  }
  // A proposal and the token before it run as one batch.
  impl.num_draft = std::min(impl.num_draft, model.max_batch() - 1);
  impl.batch_logits.resize(static_cast<size_t>(impl.num_draft + 1) * model.config().vocab_size);
  return Status::ok();
}

Result<int> Runtime::Impl::make_room(int incoming) {
  return engine::make_room(*model, options.num_sink_tokens, options.eviction_batch_percent, incoming);
}

Status Runtime::feed(const std::vector<int32_t>& input) {
  const int vocab = impl_->model->config().vocab_size;
  for (size_t i = 0; i < input.size(); ++i) {
    if (input[i] < 0 || input[i] >= vocab) {
      return Status::invalid_argument("token id " + std::to_string(input[i]) + " at position " + std::to_string(i) +
                                      " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
  }
  if (input.empty()) return Status::ok();
  // Eviction must not split a chunk, so the check covers the whole input.
  MLXPACK_ASSIGN_OR_RETURN(int evicted, impl_->make_room(static_cast<int>(input.size())));
  (void)evicted;
  const int batch = impl_->model->max_batch();
  for (size_t i = 0; i < input.size(); i += batch) {
    const int n = static_cast<int>(std::min<size_t>(batch, input.size() - i));
    impl_->model->forward(input.data() + i, n, impl_->logits.data());
  }
  impl_->remember(input.data(), input.size());
  return Status::ok();
}

Status Runtime::generate(const std::vector<int32_t>& input, const GenerationOptions& options,
                         const std::function<bool(const TokenEvent&)>& on_token, GenerationStats* stats) {
  return generate(input, options, LogitFilters{}, on_token, stats);
}

Status Runtime::generate(const std::vector<int32_t>& input, const GenerationOptions& options,
                         const LogitFilters& filters, const std::function<bool(const TokenEvent&)>& on_token,
                         GenerationStats* stats) {
  if (!(filters.min_p >= 0.0f && filters.min_p <= 1.0f)) {
    return Status::invalid_argument("LogitFilters.min_p is " + std::to_string(filters.min_p) + ", outside [0, 1]");
  }
  if (!(filters.repetition_penalty > 0.0f && filters.repetition_penalty <= 100.0f)) {
    return Status::invalid_argument("LogitFilters.repetition_penalty is " + std::to_string(filters.repetition_penalty) +
                                    ", outside (0, 100]");
  }
  MLXPACK_RETURN_IF_ERROR(check_option("LogitFilters.repetition_context", filters.repetition_context, 0,
                                       static_cast<int>(Impl::kMaxHistory)));
  if (input.empty()) return Status::invalid_argument("the prompt is empty: give text or token ids");
  MLXPACK_RETURN_IF_ERROR(check_option("GenerationOptions.max_tokens", options.max_tokens, 0, 1 << 30));
  MLXPACK_RETURN_IF_ERROR(check_option("GenerationOptions.top_k", options.top_k, 0, 1 << 30));
  MLXPACK_RETURN_IF_ERROR(check_option("GenerationOptions.logprobs", options.logprobs, 0, 1000));
  if (!(options.temperature >= 0.0f && options.temperature <= 100.0f)) {
    return Status::invalid_argument("GenerationOptions.temperature is " + std::to_string(options.temperature) + ", outside [0, 100]");
  }
  if (!(options.top_p > 0.0f && options.top_p <= 1.0f)) {
    return Status::invalid_argument("GenerationOptions.top_p is " + std::to_string(options.top_p) + ", outside (0, 1]");
  }
  GenerationStats local;
  GenerationStats& st = stats != nullptr ? *stats : local;
  st = GenerationStats{};
  engine::Transformer& model = *impl_->model;
  model.times() = engine::StageTimes{};
  const int vocab = model.config().vocab_size;
  const auto start = Clock::now();
  MLXPACK_RETURN_IF_ERROR(feed(input));
  st.prompt_tokens = static_cast<int>(input.size());
  st.prefill_s = seconds_since(start);

  engine::Sampler sampler({options.temperature, options.top_p, options.top_k, options.seed, filters.min_p});
  const bool penalize = filters.repetition_penalty != 1.0f && filters.repetition_context > 0;
  const auto decode_start = Clock::now();
  double sampling = 0;
  TokenEvent event;
  int produced = 0;
  // Samples the token after `logits` and hands it to on_token; false once
  // generation ends (a stop token, the callback, max_tokens).
  const auto emit = [&](const float* logits) {
    const auto s0 = Clock::now();
    const float* to_sample = logits;
    if (penalize) {  // on a copy: logprobs stay the model's own
      impl_->penalized.assign(logits, logits + vocab);
      const std::vector<int32_t>& h = impl_->history;
      const size_t n = std::min(h.size(), static_cast<size_t>(filters.repetition_context));
      engine::apply_repetition_penalty(impl_->penalized.data(), vocab, h.data() + h.size() - n, n,
                                       filters.repetition_penalty);
      to_sample = impl_->penalized.data();
    }
    event.id = sampler.sample(to_sample, vocab);
    impl_->remember(&event.id, 1);
    const auto sum = options.logprobs > 0 ? engine::LogSoftmax::Sum::kExact : engine::LogSoftmax::Sum::kFast;
    const engine::LogSoftmax log_probs(logits, vocab, sum, &impl_->exps);
    event.logprob = log_probs(event.id);
    event.top_logprobs.clear();
    if (options.logprobs > 0) {
      for (auto [id, lp] : log_probs.top(options.logprobs)) event.top_logprobs.emplace_back(id, lp);
    }
    event.is_stop = std::find(impl_->eos_ids.begin(), impl_->eos_ids.end(), event.id) != impl_->eos_ids.end();
    sampling += seconds_since(s0);
    if (produced == 0) st.time_to_first_token_s = seconds_since(start);
    ++produced;
    ++st.generated_tokens;
    const bool keep_going = on_token(event);
    if (event.is_stop) st.stopped_at_eos = true;
    return keep_going && !event.is_stop && produced < options.max_tokens;
  };
  SpeculationStats& spec = impl_->speculation;
  spec = SpeculationStats{};
  spec.num_draft_tokens = impl_->drafter ? impl_->num_draft : 0;
  bool going = options.max_tokens > 0 && emit(impl_->logits.data());
  while (going) {
    const int32_t last = event.id;
    // A proposal goes with `last` in one batch, only where it fits without
    // an eviction (so the context evicts when a single step would) and
    // after one single step (timed for the figures).
    int room = std::min({impl_->num_draft, options.max_tokens - produced - 1,
                         model.cache().capacity() - model.cache().length() - 1});
    impl_->proposal.clear();
    if (impl_->drafter && room > 0 && spec.model_passes > 0) {
      const auto d0 = Clock::now();
      impl_->drafter->draft(impl_->history, room, &impl_->proposal);
      spec.draft_s += seconds_since(d0);
    }
    ++spec.model_passes;
    if (impl_->proposal.empty()) {
      MLXPACK_ASSIGN_OR_RETURN(int evicted, impl_->make_room(1));
      st.evictions += evicted;
      const auto f0 = Clock::now();
      model.forward(&last, 1, impl_->logits.data());
      if (spec.model_passes == 1) spec.single_step_s = seconds_since(f0);
      going = emit(impl_->logits.data());
      continue;
    }
    // [last, d1..dk]: row i is what follows d_i; d_{i+1} stays while it is
    // the token sampled from row i.
    std::vector<int32_t>& batch = impl_->proposal;
    batch.insert(batch.begin(), last);
    const int k = static_cast<int>(batch.size()) - 1;
    const int before = model.cache().length();
    model.forward(batch.data(), k + 1, impl_->batch_logits.data(), /*all_logits=*/true);
    spec.drafted += k;
    int row = 0;
    for (;; ++row) {
      going = emit(&impl_->batch_logits[static_cast<size_t>(row) * vocab]);
      if (!going || row == k || event.id != batch[row + 1]) break;
      ++spec.accepted;
    }
    model.cache().set_length(before + 1 + row);
  }
  st.decode_s = seconds_since(decode_start);
  const engine::StageTimes& t = model.times();
  st.stages = {t.embedding, t.attention, t.mlp, t.lm_head, sampling};
  return Status::ok();
}

// ---- TextStreamer ----

TextStreamer::TextStreamer(const Tokenizer& tokenizer, int32_t anchor) : tokenizer_(tokenizer) {
  if (anchor >= 0) {
    segment_.push_back(anchor);
    has_anchor_ = true;
  }
}

std::string TextStreamer::decode_segment() const {
  DecodeOptions options;
  options.skip_special_tokens = true;
  options.clean_up_tokenization_spaces = false;
  Result<std::string> full = tokenizer_.decode(segment_, options);
  if (!full.is_ok()) return std::string();
  if (!has_anchor_) return *full;
  Result<std::string> anchor = tokenizer_.decode({segment_[0]}, options);
  if (anchor.is_ok() && full->compare(0, anchor->size(), *anchor) == 0) return full->substr(anchor->size());
  std::vector<int32_t> rest(segment_.begin() + 1, segment_.end());
  Result<std::string> plain = tokenizer_.decode(rest, options);
  return plain.is_ok() ? *plain : std::string();
}

std::string TextStreamer::push(int32_t id) {
  // Ids past the tokenizer's vocabulary (a model's padding rows) have no text.
  if (id < 0 || static_cast<size_t>(id) >= tokenizer_.vocab_size()) return std::string();
  segment_.push_back(id);
  const std::string text = decode_segment();
  // Hold back trailing U+FFFD: bytes of a character whose other bytes are
  // still to come.
  size_t end = text.size();
  while (end >= 3 && text.compare(end - 3, 3, "\xEF\xBF\xBD") == 0) end -= 3;
  std::string out = end > emitted_ ? text.substr(emitted_, end - emitted_) : std::string();
  emitted_ = std::max(emitted_, end);
  if (end == text.size() && !text.empty() && text.back() == '\n') {
    // A line is done: start a new segment anchored on this token, keeping
    // the decode cost per token bounded by the line length.
    segment_.assign(1, id);
    has_anchor_ = true;
    emitted_ = 0;
  }
  return out;
}

std::string TextStreamer::flush() {
  const std::string text = decode_segment();
  std::string out = text.size() > emitted_ ? text.substr(emitted_) : std::string();
  emitted_ = text.size();
  return out;
}

}  // namespace mlxpack
