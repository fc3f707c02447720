// Metric-learning losses: PyTorch 1.13 triplet_margin_with_distance_loss (torch/nn/functional.py)
// with the distances users name. Forward and gradient side by side.
//
// 'pairwise' (PyTorch's default distance, pairwise_distance with p = 2, eps = 1e-6) is exactly
// triplet_margin_loss(p = 2, eps = 1e-6): the call runs that kernel. 'cosine' is
// d(x, y) = 1 - cosine_similarity(x, y) per row, computed here.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "engine.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace torch {
void tripletMarginLoss(LossArgs&);
}

namespace {

constexpr double kCosineEps = 1e-8;  // F.cosine_similarity's default eps

struct RowSums {
  double aa, pp, nn, ap, an, pn;
};

FASTLOSS_LOOP inline RowSums tripletRowSums(const float* __restrict a, const float* __restrict p,
                                            const float* __restrict n, int64_t b, int64_t e) {
  double aa = 0.0, pp = 0.0, nn = 0.0, ap = 0.0, an = 0.0, pn = 0.0;
#pragma omp simd reduction(+ : aa, pp, nn, ap, an, pn)
  for (int64_t j = b; j < e; ++j) {
    const double x = a[j], y = p[j], z = n[j];
    aa += x * x;
    pp += y * y;
    nn += z * z;
    ap += x * y;
    an += x * z;
    pn += y * z;
  }
  return {aa, pp, nn, ap, an, pn};
}

// g = c0 a + c1 p + c2 n over [b, e), for each of the three gradients (rows of a 3 x 3 matrix).
FASTLOSS_LOOP inline void tripletRowGrad(const float* __restrict a, const float* __restrict p, const float* __restrict n,
                                         float* __restrict ga, float* __restrict gp, float* __restrict gn,
                                         const double m00, const double m01, const double m02, const double m11,
                                         const double m12, const double m22, int64_t b, int64_t e) {
#pragma omp simd
  for (int64_t j = b; j < e; ++j) {
    const double x = a[j], y = p[j], z = n[j];
    ga[j] = static_cast<float>(m00 * x + m01 * y + m02 * z);
    gp[j] = static_cast<float>(m01 * x + m11 * y + m12 * z);
    gn[j] = static_cast<float>(m02 * x + m12 * y + m22 * z);
  }
}

// Rows [b, e) of [rows, D]: l = max(margin + d(a, p) - d_neg, 0), d = 1 - cos,
// cos(x, y) = x.y / (|x| |y|) with |x| = sqrt(max(x.x, eps^2)) (ATen cosine_similarity in 1.13:
// the squared norms are clamped under NoGradGuard, so autograd differentiates the unclamped
// expression at the clamped values: d cos/dx = y / (|x||y|) - cos x / |x|^2).
// d_neg = min(d(a, n), d(p, n)) with swap; torch.min's gradient goes half to each side on a tie,
// clamp's passes where the hinge is >= 0.
// The gradient is symmetric in (a, p, n): g_a = m00 a + m01 p + m02 n, and so on.
double cosineTripletRows(const float* __restrict a, const float* __restrict p, const float* __restrict n,
                         float* __restrict out, float* __restrict ga, float* __restrict gp, float* __restrict gn,
                         const float* __restrict up, const double scale, const double margin, const bool swap,
                         const int64_t D, int64_t b, int64_t e) {
  double total = 0.0;
  for (int64_t r = b; r < e; ++r) {
    const int64_t j0 = r * D, j1 = j0 + D;
    const RowSums s = tripletRowSums(a, p, n, j0, j1);
    const double e2 = kCosineEps * kCosineEps;
    const double na = std::sqrt(s.aa > e2 ? s.aa : e2), np = std::sqrt(s.pp > e2 ? s.pp : e2),
                 nn = std::sqrt(s.nn > e2 ? s.nn : e2);
    const double cap = s.ap / (na * np), can = s.an / (na * nn), cpn = s.pn / (np * nn);
    const double dap = 1.0 - cap, dan = 1.0 - can, dpn = 1.0 - cpn;
    double dneg = dan, shareAn = 1.0, sharePn = 0.0;
    if (swap) {
      const bool nan = dan != dan || dpn != dpn;
      dneg = nan ? std::numeric_limits<double>::quiet_NaN() : (dpn < dan ? dpn : dan);
      shareAn = dan > dpn ? 0.0 : (dan == dpn ? 0.5 : 1.0);
      sharePn = dan < dpn ? 0.0 : (dan == dpn ? 0.5 : 1.0);
    }
    const double hinge = margin + dap - dneg;
    const double l = hinge < 0.0 ? 0.0 : hinge;
    if (out) out[r] = static_cast<float>(l);
    total += l;
    if (ga) {
      const double k = (hinge >= 0.0 ? 1.0 : 0.0) * (up ? static_cast<double>(up[r]) : scale);
      // dd(x, y)/dx = -y / (|x||y|) + cos x / |x|^2.
      const double sa = shareAn * k, sp = sharePn * k;
      const double m00 = k * cap / (na * na) - sa * can / (na * na);
      const double m01 = -k / (na * np);
      const double m02 = sa / (na * nn);
      const double m11 = k * cap / (np * np) - sp * cpn / (np * np);
      const double m12 = sp / (np * nn);
      const double m22 = -(sa * can + sp * cpn) / (nn * nn);
      tripletRowGrad(a, p, n, ga, gp, gn, m00, m01, m02, m11, m12, m22, j0, j1);
    }
  }
  return total;
}

void cosineTriplet(LossArgs& a, double margin, bool swap) {
  const int64_t D = a.ndim > 0 ? a.dims[a.ndim - 1] : 1;
  const int64_t rows = a.ndim > 0 ? dimsProduct(a, 0, a.ndim - 1) : 1;
  const bool none = a.reduction == Reduction::None;
  float* out = none && a.wantLoss() ? a.out : nullptr;
  const bool grad = a.wantGrad();
  float* ga = grad ? a.grad[0] : nullptr;
  float* gp = grad ? a.grad[1] : nullptr;
  float* gn = grad ? a.grad[2] : nullptr;
  const float* up = a.gradOut;
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(rows));
  const float *x = a.f(0), *y = a.f(1), *z = a.f(2);
  const double total = reduceRows(rows, D, 4, [&](int64_t b, int64_t e) {
    return cosineTripletRows(x, y, z, out, ga, gp, gn, up, scale, margin, swap, D, b, e);
  });
  if (!none && a.wantLoss()) a.result = a.reduction == Reduction::Mean ? total / static_cast<double>(rows) : total;
}

}  // namespace

namespace torch {

void tripletMarginWithDistanceLoss(LossArgs& a) {
  using P = params::torch::tripletMarginWithDistanceLoss;
  const double margin = a.p[P::margin];
  const bool swap = a.p[P::swap] != 0.0;
  if (a.p[P::cosine] != 0.0) {
    cosineTriplet(a, margin, swap);
    return;
  }
  // The same call through triplet_margin_loss(p = 2, eps = 1e-6), its parameters in its slots.
  LossArgs b = a;
  for (double& v : b.p) v = 0.0;
  b.p[params::torch::tripletMarginLoss::margin] = margin;
  b.p[params::torch::tripletMarginLoss::p] = 2.0;
  b.p[params::torch::tripletMarginLoss::eps] = 1e-6;
  b.p[params::torch::tripletMarginLoss::swap] = swap ? 1.0 : 0.0;
  tripletMarginLoss(b);
  a.result = b.result;
  a.errorKind = b.errorKind;
  if (b.errorKind != 0) std::memcpy(a.error, b.error, sizeof(a.error));
}

}  // namespace torch
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
