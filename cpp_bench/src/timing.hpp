// Shared timing for the C++ harnesses: warm-up, timed repetitions, and the same statistics as
// malade_export/bench/timing.py (percentiles by linear interpolation between order statistics),
// printed as one JSON line so scripts/bench_cpp.sh and the tests can parse it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace malade_bench {

inline double percentile(std::vector<double> samples, double q) {
  if (samples.empty()) throw std::invalid_argument("percentile of an empty sample");
  std::sort(samples.begin(), samples.end());
  const double rank = q / 100.0 * static_cast<double>(samples.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const auto hi = static_cast<size_t>(std::ceil(rank));
  return samples[lo] + (samples[hi] - samples[lo]) * (rank - static_cast<double>(lo));
}

struct Stats {
  double median_s, p90_s, p99_s, mean_s, min_s;
  int reps, batch;
  double throughput;  // images per second at the median
};

inline Stats summarize(const std::vector<double>& samples, int batch) {
  double sum = 0.0;
  for (double s : samples) sum += s;
  const double median = percentile(samples, 50.0);
  return {median, percentile(samples, 90.0), percentile(samples, 99.0), sum / samples.size(),
          *std::min_element(samples.begin(), samples.end()), static_cast<int>(samples.size()), batch,
          batch / median};
}

// Time fn() `reps` times after `warmup` untimed calls; seconds per call.
inline Stats time_callable(const std::function<void()>& fn, int batch, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> samples;
  samples.reserve(reps);
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return summarize(samples, batch);
}

// One JSON object on stdout: the contract with scripts/bench_cpp.sh and tests/test_cpp_bench.py.
inline void print_json(const std::string& harness, const std::string& model, int steps, int threads,
                       const std::string& output_shape, const Stats& s, const std::string& device = "cpu") {
  std::printf(
      "{\"harness\": \"%s\", \"device\": \"%s\", \"model\": \"%s\", \"steps\": %d, \"batch\": %d, \"threads\": %d, "
      "\"reps\": %d, \"median_ms\": %.6f, \"p90_ms\": %.6f, \"p99_ms\": %.6f, \"mean_ms\": %.6f, "
      "\"min_ms\": %.6f, \"throughput\": %.3f, \"logits_shape\": %s}\n",
      harness.c_str(), device.c_str(), model.c_str(), steps, s.batch, threads, s.reps, s.median_s * 1e3, s.p90_s * 1e3,
      s.p99_s * 1e3, s.mean_s * 1e3, s.min_s * 1e3, s.throughput, output_shape.c_str());
  std::fflush(stdout);
}

}  // namespace malade_bench
