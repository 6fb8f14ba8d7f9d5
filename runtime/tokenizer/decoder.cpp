#include "runtime/tokenizer/decoder.h"

#include "runtime/text/utf8.h"
#include "runtime/tokenizer/byte_level.h"
#include "runtime/tokenizer/pattern.h"

namespace mlxpack::tokenizer {

namespace {

void replace_all(std::string* s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t hit = s->find(from, pos);
    if (hit == std::string::npos) break;
    out.append(*s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
  if (pos == 0) return;
  out.append(*s, pos, std::string::npos);
  *s = std::move(out);
}

// Replaces each run of pieces that stand for bytes by one piece, the text
// of those bytes (invalid UTF-8 as U+FFFD), so a character split across
// tokens decodes whole. `append_bytes(piece, &bytes)` appends a piece's
// bytes and returns true, or returns false for a piece that stays as it is.
// Runs are written over the list in place (a run is never shorter than the
// piece replacing it): decoding a long text allocates no second list.
template <typename AppendBytes>
void join_byte_runs(std::vector<DecodePiece>* pieces, AppendBytes append_bytes) {
  std::vector<DecodePiece>& v = *pieces;
  size_t w = 0;
  std::string bytes;
  auto flush = [&] {
    if (bytes.empty()) return;
    v[w++] = {text::decode_lossy(bytes), false};
    bytes.clear();
  };
  for (size_t r = 0; r < v.size(); ++r) {
    if (append_bytes(v[r], &bytes)) continue;
    flush();
    if (w != r) v[w] = std::move(v[r]);
    ++w;
  }
  flush();
  v.resize(w);
}

// Byte-level pieces back to bytes; runs of non-added pieces are joined.
class ByteLevelDecoder final : public Decoder {
 public:
  Status decode(std::vector<DecodePiece>* pieces) const override {
    join_byte_runs(pieces, [](const DecodePiece& p, std::string* bytes) {
      if (p.added) return false;
      const size_t before = bytes->size();
      if (!bytes_from_byte_level(p.text, bytes)) {
        bytes->resize(before);  // a code point with no byte: keep the piece's own UTF-8
        *bytes += p.text;
      }
      return true;
    });
    return Status::ok();
  }
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first) : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  Status decode(std::vector<DecodePiece>* pieces) const override {
    for (size_t i = 0; i < pieces->size(); ++i) {
      std::string& t = (*pieces)[i].text;
      replace_all(&t, replacement_, " ");
      if (i == 0 && strip_first_ && !t.empty() && t[0] == ' ') t.erase(0, 1);
    }
    return Status::ok();
  }

 private:
  std::string replacement_;
  bool strip_first_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content, std::string where)
      : pattern_(std::move(pattern)), content_(std::move(content)), where_(std::move(where)) {}
  Status decode(std::vector<DecodePiece>* pieces) const override {
    std::string out;
    for (DecodePiece& p : *pieces) {
      // Each piece may grow as a normalized text may: a replacement of
      // megabytes would otherwise turn every id into megabytes of output.
      const size_t max_bytes = max_rewritten_bytes(p.text.size());
      MLXPACK_RETURN_IF_ERROR(pattern_.replace_all(p.text, content_, &out, max_bytes));
      if (out.size() > max_bytes) {
        return Status::invalid_argument(where_ + ": decoded piece grows past the limit of " +
                                        std::to_string(max_bytes) + " bytes (16 x the piece + 4096)");
      }
      p.text.swap(out);
    }
    return Status::ok();
  }

 private:
  Pattern pattern_;
  std::string content_;
  std::string where_;
};

// Runs of <0xXX> pieces become the text of their bytes.
class ByteFallbackDecoder final : public Decoder {
 public:
  Status decode(std::vector<DecodePiece>* pieces) const override {
    join_byte_runs(pieces, [](const DecodePiece& p, std::string* bytes) {
      const std::string& t = p.text;
      int byte = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') byte = parse_hex(t[3], t[4]);
      if (byte < 0) return false;
      bytes->push_back(static_cast<char>(byte));
      return true;
    });
    return Status::ok();
  }

 private:
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  }
  static int parse_hex(char hi, char lo) {
    const int h = hex_digit(hi);
    const int l = hex_digit(lo);
    return h < 0 || l < 0 ? -1 : h * 16 + l;
  }
};

class FuseDecoder final : public Decoder {
 public:
  Status decode(std::vector<DecodePiece>* pieces) const override {
    std::string all = join_pieces(*pieces);
    pieces->clear();
    pieces->push_back({std::move(all), false});
    return Status::ok();
  }
};

// Removes up to `start` leading and `stop` trailing copies of `content`.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop) : content_(std::move(content)), start_(start), stop_(stop) {}
  Status decode(std::vector<DecodePiece>* pieces) const override {
    if (content_.empty()) return Status::ok();
    for (DecodePiece& p : *pieces) {
      std::string& t = p.text;
      size_t begin = 0;
      for (size_t k = 0; k < start_ && t.compare(begin, content_.size(), content_) == 0; ++k) begin += content_.size();
      size_t end = t.size();
      for (size_t k = 0; k < stop_ && end >= begin + content_.size() &&
                         t.compare(end - content_.size(), content_.size(), content_) == 0;
           ++k) {
        end -= content_.size();
      }
      t = t.substr(begin, end - begin);
    }
    return Status::ok();
  }

 private:
  std::string content_;
  size_t start_;
  size_t stop_;
};

class WordPieceDecoder final : public Decoder {
 public:
  explicit WordPieceDecoder(std::string prefix) : prefix_(std::move(prefix)) {}
  Status decode(std::vector<DecodePiece>* pieces) const override {
    for (size_t i = 0; i < pieces->size(); ++i) {
      std::string& t = (*pieces)[i].text;
      if (i > 0) {
        if (!prefix_.empty() && t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t.insert(0, " ");
        }
      }
    }
    return Status::ok();
  }

 private:
  std::string prefix_;
};

class BpeSuffixDecoder final : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  Status decode(std::vector<DecodePiece>* pieces) const override {
    for (size_t i = 0; i < pieces->size(); ++i) {
      replace_all(&(*pieces)[i].text, suffix_, i + 1 == pieces->size() ? "" : " ");
    }
    return Status::ok();
  }

 private:
  std::string suffix_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
  Status decode(std::vector<DecodePiece>* pieces) const override {
    for (const auto& step : steps_) MLXPACK_RETURN_IF_ERROR(step->decode(pieces));
    return Status::ok();
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

}  // namespace

std::string join_pieces(const std::vector<DecodePiece>& pieces) {
  size_t size = 0;
  for (const DecodePiece& p : pieces) size += p.text.size();
  std::string text;
  text.reserve(size);
  for (const DecodePiece& p : pieces) text += p.text;
  return text;
}

Result<std::unique_ptr<Decoder>> make_decoder(const Json& spec, const std::string& where) {
  if (!spec.is_object()) return field_error(where, std::string("expected an object, got ") + json_type_name(spec));
  MLXPACK_ASSIGN_OR_RETURN(std::string type, required_string(spec, "type", where));
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
  if (type == "Metaspace") {
    MLXPACK_ASSIGN_OR_RETURN(std::string replacement, optional_string(spec, "replacement", where, "\xE2\x96\x81"));
    bool strip_first = true;
    if (const Json* v = find_field(spec, "prepend_scheme")) {
      if (!v->is_string()) return field_error(where + ".prepend_scheme", "expected a string");
      strip_first = v->get<std::string>() != "never";
    } else {
      MLXPACK_ASSIGN_OR_RETURN(strip_first, optional_bool(spec, "add_prefix_space", where, true));
    }
    return std::unique_ptr<Decoder>(new MetaspaceDecoder(std::move(replacement), strip_first));
  }
  if (type == "Replace") {
    MLXPACK_ASSIGN_OR_RETURN(Pattern pattern, Pattern::from_json(spec, "pattern", where));
    MLXPACK_ASSIGN_OR_RETURN(std::string content, required_string(spec, "content", where));
    return std::unique_ptr<Decoder>(new ReplaceDecoder(std::move(pattern), std::move(content), where));
  }
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Strip") {
    MLXPACK_ASSIGN_OR_RETURN(std::string content, required_string(spec, "content", where));
    MLXPACK_ASSIGN_OR_RETURN(int64_t start, required_int(spec, "start", where, 0, 1 << 20));
    MLXPACK_ASSIGN_OR_RETURN(int64_t stop, required_int(spec, "stop", where, 0, 1 << 20));
    return std::unique_ptr<Decoder>(new StripDecoder(std::move(content), static_cast<size_t>(start), static_cast<size_t>(stop)));
  }
  if (type == "WordPiece") {
    MLXPACK_ASSIGN_OR_RETURN(std::string prefix, optional_string(spec, "prefix", where, "##"));
    return std::unique_ptr<Decoder>(new WordPieceDecoder(std::move(prefix)));
  }
  if (type == "BPEDecoder") {
    MLXPACK_ASSIGN_OR_RETURN(std::string suffix, optional_string(spec, "suffix", where, "</w>"));
    return std::unique_ptr<Decoder>(new BpeSuffixDecoder(std::move(suffix)));
  }
  if (type == "Sequence") {
    MLXPACK_ASSIGN_OR_RETURN(auto steps, make_each<Decoder>(spec, "decoders", where, make_decoder));
    return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(steps)));
  }
  return Status::unsupported(where + ".type: decoder \"" + type +
                             "\" is not supported (supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, "
                             "Strip, WordPiece, BPEDecoder, Sequence)");
}

}  // namespace mlxpack::tokenizer
