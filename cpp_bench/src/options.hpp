// Command-line options shared by both harnesses: MODEL [--batch B] [--reps R] [--warmup W] [--threads T]
// [--device cpu|cuda] (the device is LibTorch's alone; the ONNX Runtime harness runs on the CPU).
// Chain length, input shape and noise mode come from the exported file's own metadata.
#pragma once

#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace malade_bench {

struct Options {
  std::string model, device = "cpu";
  int batch = 1, reps = 30, warmup = 3, threads = 1;
};

inline Options parse_options(int argc, char** argv, const char* usage) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> int {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      const int v = std::atoi(argv[++i]);
      if (v < 0) throw std::invalid_argument(arg + " must be >= 0");
      return v;
    };
    if (arg == "--batch") o.batch = value();
    else if (arg == "--reps") o.reps = value();
    else if (arg == "--warmup") o.warmup = value();
    else if (arg == "--threads") o.threads = value();
    else if (arg == "--device") {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      o.device = argv[++i];
    }
    else if (arg == "-h" || arg == "--help") throw std::invalid_argument(usage);
    else if (o.model.empty() && arg.rfind("--", 0) != 0) o.model = arg;
    else throw std::invalid_argument("unknown argument " + arg + "\n" + usage);
  }
  if (o.model.empty()) throw std::invalid_argument(usage);
  if (o.batch < 1 || o.reps < 1 || o.threads < 1) throw std::invalid_argument("--batch, --reps, --threads must be >= 1");
  return o;
}

// Exported metadata values are JSON text (`"malade.steps": "10"`); pull one integer list out of it.
inline std::vector<int> metadata_ints(const std::string& text, const std::string& key) {
  const std::regex field("\"" + key + "\": \"\\[?([0-9, ]+)\\]?\"");
  std::smatch m;
  if (!std::regex_search(text, m, field)) throw std::runtime_error("model metadata lacks " + key);
  std::vector<int> out;
  const std::string body = m[1];
  const std::regex number("[0-9]+");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), number); it != std::sregex_iterator(); ++it)
    out.push_back(std::stoi(it->str()));
  return out;
}

// LibTorch errors carry a C++ stack trace after the message; users need the message.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace malade_bench
