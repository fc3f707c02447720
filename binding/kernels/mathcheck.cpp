// Element-wise evaluation of the vmath functions (as vectorized in this ISA build) and of the
// C library's float functions, for the accuracy tests. Not losses: out_i = f(in_i).
#include <cmath>

#include "engine.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

template <class F>
void apply(LossArgs& a, F f) {
  const float* __restrict x = a.f(0);
  float* __restrict out = a.out;
  if (!out) return;  // called with reduction 'none' only (the native layer passes out only then)
  const int64_t n = a.inLen[0];
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = f(x[i]);
}

}  // namespace

#define FASTLOSS_MATHCHECK(name, simdExpr, libmExpr) \
  namespace simd {                                   \
  void name(LossArgs& a) {                           \
    apply(a, [](float v) { return simdExpr; });      \
  }                                                  \
  }                                                  \
  namespace libm {                                   \
  void name(LossArgs& a) {                           \
    apply(a, [](float v) { return libmExpr; });      \
  }                                                  \
  }

FASTLOSS_MATHCHECK(exp, ::fastloss::vmath::exp(v), std::exp(v))
FASTLOSS_MATHCHECK(log, ::fastloss::vmath::log(v), std::log(v))
FASTLOSS_MATHCHECK(log1p, ::fastloss::vmath::log1p(v), std::log1p(v))
FASTLOSS_MATHCHECK(tanh, ::fastloss::vmath::tanh(v), std::tanh(v))
FASTLOSS_MATHCHECK(sigmoid, ::fastloss::vmath::sigmoid(v), 1.0f / (1.0f + std::exp(-v)))
FASTLOSS_MATHCHECK(softplus, ::fastloss::vmath::softplus(v), std::fmax(v, 0.0f) + std::log1p(std::exp(-std::fabs(v))))
namespace simd {
void logPositive(LossArgs& a) {
  apply(a, [](float v) { return ::fastloss::vmath::logPositive(v); });
}
void log1pPositive(LossArgs& a) {
  apply(a, [](float v) { return ::fastloss::vmath::log1pPositive(v); });
}
}  // namespace simd
#undef FASTLOSS_MATHCHECK

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
