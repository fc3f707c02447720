// Regression losses: PyTorch (element-wise, then reduced) and Keras (mean over the last
// axis per sample, then sample weights, then reduced). Forward and gradient side by side.
#include <cmath>

#include "engine.h"
#include "scalar.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// (x - y)^2; d/dx = 2 (x - y).  torch.nn.functional.mse_loss, keras mean_squared_error.
struct SquaredError {
  float loss(float x, float y) const {
    float d = x - y;
    return d * d;
  }
  float grad(float x, float y) const { return 2.0f * (x - y); }
};

// |x - y|; d/dx = sign(x - y).  torch l1_loss, keras mean_absolute_error.
struct AbsoluteError {
  float loss(float x, float y) const { return std::fabs(x - y); }
  float grad(float x, float y) const { return signNanToZero(x - y); }
};

// z = |x - y|: z < beta ? 0.5 z^2 / beta : z - 0.5 beta.  torch smooth_l1_loss (beta > 0).
struct SmoothL1 {
  float beta, halfBeta, invBeta;
  explicit SmoothL1(float b) : beta(b), halfBeta(0.5f * b), invBeta(1.0f / b) {}
  float loss(float x, float y) const {
    float d = x - y, z = std::fabs(d);
    return z < beta ? 0.5f * d * d * invBeta : z - halfBeta;
  }
  float grad(float x, float y) const {
    float d = x - y;
    return d < -beta ? -1.0f : (d > beta ? 1.0f : d * invBeta);
  }
};

// beta = 0: |x - y|, with PyTorch 1.13's smooth_l1 backward: d <= 0 ? -1 : 1 (so -1 at a tie,
// unlike l1_loss), NaN for NaN.
struct SmoothL1Beta0 {
  float loss(float x, float y) const { return std::fabs(x - y); }
  float grad(float x, float y) const {
    float d = x - y;
    return d <= 0.0f ? -1.0f : (d > 0.0f ? 1.0f : d);
  }
};

// z = |x - y|: z < delta ? 0.5 z^2 : delta (z - 0.5 delta); d/dx = clamp(x - y, -delta, delta).
// torch huber_loss; keras huber (same values, its `<=` only moves the tie, where both agree).
struct Huber {
  float delta, halfDelta;
  explicit Huber(float d) : delta(d), halfDelta(0.5f * d) {}
  float loss(float x, float y) const {
    float d = x - y, z = std::fabs(d);
    return z < delta ? 0.5f * d * d : delta * (z - halfDelta);
  }
  float grad(float x, float y) const {
    float d = x - y;
    return d < -delta ? -delta : (d > delta ? delta : d);
  }
};

// 100 |(t - p) / max(|t|, eps)|; d/dp = 100 sign(p - t) / max(|t|, eps).  keras MAPE.
// max as tf.maximum computes it (a < b ? b : a), so a NaN yTrue propagates.
struct AbsolutePercentageError {
  static float denominator(float t) {
    float a = std::fabs(t);
    return a < kKerasEpsilon ? kKerasEpsilon : a;
  }
  float loss(float p, float t) const { return 100.0f * std::fabs((t - p) / denominator(t)); }
  float grad(float p, float t) const { return 100.0f * signNanToZero(p - t) / denominator(t); }
};

// (log(max(p, eps) + 1) - log(max(t, eps) + 1))^2; tf.maximum passes the gradient where
// p >= eps.  keras mean_squared_logarithmic_error. max(v, eps) is >= eps or NaN (log1pPositive), a bit
// select: a ternary is a branch in a loop's scalar tail, where GCC then fused log1p's arithmetic
// differently than in the vector body (an element's loss depended on its position).
struct SquaredLogError {
  static constexpr bool kSumInBlocks = true;
  static float clipped(float v) { return vmath::select(v < kKerasEpsilon, kKerasEpsilon, v); }
  static float logDiff(float p, float t) { return vmath::log1pPositive(clipped(p)) - vmath::log1pPositive(clipped(t)); }
  float loss(float p, float t) const {
    float d = logDiff(p, t);
    return d * d;
  }
  float grad(float p, float t) const {
    float d = logDiff(p, t);
    return vmath::select(p < kKerasEpsilon, 0.0f, 2.0f * d / (p + 1.0f));  // a NaN p: its NaN, quieted, via d
  }
};

// x + softplus(-2x) - log 2 with x = p - t (never overflows); d/dp = tanh(x), both from one
// e = exp(-2|x|) (scalar.h, vmath.h).  keras log_cosh.
struct LogCosh {
  static constexpr bool kSumInBlocks = true;
  FASTLOSS_HOT void both(float p, float t, float& l, float& d) const {
    const float x = p - t;
    const float e = expNegAbs(2.0f * x);
    l = x + softplusFrom(-2.0f * x, e) - 0.69314718055994531f;
    d = vmath::tanhOfExp(x, e);
  }
};

}  // namespace

namespace torch {
void mseLoss(LossArgs& a) { elementwise(a, SquaredError{}); }
void l1Loss(LossArgs& a) { elementwise(a, AbsoluteError{}); }
// p[0] = beta.
void smoothL1Loss(LossArgs& a) {
  if (a.p[params::torch::smoothL1Loss::beta] == 0.0) elementwise(a, SmoothL1Beta0{});
  else elementwise(a, SmoothL1(static_cast<float>(a.p[params::torch::smoothL1Loss::beta])));
}
// p[0] = delta.
void huberLoss(LossArgs& a) { elementwise(a, Huber(static_cast<float>(a.p[params::torch::huberLoss::delta]))); }
}  // namespace torch

namespace keras {
void meanSquaredError(LossArgs& a) { kerasRowMean(a, SquaredError{}); }
void meanAbsoluteError(LossArgs& a) { kerasRowMean(a, AbsoluteError{}); }
void meanAbsolutePercentageError(LossArgs& a) { kerasRowMean(a, AbsolutePercentageError{}); }
void meanSquaredLogarithmicError(LossArgs& a) { kerasRowMean(a, SquaredLogError{}, 4); }
// p[0] = delta.
void huber(LossArgs& a) { kerasRowMean(a, Huber(static_cast<float>(a.p[params::keras::huber::delta]))); }
void logCosh(LossArgs& a) { kerasRowMean(a, LogCosh{}, 4); }
}  // namespace keras

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
