// Metric-learning losses: PyTorch 1.13 triplet_margin_with_distance_loss (torch/nn/functional.py)
// with the distances users name, and Keras 3's circle loss (keras/src/losses/losses.py circle).
// Forward and gradient side by side.
//
// 'pairwise' (PyTorch's default distance, pairwise_distance with p = 2, eps = 1e-6) is exactly
// triplet_margin_loss(p = 2, eps = 1e-6): the call runs that kernel. 'cosine' is
// d(x, y) = 1 - cosine_similarity(x, y) per row, computed here.
#include <cmath>
#include <cstdint>
#include <cstdlib>
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
FASTLOSS_LOOP inline void tripletRowGrad(const float* __restrict a, const float* __restrict p,
                                         const float* __restrict n, float* __restrict ga, float* __restrict gp,
                                         float* __restrict gn, const double m00, const double m01, const double m02,
                                         const double m11, const double m12, const double m22, int64_t b, int64_t e) {
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
  if (!none && a.wantLoss() && !reportParts(a, total, reductionDivisor(a, static_cast<double>(rows)), rows))
    a.result = a.reduction == Reduction::Mean ? total / static_cast<double>(rows) : total;
}

// ---------------------------------------------------------------- keras.circle
//
// losses.py circle (l. 2661-2746): s_ij = e_i . e_j, dist = max(1 - s, 0); positives: same label
// (j != i with removeDiagonal), negatives: other labels; pos_ij = -gamma max(m + dist, 0)
// (m - dist), neg_ij = gamma max(1 + m - dist, 0) ((1 - m) - dist);
// l_i = softplus(logsumexp_j pos_ij + logsumexp_j neg_ij), a logsumexp over no entries being -inf
// (so l_i = 0, gradient 0). No N x N matrix is kept: a first pass gives each row's two
// log-sum-exps, the gradient pass recomputes s_kj and uses s_kj = s_jk:
// dL/de_k = sum_j (c_k G_kj + c_j G_jk) e_j, G_ij = sigmoid(z_i) softmax_i(j) d(pos|neg)_ij/ds_ij.

struct CircleParams {
  double gamma, margin;
  bool removeDiagonal;
};

// Pair (i, j): 0 neither, 1 positive, 2 negative (symmetric in i, j).
inline int circleClass(const int32_t* labels, int64_t i, int64_t j, bool removeDiagonal) {
  if (labels[i] != labels[j]) return 2;
  return removeDiagonal && i == j ? 0 : 1;
}

// The weighted distance of a pair and its derivative with respect to s.
struct CircleTerm {
  double wd, dwd;
};
inline CircleTerm circleTerm(double s, int cls, CircleParams cp) {
  const double m = cp.margin, g = cp.gamma, oneMinus = 1.0 - s;
  const double dist = oneMinus > 0.0 ? oneMinus : 0.0;
  const double dDist = oneMinus > 0.0 ? -1.0 : 0.0;
  if (cls == 1) {
    const double w = m + dist > 0.0 ? m + dist : 0.0;
    return {-g * w * (m - dist), -g * ((m + dist > 0.0 ? 1.0 : 0.0) * (m - dist) - w) * dDist};
  }
  const double w = 1.0 + m - dist > 0.0 ? 1.0 + m - dist : 0.0;
  return {g * w * ((1.0 - m) - dist), g * (-(1.0 + m - dist > 0.0 ? 1.0 : 0.0) * ((1.0 - m) - dist) - w) * dDist};
}

FASTLOSS_LOOP inline double dotRow(const float* __restrict x, const float* __restrict y, int64_t D) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t d = 0; d < D; ++d) s += static_cast<double>(x[d]) * static_cast<double>(y[d]);
  return s;
}

// Running log-sum-exp: max and sum of exp(x - max).
struct Lse {
  double max = -INFINITY, sum = 0.0;
  void add(double x) {
    if (x > max) {
      sum = sum * std::exp(max - x) + 1.0;
      max = x;
    } else {
      sum += std::exp(x - max);
    }
  }
  double value() const { return max > -INFINITY ? max + std::log(sum) : max; }
};

// Row i's statistics: the positive and negative log-sum-exps and the loss.
struct CircleRow {
  double lp, ln, loss, sig;
};
CircleRow circleRow(const float* __restrict E, const int32_t* __restrict labels, int64_t N, int64_t D, int64_t i,
                    const CircleParams cp) {
  Lse pos, neg;
  bool nan = false;
  for (int64_t j = 0; j < N; ++j) {
    const int cls = circleClass(labels, i, j, cp.removeDiagonal);
    if (cls == 0) continue;
    const double wd = circleTerm(dotRow(E + i * D, E + j * D, D), cls, cp).wd;
    nan |= wd != wd;
    (cls == 1 ? pos : neg).add(wd);
  }
  const double lp = pos.value(), ln = neg.value();
  const double z = nan ? std::numeric_limits<double>::quiet_NaN() : lp + ln;
  // softplus(z) = log(1 + e^z), stable; its derivative sigmoid(z) (0 at z = -inf).
  const double loss = z > 0.0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
  return {lp, ln, loss, 1.0 / (1.0 + std::exp(-z))};
}

// g_k = sum_j (c_k G_kj + c_j G_jk) e_j; rows whose z is -inf have sig = 0 and add nothing.
void circleGradRow(const float* __restrict E, const int32_t* __restrict labels, const CircleRow* __restrict rows,
                   const double* __restrict c, int64_t N, int64_t D, int64_t k, const CircleParams cp,
                   float* __restrict g, double* __restrict acc) {
  for (int64_t d = 0; d < D; ++d) acc[d] = 0.0;
  for (int64_t j = 0; j < N; ++j) {
    const int cls = circleClass(labels, k, j, cp.removeDiagonal);
    if (cls == 0) continue;
    const CircleTerm t = circleTerm(dotRow(E + k * D, E + j * D, D), cls, cp);
    const double lseK = cls == 1 ? rows[k].lp : rows[k].ln, lseJ = cls == 1 ? rows[j].lp : rows[j].ln;
    const double gk = c[k] * rows[k].sig == 0.0 ? 0.0 : c[k] * rows[k].sig * std::exp(t.wd - lseK) * t.dwd;
    const double gj = c[j] * rows[j].sig == 0.0 ? 0.0 : c[j] * rows[j].sig * std::exp(t.wd - lseJ) * t.dwd;
    const double coef = gk + gj;
    const float* __restrict ej = E + j * D;
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) acc[d] += coef * static_cast<double>(ej[d]);
  }
  for (int64_t d = 0; d < D; ++d) g[k * D + d] = static_cast<float>(acc[d]);
}

void circleLoss(LossArgs& a) {
  using P = params::keras::circle;
  const int64_t N = a.ndim > 1 ? dimsProduct(a, 0, a.ndim - 1) : 1;
  const int64_t D = a.ndim > 0 ? a.dims[a.ndim - 1] : 1;
  const CircleParams cp{a.p[P::gamma], a.p[P::margin], a.p[P::removeDiagonal] != 0.0};
  const float* E = a.f(0);
  const int32_t* labels = a.i32(1);
  const float* w = a.f(2);
  // Scratch: the row statistics, the upstream scale c per row, and one gradient accumulator of D
  // doubles per row chunk.
  constexpr int64_t kRowsPerChunk = 4;
  const int64_t chunks = (N + kRowsPerChunk - 1) / kRowsPerChunk;
  const size_t bytes = static_cast<size_t>(N) * (sizeof(CircleRow) + sizeof(double)) +
                       static_cast<size_t>(a.wantGrad() ? mulSat(chunks, D > 0 ? D : 1) : 0) * sizeof(double);
  void* mem = std::malloc(bytes > 0 ? bytes : 1);
  if (!mem) {
    fail(a, ErrorReason::OutOfMemory, ErrorAt{}, 0.0, static_cast<double>(N), static_cast<double>(D));
    return;
  }
  CircleRow* rows = static_cast<CircleRow*>(mem);
  double* c = reinterpret_cast<double*>(rows + N);
  double* acc = c + N;
  const int64_t cost = mulSat(N, D > 0 ? D : 1);
  parallelFor(N, kRowsPerChunk, cost, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) rows[i] = circleRow(E, labels, N, D, i, cp);
  });
  // Keras' mask (loss > 0, in float32) and the reduction (loss.py apply_mask, reduce_values):
  // sum_over_batch_size weighs kept rows by N / kept and divides by N (divide_no_nan); sum and
  // none weigh them by 1 and the others by 0.
  int64_t kept = 0;
  for (int64_t i = 0; i < N; ++i) kept += static_cast<float>(rows[i].loss) > 0.0f;
  const bool mean = a.reduction == Reduction::Mean;
  const double maskWeight = mean ? (kept > 0 ? static_cast<double>(N) / static_cast<double>(kept) : 0.0) : 1.0;
  const double divisor = mean ? static_cast<double>(N) : 1.0;
  const bool none = a.reduction == Reduction::None;
  double total = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    const double sw =
        (w ? static_cast<double>(w[i]) : 1.0) * (static_cast<float>(rows[i].loss) > 0.0f ? maskWeight : 0.0);
    const double l = rows[i].loss * sw;
    if (none && a.wantLoss()) a.out[i] = static_cast<float>(l);
    total += l;
    c[i] = (a.gradOut ? static_cast<double>(a.gradOut[i]) : a.gradScale / divisor) * sw;
  }
  if (a.wantGrad()) {
    float* g = a.grad[0];
    parallelFor(N, kRowsPerChunk, cost, [&](int64_t b, int64_t e) {
      double* chunkAcc = acc + (b / kRowsPerChunk) * (D > 0 ? D : 1);
      for (int64_t k = b; k < e; ++k) circleGradRow(E, labels, rows, c, N, D, k, cp, g, chunkAcc);
    });
  }
  std::free(mem);
  if (!none && a.wantLoss() && !reportParts(a, total, divisor, N))
    a.result = mean ? (N > 0 ? total / divisor : 0.0) : total;
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
  a.divisor = b.divisor;
  a.items = b.items;
  a.fault = b.fault;  // its inputs and slots are a's (a parameter would name b's: none fails)
}

}  // namespace torch

namespace keras {

void circle(LossArgs& a) { circleLoss(a); }

}  // namespace keras
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
