// The restricted unpickler (see format/torch_pickle.h): a stack machine
// over a bounded cursor whose values are plain data; REDUCE and BINPERSID
// are interpreted for the handful of globals a state dict names.
#include "format/torch_pickle.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "format/byte_order.h"

namespace mlxpack {
namespace {

struct Value;
using Ref = std::shared_ptr<Value>;

struct Value {
  enum Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor } kind = kNone;
  int64_t i = 0;
  std::string s;           // a string; a global's "module.name"; a storage's key
  std::vector<Ref> items;  // tuple, list; a dict's keys and values alternating
  DType dtype = DType::kF32;  // a storage type global's, a storage's
  TorchTensor tensor;
  int depth = 0;        // containers nested inside, this one included
  bool frozen = false;  // inside another container: no longer mutable
};

// The globals a state dict's pickle names, and what each is.
const std::pair<const char*, DType> kStorageTypes[] = {
    {"torch.FloatStorage", DType::kF32},  {"torch.HalfStorage", DType::kF16},  {"torch.BFloat16Storage", DType::kBF16},
    {"torch.DoubleStorage", DType::kF64}, {"torch.LongStorage", DType::kI64},  {"torch.IntStorage", DType::kI32},
    {"torch.ShortStorage", DType::kI16},  {"torch.CharStorage", DType::kI8},   {"torch.ByteStorage", DType::kU8},
    {"torch.BoolStorage", DType::kBool}};
const char* const kCallables[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                  "torch._utils._rebuild_parameter"};

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const std::string& label) : cur_(data, size), label_(label) {}
  Result<Ref> run();

 private:
  Status fail(const std::string& what) const {
    return Status::invalid_argument(label_ + ": pickle opcode at byte " + std::to_string(op_at_) + ": " + what);
  }
  Status truncated() const { return fail("the pickle ends inside it"); }
  Result<Ref> pop();
  Result<std::vector<Ref>> pop_to_mark();
  // A new value, counted: run() stops after the step that passes
  // kMaxPickleValues (a step makes at most two).
  Ref make(Value::Kind kind) {
    ++made_;
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
  }
  // `child` goes inside `parent`: frozen, and the depth bound kept.
  Status adopt(Value& parent, const Ref& child);
  Status push_string(size_t n);
  Status push_global(const std::string& module, const std::string& name);
  Status memo_put(uint64_t index);
  Status memo_get(uint64_t index);
  Status reduce();
  Status persistent_id();
  Result<Ref> rebuild_tensor(const std::vector<Ref>& args);
  Status step(uint8_t op, bool* stop);

  ByteCursor cur_;
  const std::string& label_;
  size_t op_at_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
  std::map<std::string, TorchStorage> storages_;
  uint64_t made_ = 0;

 public:
  std::map<std::string, TorchStorage>& storages() { return storages_; }
};

Result<Ref> Unpickler::pop() {
  if (stack_.empty() || (!marks_.empty() && stack_.size() == marks_.back())) return fail("pops an empty stack");
  Ref v = std::move(stack_.back());
  stack_.pop_back();
  return v;
}

Result<std::vector<Ref>> Unpickler::pop_to_mark() {
  if (marks_.empty()) return fail("needs a MARK that is not there");
  std::vector<Ref> items(std::make_move_iterator(stack_.begin() + marks_.back()), std::make_move_iterator(stack_.end()));
  stack_.resize(marks_.back());
  marks_.pop_back();
  return items;
}

Status Unpickler::adopt(Value& parent, const Ref& child) {
  if (child.get() == &parent) return fail("puts a container inside itself");
  child->frozen = true;
  parent.depth = std::max(parent.depth, child->depth + 1);
  if (parent.depth > kMaxPickleDepth) {
    return fail("containers nested " + std::to_string(parent.depth) + " deep (limit " +
                std::to_string(kMaxPickleDepth) + ")");
  }
  parent.items.push_back(child);
  return Status::ok();
}

Status Unpickler::push_string(size_t n) {
  const uint8_t* p;
  if (!cur_.read_bytes(n, &p)) return truncated();
  Ref v = make(Value::kString);
  v->s.assign(reinterpret_cast<const char*>(p), n);
  stack_.push_back(std::move(v));
  return Status::ok();
}

Status Unpickler::push_global(const std::string& module, const std::string& name) {
  const std::string full = module + "." + name;
  Ref v = make(Value::kGlobal);
  v->s = full;
  v->dtype = DType::kBool;  // not a storage type unless found below
  bool known = std::find(std::begin(kCallables), std::end(kCallables), full) != std::end(kCallables);
  for (const auto& [type, dtype] : kStorageTypes) {
    if (full == type) {
      known = true;
      v->i = 1;
      v->dtype = dtype;
    }
  }
  if (!known) {
    return fail("global " + full + " is not one a state dict uses (collections.OrderedDict, "
                "torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.*Storage); nothing is run");
  }
  stack_.push_back(std::move(v));
  return Status::ok();
}

Status Unpickler::memo_put(uint64_t index) {
  if (stack_.empty()) return fail("memoizes an empty stack");
  if (index >= kMaxPickleMemo) {
    return fail("memo index " + std::to_string(index) + " (limit " + std::to_string(kMaxPickleMemo) + ")");
  }
  memo_[index] = stack_.back();
  return Status::ok();
}

Status Unpickler::memo_get(uint64_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) return fail("memo index " + std::to_string(index) + " was never stored");
  stack_.push_back(it->second);
  return Status::ok();
}

Result<Ref> Unpickler::rebuild_tensor(const std::vector<Ref>& args) {
  // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (args.size() != 6 && args.size() != 7) {
    return fail("_rebuild_tensor_v2 takes 6 or 7 arguments, not " + std::to_string(args.size()));
  }
  const Value& storage = *args[0];
  if (storage.kind != Value::kStorage || args[1]->kind != Value::kInt || args[2]->kind != Value::kTuple ||
      args[3]->kind != Value::kTuple) {
    return fail("_rebuild_tensor_v2's arguments are not (storage, offset, size, stride, ...)");
  }
  const std::vector<Ref>& size = args[2]->items;
  const std::vector<Ref>& stride = args[3]->items;
  if (size.size() > 8 || stride.size() != size.size()) {
    return fail("a tensor of " + std::to_string(size.size()) + " dimensions and " + std::to_string(stride.size()) +
                " strides (at most 8 dimensions)");
  }
  Ref t = make(Value::kTensor);
  TorchTensor& out = t->tensor;
  out.storage = storage.s;
  out.dtype = storage.dtype;
  if (args[1]->i < 0) return fail("a negative storage offset");
  out.offset = static_cast<uint64_t>(args[1]->i);
  uint64_t numel = 1;
  for (const Ref& d : size) {
    if (d->kind != Value::kInt || d->i < 0) return fail("a tensor dimension that is not a count");
    out.shape.push_back(static_cast<uint64_t>(d->i));
    if (mul_overflows(numel, out.shape.back(), &numel)) return fail("a tensor's element count overflows");
  }
  out.numel = numel;
  // Contiguous row-major: each stride is the product of the later sizes
  // (a dimension of size 1 may have any stride).
  uint64_t expected = 1;
  for (size_t k = size.size(); k-- > 0;) {
    if (stride[k]->kind != Value::kInt) return fail("a stride that is not an integer");
    if (out.shape[k] != 1 && numel > 0 && static_cast<uint64_t>(stride[k]->i) != expected) {
      return fail("a tensor that is not contiguous (stride " + std::to_string(stride[k]->i) + " of dimension " +
                  std::to_string(k) + ", " + std::to_string(expected) + " expected)");
    }
    expected *= out.shape[k];
  }
  uint64_t end;
  if (add_overflows(out.offset, numel, &end) || end > storages_.at(storage.s).numel) {
    return fail("a tensor of " + std::to_string(numel) + " elements at offset " + std::to_string(out.offset) +
                " reaches past its storage " + storage.s + " of " + std::to_string(storages_.at(storage.s).numel));
  }
  return t;
}

Status Unpickler::reduce() {
  MLXPACK_ASSIGN_OR_RETURN(Ref args, pop());
  MLXPACK_ASSIGN_OR_RETURN(Ref callable, pop());
  if (callable->kind != Value::kGlobal || callable->i != 0) {
    return fail("REDUCE calls something that is not an allowed function");
  }
  if (args->kind != Value::kTuple) return fail("REDUCE's arguments are not a tuple");
  if (callable->s == "collections.OrderedDict") {
    if (!args->items.empty()) return fail("OrderedDict with arguments");
    stack_.push_back(make(Value::kDict));
  } else if (callable->s == "torch._utils._rebuild_tensor_v2") {
    MLXPACK_ASSIGN_OR_RETURN(Ref t, rebuild_tensor(args->items));
    stack_.push_back(std::move(t));
  } else {  // _rebuild_parameter(data, requires_grad, backward_hooks)
    if (args->items.size() != 3 || args->items[0]->kind != Value::kTensor) {
      return fail("_rebuild_parameter's arguments are not (tensor, requires_grad, hooks)");
    }
    stack_.push_back(args->items[0]);
  }
  return Status::ok();
}

Status Unpickler::persistent_id() {
  // ('storage', storage type, key, location, numel)
  MLXPACK_ASSIGN_OR_RETURN(Ref pid, pop());
  const auto& f = pid->items;
  if (pid->kind != Value::kTuple || f.size() != 5 || f[0]->kind != Value::kString || f[0]->s != "storage" ||
      f[1]->kind != Value::kGlobal || f[1]->i != 1 || f[2]->kind != Value::kString || f[4]->kind != Value::kInt ||
      f[4]->i < 0) {
    return fail("a persistent id that is not ('storage', torch.*Storage, key, location, numel)");
  }
  const std::string& key = f[2]->s;
  if (key.empty() || key.size() > 64 || key.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz_") != std::string::npos) {
    return fail("storage key '" + key.substr(0, 64) + "' is not a plain name");
  }
  const TorchStorage storage{f[1]->dtype, static_cast<uint64_t>(f[4]->i)};
  auto [it, added] = storages_.emplace(key, storage);
  if (!added && (it->second.dtype != storage.dtype || it->second.numel != storage.numel)) {
    return fail("storage " + key + " described twice, differently");
  }
  Ref v = make(Value::kStorage);
  v->s = key;
  v->dtype = storage.dtype;
  stack_.push_back(std::move(v));
  return Status::ok();
}

Status Unpickler::step(uint8_t op, bool* stop) {
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  switch (op) {
    case 0x80:  // PROTO
      if (!cur_.read_u8(&u8)) return truncated();
      if (u8 < 2 || u8 > 5) return fail("pickle protocol " + std::to_string(u8) + " (2 to 5 are read)");
      return Status::ok();
    case 0x95:  // FRAME: a length hint
      return cur_.read_u64(&u64) ? Status::ok() : truncated();
    case '}': stack_.push_back(make(Value::kDict)); return Status::ok();
    case ']': stack_.push_back(make(Value::kList)); return Status::ok();
    case ')': stack_.push_back(make(Value::kTuple)); return Status::ok();
    case 'N': stack_.push_back(make(Value::kNone)); return Status::ok();
    case 0x88:
    case 0x89: {
      Ref v = make(Value::kBool);
      v->i = op == 0x88;
      stack_.push_back(std::move(v));
      return Status::ok();
    }
    case '(':
      if (marks_.size() >= static_cast<size_t>(kMaxPickleDepth) * 4) return fail("too many open MARKs");
      marks_.push_back(stack_.size());
      return Status::ok();
    case 'K':
    case 'M':
    case 'J':
    case 0x8a: {  // BININT1, BININT2, BININT, LONG1
      Ref v = make(Value::kInt);
      if (op == 'K') {
        if (!cur_.read_u8(&u8)) return truncated();
        v->i = u8;
      } else if (op == 'M') {
        if (!cur_.read_u16(&u16)) return truncated();
        v->i = u16;
      } else if (op == 'J') {
        if (!cur_.read_u32(&u32)) return truncated();
        v->i = static_cast<int32_t>(u32);
      } else {
        if (!cur_.read_u8(&u8)) return truncated();
        if (u8 > 8) return fail("an integer of " + std::to_string(u8) + " bytes (at most 8)");
        const uint8_t* p;
        if (!cur_.read_bytes(u8, &p)) return truncated();
        uint64_t x = 0;
        for (int k = 0; k < u8; ++k) x |= static_cast<uint64_t>(p[k]) << (8 * k);
        if (u8 > 0 && u8 < 8 && (p[u8 - 1] & 0x80)) x |= ~uint64_t{0} << (8 * u8);  // sign-extend
        v->i = static_cast<int64_t>(x);
      }
      stack_.push_back(std::move(v));
      return Status::ok();
    }
    case 'G': {  // BINFLOAT, big-endian
      const uint8_t* p;
      if (!cur_.read_bytes(8, &p)) return truncated();
      stack_.push_back(make(Value::kFloat));
      return Status::ok();
    }
    case 'X':
      if (!cur_.read_u32(&u32)) return truncated();
      return push_string(u32);
    case 0x8c:
      if (!cur_.read_u8(&u8)) return truncated();
      return push_string(u8);
    case 0x8d:
      if (!cur_.read_u64(&u64)) return truncated();
      if (u64 > cur_.remaining()) return truncated();
      return push_string(static_cast<size_t>(u64));
    case 'c': {  // GLOBAL "module\nname\n"
      std::string parts[2];
      for (std::string& part : parts) {
        for (;;) {
          if (!cur_.read_u8(&u8)) return truncated();
          if (u8 == '\n') break;
          if (part.size() >= 256) return fail("a global name longer than 256 bytes");
          part.push_back(static_cast<char>(u8));
        }
      }
      return push_global(parts[0], parts[1]);
    }
    case 0x93: {  // STACK_GLOBAL
      MLXPACK_ASSIGN_OR_RETURN(Ref name, pop());
      MLXPACK_ASSIGN_OR_RETURN(Ref module, pop());
      if (name->kind != Value::kString || module->kind != Value::kString) return fail("STACK_GLOBAL of non-strings");
      return push_global(module->s, name->s);
    }
    case 'q':
      if (!cur_.read_u8(&u8)) return truncated();
      return memo_put(u8);
    case 'r':
      if (!cur_.read_u32(&u32)) return truncated();
      return memo_put(u32);
    case 0x94: return memo_put(memo_.size());
    case 'h':
      if (!cur_.read_u8(&u8)) return truncated();
      return memo_get(u8);
    case 'j':
      if (!cur_.read_u32(&u32)) return truncated();
      return memo_get(u32);
    case 't':
    case 0x85:
    case 0x86:
    case 0x87: {  // TUPLE, TUPLE1..3
      std::vector<Ref> items;
      if (op == 't') {
        MLXPACK_ASSIGN_OR_RETURN(items, pop_to_mark());
      } else {
        items.resize(op - 0x84);
        for (size_t k = items.size(); k-- > 0;) {
          MLXPACK_ASSIGN_OR_RETURN(items[k], pop());
        }
      }
      Ref t = make(Value::kTuple);
      for (const Ref& item : items) MLXPACK_RETURN_IF_ERROR(adopt(*t, item));
      stack_.push_back(std::move(t));
      return Status::ok();
    }
    case 'a':
    case 'e':
    case 's':
    case 'u': {  // APPEND, APPENDS, SETITEM, SETITEMS
      std::vector<Ref> items;
      if (op == 'e' || op == 'u') {
        MLXPACK_ASSIGN_OR_RETURN(items, pop_to_mark());
      } else {
        items.resize(op == 's' ? 2 : 1);
        for (size_t k = items.size(); k-- > 0;) {
          MLXPACK_ASSIGN_OR_RETURN(items[k], pop());
        }
      }
      if (stack_.empty()) return fail("adds to an empty stack");
      Value& target = *stack_.back();
      const bool dict = op == 's' || op == 'u';
      if (target.kind != (dict ? Value::kDict : Value::kList)) return fail(dict ? "SETITEM on a non-dict" : "APPEND on a non-list");
      if (target.frozen) return fail("changes a container already inside another");
      if (dict && items.size() % 2 != 0) return fail("SETITEMS of an odd number of values");
      for (const Ref& item : items) MLXPACK_RETURN_IF_ERROR(adopt(target, item));
      return Status::ok();
    }
    case 'R': return reduce();
    case 'Q': return persistent_id();
    case '.': *stop = true; return Status::ok();
    default: {
      static const char kHex[] = "0123456789abcdef";
      return fail(std::string("opcode 0x") + kHex[op >> 4] + kHex[op & 15] +
                  " is not one a state dict's pickle uses (refused, nothing is run)");
    }
  }
}

Result<Ref> Unpickler::run() {
  bool stop = false;
  while (!stop) {
    op_at_ = cur_.position();
    uint8_t op;
    if (!cur_.read_u8(&op)) return truncated();
    MLXPACK_RETURN_IF_ERROR(step(op, &stop));
    if (made_ > kMaxPickleValues) {
      return fail("more than " + std::to_string(kMaxPickleValues) + " values (a state dict needs a few per tensor)");
    }
  }
  MLXPACK_ASSIGN_OR_RETURN(Ref result, pop());
  return result;
}

}  // namespace

Result<TorchStateDict> parse_torch_pickle(const uint8_t* data, size_t size, const std::string& label) {
  Unpickler u(data, size, label);
  MLXPACK_ASSIGN_OR_RETURN(Ref top, u.run());
  if (top->kind != Value::kDict) {
    return Status::invalid_argument(label + ": the pickle holds no state dict (a dict of tensors) at its top");
  }
  TorchStateDict out;
  for (size_t k = 0; k + 1 < top->items.size(); k += 2) {
    const Value& key = *top->items[k];
    const Value& value = *top->items[k + 1];
    if (key.kind != Value::kString) return Status::invalid_argument(label + ": a state dict key that is not a string");
    if (value.kind != Value::kTensor) {
      return Status::invalid_argument(label + ": state dict entry " + key.s.substr(0, 256) + " is not a tensor");
    }
    TorchTensor t = value.tensor;
    t.name = key.s;
    out.tensors.push_back(std::move(t));
  }
  out.storages = std::move(u.storages());
  return out;
}

}  // namespace mlxpack
