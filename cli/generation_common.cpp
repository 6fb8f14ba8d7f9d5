#include "cli/generation_common.h"

#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "cli/flag_checks.h"
#include "mlxpack/chat_template.h"
#include "mlxpack/loader.h"

namespace mlxpack::cli {
namespace {

// --kv-cache-type's names (llama.cpp's) and the labels --verbose prints.
constexpr std::pair<const char*, KvCacheType> kKvCacheTypes[] = {
    {"f16", KvCacheType::kF16}, {"f32", KvCacheType::kF32}, {"q8_0", KvCacheType::kQ8_0}};

const char* kv_cache_type_label(KvCacheType type) {
  return type == KvCacheType::kF16 ? "F16" : type == KvCacheType::kQ8_0 ? "Q8_0" : "F32";
}

}  // namespace

void add_generation_flags(CLI::App* cmd, GenerationFlags* f) {
  cmd->add_option("--model-root,--model,-m", f->model_root, "A .mlxpack file or a Hugging Face / MLX model directory")
      ->required();
  cmd->add_option("--max-tokens,-n", f->generation.max_tokens, "Most tokens to generate (default 500)")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--temp", f->generation.temperature, "Sampling temperature; 0 = greedy (default 0)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--top-p", f->generation.top_p, "Nucleus sampling mass (default 1.0 = off)")
      ->check(open_closed_range(0.0, 1.0));
  cmd->add_option("--top-k", f->generation.top_k, "Sample among the K most likely tokens (default 0 = off)")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--min-p", f->filters.min_p,
                  "Sample only tokens at least this share as likely as the best (default 0 = off)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--repetition-penalty,--repeat-penalty", f->filters.repetition_penalty,
                  "Penalize tokens of the last --repeat-last-n (default 1.0 = off)")
      ->check(open_closed_range(0.0, 100.0));
  cmd->add_option("--repeat-last-n", f->filters.repetition_context,
                  "Recent tokens the repetition penalty looks at (default 64)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--seed", f->generation.seed, "Random seed for sampling (default 0)");
  cmd->add_option("--context-size,-c,--ctx-size", f->runtime.context_size,
                  "KV cache positions (default min(max_position_embeddings, 4096))")
      ->check(CLI::Range(2, 1 << 22));
  cmd->add_option("--num-sink-tokens", f->runtime.num_sink_tokens,
                  "Positions kept when the context is full (default 4)")
      ->check(CLI::Range(0, 1 << 22));
  cmd->add_option("--eviction-batch-percent", f->runtime.eviction_batch_percent,
                  "Share of the other positions evicted at once (default 10)")
      ->check(CLI::Range(1, 100));
  cmd->add_option_function<std::string>(
         "--kv-cache-type",
         [f](const std::string& v) {
           for (const auto& [name, type] : kKvCacheTypes) {
             if (v == name) f->runtime.kv_cache_type = type;
           }
         },
         "KV cache entries: f16 (default), f32 or q8_0 (int8 in groups of 32 with a scale each)")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}));
  cmd->add_option("--adapter-path", f->adapters.adapter_path,
                  "A LoRA adapter directory (mlx-lm's adapter_config.json + adapters.safetensors) applied at run time");
  cmd->add_flag("--no-adapter", f->adapters.ignore_bundled_adapter, "Leave a pack's bundled adapter unapplied");
  auto* draft = cmd->add_option("--draft-model", f->speculative.draft_model,
                                "Speculative decoding: a smaller model with the same tokenizer proposes tokens (same "
                                "output)");
  cmd->add_option("--num-draft-tokens", f->speculative.num_draft_tokens,
                  "Tokens proposed per step (default 3 with --draft-model, 10 with --prompt-lookup)")
      ->check(CLI::Range(1, 64));
  auto* lookup = cmd->add_flag("--prompt-lookup", f->prompt_lookup,
                               "Prompt-lookup decoding: propose what followed the last n-gram earlier in the context")
                    ->excludes(draft);
  cmd->add_option("--prompt-lookup-ngram", f->speculative.prompt_lookup_ngram,
                  "Longest n-gram --prompt-lookup matches (default 3)")
      ->check(CLI::Range(1, 64))
      ->needs(lookup);
  cmd->add_option("--system,--system-prompt", f->system, "A system message for the chat template");
  cmd->add_option("--threads,-t", f->runtime.threads, "Threads (default: one per CPU this process may use)")
      ->check(CLI::Range(0, 256));
  cmd->add_flag("--verbose,-v", f->verbose, "Print the model, kernels and a per-stage timing table");
  cmd->add_flag("--no-verify", f->no_verify, "Skip checking the pack's checksums before the first token");
}

Status verify_before_run(const GenerationFlags& flags) {
  std::error_code ec;
  if (flags.no_verify || std::filesystem::is_directory(flags.model_root, ec)) return Status::ok();
  OpenOptions options;
  options.verify = VerifyMode::kAtOpen;
  options.verify_threads = 1;
  auto reader = Reader::open(flags.model_root, options);
  return reader.is_ok() ? Status::ok() : reader.status();
}

Result<std::unique_ptr<Runtime>> open_verified(const GenerationFlags& flags) {
  std::future<Status> verified = std::async(std::launch::async, [&flags] { return verify_before_run(flags); });
  auto opened = Runtime::open(flags.model_root, flags.runtime, flags.adapters);
  MLXPACK_RETURN_IF_ERROR(verified.get());
  if (opened.is_ok() && (!flags.speculative.draft_model.empty() || flags.prompt_lookup)) {
    SpeculativeOptions speculative = flags.speculative;
    if (flags.prompt_lookup && speculative.prompt_lookup_ngram == 0) speculative.prompt_lookup_ngram = 3;
    MLXPACK_RETURN_IF_ERROR((*opened)->set_speculation(speculative));
  }
  return opened;
}

Result<std::string> render_chat(const Runtime& runtime, const std::vector<Message>& messages) {
  if (runtime.chat_template_source().empty()) {
    return Status::not_found("the model has no chat template (use --no-chat-template to feed the prompt as is)");
  }
  MLXPACK_ASSIGN_OR_RETURN(ChatTemplate tmpl, ChatTemplate::parse(runtime.chat_template_source()));
  nlohmann::json context;
  context["messages"] = nlohmann::json::array();
  for (const Message& m : messages) context["messages"].push_back({{"role", m.first}, {"content", m.second}});
  context["add_generation_prompt"] = true;
  context["bos_token"] = runtime.bos_token();
  context["eos_token"] = runtime.eos_token();
  return tmpl.render(context.dump());
}

uint64_t peak_rss_bytes() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

void print_stats(const Runtime& runtime, const GenerationStats& s, bool verbose) {
  const double prefill_tps = s.prefill_s > 0 ? s.prompt_tokens / s.prefill_s : 0;
  // The first token comes from the prefill's logits; decode steps are the rest.
  const int decode_steps = s.generated_tokens > 1 ? s.generated_tokens - 1 : 0;
  const double decode_tps = s.decode_s > 0 ? decode_steps / s.decode_s : 0;
  std::fprintf(stderr,
               "\nprompt tokens: %d, generated tokens: %d, time to first token: %.1f ms, prefill: %.1f tokens/s, "
               "decode: %.1f tokens/s, peak RSS: %.1f MiB%s\n",
               s.prompt_tokens, s.generated_tokens, s.time_to_first_token_s * 1e3, prefill_tps, decode_tps,
               peak_rss_bytes() / 1048576.0, s.evictions ? (", evictions: " + std::to_string(s.evictions)).c_str() : "");
  if (!verbose) return;
  const StageSeconds& t = s.stages;
  const double total = t.embedding + t.attention + t.mlp + t.lm_head + t.sampling;
  std::fprintf(stderr, "%-12s %10s %7s\n", "stage", "ms", "share");
  const std::pair<const char*, double> rows[] = {{"embedding", t.embedding}, {"attention", t.attention},
                                                 {"mlp", t.mlp},             {"lm_head", t.lm_head},
                                                 {"sampling", t.sampling}};
  for (const auto& [name, sec] : rows) {
    std::fprintf(stderr, "%-12s %10.2f %6.1f%%\n", name, sec * 1e3, total > 0 ? 100.0 * sec / total : 0.0);
  }
  std::fprintf(stderr, "%-12s %10.2f\n", "total", total * 1e3);
  std::fprintf(stderr,
               "model: %s, weights %s (%.1f MiB in place), KV cache %s %.1f MiB for %d positions, kernels %s\n",
               runtime.architecture().c_str(), runtime.weights_summary().c_str(), runtime.weight_bytes() / 1048576.0,
               kv_cache_type_label(runtime.kv_cache_type()), runtime.kv_cache_bytes() / 1048576.0,
               runtime.context_size(), runtime.kernel_name());
  const SpeculationStats& sp = runtime.speculation_stats();
  if (sp.num_draft_tokens == 0 || decode_steps == 0) return;
  // Without proposals each decoded token would take about one single step.
  std::fprintf(stderr,
               "speculative: %d tokens proposed (up to %d a step), %d accepted (%.1f%%); %d model passes for %d "
               "decoded tokens (%.2f a pass); proposing took %.1f ms; speed-up %.2fx (%d x the single step's %.2f "
               "ms against the decode's %.1f ms)\n",
               sp.drafted, sp.num_draft_tokens, sp.accepted, sp.drafted > 0 ? 100.0 * sp.accepted / sp.drafted : 0.0,
               sp.model_passes, decode_steps, sp.model_passes > 0 ? double(decode_steps) / sp.model_passes : 0.0,
               sp.draft_s * 1e3, s.decode_s > 0 ? decode_steps * sp.single_step_s / s.decode_s : 0.0, decode_steps,
               sp.single_step_s * 1e3, s.decode_s * 1e3);
}

}  // namespace mlxpack::cli
