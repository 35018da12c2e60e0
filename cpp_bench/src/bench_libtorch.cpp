// Time a TorchScript Malade file (malade-export --format torchscript) with LibTorch: no Python in the loop.
// On --device cuda each timed call ends with a device synchronize, so a time is the GPU's work.
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <iostream>
#include <sstream>

#include "options.hpp"
#include "timing.hpp"

int main(int argc, char** argv) {
  using namespace malade_bench;
  try {
    const Options o = parse_options(argc, argv, "usage: bench_libtorch MODEL.pt [--batch B] [--reps R] [--warmup W] [--threads T] "
                                   "[--device cpu|cuda]");
    const torch::Device device(o.device);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw std::runtime_error("--device " + o.device + ": this LibTorch sees no CUDA device");
    at::set_num_threads(o.threads);
    at::set_num_interop_threads(1);
    torch::jit::ExtraFilesMap extra{{"malade_metadata.json", ""}};
    torch::jit::Module module = torch::jit::load(o.model, device, extra);
    module.eval();
    const std::string& meta = extra["malade_metadata.json"];
    const int steps = metadata_ints(meta, "malade.steps").at(0);
    const int votes = metadata_ints(meta, "malade.votes").at(0);
    const std::vector<int> shape = metadata_ints(meta, "malade.input_shape");
    const bool seed_mode = meta.find("\"malade.noise_mode\": \"seed\"") != std::string::npos;

    c10::InferenceMode guard;
    torch::manual_seed(0);
    const auto x = torch::rand({o.batch, shape.at(0), shape.at(1), shape.at(2)}).to(device);
    const auto extra_input = (seed_mode ? torch::arange(12345, 12345 + o.batch, torch::kLong)
                                        : torch::randn({steps, votes * o.batch, shape[0], shape[1], shape[2]}))
                                 .to(device);
    const std::vector<torch::jit::IValue> inputs{x, extra_input};
    std::vector<int64_t> logits_shape;
    const Stats s = time_callable(
        [&] {
          const auto out = module.forward(inputs).toTuple();
          logits_shape = out->elements()[0].toTensor().sizes().vec();
          if (device.is_cuda()) torch::cuda::synchronize();
        },
        o.batch, o.warmup, o.reps);
    std::ostringstream shape_json;
    shape_json << "[" << logits_shape.at(0) << ", " << logits_shape.at(1) << "]";
    print_json("libtorch", o.model, steps, o.threads, shape_json.str(), s, device.str());
  } catch (const std::exception& e) {
    std::cerr << "bench_libtorch: " << first_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
