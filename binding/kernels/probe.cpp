// Benchmark probe, not a loss and not in the public API: streams a Float32Array once
// (read-only, memory bound) so `npm run bench` can measure the machine's read bandwidth
// with the same threads and chunking as the loss kernels.
#include "engine.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace probe {

// Sum of slot 0, read as four equal streams advancing together (a loss over two inputs
// and a gradient reads and writes several streams at once; one stream per thread leaves
// memory-level parallelism unused and under-reports the bandwidth), in fixed chunks
// (reduceChunks). 16 float lanes per stream keep independent accumulators, so the adds
// never limit the read rate; the sum is returned so the loads are not optimized away.
void streamRead(LossArgs& a) {
  const float* x = a.f(0);
  const int64_t n = a.inLen[0];
  const int64_t m = n / 4;
  double total = reduceChunks(m, 4, [x, m](int64_t b, int64_t e) {
    constexpr int kLanes = 16;
    const float* s0 = x;
    const float* s1 = x + m;
    const float* s2 = x + 2 * m;
    const float* s3 = x + 3 * m;
    float l0[kLanes] = {}, l1[kLanes] = {}, l2[kLanes] = {}, l3[kLanes] = {};
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes) {
#pragma omp simd
      for (int k = 0; k < kLanes; ++k) {
        l0[k] += s0[i + k];
        l1[k] += s1[i + k];
        l2[k] += s2[i + k];
        l3[k] += s3[i + k];
      }
    }
    double acc = 0.0;
    for (int k = 0; k < kLanes; ++k)
      acc += static_cast<double>(l0[k]) + static_cast<double>(l1[k]) + static_cast<double>(l2[k]) +
             static_cast<double>(l3[k]);
    for (; i < e; ++i)
      acc += static_cast<double>(s0[i]) + static_cast<double>(s1[i]) + static_cast<double>(s2[i]) +
             static_cast<double>(s3[i]);
    return acc;
  });
  for (int64_t i = 4 * m; i < n; ++i) total += static_cast<double>(x[i]);
  a.result = total;
}

// The "limit" column of the bench (issue 12): one vmath primitive applied to every element of
// slot 0 and summed, on the calling thread only, so that the bench can time what the primitive
// sustains in cache on one core. 16 float lanes keep the adds off the critical path; the result
// is returned so nothing is optimized away. Not an accuracy probe (mathcheck.cpp is).
template <class F>
FASTLOSS_LOOP void primitiveSum(LossArgs& a, F f) {
  const float* __restrict x = a.f(0);
  const int64_t n = a.inLen[0];
  constexpr int kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd
    for (int k = 0; k < kLanes; ++k) lanes[k] += f(x[i + k]);
  }
  double total = 0.0;
  for (int k = 0; k < kLanes; ++k) total += static_cast<double>(lanes[k]);
  for (; i < n; ++i) total += static_cast<double>(f(x[i]));
  a.result = total;
}

void exp(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::exp(v); });
}
void expNonPositive(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::expNonPositive(v); });
}
void expInRange(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::expInRange(v); });
}
void log(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::log(v); });
}
void logPositive(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::logPositive(v); });
}
void log1p(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::log1p(v); });
}
void log1pPositive(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::log1pPositive(v); });
}
void tanh(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::tanh(v); });
}
void sigmoid(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::sigmoid(v); });
}
void softplus(LossArgs& a) {
  primitiveSum(a, [](float v) { return vmath::softplus(v); });
}
// A float division (vdivps): the 1 / o of log's derivative in the Keras categorical gradients.
void div(LossArgs& a) {
  primitiveSum(a, [](float v) { return 1.0f / v; });
}

}  // namespace probe
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
