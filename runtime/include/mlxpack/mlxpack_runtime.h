/* Generation through C: open a model (a .mlxpack file or a model directory),
 * encode and decode text, render its chat template, generate token by token.
 * C99; errors, exceptions and mlxpack_free as in mlxpack/mlxpack.h.
 *
 * Threads. A runtime holds one conversation (its KV cache): use it from one
 * thread at a time. Encoding, decoding and rendering may run on many threads
 * at once; mlxpack_runtime_close must not run concurrently with other uses.
 *
 * Lifetime. Buffers returned (ids, text) belong to the caller, who frees them
 * with mlxpack_free. */
#ifndef MLXPACK_RUNTIME_C_API_H_
#define MLXPACK_RUNTIME_C_API_H_

#include <stddef.h>
#include <stdint.h>

#include "mlxpack/export.h"
#include "mlxpack/mlxpack.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mlxpack_runtime mlxpack_runtime;

/* threads: 0 = one per CPU this process may use (affinity); context_size: 0 = min(the model's, 4096). */
MLXPACK_API mlxpack_status mlxpack_runtime_open(const char* model_root, int threads, int context_size,
                                                mlxpack_runtime** out);
/* As mlxpack_runtime_open, with a LoRA adapter directory (mlx-lm's adapter_config.json and
   adapters.safetensors) applied at run time on top of the base weights; adapter_path NULL or
   "" = none. An adapter that cannot be read or does not fit the model is an error naming it. */
MLXPACK_API mlxpack_status mlxpack_runtime_open_with_adapter(const char* model_root, int threads, int context_size,
                                                             const char* adapter_path, mlxpack_runtime** out);

/* The KV cache's entries (mlxpack/runtime.h's KvCacheType): F16, F32, or
 * Q8_0 (int8 in groups of up to 32 values with an F16 scale each). */
typedef enum mlxpack_kv_cache_type {
  MLXPACK_KV_CACHE_F16 = 0,
  MLXPACK_KV_CACHE_F32 = 1,
  MLXPACK_KV_CACHE_Q8_0 = 2
} mlxpack_kv_cache_type;

/* Everything mlxpack_runtime_open can be told, versioned as
 * mlxpack_logit_filters: mlxpack_runtime_options_init sets struct_size and
 * the defaults, fields added later go at the end. */
typedef struct mlxpack_runtime_options {
  uint32_t struct_size;
  int threads;              /* 0 = one per CPU this process may use */
  int context_size;         /* 0 = min(the model's, 4096) */
  const char* adapter_path; /* NULL = none (a pack's bundled adapter applies) */
  int kv_cache_type;        /* an mlxpack_kv_cache_type; MLXPACK_KV_CACHE_F16 */
  /* Speculative decoding (mlxpack/runtime.h's SpeculativeOptions): a draft
   * model with the same tokenizer (NULL = none), or prompt lookup over
   * n-grams of up to prompt_lookup_ngram tokens (0 = off), proposing
   * num_draft_tokens a step (0 = 3 with a draft model, 10 with lookup).
   * The tokens generated are those generated without it. */
  const char* draft_model;
  int prompt_lookup_ngram;
  int num_draft_tokens;
} mlxpack_runtime_options;

MLXPACK_API void mlxpack_runtime_options_init(mlxpack_runtime_options* options);
/* mlxpack_runtime_open with `options` (NULL: the defaults).
 * MLXPACK_INVALID_ARGUMENT for a struct_size smaller than the first
 * version's, a kv_cache_type not in the enum, or speculative options out
 * of range (both a draft model and lookup, a count outside 0..64); a draft
 * model's errors name it. */
MLXPACK_API mlxpack_status mlxpack_runtime_open_with_options(const char* model_root,
                                                             const mlxpack_runtime_options* options,
                                                             mlxpack_runtime** out);
MLXPACK_API void mlxpack_runtime_close(mlxpack_runtime* runtime); /* NULL is allowed */

MLXPACK_API int32_t mlxpack_runtime_vocab_size(const mlxpack_runtime* runtime);
/* The cache's entry type (an mlxpack_kv_cache_type) and its bytes for the
 * whole context. */
MLXPACK_API int mlxpack_runtime_kv_cache_type(const mlxpack_runtime* runtime);
MLXPACK_API uint64_t mlxpack_runtime_kv_cache_bytes(const mlxpack_runtime* runtime);
/* What the last generation did with speculative proposals: tokens
 * proposed, accepted, and the model's decode passes (any may be NULL). */
MLXPACK_API void mlxpack_runtime_speculation_stats(const mlxpack_runtime* runtime, int* drafted, int* accepted,
                                                   int* model_passes);
/* The model's BOS id, -1 if it has none. */
MLXPACK_API int32_t mlxpack_runtime_bos_id(const mlxpack_runtime* runtime);

/* Token ids of `text` (`size` bytes of UTF-8), with the model's special
 * tokens (BOS, ...) when add_special_tokens is nonzero. *ids: a buffer of *n
 * ids the caller frees with mlxpack_free. */
MLXPACK_API mlxpack_status mlxpack_encode(const mlxpack_runtime* runtime, const char* text, size_t size,
                                          int add_special_tokens, int32_t** ids, size_t* n);
/* The text of `ids`; special tokens left out when skip_special_tokens is
 * nonzero. *text: NUL-terminated, *size bytes before the NUL. */
MLXPACK_API mlxpack_status mlxpack_decode(const mlxpack_runtime* runtime, const int32_t* ids, size_t n,
                                          int skip_special_tokens, char** text, size_t* size);
/* The model's chat template rendered with `context_json` (an object:
 * "messages", "add_generation_prompt", tools, ...; bos_token and eos_token
 * are added when absent). MLXPACK_NOT_FOUND if the model has no template. */
MLXPACK_API mlxpack_status mlxpack_apply_chat_template(const mlxpack_runtime* runtime, const char* context_json,
                                                       char** text, size_t* size);

typedef struct mlxpack_generation_options {
  int max_tokens;     /* 500 */
  float temperature;  /* 0 = greedy */
  float top_p;        /* 1 = no limit */
  int top_k;          /* 0 = no limit */
  uint64_t seed;
} mlxpack_generation_options;

/* The defaults above. */
MLXPACK_API void mlxpack_generation_options_init(mlxpack_generation_options* options);

/* Called once per generated token: its id, its log-probability and whether it
 * is an end-of-sequence id (generation ends after it). Return nonzero to go
 * on, 0 to stop. */
typedef int (*mlxpack_token_callback)(void* user, int32_t id, float logprob, int is_stop);

/* Appends `input` to the conversation and generates. options may be NULL
 * (the defaults). *n_generated (may be NULL): how many tokens were passed to
 * on_token. */
MLXPACK_API mlxpack_status mlxpack_generate(mlxpack_runtime* runtime, const int32_t* input, size_t n,
                                            const mlxpack_generation_options* options,
                                            mlxpack_token_callback on_token, void* user, size_t* n_generated);

/* Samplers added after mlxpack_generation_options' layout was fixed by ABI 1.
 * struct_size is set by mlxpack_logit_filters_init to this version's size:
 * fields added later go at the end, and a library reads only the fields a
 * caller's struct_size covers (the rest keep their defaults). */
typedef struct mlxpack_logit_filters {
  uint32_t struct_size;
  /* Keep only tokens whose probability (after temperature) is at least min_p
   * times the most likely one's; 0 = off, at most 1. Ignored when greedy. */
  float min_p;
  /* Divides positive logits and multiplies negative ones of every token among
   * the last repetition_context tokens of the context (prompt and generated),
   * greedy included; 1 = off, in (0, 100]. */
  float repetition_penalty;
  int repetition_context; /* 64 */
} mlxpack_logit_filters;

/* The defaults above, and struct_size. */
MLXPACK_API void mlxpack_logit_filters_init(mlxpack_logit_filters* filters);

/* mlxpack_generate with the samplers of `filters` (may be NULL: the
 * defaults). MLXPACK_INVALID_ARGUMENT for a struct_size smaller than the
 * first version's or a value out of its range. */
MLXPACK_API mlxpack_status mlxpack_generate_filtered(mlxpack_runtime* runtime, const int32_t* input, size_t n,
                                                     const mlxpack_generation_options* options,
                                                     const mlxpack_logit_filters* filters,
                                                     mlxpack_token_callback on_token, void* user,
                                                     size_t* n_generated);

/* Forgets the conversation (empties the KV cache). */
MLXPACK_API void mlxpack_runtime_reset(mlxpack_runtime* runtime);

#ifdef __cplusplus
}
#endif

#endif /* MLXPACK_RUNTIME_C_API_H_ */
