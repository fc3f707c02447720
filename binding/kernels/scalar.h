// Scalar helpers shared by the kernel files, each defined once. Where NaN matters the name says
// what happens to it. Selects, not libm calls (std::fmax, ...): they vectorize.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "isa.h"
#include "vmath.h"

// Hot element helpers are forced inline: an out-of-line call inside a simd loop blocks
// vectorization.
#define FASTLOSS_HOT __attribute__((always_inline)) inline

namespace fastloss {
namespace FASTLOSS_ISA_NS {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// keras.backend.epsilon() as float32, and 1 - epsilon as TF computes it in float32.
constexpr float kKerasEpsilon = 1e-7f;
constexpr float kKerasOneMinusEpsilon = 1.0f - 1e-7f;
// keras.backend.epsilon() in float64 (sums kept in double).
constexpr double kKerasEpsilonF64 = 1e-7;

// max(v, 0) with NaN -> 0 (v > 0 is false for NaN): PyTorch's relu inside fused formulas.
FASTLOSS_HOT float reluNanToZero(float v) { return v > 0.0f ? v : 0.0f; }

// max(v, 0) keeping NaN (v < 0 is false for NaN): PyTorch clamp_min(v, 0), tf.maximum(v, 0).
FASTLOSS_HOT float clampMin0KeepNan(float v) { return v < 0.0f ? 0.0f : v; }

// max(a, b) as std::max(a, b) in PyTorch's kernels: a NaN `a` propagates, a NaN `b` does not.
FASTLOSS_HOT float maxKeepNanLeft(float a, float b) { return a < b ? b : a; }

// PyTorch sign: (0 < d) - (d < 0), so 0 and NaN give 0 (the L1 gradient at a tie is 0).
FASTLOSS_HOT float signNanToZero(float d) { return static_cast<float>((0.0f < d) - (d < 0.0f)); }

// softplus(z) and sigmoid(z) from one exp, e = exp(-|z|) (never overflows):
// softplus(z) = max(z, 0) + log1p(e), sigmoid(z) = (z >= 0 ? 1 : e) / (1 + e).
// mulAdd (vmath.h): a * b + c, fused where the ISA has FMA. For `a * b + c * d` the compiler may fuse
// either product, and chose differently in a loop's vector body and its scalar tail, so an element's
// loss depended on its position in the call (and chunked accumulation, src/core/accumulate.ts,
// differed from one call).
using vmath::mulAdd;
FASTLOSS_HOT float expNegAbs(float z) { return vmath::expNonPositive(-std::fabs(z)); }
FASTLOSS_HOT float softplusFrom(float z, float e) { return reluNanToZero(z) + vmath::log1pUnit(e); }
FASTLOSS_HOT float sigmoidFrom(float z, float e) {
  const float r = 1.0f / (1.0f + e);
  return z >= 0.0f ? r : e * r;
}

// tf.clip_by_value(p, eps, 1 - eps), and its gradient mask: 1 where eps <= p <= 1 - eps.
FASTLOSS_HOT float kerasClip(float p) {
  return p < kKerasEpsilon ? kKerasEpsilon : (p > kKerasOneMinusEpsilon ? kKerasOneMinusEpsilon : p);
}
FASTLOSS_HOT float kerasClipPass(float p) { return (p >= kKerasEpsilon && p <= kKerasOneMinusEpsilon) ? 1.0f : 0.0f; }

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
