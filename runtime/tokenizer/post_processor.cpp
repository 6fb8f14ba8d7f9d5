#include "runtime/tokenizer/post_processor.h"

namespace mlxpack::tokenizer {

namespace {

// The single-sequence template: the special tokens before the sequence and
// those after it.
class TemplatePostProcessor final : public PostProcessor {
 public:
  TemplatePostProcessor(std::vector<TokenPiece> before, std::vector<TokenPiece> after)
      : before_(std::move(before)), after_(std::move(after)) {}
  void wrap(std::vector<TokenPiece>* before, std::vector<TokenPiece>* after) const override {
    before->insert(before->begin(), before_.begin(), before_.end());
    after->insert(after->end(), after_.begin(), after_.end());
  }

 private:
  std::vector<TokenPiece> before_;
  std::vector<TokenPiece> after_;
};

class SequencePostProcessor final : public PostProcessor {
 public:
  explicit SequencePostProcessor(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void wrap(std::vector<TokenPiece>* before, std::vector<TokenPiece>* after) const override {
    for (const auto& step : steps_) step->wrap(before, after);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// ["[CLS]", 101] as used by BertProcessing / RobertaProcessing.
Result<TokenPiece> token_pair(const Json& spec, const char* key, const std::string& where) {
  const Json* v = find_field(spec, key);
  const std::string path = field_path(where, key);
  if (!v || !v->is_array() || v->size() != 2 || !(*v)[0].is_string() || !(*v)[1].is_number_integer() ||
      (*v)[1].get<int64_t>() < 0 || (*v)[1].get<int64_t>() > INT32_MAX) {
    return field_error(path, "expected [\"token\", id] with id in [0, 2147483647]");
  }
  return TokenPiece{static_cast<int32_t>((*v)[1].get<int64_t>()), (*v)[0].get<std::string>()};
}

Result<std::unique_ptr<PostProcessor>> make_template(const Json& spec, const std::string& where) {
  MLXPACK_ASSIGN_OR_RETURN(const Json* single, required_array(spec, "single", where));
  const Json* specials = find_field(spec, "special_tokens");
  if (specials && !specials->is_object()) return field_error(where + ".special_tokens", "expected an object");
  std::vector<TokenPiece> before;
  std::vector<TokenPiece> after;
  bool has_sequence = false;
  for (size_t i = 0; i < single->size(); ++i) {
    const Json& item = (*single)[i];
    const std::string path = where + ".single[" + std::to_string(i) + "]";
    if (!item.is_object()) return field_error(path, "expected an object");
    if (find_field(item, "Sequence")) {
      // One text is encoded at a time: the single template names it once.
      if (has_sequence) return field_error(path, "is a second {\"Sequence\": ...} item; single takes one");
      has_sequence = true;
      continue;
    }
    const Json* special = find_field(item, "SpecialToken");
    if (!special || !special->is_object()) return field_error(path, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    MLXPACK_ASSIGN_OR_RETURN(std::string name, required_string(*special, "id", path + ".SpecialToken"));
    const Json* def = specials ? find_field(*specials, name.c_str()) : nullptr;
    if (!def || !def->is_object()) {
      return field_error(where + ".special_tokens", "has no entry for \"" + name + "\", which single[" +
                                                        std::to_string(i) + "] uses");
    }
    const std::string def_path = where + ".special_tokens[\"" + name + "\"]";
    MLXPACK_ASSIGN_OR_RETURN(const Json* ids, required_array(*def, "ids", def_path));
    MLXPACK_ASSIGN_OR_RETURN(const Json* toks, required_array(*def, "tokens", def_path));
    if (ids->size() != toks->size()) return field_error(def_path, "ids and tokens differ in length");
    std::vector<TokenPiece>& pieces = has_sequence ? after : before;
    for (size_t k = 0; k < ids->size(); ++k) {
      const Json& id = (*ids)[k];
      if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX || !(*toks)[k].is_string()) {
        return field_error(def_path, "ids must be integers in [0, 2147483647] and tokens strings");
      }
      pieces.push_back({static_cast<int32_t>(id.get<int64_t>()), (*toks)[k].get<std::string>()});
    }
  }
  if (!has_sequence) return field_error(where + ".single", "has no {\"Sequence\": ...} item");
  return std::unique_ptr<PostProcessor>(new TemplatePostProcessor(std::move(before), std::move(after)));
}

}  // namespace

Result<std::unique_ptr<PostProcessor>> make_post_processor(const Json& spec, const std::string& where) {
  if (!spec.is_object()) return field_error(where, std::string("expected an object, got ") + json_type_name(spec));
  MLXPACK_ASSIGN_OR_RETURN(std::string type, required_string(spec, "type", where));
  if (type == "TemplateProcessing") return make_template(spec, where);
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new SequencePostProcessor({}));
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    MLXPACK_ASSIGN_OR_RETURN(TokenPiece cls, token_pair(spec, "cls", where));
    MLXPACK_ASSIGN_OR_RETURN(TokenPiece sep, token_pair(spec, "sep", where));
    return std::unique_ptr<PostProcessor>(new TemplatePostProcessor({cls}, {sep}));
  }
  if (type == "Sequence") {
    MLXPACK_ASSIGN_OR_RETURN(auto steps, make_each<PostProcessor>(spec, "processors", where, make_post_processor));
    return std::unique_ptr<PostProcessor>(new SequencePostProcessor(std::move(steps)));
  }
  return Status::unsupported(where + ".type: post-processor \"" + type +
                             "\" is not supported (supported: TemplateProcessing, BertProcessing, "
                             "RobertaProcessing, ByteLevel, Sequence)");
}

}  // namespace mlxpack::tokenizer
