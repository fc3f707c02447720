// Benchmark probe, not a loss and not in the public API: streams a Float32Array once
// (read-only, memory bound) so `npm run bench` can measure the machine's read bandwidth
// with the same threads and chunking as the loss kernels.
#include "engine.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace probe {

// Sum of slot 0 in fixed chunks (reduceChunks). 64 float lanes per step keep several
// independent vector accumulators busy, so the adds never limit the read rate; the sum
// is returned so the loads are not optimized away.
void streamRead(LossArgs& a) {
  const float* x = a.f(0);
  const int64_t n = a.inLen[0];
  a.result = reduceChunks(n, 1, [&](int64_t b, int64_t e) {
    constexpr int kLanes = 64;
    float lanes[kLanes] = {};
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes) {
#pragma omp simd
      for (int k = 0; k < kLanes; ++k) lanes[k] += x[i + k];
    }
    double acc = 0.0;
    for (int k = 0; k < kLanes; ++k) acc += static_cast<double>(lanes[k]);
    for (; i < e; ++i) acc += static_cast<double>(x[i]);
    return acc;
  });
}

}  // namespace probe
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
