// Binary losses: PyTorch 1.13 binary_cross_entropy (with and without logits), torchvision's
// sigmoid_focal_loss, Keras binary crossentropy and binary focal crossentropy.
// Forward and gradient side by side.
#include <cmath>
#include <cstdint>

#include "engine.h"
#include "lanes.h"
#include "scalar.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// ------------------------------------------------------------------ PyTorch element-wise ops

// -(y max(log x, -100) + (1 - y) max(log(1 - x), -100)); d/dx = (x - y) / max((1 - x) x, 1e-12)
// (times the weight, by the engine). torch.nn.functional.binary_cross_entropy (its CPU kernel and backward).
struct BinaryCrossEntropy {
  FASTLOSS_HOT float loss(float x, float y) const {
    const float lx = maxKeepNanLeft(vmath::log(x), -100.0f);
    const float l1x = maxKeepNanLeft(vmath::log1p(-x), -100.0f);
    return (y - 1.0f) * l1x - y * lx;
  }
  FASTLOSS_HOT float grad(float x, float y) const { return (x - y) / maxKeepNanLeft((1.0f - x) * x, 1e-12f); }
};

// (1 - y) x + lw softplus(-x), lw = (pw - 1) y + 1 (pw = pos_weight, the column operand; 1
// without); d/dx = (pw y + 1 - y) sigmoid(x) - pw y.  binary_cross_entropy_with_logits.
struct BceWithLogits {
  FASTLOSS_HOT float loss(float x, float y, float pw) const { return lossFrom(x, y, pw, expNegAbs(x)); }
  // Fused where written (scalar.h mulAdd), the same in every loop: left to the compiler, (pw y + 1 - y) s - pw y
  // was fused differently in the backward and withGrad loops (gradients 1 ulp apart, avx2, with posWeight).
  FASTLOSS_HOT static float lossFrom(float x, float y, float pw, float e) {
    return mulAdd(1.0f - y, x, mulAdd(pw - 1.0f, y, 1.0f) * softplusFrom(-x, e));
  }
  FASTLOSS_HOT static float gradFrom(float x, float y, float pw, float e) {
    return mulAdd(mulAdd(pw, y, 1.0f) - y, sigmoidFrom(x, e), -(pw * y));
  }
  FASTLOSS_HOT float grad(float x, float y, float pw) const { return gradFrom(x, y, pw, expNegAbs(x)); }
  FASTLOSS_HOT void both(float x, float y, float pw, float& l, float& d) const {
    const float e = expNegAbs(x);
    l = lossFrom(x, y, pw, e);
    d = gradFrom(x, y, pw, e);
  }
  FASTLOSS_HOT float loss(float x, float y) const { return loss(x, y, 1.0f); }
  FASTLOSS_HOT float grad(float x, float y) const { return grad(x, y, 1.0f); }
  FASTLOSS_HOT void both(float x, float y, float& l, float& d) const { both(x, y, 1.0f, l, d); }
};

// Focal term shared by torchvision's sigmoid_focal_loss and Keras' binary focal crossentropy
// (from logits): ce = BCE-with-logits, p = sigmoid(x), m = 1 - p_t = p (1 - y) + (1 - p) y,
// loss = a_t m^gamma ce; d/dx = a_t (m^gamma (p - y) + gamma m^(gamma-1) (1 - 2y) p (1 - p) ce).
// (m^gamma)' is 0 for gamma == 0, as in PyTorch's pow backward.
// m^gamma and gamma m^(gamma - 1); Mode fixes the exponent at compile time so that the loops
// stay branch-free: 0 (gamma == 0), 1, 2, or 3 (any other gamma, through exp and log).
template <int Mode>
struct FocalPow {
  float gamma;
  FASTLOSS_HOT void eval(float m, float& pw, float& dpw) const {
    if (Mode == 0) {
      pw = 1.0f;
      dpw = 0.0f;
    } else if (Mode == 1) {
      pw = m;
      dpw = 1.0f;
    } else if (Mode == 2) {
      pw = m * m;
      dpw = 2.0f * m;
    } else {
      const float lm = vmath::log(m);
      pw = vmath::exp(gamma * lm);
      dpw = gamma * vmath::exp((gamma - 1.0f) * lm);
    }
  }
};

// fn(FocalPow<Mode>{gamma}) with the mode of gamma.
template <class Fn>
void withFocalPow(float gamma, Fn fn) {
  if (gamma == 0.0f) fn(FocalPow<0>{gamma});
  else if (gamma == 1.0f) fn(FocalPow<1>{gamma});
  else if (gamma == 2.0f) fn(FocalPow<2>{gamma});
  else fn(FocalPow<3>{gamma});
}

template <class Pow>
struct SigmoidFocal {
  Pow pow;
  float alpha;  // < 0: no alpha term (torchvision)
  FASTLOSS_HOT void both(float x, float y, float& l, float& d) const {
    const float e = expNegAbs(x);
    const float sp = softplusFrom(-x, e);
    const float r = 1.0f / (1.0f + e);
    const float p = x >= 0.0f ? r : e * r;  // sigmoid(x)
    const float q = x >= 0.0f ? e * r : r;  // 1 - sigmoid(x), without cancellation
    const float ce = (1.0f - y) * x + sp;
    const float m = p * (1.0f - y) + q * y;
    float pw, dpw;
    pow.eval(m, pw, dpw);
    const float at = alpha >= 0.0f ? alpha * y + (1.0f - alpha) * (1.0f - y) : 1.0f;
    l = at * ce * pw;
    d = at * (pw * (p - y) + dpw * (1.0f - 2.0f * y) * p * q * ce);
  }
};

// ------------------------------------------------------------------ Keras element-wise ops
// Keras ops take (yPred, yTrue) as kerasRowMean calls them.

// Label smoothing of binary targets: y (1 - ls) + 0.5 ls.
struct BinarySmooth {
  float keep, add;
  explicit BinarySmooth(float ls) : keep(1.0f - ls), add(0.5f * ls) {}
  FASTLOSS_HOT float operator()(float y) const { return y * keep + add; }
};

// KerasBce on an element with y = +-0 or 1 (labels not smoothed) and p not NaN (engine.h withSpecial):
// la, lb are finite (c in [eps, 1 - eps]), so y la + (1 - y) lb is a zero plus the one log of c + eps
// (y = 1) or 1 - c + eps: loss -log of it, the same value (a zero's sign aside: GCC contracts KerasBce's
// form differently per ISA level); d/dp -1 / (c + eps) or 1 / (1 - c + eps), the same division, the
// same bits. One log and one division instead of two of each. Bit selects: with a ternary GCC splits
// the division into two masked ones and folds the clip into the log.
struct KerasBceHard {
  BinarySmooth smooth;
  FASTLOSS_HOT float arg(float p, float t) const {
    const float c = kerasClipSelect(p);
    return vmath::select(smooth(t) != 0.0f, c + kKerasEpsilon, 1.0f - c + kKerasEpsilon);
  }
  FASTLOSS_HOT float loss(float p, float t) const { return -vmath::logPositive(arg(p, t)); }
  FASTLOSS_HOT float grad(float p, float t) const {
    // The clip passes p (kerasClipPass) exactly when it returns p: p is not NaN here.
    const float c = kerasClipSelect(p);
    const float r = 1.0f / vmath::select(smooth(t) != 0.0f, -(c + kKerasEpsilon), 1.0f - c + kKerasEpsilon);
    return c == p ? r : 0.0f;
  }
};

// -(y log(c + eps) + (1 - y) log(1 - c + eps)), c = clip(p, eps, 1 - eps).
// keras.backend.binary_crossentropy on probabilities.
struct KerasBce {
  BinarySmooth smooth;
  FASTLOSS_HOT float loss(float p, float t) const {
    const float y = smooth(t), c = kerasClip(p);
    return -(y * vmath::logPositive(c + kKerasEpsilon) + (1.0f - y) * vmath::logPositive(1.0f - c + kKerasEpsilon));
  }
  FASTLOSS_HOT float grad(float p, float t) const {
    const float y = smooth(t), c = kerasClip(p);
    // tf.clip_by_value's gradient selects (a NaN p gets 0, as in TF), it does not multiply.
    return kerasClipPass(p) != 0.0f ? (1.0f - y) / (1.0f - c + kKerasEpsilon) - y / (c + kKerasEpsilon) : 0.0f;
  }
  // Hard labels (engine.h withSpecial): unsmoothed t of +-0 or 1, p not NaN.
  bool hasSpecial() const { return smooth.keep == 1.0f && smooth.add == 0.0f; }
  // t (1 - t) is +-0 only for t = +-0 or 1, p - p is +0 only for a finite p (an infinite p could take
  // the path too; it does not, at no loss): the sum of the |...| is +0 only when all pass.
  FASTLOSS_HOT float specialMiss(float p, float t) const { return std::fabs(t * (1.0f - t)) + (p - p); }
  KerasBceHard special() const { return KerasBceHard{smooth}; }
};

// tf.nn.sigmoid_cross_entropy_with_logits: max(x, 0) - x y + log1p(exp(-|x|)); d/dx = sigmoid(x) - y.
struct KerasBceLogits {
  BinarySmooth smooth;
  FASTLOSS_HOT float loss(float x, float t) const {
    const float y = smooth(t);
    return reluNanToZero(x) - x * y + vmath::log1pUnit(expNegAbs(x));
  }
  FASTLOSS_HOT float grad(float x, float t) const { return vmath::sigmoid(x) - smooth(t); }
  // Both from one exp(-|x|): the same bits as loss and grad.
  FASTLOSS_HOT void both(float x, float t, float& l, float& d) const {
    const float y = smooth(t), e = expNegAbs(x);
    l = reluNanToZero(x) - x * y + vmath::log1pUnit(e);
    d = vmath::sigmoidOfExp(x, e) - y;
  }
};

// keras.backend.binary_focal_crossentropy on probabilities: m = 1 - p_t with the raw p,
// bce on the clipped p; loss = a_t m^gamma bce; d/dp = a_t (gamma m^(gamma-1) (1 - 2y) bce + m^gamma bce').
template <class Pow>
struct KerasFocal {
  BinarySmooth smooth;
  Pow pow;
  float alpha;
  float balance;  // 1 with class balancing (a float: a bool member stops vectorization)
  FASTLOSS_HOT float weight(float y) const { return balance != 0.0f ? y * alpha + (1.0f - y) * (1.0f - alpha) : 1.0f; }
  FASTLOSS_HOT float loss(float p, float t) const {
    const float y = smooth(t), c = kerasClip(p);
    const float bce =
        -(y * vmath::logPositive(c + kKerasEpsilon) + (1.0f - y) * vmath::logPositive(1.0f - c + kKerasEpsilon));
    const float m = 1.0f - (y * p + (1.0f - y) * (1.0f - p));
    float pw, dpw;
    pow.eval(m, pw, dpw);
    return weight(y) * pw * bce;
  }
  FASTLOSS_HOT float grad(float p, float t) const {
    const float y = smooth(t), c = kerasClip(p);
    const float bce =
        -(y * vmath::logPositive(c + kKerasEpsilon) + (1.0f - y) * vmath::logPositive(1.0f - c + kKerasEpsilon));
    const float dbce = kerasClipPass(p) * ((1.0f - y) / (1.0f - c + kKerasEpsilon) - y / (c + kKerasEpsilon));
    const float m = 1.0f - (y * p + (1.0f - y) * (1.0f - p));
    float pw, dpw;
    pow.eval(m, pw, dpw);
    // One fused rounding (scalar.h mulAdd): the compiler fused either product of a b + c d, differently in the
    // backward and withGrad loops (a zero gradient's sign differed on AVX-512).
    return weight(y) * mulAdd(dpw * (1.0f - 2.0f * y), bce, pw * dbce);
  }
};

// From logits: sigmoid p, bce = sigmoid_cross_entropy_with_logits (as Keras computes it).
template <class Pow>
struct KerasFocalLogits {
  BinarySmooth smooth;
  Pow pow;
  float alpha;
  float balance;  // 1 with class balancing (a float: a bool member stops vectorization)
  FASTLOSS_HOT void both(float x, float t, float& l, float& d) const {
    const float y = smooth(t);
    const float e = expNegAbs(x);
    const float p = sigmoidFrom(x, e);
    const float bce = reluNanToZero(x) - x * y + vmath::log1pUnit(e);
    const float m = 1.0f - (y * p + (1.0f - y) * (1.0f - p));
    float pw, dpw;
    pow.eval(m, pw, dpw);
    const float at = balance != 0.0f ? y * alpha + (1.0f - y) * (1.0f - alpha) : 1.0f;
    l = at * pw * bce;
    d = at * (dpw * (1.0f - 2.0f * y) * p * (1.0f - p) * bce + pw * (p - y));
  }
};

}  // namespace

namespace torch {

// Slots: input, target, weight?.  Input must lie in [0, 1] (PyTorch raises otherwise).
void binaryCrossEntropy(LossArgs& a) {
  const float* x = a.f(0);
  const int64_t n = a.inLen[0];
  const int64_t bad = firstBad(x, n, [](float v) { return v >= 0.0f && v <= 1.0f; });
  if (bad < n) {
    fail(a, ErrorReason::OutsideUnitInterval, inputAt(0, bad), x[bad]);
    return;
  }
  elementwise(a, BinaryCrossEntropy{}, 4, 2);
}

// Slots: input, target, weight?, posWeight? (along the last axis).
void binaryCrossEntropyWithLogits(LossArgs& a) { elementwise(a, BceWithLogits{}, 4, 2, 3); }

// p[0] alpha (< 0: none), p[1] gamma.  torchvision.ops.sigmoid_focal_loss.
void sigmoidFocalLoss(LossArgs& a) {
  const float alpha = static_cast<float>(a.p[params::torch::sigmoidFocalLoss::alpha]);
  withFocalPow(static_cast<float>(a.p[params::torch::sigmoidFocalLoss::gamma]), [&](auto pow) {
    elementwise(a, SigmoidFocal<decltype(pow)>{pow, alpha}, 6);
  });
}

}  // namespace torch

namespace keras {

// Slots: yPred, yTrue, sampleWeight?. p[0] fromLogits, p[1] labelSmoothing.
void binaryCrossentropy(LossArgs& a) {
  const BinarySmooth smooth(static_cast<float>(a.p[params::keras::binaryCrossentropy::labelSmoothing]));
  if (a.p[params::keras::binaryCrossentropy::fromLogits] != 0.0) kerasRowMean(a, KerasBceLogits{smooth}, 4);
  else kerasRowMean(a, KerasBce{smooth}, 4);
}

// p[0] gamma, p[1] alpha, p[2] applyClassBalancing, p[3] fromLogits, p[4] labelSmoothing.
void binaryFocalCrossentropy(LossArgs& a) {
  const BinarySmooth smooth(static_cast<float>(a.p[params::keras::binaryFocalCrossentropy::labelSmoothing]));
  const float alpha = static_cast<float>(a.p[params::keras::binaryFocalCrossentropy::alpha]);
  const float balance = a.p[params::keras::binaryFocalCrossentropy::applyClassBalancing] != 0.0 ? 1.0f : 0.0f;
  const bool logits = a.p[params::keras::binaryFocalCrossentropy::fromLogits] != 0.0;
  withFocalPow(static_cast<float>(a.p[params::keras::binaryFocalCrossentropy::gamma]), [&](auto pow) {
    using Pow = decltype(pow);
    if (logits) kerasRowMean(a, KerasFocalLogits<Pow>{smooth, pow, alpha, balance}, 6);
    else kerasRowMean(a, KerasFocal<Pow>{smooth, pow, alpha, balance}, 6);
  });
}

}  // namespace keras

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
