// TEMPORARY shim with the vmath API (scalar libm); replaced by the vectorizable implementation.
#pragma once
#include <cmath>

namespace fastloss {
namespace vmath {
static inline float exp(float x) { return std::exp(x); }
static inline float log(float x) { return std::log(x); }
static inline float log1p(float x) { return std::log1p(x); }
static inline float tanh(float x) { return std::tanh(x); }
static inline float softplus(float x) { return std::fmax(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }
static inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
static inline float log_sigmoid(float x) { return -softplus(-x); }
}  // namespace vmath
}  // namespace fastloss
