// mlxpack tokenizer: text to token ids and back, exactly as the Hugging Face
// reference implementations do it for the model's own tokenizer files.
//
// Sources:
//   - tokenizer.json (Hugging Face `tokenizers`): BPE models of both families,
//     byte-level (GPT-2, Llama 3, Qwen) and SentencePiece-style (Llama 2,
//     Mistral: metaspace, byte fallback), with the file's normalizer,
//     pre-tokenizer, post-processor, decoder and added tokens;
//   - tokenizer.model (SentencePiece), when a model ships nothing else;
//   - tokenizer_config.json, optional, for bos/eos tokens, the chat template
//     and clean_up_tokenization_spaces.
// `load()` finds these in a .mlxpack, a model directory, or a directory that
// holds only tokenizer files.
//
// Contract: no exception leaves this API; failures are a Status naming the
// file, the field, the value and the limit. A Tokenizer is immutable after
// loading: encode() and decode() may be called from many threads at once.
//
// This header is C++17 so downstream runtimes can include it.
#ifndef MLXPACK_TOKENIZER_H_
#define MLXPACK_TOKENIZER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mlxpack/export.h"
#include "mlxpack/status.h"

namespace mlxpack {

class ModelSource;  // mlxpack/model_source.h

// Bounds that keep hostile input from exhausting memory.
struct TokenizerLimits {
  uint64_t max_tokenizer_json_bytes = 256ull << 20;  // a real one is < 20 MB
  uint64_t max_vocab_size = 4u << 20;               // ids must fit in int32 with room
  uint64_t max_text_bytes = 1ull << 30;             // one encode() call
  uint32_t max_component_depth = 16;                 // JSON levels of a normalizer, pre_tokenizer,
                                                     // post_processor or decoder (real ones: 4-7)
  uint64_t max_token_bytes = 1u << 16;               // one vocabulary or added-token string
};

struct DecodeOptions {
  bool skip_special_tokens = false;
  // nullopt: as tokenizer_config.json says (the reference default, true, when
  // it says nothing).
  std::optional<bool> clean_up_tokenization_spaces;
};

// One token of an encoding: its id and its piece (the vocabulary string).
struct TokenPiece {
  int32_t id;
  std::string piece;
};

class MLXPACK_API Tokenizer {
 public:
  // Builds from the text of a tokenizer.json and (optionally, may be empty)
  // of a tokenizer_config.json. `origin` names the source in messages.
  // InvalidArgument for a malformed file or a wrong or missing field,
  // Unsupported for a model or component type this implementation lacks.
  static Result<std::unique_ptr<Tokenizer>> from_json(std::string_view tokenizer_json,
                                                      std::string_view tokenizer_config_json = {},
                                                      std::string_view origin = "tokenizer.json",
                                                      const TokenizerLimits& limits = {});

  // Builds from a SentencePiece model file's bytes (tokenizer.model).
  static Result<std::unique_ptr<Tokenizer>> from_sentencepiece(std::string_view model_bytes,
                                                               std::string_view tokenizer_config_json = {},
                                                               std::string_view origin = "tokenizer.model",
                                                               const TokenizerLimits& limits = {});

  // Loads from `model_root`: a .mlxpack file (its bundled tokenizer files), a
  // model directory, or a directory with only tokenizer files. Prefers
  // tokenizer.json over tokenizer.model. NotFound if neither is there.
  static Result<std::unique_ptr<Tokenizer>> load(const std::string& model_root,
                                                 const TokenizerLimits& limits = {});
  // The same, from an open source (its tokenizer files are read from it).
  static Result<std::unique_ptr<Tokenizer>> load(const ModelSource& source, const TokenizerLimits& limits = {});

  virtual ~Tokenizer() = default;

  // Token ids of UTF-8 `text`. With add_special_tokens, the post-processor's
  // tokens (e.g. BOS) are added as the tokenizer file says. Added tokens
  // written in the text (e.g. "<|eot_id|>") are always recognized, as the
  // reference does. InvalidArgument if `text` is not valid UTF-8 (the message
  // gives the byte offset) or longer than limits.max_text_bytes.
  virtual Result<std::vector<int32_t>> encode(std::string_view text, bool add_special_tokens = false) const = 0;
  virtual Result<std::vector<TokenPiece>> encode_pieces(std::string_view text,
                                                        bool add_special_tokens = false) const = 0;

  // Text of `ids`. InvalidArgument if an id is outside [0, vocab_size()).
  // Bytes that do not form valid UTF-8 become U+FFFD, as in the reference.
  virtual Result<std::string> decode(const std::vector<int32_t>& ids, const DecodeOptions& options = {}) const = 0;

  // Number of ids (largest id + 1, added tokens included).
  virtual size_t vocab_size() const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The vocabulary string of `id`; empty if out of range or unused.
  virtual std::string id_to_token(int32_t id) const = 0;
  virtual bool is_special(int32_t id) const = 0;

  // From tokenizer_config.json (or the model's own fields): the BOS and EOS
  // token strings (empty if none) and the chat template source (empty if
  // none; a named-template list yields the one named "default").
  virtual const std::string& bos_token() const = 0;
  virtual const std::string& eos_token() const = 0;
  virtual const std::string& chat_template() const = 0;
};

}  // namespace mlxpack

#endif  // MLXPACK_TOKENIZER_H_
