// Sums inside one row (never split across calls, so float partials are allowed: docs/
// ARCHITECTURE.md) in explicit float lanes, one vector wide. GCC's `omp simd reduction` ends each
// loop with a serial chain of scalar adds over the lanes, which costs more per row of 100 classes
// than the row's logs; laneSum folds the lanes in a fixed tree order instead (same bits for any
// thread count; the bits may differ between ISA levels).
#pragma once
#include <cstdint>
#include <limits>

#include "scalar.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {

#if defined(__AVX512F__)
constexpr int64_t kRowLanes = 16;
#elif defined(__AVX__)
constexpr int64_t kRowLanes = 8;
#else
constexpr int64_t kRowLanes = 4;
#endif
// Classes per float partial before it is added to a double.
constexpr int64_t kRowSumBlock = 256;

// v[0] + ... + v[kRowLanes - 1], halves added pairwise.
template <int64_t W = kRowLanes / 2>
FASTLOSS_HOT float laneSum(float* __restrict v) {
#pragma omp simd
  for (int64_t k = 0; k < W; ++k) v[k] += v[k + W];
  if constexpr (W > 1) {
    return laneSum<W / 2>(v);
  } else {
    return v[0];
  }
}

// sum(p[0, C)) for C >= kRowLanes: lanes over blocks of kRowSumBlock, each block's lanes then
// added to a double; the last C % kRowLanes elements as one vector over [C - kRowLanes, C),
// counting only its new lanes.
FASTLOSS_HOT float rowSum(const float* __restrict p, const int64_t C) {
  const int64_t body = C / kRowLanes * kRowLanes;
  double sp = 0.0;
  for (int64_t b = 0; b < body; b += kRowSumBlock) {
    const int64_t e = body - b < kRowSumBlock ? body : b + kRowSumBlock;
    float S[kRowLanes];
#pragma omp simd
    for (int64_t k = 0; k < kRowLanes; ++k) S[k] = 0.0f;
    for (int64_t j = b; j < e; j += kRowLanes) {
#pragma omp simd
      for (int64_t k = 0; k < kRowLanes; ++k) S[k] += p[j + k];
    }
    if (e == body && body < C) {
      const int64_t j = C - kRowLanes;
#pragma omp simd
      for (int64_t k = 0; k < kRowLanes; ++k) S[k] += j + k >= body ? p[j + k] : 0.0f;
    }
    sp += static_cast<double>(laneSum(S));
  }
  return static_cast<float>(sp);
}

// max(p[c0, c1)) as `p[c] > m ? p[c] : m` from -inf (NaN never wins; -inf for an empty range), in
// kMaxLanes independent lanes: one accumulator vector made the softmax max pass a chain of
// vmaxps, 2 cycles (its latency) per vector instead of about 0.5. The last (c1 - c0) % kMaxLanes
// elements as one block over [c1 - kMaxLanes, c1): max is idempotent, so the overlap is harmless.
constexpr int64_t kMaxLanes = 4 * kRowLanes;
template <int64_t W = kMaxLanes / 2>
FASTLOSS_HOT float laneMax(float* __restrict v) {
#pragma omp simd
  for (int64_t k = 0; k < W; ++k) v[k] = v[k + W] > v[k] ? v[k + W] : v[k];
  if constexpr (W > 1) {
    return laneMax<W / 2>(v);
  } else {
    return v[0];
  }
}
FASTLOSS_HOT float rowMax(const float* __restrict p, const int64_t c0, const int64_t c1) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  if (c1 - c0 < kMaxLanes) {
    float m = kNegInf;
#pragma omp simd reduction(max : m)
    for (int64_t c = c0; c < c1; ++c) m = p[c] > m ? p[c] : m;
    return m;
  }
  float M[kMaxLanes];
#pragma omp simd
  for (int64_t k = 0; k < kMaxLanes; ++k) M[k] = kNegInf;
  const int64_t body = c0 + (c1 - c0) / kMaxLanes * kMaxLanes;
  for (int64_t c = c0; c < body; c += kMaxLanes) {
#pragma omp simd
    for (int64_t k = 0; k < kMaxLanes; ++k) M[k] = p[c + k] > M[k] ? p[c + k] : M[k];
  }
  if (body < c1) {
    const int64_t c = c1 - kMaxLanes;
#pragma omp simd
    for (int64_t k = 0; k < kMaxLanes; ++k) M[k] = p[c + k] > M[k] ? p[c + k] : M[k];
  }
  return laneMax(M);
}

// g[0, C) *= k.
FASTLOSS_HOT void rowScale(float* __restrict g, const float k, const int64_t C) {
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) g[c] *= k;
}

// rowMax(p, 0, C) for C >= kMaxLanes (the same lanes, the same value) and, in the same loop,
// g[0, C) *= k (another row's rescale: two light streams in one loop).
FASTLOSS_HOT float rowMaxScale(const float* __restrict p, float* __restrict g, const float k, const int64_t C) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  float M[kMaxLanes];
#pragma omp simd
  for (int64_t j = 0; j < kMaxLanes; ++j) M[j] = kNegInf;
  const int64_t body = C / kMaxLanes * kMaxLanes;
  for (int64_t c = 0; c < body; c += kMaxLanes) {
#pragma omp simd
    for (int64_t j = 0; j < kMaxLanes; ++j) {
      M[j] = p[c + j] > M[j] ? p[c + j] : M[j];
      g[c + j] *= k;
    }
  }
  if (body < C) {
    const int64_t c = C - kMaxLanes;
#pragma omp simd
    for (int64_t j = 0; j < kMaxLanes; ++j) M[j] = p[c + j] > M[j] ? p[c + j] : M[j];
#pragma omp simd
    for (int64_t i = body; i < C; ++i) g[i] *= k;
  }
  return laneMax(M);
}

// kerasClip as bit selects: inside a loop that takes log of it, GCC folds the ternary form into
// log's special cases (+2 to 5 uops per vector in scripts/mca.js). Same values.
FASTLOSS_HOT float kerasClipSelect(float p) {
  return vmath::select(p < kKerasEpsilon, kKerasEpsilon,
                       vmath::select(p > kKerasOneMinusEpsilon, kKerasOneMinusEpsilon, p));
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
