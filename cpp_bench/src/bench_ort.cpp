// Time an ONNX Malade file (malade-export, noise input or seed) with the ONNX Runtime C++ API, CPU provider.
#include <onnxruntime_cxx_api.h>

#include <iostream>
#include <random>
#include <sstream>

#include "options.hpp"
#include "timing.hpp"

namespace {

// The custom metadata map rebuilt as `"key": "value"` text, so options.hpp's parser reads both formats.
std::string metadata_text(const Ort::Session& session) {
  Ort::AllocatorWithDefaultOptions alloc;
  const Ort::ModelMetadata meta = session.GetModelMetadata();
  std::string text;
  for (const auto& key : meta.GetCustomMetadataMapKeysAllocated(alloc)) {
    const auto value = meta.LookupCustomMetadataMapAllocated(key.get(), alloc);
    text += "\"" + std::string(key.get()) + "\": \"" + std::string(value.get()) + "\"\n";
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace malade_bench;
  try {
    const Options o = parse_options(argc, argv, "usage: bench_ort MODEL.onnx [--batch B] [--reps R] [--warmup W] [--threads T]");
    if (o.device != "cpu") throw std::invalid_argument("bench_ort runs on the CPU only; drop --device " + o.device);
    Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "malade-bench");
    Ort::SessionOptions opts;
    opts.SetIntraOpNumThreads(o.threads);
    opts.SetInterOpNumThreads(1);
    opts.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    Ort::Session session(env, o.model.c_str(), opts);
    const std::string meta = metadata_text(session);
    const int steps = metadata_ints(meta, "malade.steps").at(0);
    const int votes = metadata_ints(meta, "malade.votes").at(0);
    const std::vector<int> shape = metadata_ints(meta, "malade.input_shape");

    Ort::AllocatorWithDefaultOptions alloc;
    const std::string second = session.GetInputNameAllocated(1, alloc).get();  // "noise" or "seed"
    const bool seed_mode = second == "seed";
    const std::vector<int64_t> x_shape{o.batch, shape.at(0), shape.at(1), shape.at(2)};
    std::vector<float> x(o.batch * shape[0] * shape[1] * shape[2]);
    std::mt19937 rng(0);
    std::uniform_real_distribution<float> uniform(0.f, 1.f);
    std::normal_distribution<float> normal(0.f, 1.f);
    for (float& v : x) v = uniform(rng);
    std::vector<int64_t> extra_shape;
    std::vector<float> noise;
    std::vector<int64_t> seeds;
    const auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    std::vector<Ort::Value> inputs;
    inputs.push_back(Ort::Value::CreateTensor<float>(mem, x.data(), x.size(), x_shape.data(), x_shape.size()));
    if (seed_mode) {
      extra_shape = {o.batch};
      for (int i = 0; i < o.batch; ++i) seeds.push_back(12345 + i);
      inputs.push_back(Ort::Value::CreateTensor<int64_t>(mem, seeds.data(), seeds.size(), extra_shape.data(), 1));
    } else {
      extra_shape = {steps, static_cast<int64_t>(votes) * o.batch, shape[0], shape[1], shape[2]};
      noise.resize(static_cast<size_t>(steps) * votes * x.size());
      for (float& v : noise) v = normal(rng);
      inputs.push_back(Ort::Value::CreateTensor<float>(mem, noise.data(), noise.size(), extra_shape.data(),
                                                       extra_shape.size()));
    }
    const char* input_names[] = {"x", seed_mode ? "seed" : "noise"};
    const char* output_names[] = {"logits", "purified", "score"};
    std::vector<int64_t> logits_shape;
    const Stats s = time_callable(
        [&] {
          auto out = session.Run(Ort::RunOptions{nullptr}, input_names, inputs.data(), 2, output_names, 3);
          logits_shape = out[0].GetTensorTypeAndShapeInfo().GetShape();
        },
        o.batch, o.warmup, o.reps);
    std::ostringstream shape_json;
    shape_json << "[" << logits_shape.at(0) << ", " << logits_shape.at(1) << "]";
    print_json(seed_mode ? "onnxruntime-seed" : "onnxruntime", o.model, steps, o.threads, shape_json.str(), s);
  } catch (const std::exception& e) {
    std::cerr << "bench_ort: " << first_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
