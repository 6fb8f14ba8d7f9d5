// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): split normalized text
// into the pieces the model tokenizes one by one. Supported types: Split
// (String or Regex; behaviors Removed, Isolated, MergedWithPrevious,
// MergedWithNext, Contiguous; invert), ByteLevel, Metaspace, Whitespace,
// WhitespaceSplit, Digits, Punctuation, BertPreTokenizer, Sequence.
#ifndef MLXPACK_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_
#define MLXPACK_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mlxpack/status.h"
#include "format/json_fields.h"

namespace mlxpack::tokenizer {

struct Piece {
  std::string text;
  // True for the piece that begins the whole input text (Metaspace's
  // prepend_scheme "first" adds its prefix only there).
  bool at_text_start = false;
};

// Receives a pre-tokenizer's pieces one at a time, in order.
class PieceSink {
 public:
  virtual ~PieceSink() = default;
  // A non-ok Status stops the pre-tokenizer, which returns it.
  virtual Status take(Piece piece) = 0;
};

// A PieceSink that calls `f(Piece)`, which returns a Status.
template <typename F>
class FunctionSink final : public PieceSink {
 public:
  explicit FunctionSink(F f) : f_(std::move(f)) {}
  Status take(Piece piece) override { return f_(std::move(piece)); }

 private:
  F f_;
};

template <typename F>
FunctionSink<F> make_sink(F f) {
  return FunctionSink<F>(std::move(f));
}

// Every pre-tokenizer acts on each piece alone, so pieces stream through a
// sequence of them one by one: an encode's memory stays bounded by a batch
// of regex matches and the longest piece, not proportional to the text.
class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Sends the splits of `piece` to `sink`, in order. Empty pieces are
  // dropped. Returns the first error of the pre-tokenizer or the sink.
  virtual Status split(Piece piece, PieceSink& sink) const = 0;
};

Result<std::unique_ptr<PreTokenizer>> make_pre_tokenizer(const Json& spec, const std::string& where);

}  // namespace mlxpack::tokenizer

#endif  // MLXPACK_RUNTIME_TOKENIZER_PRE_TOKENIZER_H_
