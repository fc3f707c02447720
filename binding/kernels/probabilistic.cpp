// Probabilistic losses: PyTorch 1.13 kl_div, poisson_nll_loss, gaussian_nll_loss and Keras
// kl_divergence, poisson. Forward and gradient side by side.
#include <cmath>
#include <cstdint>

#include "engine.h"
#include "scalar.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

constexpr float kHalfLog2Pi = 0.91893853320467274f;  // 0.5 log(2 pi)

// xlogy(y, y) - y x (0 where y == 0); d/dx = -y.  torch.nn.functional.kl_div, log_target=False.
struct KlDiv {
  static constexpr bool kSumInBlocks = true;
  FASTLOSS_HOT float loss(float x, float y) const {
    const float ylogy = y == 0.0f ? 0.0f : y * vmath::log(y);
    return mulAdd(-y, x, ylogy);  // one fused rounding on every path (scalar.h)
  }
  FASTLOSS_HOT float grad(float, float y) const { return -y; }
};

// exp(y) (y - x); d/dx = -exp(y).  kl_div, log_target=True.
struct KlDivLogTarget {
  static constexpr bool kSumInBlocks = true;
  FASTLOSS_HOT float loss(float x, float y) const { return vmath::exp(y) * (y - x); }
  FASTLOSS_HOT float grad(float, float y) const { return -vmath::exp(y); }
};

// Stirling term of poisson_nll_loss(full=True): y log y - y + 0.5 log(2 pi y) where y > 1.
FASTLOSS_HOT float stirling(float y) {
  const float s = y * vmath::log(y) - y + 0.5f * vmath::log(6.28318530717958648f * y);
  return y > 1.0f ? s : 0.0f;
}

// l + stirling(y) with full=True; l itself otherwise (an added 0.0f is an instruction: -0 + 0 = +0).
template <bool Full>
FASTLOSS_HOT float withStirling(float l, float y) {
  if constexpr (Full) {
    return l + stirling(y);
  } else {
    (void)y;
    return l;
  }
}

// log_input: exp(x) - y x, d/dx = exp(x) - y.  torch.nn.functional.poisson_nll_loss.
// Exp: vmath::exp, or vmath::expInRange in the summed blocks where |x| <= 86 (the same bits).
template <bool Full, float (*Exp)(float) = vmath::exp>
struct PoissonLogInput {
  static constexpr bool kSumInBlocks = true;
  static constexpr uint32_t kFastMax = vmath::kExpInRangeBits;
  FASTLOSS_HOT float loss(float x, float y) const { return withStirling<Full>(Exp(x) - y * x, y); }
  FASTLOSS_HOT float grad(float x, float y) const { return Exp(x) - y; }
  FASTLOSS_HOT void both(float x, float y, float& l, float& d) const {
    const float e = Exp(x);
    l = withStirling<Full>(e - y * x, y);
    d = e - y;
  }
  PoissonLogInput<Full, vmath::expInRange> fast() const { return {}; }
  FASTLOSS_HOT uint32_t fastKey(float x, float) const { return vmath::bitsOf(x) & 0x7fffffffu; }
};

// x - y log(x + eps), d/dx = 1 - y / (x + eps).  poisson_nll_loss(log_input=False).
template <bool Full>
struct PoissonRate {
  static constexpr bool kSumInBlocks = true;
  float eps;
  FASTLOSS_HOT float loss(float x, float y) const { return withStirling<Full>(x - y * vmath::log(x + eps), y); }
  FASTLOSS_HOT float grad(float x, float y) const { return 1.0f - y / (x + eps); }
};

// p - y log(p + eps); d/dp = 1 - y / (p + eps).  keras.losses.poisson.
struct KerasPoisson {
  static constexpr bool kSumInBlocks = true;
  FASTLOSS_HOT float loss(float p, float y) const { return p - y * vmath::log(p + kKerasEpsilon); }
  FASTLOSS_HOT float grad(float p, float y) const { return 1.0f - y / (p + kKerasEpsilon); }
};

// sum_j c(y) log(c(y) / c(p)), c = clip(., eps, 1); d/dp = -c(y) / c(p) where eps <= p <= 1.
// keras.losses.kl_divergence (a sum over the last axis).
struct KerasKl {
  static constexpr bool kSumInBlocks = true;
  FASTLOSS_HOT static float clip1(float v) { return v < kKerasEpsilon ? kKerasEpsilon : (v > 1.0f ? 1.0f : v); }
  FASTLOSS_HOT float loss(float p, float t) const {
    const float y = clip1(t);
    return y * vmath::log(y / clip1(p));
  }
  FASTLOSS_HOT float grad(float p, float t) const {
    const float pass = (p >= kKerasEpsilon && p <= 1.0f) ? 1.0f : 0.0f;
    return pass * (-clip1(t) / clip1(p));
  }
};

// ------------------------------------------------------------------ gaussian_nll_loss
//
// 0.5 (log v + (x - y)^2 / v) (+ 0.5 log 2 pi if full), v = max(var, eps); the clamp is done
// under no_grad in PyTorch, so the var gradient passes straight through it:
// d/dx = (x - y) / v, d/dvar = 0.5 (1 / v - (x - y)^2 / v^2). var has the input's length, or
// one value per row of the last axis (then its gradient sums over the row).
// torch.nn.functional.gaussian_nll_loss; negative var raises, as in PyTorch.
// Element-wise gaussian_nll loops; what is present is a template choice, so no loop carries a
// conditional (masked) load or store of an absent array.

template <bool kOut>
double gaussianLossLoop(const float* __restrict x, const float* __restrict y, const float* __restrict var,
                        float* __restrict out, float eps, float constant, int64_t b, int64_t e) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = b; i < e; ++i) {
    const float v = var[i] < eps ? eps : var[i], d = x[i] - y[i];
    const float l = 0.5f * (vmath::log(v) + d * d / v) + constant;
    if (kOut) out[i] = l;
    acc += static_cast<double>(l);
  }
  return acc;
}

template <bool kUp>
void gaussianGradLoop(const float* __restrict x, const float* __restrict y, const float* __restrict var,
                      const float* __restrict up, float scale, float eps, float* __restrict gx, float* __restrict gv,
                      int64_t b, int64_t e) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) {
    const float v = var[i] < eps ? eps : var[i], d = x[i] - y[i], iv = 1.0f / v;
    const float s = kUp ? up[i] : scale;
    gx[i] = s * d * iv;
    gv[i] = s * 0.5f * (iv - d * d * iv * iv);
  }
}

// One row sharing one variance v (lv = log v): loss sum (kOut: also each loss), and the
// x gradient row with the returned var-gradient sum (kUp: per-element upstream).
template <bool kOut>
double gaussianRowLoss(const float* __restrict xr, const float* __restrict yr, float* __restrict o, float v, float lv,
                       float constant, int64_t cols) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < cols; ++j) {
    const float d = xr[j] - yr[j];
    const float l = 0.5f * (lv + d * d / v) + constant;
    if (kOut) o[j] = l;
    acc += static_cast<double>(l);
  }
  return acc;
}

template <bool kUp>
double gaussianRowGrad(const float* __restrict xr, const float* __restrict yr, const float* __restrict u, float scale,
                       float v, float* __restrict g, int64_t cols) {
  const float iv = 1.0f / v;
  double sv = 0.0;
#pragma omp simd reduction(+ : sv)
  for (int64_t j = 0; j < cols; ++j) {
    const float d = xr[j] - yr[j];
    const float s = kUp ? u[j] : scale;
    g[j] = s * d * iv;
    sv += static_cast<double>(s * 0.5f * (iv - d * d * iv * iv));
  }
  return sv;
}

void gaussian(LossArgs& a) {
  const float* x = a.f(0);
  const float* y = a.f(1);
  const float* var = a.f(2);
  const int64_t n = a.inLen[0];
  const int64_t nv = a.inLen[2];
  // var holds one value per element (N) or one per row of the last axis (R), as the dims say:
  // the per-row layout only when the length is R and not N, with cols the last dim.
  const RowShape shape = rowShapeOf(a);
  const int64_t L = shape.cols, R = shape.rows;
  const bool perRow = nv != n;
  if (perRow && (nv != R || mulSat(R, L) != n)) {
    fail(a, ErrorReason::LengthMismatch, inputAt(2), static_cast<double>(nv), static_cast<double>(n),
         static_cast<double>(R));
    return;
  }
  const float eps = static_cast<float>(a.p[params::torch::gaussianNllLoss::eps]);
  const float constant = a.p[params::torch::gaussianNllLoss::full] != 0.0 ? kHalfLog2Pi : 0.0f;
  const int64_t negative = firstBad(var, nv, [](float v) { return !(v < 0.0f); });
  if (negative < nv) {
    fail(a, ErrorReason::Negative, inputAt(2, negative), var[negative]);
    return;
  }
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  const float scale = static_cast<float>(a.gradScale / reductionDivisor(a, static_cast<double>(n)));
  const float* up = a.gradOut;
  float* out = a.out;
  float* gx = a.grad[0];
  float* gv = a.grad[1];
  const int64_t cols = perRow ? L : 1;  // 0 for an empty last axis: rows of nothing
  auto clampV = [eps](float v) { return v < eps ? eps : v; };
  double total;
  if (!perRow) {
    total = reduceChunks(n, 4, [&](int64_t b, int64_t e) {
      double acc = 0.0;
      if (wantLoss) {
        acc = none ? gaussianLossLoop<true>(x, y, var, out, eps, constant, b, e)
                   : gaussianLossLoop<false>(x, y, var, out, eps, constant, b, e);
      }
      if (wantGrad) {
        if (up) gaussianGradLoop<true>(x, y, var, up, scale, eps, gx, gv, b, e);
        else gaussianGradLoop<false>(x, y, var, up, scale, eps, gx, gv, b, e);
      }
      return acc;
    });
  } else {
    const int64_t rows = nv;
    total = reduceRows(rows, cols, 4, [&](int64_t b, int64_t e) {
      double acc = 0.0;
      for (int64_t r = b; r < e; ++r) {
        const float v = clampV(var[r]), lv = vmath::log(v);
        const float* xr = x + r * cols;
        const float* yr = y + r * cols;
        if (wantLoss) {
          acc += none ? gaussianRowLoss<true>(xr, yr, out + r * cols, v, lv, constant, cols)
                      : gaussianRowLoss<false>(xr, yr, nullptr, v, lv, constant, cols);
        }
        if (wantGrad) {
          float* g = gx + r * cols;
          const double sv = up ? gaussianRowGrad<true>(xr, yr, up + r * cols, scale, v, g, cols)
                               : gaussianRowGrad<false>(xr, yr, nullptr, scale, v, g, cols);
          gv[r] = static_cast<float>(sv);
        }
      }
      return acc;
    });
  }
  finishReduction(a, Framework::Torch, total, n);
}

}  // namespace

namespace torch {

// p[0] logTarget. Reductions include batchmean (sum / shape[0]).
void klDiv(LossArgs& a) {
  if (a.p[params::torch::klDiv::logTarget] != 0.0) elementwise(a, KlDivLogTarget{}, 2);
  else elementwise(a, KlDiv{}, 2);
}

// p[0] logInput, p[1] full, p[2] eps.
void poissonNllLoss(LossArgs& a) {
  const bool full = a.p[params::torch::poissonNllLoss::full] != 0.0;
  if (a.p[params::torch::poissonNllLoss::logInput] != 0.0) {
    if (full) elementwise(a, PoissonLogInput<true>{}, 4);
    else elementwise(a, PoissonLogInput<false>{}, 2);
  } else {
    const float eps = static_cast<float>(a.p[params::torch::poissonNllLoss::eps]);
    if (full) elementwise(a, PoissonRate<true>{eps}, 4);
    else elementwise(a, PoissonRate<false>{eps}, 2);
  }
}

// Slots: input, target, var. p[0] full, p[1] eps.
void gaussianNllLoss(LossArgs& a) { gaussian(a); }

}  // namespace torch

namespace keras {

void klDivergence(LossArgs& a) { kerasRowSum(a, KerasKl{}, 4); }

void poisson(LossArgs& a) { kerasRowMean(a, KerasPoisson{}, 2); }

}  // namespace keras

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
