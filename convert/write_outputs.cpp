#include "convert/write_outputs.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>
#include <optional>

#include "convert/float_convert.h"
#include "convert/output_sink.h"
#include "format/file_io.h"

namespace mlxpack {

namespace {

// Error statistics of a quantized tensor against the weights it came from.
QuantStats measure(const std::string& name, const QuantSpec& spec, const uint8_t* w, DType dtype,
                   const QuantizedTensor& q) {
  const std::vector<float> deq = affine_dequantize(q, dtype, spec);
  QuantStats s;
  s.name = name;
  s.spec = spec;
  s.elements = deq.size();
  double err2 = 0, sig2 = 0;
  for (uint64_t i = 0; i < deq.size(); ++i) {
    const double ref = load_float(w, dtype, i);
    const double e = deq[i] - ref;
    s.max_abs_error = std::max(s.max_abs_error, std::fabs(e));
    err2 += e * e;
    sig2 += ref * ref;
  }
  s.rmse = deq.empty() ? 0 : std::sqrt(err2 / static_cast<double>(deq.size()));
  s.snr_db = err2 == 0 ? INFINITY : 10 * std::log10(sig2 / err2);
  s.bits_per_weight = 8.0 * static_cast<double>(q.weight.size() + q.scales.size() + q.biases.size()) /
                      static_cast<double>(std::max<uint64_t>(1, s.elements));
  return s;
}

// fn(row) for rows [0, n) on up to `threads` threads.
template <typename Fn>
void parallel_rows(uint64_t n, unsigned threads, Fn fn) {
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(std::min<uint64_t>(n, 64))));
  const uint64_t per = (n + threads - 1) / threads;
  std::vector<std::thread> pool;
  const auto work = [&](uint64_t begin) {
    for (uint64_t r = begin; r < std::min(n, begin + per); ++r) fn(r);
  };
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t * per);
  work(0);
  for (std::thread& t : pool) t.join();
}

// Produces the output tensors of one job at a time. A job's results are
// kept until the next job starts, so the three parts of a quantized layer
// (adjacent in name order) are computed once.
class TensorProducer {
 public:
  TensorProducer(const ModelSource& in, const ConvertPlan& plan, const ConvertOptions& options,
                 ConvertReport* report)
      : in_(in), plan_(plan), options_(options), report_(report), done_(plan.jobs.size(), false) {
    for (const Job& j : plan.jobs) input_total_ += plan.inputs[j.input].size_bytes * std::max<size_t>(1, j.parts.size());
  }

  // The bytes of output tensor `o`; valid until the next call.
  Result<const uint8_t*> produce(const OutTensor& o) {
    if (current_ != o.job) MLXPACK_RETURN_IF_ERROR(run_job(o.job));
    if (quantized_) {
      const std::string& part = o.part == 0 ? quantized_->weight : o.part == 1 ? quantized_->scales : quantized_->biases;
      return reinterpret_cast<const uint8_t*>(part.data());
    }
    if (!fused_.empty()) return reinterpret_cast<const uint8_t*>(fused_.data());
    return cast_.empty() ? input_ : reinterpret_cast<const uint8_t*>(cast_.data());
  }

 private:
  Status run_job(size_t job) {
    const Job& j = plan_.jobs[job];
    const InputTensor& t = plan_.inputs[j.input];
    const bool first = !done_[job];
    current_ = job;
    quantized_.reset();
    cast_.clear();
    fused_.clear();
    stacked_.clear();
    MLXPACK_RETURN_IF_ERROR(read_input(j, t));
    const uint8_t* data = input_;
    if (j.cast) {
      data = cast(j, t, first);
    }
    if (j.lora) data = fuse(*j.lora, data, j.dtype);
    if (j.spec) {
      MLXPACK_ASSIGN_OR_RETURN(quantized_, affine_quantize(data, j.dtype, j.shape, *j.spec, options_.threads,
                                                           j.base + ".weight"));
      if (options_.collect_stats && first) {
        report_->stats.push_back(measure(j.base + ".weight", *j.spec, data, j.dtype, *quantized_));
      }
    }
    if (first) {
      const uint64_t bytes = t.size_bytes * std::max<size_t>(1, j.parts.size());
      report_->bytes_in += bytes;
      input_done_ += bytes;
      if (options_.on_progress) options_.on_progress(input_done_, input_total_);
    }
    done_[job] = true;
    return Status::ok();
  }

  // input_ = the job's input bytes: the tensor in place, or its experts
  // gathered in order into stacked_. A pack opened lazily verifies each
  // tensor here: a corrupt one is refused, not converted.
  Status read_input(const Job& j, const InputTensor& t) {
    if (j.parts.empty()) {
      MLXPACK_ASSIGN_OR_RETURN(TensorView view, in_.tensor(t.name));
      input_ = static_cast<const uint8_t*>(view.data);
      return Status::ok();
    }
    stacked_.reserve(t.size_bytes * j.parts.size());
    for (size_t part : j.parts) {
      MLXPACK_ASSIGN_OR_RETURN(TensorView view, in_.tensor(plan_.inputs[part].name));
      stacked_.append(static_cast<const char*>(view.data), view.size_bytes);
    }
    input_ = reinterpret_cast<const uint8_t*>(stacked_.data());
    return Status::ok();
  }

  // W + scale * (A B)^T in float, stored in `dtype` (mlx_lm.fuse's
  // weight + (scale * lora_b.T) @ lora_a.T); rows spread over threads.
  const uint8_t* fuse(const LoraModule& m, const uint8_t* w, DType dtype) {
    const int r = plan_.adapter->rank;
    const float scale = plan_.adapter->scale;
    fused_.assign(uint64_t(m.out) * m.in * dtype_size_bytes(dtype), '\0');
    auto* out = reinterpret_cast<uint8_t*>(fused_.data());
    parallel_rows(m.out, options_.threads, [&](uint64_t o) {
      for (int i = 0; i < m.in; ++i) {
        float d = 0;
        for (int k = 0; k < r; ++k) d += m.a[size_t(i) * r + k] * m.b[size_t(k) * m.out + o];
        const uint64_t at = o * m.in + i;
        store_float(out, dtype, at, load_float(w, dtype, at) + scale * d);
      }
    });
    return out;
  }

  const uint8_t* cast(const Job& j, const InputTensor& t, bool first) {
    const uint64_t n = element_count(j.shape);
    cast_.assign(n * dtype_size_bytes(j.dtype), '\0');
    auto* out = reinterpret_cast<uint8_t*>(cast_.data());
    uint64_t overflowed = 0;
    for (uint64_t i = 0; i < n; ++i) overflowed += !store_float(out, j.dtype, i, load_float(input_, t.dtype, i));
    if (overflowed > 0 && first) {
      report_->warnings.push_back(t.name + ": " + std::to_string(overflowed) + " values overflow to infinity in " +
                                  dtype_name(j.dtype));
    }
    return out;
  }

  const ModelSource& in_;
  const ConvertPlan& plan_;
  const ConvertOptions& options_;
  ConvertReport* report_;
  std::vector<bool> done_;
  std::optional<size_t> current_;
  const uint8_t* input_ = nullptr;
  std::string cast_;
  std::string stacked_;
  std::string fused_;
  std::optional<QuantizedTensor> quantized_;
  uint64_t input_total_ = 0, input_done_ = 0;
};

}  // namespace

Status write_outputs(const ModelSource& in, const ConvertPlan& plan, const ShardLayout& layout,
                     const std::map<std::string, std::string>& files, const ConvertOptions& options,
                     ConvertReport* report) {
  MLXPACK_ASSIGN_OR_RETURN(std::unique_ptr<OutputSink> sink, open_output_sink(options, in.disk_paths()));
  for (const auto& [name, bytes] : files) MLXPACK_RETURN_IF_ERROR(sink->add_file(name, bytes));
  TensorProducer producer(in, plan, options, report);
  std::optional<size_t> current_shard;
  for (size_t k = 0; k < plan.outs.size(); ++k) {
    const OutTensor& o = plan.outs[k];
    if (current_shard != layout.shard_of[k]) {
      current_shard = layout.shard_of[k];
      const Shard& s = layout.shards[*current_shard];
      MLXPACK_RETURN_IF_ERROR(sink->begin_shard(s.name, s.header_region, s.size_bytes));
    }
    MLXPACK_ASSIGN_OR_RETURN(const uint8_t* data, producer.produce(o));
    report->bytes_out += o.size_bytes;
    MLXPACK_RETURN_IF_ERROR(sink->add_tensor(o.name, o.dtype, o.shape, data, o.size_bytes));
  }
  MLXPACK_ASSIGN_OR_RETURN(report->output_size, sink->finish());
  return Status::ok();
}

}  // namespace mlxpack
