#include "convert/convert_plan.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "convert/float_convert.h"

namespace mlxpack {

namespace {

// Physical memory, or 0 when the system does not say.
uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

Result<std::vector<InputTensor>> read_inputs(const ModelSource& in) {
  std::vector<InputTensor> inputs;
  for (const std::string& name : in.tensor_names()) {  // sorted
    MLXPACK_ASSIGN_OR_RETURN(TensorView v, in.tensor_metadata(name));
    inputs.push_back({name, v.dtype, std::vector<uint64_t>(v.shape.begin(), v.shape.begin() + v.rank), v.size_bytes});
  }
  return inputs;
}

// An MLX model that is already quantized keeps its quantization.
Status check_requantize(const ModelSource& in, const ConfigFacts& config, const QuantOptions& want) {
  if (!config.quantization || !want.any()) return Status::ok();
  const QuantSpec& have = *config.quantization;
  if (!want.recipe.empty() || want.embedding || want.linear != have) {
    return Status::invalid_argument(
        in.path() + " is already quantized (" + std::to_string(have.bits) + " bits, group size " +
        std::to_string(have.group_size) + "); quantizing it again with other settings is not supported: "
        "convert the original float model instead, or convert without quantization flags");
  }
  return Status::ok();
}

// Tied embeddings: kept tied, or written as a separate lm_head when asked.
// Returns the input to untie from, or nullopt when not asked.
Result<std::optional<size_t>> find_untie_source(const std::vector<InputTensor>& inputs, const ConfigFacts& config,
                                                const ConvertOptions& options) {
  if (!options.untie_word_embeddings) return std::optional<size_t>();
  std::optional<size_t> from;
  bool has_lm_head = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (classify_tensor(inputs[i]) == TensorRole::kEmbedding && inputs[i].name.find("embed_tokens") != std::string::npos) {
      from = i;
    }
    has_lm_head |= inputs[i].name == "lm_head.weight";
  }
  if (!config.tie_word_embeddings || !from || has_lm_head || config.quantization) {
    return Status::invalid_argument(
        "untying word embeddings needs a float model with tie_word_embeddings true, an embed_tokens weight and "
        "no lm_head.weight");
  }
  return from;
}

// Names of a quantized input's packed layers, whose scales/biases keep their dtype.
std::set<std::string> packed_layers(const std::vector<InputTensor>& inputs, const ConfigFacts& config) {
  std::set<std::string> out;
  if (!config.quantization) return out;
  for (const InputTensor& t : inputs) {
    if (t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".scales") == 0) {
      out.insert(t.name.substr(0, t.name.size() - 7));
    }
  }
  return out;
}

// The job for input `input`, written under the name of `as` (the input
// itself, or the lm_head made from an embedding).
Job plan_job(size_t input, const InputTensor& as, const ConvertPlan& plan, const std::set<std::string>& packed,
             const QuantPlanner& planner, const ConvertOptions& options, ConvertReport* report) {
  Job j;
  j.input = input;
  j.shape = as.shape;
  const InputTensor& t = plan.inputs[input];
  const std::string base = layer_path(as.name);
  // The input's own name: a stack's parts are the ones the packed set knows.
  const bool packed_part = packed.count(t.name.substr(0, t.name.rfind('.'))) > 0 &&
                           (t.name.ends_with(".scales") || t.name.ends_with(".biases"));
  j.dtype = t.dtype;
  if (options.dtype && is_float_dtype(t.dtype) && !packed_part && t.dtype != *options.dtype) {
    j.dtype = *options.dtype;
    j.cast = true;
  }
  if (plan.quantizing) {
    InputTensor cast_view = as;
    cast_view.dtype = j.dtype;
    QuantDecision d = planner.decide(cast_view);
    if (d.spec) {
      j.spec = d.spec;
      j.base = base;
    } else if (!d.note.empty()) {
      report->kept_float.push_back(base + ": " + d.note);
    }
  }
  if (!j.spec) j.base = as.name;
  return j;
}

// The output tensors of every job, in job order.
Status list_outputs(ConvertPlan* plan, ConvertReport* report) {
  for (size_t ji = 0; ji < plan->jobs.size(); ++ji) {
    const Job& j = plan->jobs[ji];
    if (j.spec) {
      MLXPACK_ASSIGN_OR_RETURN(QuantizedShapes qs, quantized_shapes(j.shape, *j.spec, j.base + ".weight"));
      const uint64_t t_size = dtype_size_bytes(j.dtype);
      plan->outs.push_back({j.base + ".weight", DType::kU32, qs.weight, element_count(qs.weight) * 4,
                            element_count(j.shape), ji, 0});
      plan->outs.push_back({j.base + ".scales", j.dtype, qs.scales, element_count(qs.scales) * t_size, 0, ji, 1});
      plan->outs.push_back({j.base + ".biases", j.dtype, qs.scales, element_count(qs.scales) * t_size, 0, ji, 2});
      ++report->quantized;
    } else {
      const uint64_t n = element_count(j.shape);
      plan->outs.push_back({j.base, j.dtype, j.shape, n * dtype_size_bytes(j.dtype), n, ji, 0});
      report->cast += j.cast;
    }
  }
  return Status::ok();
}

// Each job holds its cast and quantized copies (and, for --report, a
// dequantized float copy) at once: refuse one that cannot fit in memory
// before allocating anything (a header may declare a 100 GB tensor over a
// sparse file).
Status check_memory(const ConvertPlan& plan, const ConvertOptions& options) {
  std::vector<uint64_t> job_bytes(plan.jobs.size(), 0);
  for (const OutTensor& o : plan.outs) job_bytes[o.job] += o.size_bytes;
  const uint64_t memory = physical_memory_bytes();
  for (size_t ji = 0; ji < plan.jobs.size(); ++ji) {
    const Job& j = plan.jobs[ji];
    const InputTensor& t = plan.inputs[j.input];
    uint64_t need = job_bytes[ji];
    if (!j.parts.empty()) need += element_count(j.shape) * dtype_size_bytes(t.dtype);  // the gathered stack
    if (j.cast || j.spec) need += element_count(j.shape) * dtype_size_bytes(j.dtype);
    if (j.spec && options.collect_stats) need += element_count(j.shape) * sizeof(float);
    if (memory > 0 && need > memory) {
      return Status::invalid_argument(t.name + ": converting it needs " + std::to_string(need) +
                                      " bytes of memory at once, more than this machine's " + std::to_string(memory));
    }
  }
  return Status::ok();
}

// Sorted by name: the order mlx-lm's sorted index lists, and one that
// re-converting an already quantized model reproduces.
Status sort_outputs(ConvertPlan* plan) {
  std::vector<OutTensor>& outs = plan->outs;
  std::sort(outs.begin(), outs.end(), [](const OutTensor& a, const OutTensor& b) { return a.name < b.name; });
  for (size_t k = 1; k < outs.size(); ++k) {
    if (outs[k].name == outs[k - 1].name) {
      return Status::invalid_argument("two output tensors would be named '" + outs[k].name + "'");
    }
  }
  return Status::ok();
}

// Points each job whose weight an adapter adapts at its module, after
// checking the weight is a float [out, in] matrix.
Status attach_adapter(ConvertPlan* plan, ConvertReport* report) {
  const LoraAdapter& adapter = *plan->adapter;
  std::map<std::string, Job*> weights;
  for (Job& j : plan->jobs) {
    if (j.parts.empty()) weights[plan->inputs[j.input].name] = &j;
  }
  for (const LoraModule& m : adapter.modules) {
    auto it = weights.find(m.path + ".weight");
    if (it == weights.end()) {
      return Status::invalid_argument("the adapter adapts '" + m.path + "', but the model has no tensor '" + m.path +
                                      ".weight' (experts and tied lm_heads cannot be fused)");
    }
    Job& j = *it->second;
    const InputTensor& t = plan->inputs[j.input];
    if (!is_float_dtype(t.dtype)) {
      return Status::invalid_argument("'" + t.name + "' is " + dtype_name(t.dtype) +
                                      ": fusing an adapter needs the float model (or apply it at run time with "
                                      "`run --adapter-path`)");
    }
    if (t.shape.size() != 2 || t.shape[0] != static_cast<uint64_t>(m.out) || t.shape[1] != static_cast<uint64_t>(m.in)) {
      return Status::invalid_argument("the adapter's '" + m.path + "' maps " + std::to_string(m.in) + " to " +
                                      std::to_string(m.out) + " features, but '" + t.name + "' has another shape");
    }
    j.lora = &m;
    ++report->fused;
  }
  return Status::ok();
}

Status check_something_quantized(const ConvertPlan& plan, const ConvertReport& report) {
  if (!plan.quantizing || report.quantized > 0) return Status::ok();
  auto example = std::find_if(report.kept_float.begin(), report.kept_float.end(),
                              [](const std::string& k) { return k.find("group size") != std::string::npos; });
  return Status::invalid_argument(
      "no tensor was quantized: the group size " + std::to_string(plan.default_spec.group_size) +
      " divides the input dimension of no candidate layer" +
      (example == report.kept_float.end() ? std::string(" (the model has no linear layers)")
                                          : " (e.g. " + *example + ")"));
}

// "PREFIX.experts.E.REST" -> {PREFIX, E, REST}, or false.
bool split_expert_name(const std::string& name, std::string* prefix, int64_t* expert, std::string* rest) {
  const size_t at = name.find(".experts.");
  if (at == std::string::npos) return false;
  const size_t digits = at + 9;
  size_t end = digits;
  while (end < name.size() && end - digits < 7 && name[end] >= '0' && name[end] <= '9') ++end;
  if (end == digits || end >= name.size() || name[end] != '.') return false;
  *prefix = name.substr(0, at);
  *expert = std::stoll(name.substr(digits, end - digits));
  *rest = name.substr(end + 1);
  return true;
}

// Mixtral's expert names as mlx-lm renames them.
std::string mlx_expert_name(const std::string& rest) {
  const size_t dot = rest.find('.');
  const std::string name = rest.substr(0, dot), kind = dot == std::string::npos ? "" : rest.substr(dot);
  if (name == "w1") return "gate_proj" + kind;
  if (name == "w2") return "down_proj" + kind;
  if (name == "w3") return "up_proj" + kind;
  return rest;
}

}  // namespace

std::vector<ExpertStack> find_expert_stacks(const std::vector<InputTensor>& inputs, int64_t num_experts) {
  std::vector<ExpertStack> stacks;
  if (num_experts <= 0) return stacks;
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<int64_t, size_t>>> groups;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string prefix, rest;
    int64_t expert = 0;
    if (split_expert_name(inputs[i].name, &prefix, &expert, &rest)) groups[{prefix, rest}].push_back({expert, i});
  }
  for (auto& [key, members] : groups) {
    if (members.size() != static_cast<size_t>(num_experts)) continue;
    std::sort(members.begin(), members.end());
    bool complete = true;
    for (size_t e = 0; e < members.size() && complete; ++e) {
      const InputTensor& a = inputs[members[e].second];
      const InputTensor& first = inputs[members[0].second];
      complete = members[e].first == static_cast<int64_t>(e) && a.dtype == first.dtype && a.shape == first.shape;
    }
    if (!complete) continue;
    ExpertStack s;
    s.name = key.first + ".switch_mlp." + mlx_expert_name(key.second);
    for (const auto& m : members) s.parts.push_back(m.second);
    stacks.push_back(std::move(s));
  }
  return stacks;
}

uint64_t element_count(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

Result<ConvertPlan> plan_conversion(const ModelSource& in, const ConfigFacts& config, const ConvertOptions& options,
                                    ConvertReport* report) {
  ConvertPlan plan;
  MLXPACK_ASSIGN_OR_RETURN(plan.inputs, read_inputs(in));
  report->tensors_in = plan.inputs.size();
  report->input_was_quantized = config.quantization.has_value();
  MLXPACK_RETURN_IF_ERROR(check_requantize(in, config, options.quant));
  plan.quantizing = options.quant.any() && !config.quantization;
  MLXPACK_ASSIGN_OR_RETURN(QuantPlanner planner,
                           QuantPlanner::create(options.quant, config.num_hidden_layers, plan.inputs));
  plan.default_spec = planner.default_spec();
  plan.per_layer_config = planner.per_layer_config();
  MLXPACK_ASSIGN_OR_RETURN(std::optional<size_t> untie_from, find_untie_source(plan.inputs, config, options));
  plan.untied = untie_from.has_value();

  const std::set<std::string> packed = packed_layers(plan.inputs, config);
  std::vector<bool> stacked(plan.inputs.size(), false);
  for (const ExpertStack& s : find_expert_stacks(plan.inputs, config.num_experts)) {
    InputTensor as = plan.inputs[s.parts[0]];
    as.name = s.name;
    as.shape.insert(as.shape.begin(), s.parts.size());
    Job j = plan_job(s.parts[0], as, plan, packed, planner, options, report);
    j.parts = s.parts;
    plan.jobs.push_back(std::move(j));
    for (size_t i : s.parts) stacked[i] = true;
  }
  for (size_t i = 0; i < plan.inputs.size(); ++i) {
    if (!stacked[i]) plan.jobs.push_back(plan_job(i, plan.inputs[i], plan, packed, planner, options, report));
  }
  if (untie_from) {
    InputTensor lm = plan.inputs[*untie_from];
    lm.name = "lm_head.weight";
    plan.jobs.push_back(plan_job(*untie_from, lm, plan, packed, planner, options, report));
  }
  if (!options.adapter_path.empty()) {
    if (in.has_file(kBundledAdapterConfig)) {
      return Status::invalid_argument(in.describe(kBundledAdapterConfig) +
                                      ": the input bundles an adapter already; fusing another would apply both");
    }
    MLXPACK_ASSIGN_OR_RETURN(LoraAdapter adapter, read_lora_adapter(options.adapter_path));
    plan.adapter = std::make_shared<const LoraAdapter>(std::move(adapter));
    MLXPACK_RETURN_IF_ERROR(attach_adapter(&plan, report).with_context(options.adapter_path));
  }
  MLXPACK_RETURN_IF_ERROR(list_outputs(&plan, report));
  MLXPACK_RETURN_IF_ERROR(check_memory(plan, options));
  MLXPACK_RETURN_IF_ERROR(sort_outputs(&plan));
  MLXPACK_RETURN_IF_ERROR(check_something_quantized(plan, *report));
  report->tensors_out = plan.outs.size();
  return plan;
}

}  // namespace mlxpack
