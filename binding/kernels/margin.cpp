// Margin, ranking and embedding losses. PyTorch 1.13 (hinge_embedding, soft_margin,
// multilabel_soft_margin, multi_margin, multilabel_margin, margin_ranking, cosine_embedding,
// triplet_margin) and TF 2.x Keras (hinge, squared_hinge, categorical_hinge,
// cosine_similarity). Forward and gradient side by side.
//
// Row losses run on the engine's rowLosses (engine.h).
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "engine.h"
#include "lanes.h"
#include "scalar.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// Predicates as function objects (not function pointers) so firstBad's count loop inlines them.
constexpr auto isPlusMinusOne = [](float t) { return t == 1.0f || t == -1.0f; };

// Targets (input `slot`) must be 1 or -1 (hinge_embedding / cosine_embedding select their branch by it).
bool checkSignTargets(LossArgs& a, int slot) {
  const float* t = a.f(slot);
  const int64_t n = a.inLen[slot];
  const int64_t i = firstBad(t, n, isPlusMinusOne);
  if (i == n) return true;
  fail(a, ErrorReason::NotPlusMinusOne, inputAt(slot, i), t[i]);
  return false;
}

// ------------------------------------------------------------------ element-wise losses

// PyTorch hinge_embedding_loss: t == 1 ? x : max(0, margin - x); the clamp passes the
// gradient at the tie (clamp_min's backward uses >=). Targets are 1 or -1 (checked).
struct HingeEmbedding {
  float margin;
  float loss(float x, float t) const { return t == 1.0f ? x : clampMin0KeepNan(margin - x); }
  float grad(float x, float t) const { return t == 1.0f ? 1.0f : (margin - x >= 0.0f ? -1.0f : 0.0f); }
};

// PyTorch soft_margin_loss: log(1 + exp(-t x)) = softplus(-t x); d/dx = -t sigmoid(-t x).
// Computed without overflow (PyTorch's float32 log1p(exp(.)) gives inf beyond |tx| ~ 88).
struct SoftMargin {
  float loss(float x, float t) const {
    const float z = -x * t;
    return softplusFrom(z, expNegAbs(z));
  }
  float grad(float x, float t) const {
    const float z = -x * t;
    return -t * sigmoidFrom(z, expNegAbs(z));
  }
};

// Keras hinge / squared_hinge: labels are first mapped 0/1 -> -1/1 when every label of the
// batch is 0 or 1 (keras.losses._maybe_convert_labels). m = max(1 - t p, 0); tf.maximum
// passes the gradient at the tie.
// Convert is a template parameter: a runtime flag made GCC unswitch into one vector and one
// scalar, branchy loop.
template <bool Convert>
struct KerasHinge {
  static float label(float t) { return Convert ? 2.0f * t - 1.0f : t; }
  float loss(float p, float t) const { return clampMin0KeepNan(1.0f - label(t) * p); }
  float grad(float p, float t) const {
    const float y = label(t);
    return 1.0f - y * p >= 0.0f ? -y : 0.0f;
  }
};
template <bool Convert>
struct KerasSquaredHinge {
  static float label(float t) { return Convert ? 2.0f * t - 1.0f : t; }
  float loss(float p, float t) const {
    const float m = clampMin0KeepNan(1.0f - label(t) * p);
    return m * m;
  }
  float grad(float p, float t) const {
    const float y = label(t);
    const float m = 1.0f - y * p;
    return m >= 0.0f ? -2.0f * y * m : 0.0f;
  }
};

constexpr auto isBinaryLabel = [](float t) { return t == 0.0f || t == 1.0f; };

// ------------------------------------------------------------------ cosine helpers

constexpr double kTorchCosEps = 1e-12;                     // ATen cosine_embedding_loss EPSILON
const double kKerasNormEps = static_cast<double>(1e-12f);  // l2_normalize epsilon, as float32

// dot(x, y), |x|^2, |y|^2 of a row in double.
inline void cosineSums(const float* x, const float* y, int64_t j0, int64_t j1, double* s) {
  double dot = 0.0, xx = 0.0, yy = 0.0;
#pragma omp simd reduction(+ : dot, xx, yy)
  for (int64_t j = j0; j < j1; ++j) {
    const double xj = x[j], yj = y[j];
    dot += xj * yj;
    xx += xj * xj;
    yy += yj * yj;
  }
  s[0] += dot;
  s[1] += xx;
  s[2] += yy;
}

// g = kx * x + ky * y over a row, in double: the two terms cancel for (nearly) parallel
// vectors, where float32 would leave rounding noise of the terms' size.
inline void combine2(float* g, const float* x, const float* y, double kx, double ky, int64_t j0, int64_t j1) {
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j)
    g[j] = static_cast<float>(kx * static_cast<double>(x[j]) + ky * static_cast<double>(y[j]));
}

// Both cosine_embedding gradients in one loop, combine2's arithmetic: g1 = kb y + k1 x, g2 = kb x + k2 y.
inline void combinePair(float* g1, float* g2, const float* x, const float* y, double kb, double k1, double k2,
                        int64_t j0, int64_t j1) {
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    const double xj = x[j], yj = y[j];
    g1[j] = static_cast<float>(kb * yj + k1 * xj);
    g2[j] = static_cast<float>(kb * xj + k2 * yj);
  }
}

// ------------------------------------------------------------------ triplet helpers

// v = (x - y) + eps, the difference pairwise_distance takes the norm of.
inline float tripletDiff(float x, float y, float eps) { return (x - y) + eps; }

// |v|^p for the general-p norm (p not 1 or 2): exp(p log|v|), 0 at 0.
inline float powAbs(float v, float p) {
  const float m = std::fabs(v);
  return m > 0.0f ? vmath::exp(p * vmath::log(m)) : 0.0f;
}

// d||v||_p / dv: sgn(v) (|v| / d)^(p - 1), 0 where v == 0 or d == 0 (ATen norm_backward).
template <int P>
struct NormGrad;
template <>
struct NormGrad<1> {
  static float at(float v, float, float) { return signNanToZero(v); }
};
template <>
struct NormGrad<2> {
  static float at(float v, float invD, float) { return v * invD; }
};
template <>
struct NormGrad<0> {  // general p; invD = 1 / d
  static float at(float v, float invD, float pm1) {
    const float m = std::fabs(v) * invD;
    return m > 0.0f ? signNanToZero(v) * vmath::exp(pm1 * vmath::log(m)) : 0.0f;
  }
};

// sum of |v|^p (p = 1, 2 or general) for the three pairs of a triplet row.
template <int P>
inline double normTerm(float v, float p) {
  if (P == 1) return std::fabs(static_cast<double>(v));
  if (P == 2) return static_cast<double>(v) * static_cast<double>(v);
  return static_cast<double>(powAbs(v, p));
}

template <int P>
inline double normFromSum(double s, double p) {
  if (P == 1) return s;
  if (P == 2) return std::sqrt(s);
  return s > 0.0 ? std::pow(s, 1.0 / p) : 0.0;  // one scalar per row
}

// ------------------------------------------------------------------ chunk loops
// Hot loops as free functions of plain values: captured-by-reference lambda state is
// reloaded every iteration in an out-of-line copy and keeps GCC from vectorizing.

// multilabel_soft_margin over [j0, j1): returns sum_j w_j (t softplus(-x) + (1 - t) softplus(x))
// (when kLoss) and writes g_j = k w_j (sigmoid(x_j) - t_j) (when kGrad). softplus(x) and
// softplus(-x) share e = exp(-|x|).
// kW: weights present (a compile-time choice: a masked load of an absent array is slow).
template <bool kLoss, bool kGrad, bool kW>
double mlsmChunk(const float* __restrict x, const float* __restrict t, const float* __restrict w, float* __restrict g,
                 float k, int64_t j0, int64_t j1) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = j0; j < j1; ++j) {
    const float xj = x[j], tj = t[j], wj = kW ? w[j] : 1.0f;
    const float e = vmath::exp(-std::fabs(xj));
    if (kLoss)
      acc += static_cast<double>(
          wj * (tj * (xj < 0.0f ? -xj : 0.0f) + (1.0f - tj) * (xj > 0.0f ? xj : 0.0f) + vmath::log1pUnit(e)));
    if (kGrad) g[j] = k * wj * (sigmoidFrom(xj, e) - tj);
  }
  return acc;
}

template <bool kW>
double mlsmChunks(bool wantLoss, bool wantGrad, const float* x, const float* t, const float* w, float* g, float k,
                  int64_t j0, int64_t j1) {
  if (!wantGrad) return mlsmChunk<true, false, kW>(x, t, w, g, k, j0, j1);
  if (wantLoss) return mlsmChunk<true, true, kW>(x, t, w, g, k, j0, j1);
  mlsmChunk<false, true, kW>(x, t, w, g, k, j0, j1);
  return 0.0;
}

// multi_margin over [j0, j1): z_j = mxy + x_j; adds sum_{z > 0} z^P to s[0] (kLoss) and
// writes g_j = k P z^(P-1) on the hinge, 0 off it, adding their sum to s[1] (kGrad). The
// target class's own term is included here and taken out by the caller (no index compare in
// the loop: 64-bit compares keep SSE2 from vectorizing).
template <int P>
inline float multiMarginTerm(float z) {
  return P == 2 ? z * z : z;
}
template <int P>
inline float multiMarginGrad(float z, float k) {
  return k * (P == 2 ? 2.0f * z : 1.0f);
}

// Ranges of kRowLanes columns or more run in explicit float lanes per block of kRowSumBlock, each
// block folded (laneSum) into a double, the last (j1 - j0) % kRowLanes columns as one vector over
// [j1 - kRowLanes, j1) counting only its new lanes (its other stores rewrite the same values): the
// `omp simd reduction` in double ended each row with a branchy scalar epilogue (z > 0 at random) and a
// serial chain of 16 adds. Shorter ranges keep that loop.
template <int P, bool kLoss, bool kGrad>
void multiMarginChunk(const float* __restrict x, float* __restrict g, float mxy, float k, int64_t j0, int64_t j1,
                      double* s) {
  double acc = 0.0, gacc = 0.0;
  if (j1 - j0 < kRowLanes) {
#pragma omp simd reduction(+ : acc, gacc)
    for (int64_t j = j0; j < j1; ++j) {
      const float z = mxy + x[j];
      const bool on = z > 0.0f;
      if (kLoss) acc += on ? static_cast<double>(multiMarginTerm<P>(z)) : 0.0;
      if (kGrad) {
        const float gj = on ? multiMarginGrad<P>(z, k) : 0.0f;
        g[j] = gj;
        gacc += static_cast<double>(gj);
      }
    }
  } else {
    const int64_t body = j0 + (j1 - j0) / kRowLanes * kRowLanes;
    constexpr int64_t L = kRowLanes;
    float S[2 * L], G[2 * L];  // two vectors of lanes: one add chain each
    // Columns [j, j + L) into lanes h (0 or L), the columns below `from` not counted (an int32
    // compare: SSE2 has no 64-bit one and left the loop scalar).
    auto vec = [&](const int64_t j, const int64_t from, const int64_t h) {
      const int32_t skip = static_cast<int32_t>(from - j);
#pragma omp simd
      for (int32_t l = 0; l < static_cast<int32_t>(L); ++l) {
        const float z = mxy + x[j + l];
        const bool on = z > 0.0f && l >= skip;
        if (kLoss) S[h + l] += on ? multiMarginTerm<P>(z) : 0.0f;
        if (kGrad) {
          const float gj = z > 0.0f ? multiMarginGrad<P>(z, k) : 0.0f;
          g[j + l] = gj;
          G[h + l] += on ? gj : 0.0f;
        }
      }
    };
    for (int64_t b = j0; b < body; b += kRowSumBlock) {
      const int64_t e = body - b < kRowSumBlock ? body : b + kRowSumBlock;
#pragma omp simd
      for (int64_t l = 0; l < 2 * L; ++l) S[l] = G[l] = 0.0f;
      int64_t j = b;
      for (; j + 2 * L <= e; j += 2 * L) {
        vec(j, j, 0);
        vec(j + L, j + L, L);
      }
      if (j < e) vec(j, j, 0);
      if (e == body && body < j1) vec(j1 - L, body, L);
#pragma omp simd
      for (int64_t l = 0; l < L; ++l) {
        S[l] += S[L + l];
        G[l] += G[L + l];
      }
      if (kLoss) acc += static_cast<double>(laneSum(S));
      if (kGrad) gacc += static_cast<double>(laneSum(G));
    }
  }
  s[0] += acc;
  s[1] += gacc;
}

// multilabel_margin, one target class y: z_j = oneMinusXy + x_j over the non-target classes
// (isOther_j = 1); adds sum_{z > 0} z to s[0] (kLoss), adds gv to g_j on the hinge and the sum
// of what it added to s[1] (kGrad): the caller subtracts that from g_y. Two double reductions,
// the second a plain sum of the value stored to g (the pattern of multiMarginChunk). The loop
// used to count the hinges instead (n += on ? 1 : 0 next to the masked g update): GCC 12 -O3
// miscompiled that fused instance at x86-64-v3 / v4 once inlined into the row body (garbage
// sums from C >= 16 / 32: NaN, 1e175), with an int64 counter and with a double one alike; a
// standalone copy compiled correctly. test/kernels.test.ts checks long rows on every level.
template <bool kLoss, bool kGrad>
void multilabelMarginTerm(const float* __restrict x, const float* __restrict isOther, float* __restrict g,
                          float oneMinusXy, float gv, int64_t C, double* s) {
  double acc = 0.0, gacc = 0.0;
#pragma omp simd reduction(+ : acc, gacc)
  for (int64_t j = 0; j < C; ++j) {
    const float z = oneMinusXy + x[j];
    const bool on = z > 0.0f && isOther[j] != 0.0f;
    if (kLoss) acc += on ? static_cast<double>(z) : 0.0;
    if (kGrad) {
      const float gj = on ? gv : 0.0f;
      g[j] += gj;
      gacc += static_cast<double>(gj);
    }
  }
  s[0] += acc;
  s[1] += gacc;
}

// margin_ranking over [b, e): v = -t (x1 - x2) + margin; out = max(v, 0) (kOut), returns the
// sum of the losses (kSum), g1 = -t u, g2 = t u where v >= 0 (kGrad; u = up[i] or scale).
template <bool kOut, bool kSum, bool kGrad, bool kUp>
double rankingChunk(const float* __restrict x1, const float* __restrict x2, const float* __restrict t, float margin,
                    float* __restrict out, float* __restrict g1, float* __restrict g2, const float* __restrict up,
                    float scale, int64_t b, int64_t e) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = b; i < e; ++i) {
    const float v = -t[i] * (x1[i] - x2[i]) + margin;
    const float l = clampMin0KeepNan(v);
    if (kOut) out[i] = l;
    if (kSum) acc += static_cast<double>(l);
    if (kGrad) {
      const float u = kUp ? up[i] : scale;
      const float g = v >= 0.0f ? -t[i] * u : 0.0f;
      g1[i] = g;
      g2[i] = -g;
    }
  }
  return acc;
}

// triplet sums over [j0, j1): sum |a - p + eps|^P, |a - n + eps|^P and (kSwap) |p - n + eps|^P.
template <int P, bool kSwap>
void tripletSums(const float* __restrict a, const float* __restrict p, const float* __restrict n, float eps, float pw,
                 int64_t j0, int64_t j1, double* s) {
  double sap = 0.0, san = 0.0, spn = 0.0;
#pragma omp simd reduction(+ : sap, san, spn)
  for (int64_t j = j0; j < j1; ++j) {
    sap += normTerm<P>(tripletDiff(a[j], p[j], eps), pw);
    san += normTerm<P>(tripletDiff(a[j], n[j], eps), pw);
    if (kSwap) spn += normTerm<P>(tripletDiff(p[j], n[j], eps), pw);
  }
  s[0] += sap;
  s[1] += san;
  s[2] += spn;
}

// triplet gradients over [j0, j1) from the unit vectors u_xy = NormGrad(v_xy) (0 where the
// distance is 0: its inverse is passed as 0): ga = kap u_ap - kan u_an,
// gp = -kap u_ap - kpn u_pn, gn = kan u_an + kpn u_pn.
template <int P, bool kSwap>
void tripletGrads(const float* __restrict a, const float* __restrict p, const float* __restrict n, float* __restrict ga,
                  float* __restrict gp, float* __restrict gn, float eps, float pm1, float iap, float ian, float ipn,
                  float kap, float kan, float kpn, int64_t j0, int64_t j1) {
#pragma omp simd
  for (int64_t j = j0; j < j1; ++j) {
    const float uap = NormGrad<P>::at(tripletDiff(a[j], p[j], eps), iap, pm1);
    const float uan = NormGrad<P>::at(tripletDiff(a[j], n[j], eps), ian, pm1);
    const float upn = kSwap ? NormGrad<P>::at(tripletDiff(p[j], n[j], eps), ipn, pm1) : 0.0f;
    ga[j] = kap * uap - kan * uan;
    gp[j] = -kap * uap - kpn * upn;
    gn[j] = kan * uan + kpn * upn;
  }
}

}  // namespace

// ====================================================================== PyTorch

namespace torch {

// p[0] = margin.
void hingeEmbeddingLoss(LossArgs& a) {
  if (!checkSignTargets(a, 1)) return;
  elementwise(a, HingeEmbedding{static_cast<float>(a.p[params::torch::hingeEmbeddingLoss::margin])});
}

void softMarginLoss(LossArgs& a) { elementwise(a, SoftMargin{}, 4); }

// Slots: input [rows, C], target [rows, C], weight [C] (optional).
// l_r = sum_j w_j (t softplus(-x) + (1 - t) softplus(x)) / C; d/dx = w_j (sigmoid(x) - t) / C.
// torch.nn.functional.multilabel_soft_margin_loss (its -(t logsigmoid(x) + (1-t) logsigmoid(-x))).
void multilabelSoftMarginLoss(LossArgs& a) {
  const float* x = a.f(0);
  const float* t = a.f(1);
  const float* w = a.f(2);
  const RowShape s = rowShapeOf(a);
  const int64_t C = s.cols;
  const double invC = 1.0 / static_cast<double>(C);
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  rowLosses(a, Framework::Torch, s.rows, C, 4, nullptr, [&](int64_t r, double u, bool wide) {
    const float* xr = x + r * C;
    const float* tr = t + r * C;
    float* gr = wantGrad ? a.grad[0] + r * C : nullptr;
    const float k = static_cast<float>(u * invC);
    double sum[1];
    rowSums<1>(
        C, wide, 4,
        [&](int64_t j0, int64_t j1, double* part) {
          if (w) part[0] += mlsmChunks<true>(wantLoss, wantGrad, xr, tr, w, gr, k, j0, j1);
          else part[0] += mlsmChunks<false>(wantLoss, wantGrad, xr, tr, w, gr, k, j0, j1);
        },
        sum);
    return sum[0] * invC;
  });
}

// Slots: input [rows, C], target (int32 class per row), weight [C] (optional).
// p[0] = p (1 or 2), p[1] = margin. z_d = margin - x_y + x_d for d != y:
// l_r = w_y sum_{z_d > 0} z_d^p / C; d/dx_d = w_y p z_d^(p-1) / C, d/dx_y = -sum_d of those.
// torch.nn.functional.multi_margin_loss (CPU kernel: strict z > 0, weight of the target class).
template <int P>
void multiMargin(LossArgs& a) {
  const float* x = a.f(0);
  const int32_t* target = a.i32(1);
  const float* w = a.f(2);
  const RowShape s = rowShapeOf(a);
  const int64_t C = s.cols;
  const float margin = static_cast<float>(a.p[params::torch::multiMarginLoss::margin]);
  const double invC = 1.0 / static_cast<double>(C);
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  // A target that is no longer a class index when its row is computed (memory changed after
  // multiMarginLoss checked it) gives a NaN row and a RangeError; it is never used as an index.
  std::atomic<int64_t> changedAt{-1};
  rowLosses(a, Framework::Torch, s.rows, C, 1, nullptr, [&](int64_t r, double u, bool wide) {
    const int64_t y = target[r];  // read exactly once
    float* gr = wantGrad ? a.grad[0] + r * C : nullptr;
    if (static_cast<uint64_t>(y) >= static_cast<uint64_t>(C)) {
      changedAt.store(r, std::memory_order_relaxed);
      if (gr)
        rowColumns(C, wide, 1, [gr](int64_t j0, int64_t j1) {
          for (int64_t j = j0; j < j1; ++j) gr[j] = 0.0f;
        });
      return kNaN;
    }
    const float* xr = x + r * C;
    prefetchNextRow(xr, C, r + 1 < s.rows);
    const double wy = w ? static_cast<double>(w[y]) : 1.0;
    const float mxy = margin - xr[y];
    const float k = static_cast<float>(u * wy * invC);
    double sum[2];
    rowSums<2>(
        C, wide, 1,
        [&](int64_t j0, int64_t j1, double* part) {
          if (!wantGrad) multiMarginChunk<P, true, false>(xr, gr, mxy, k, j0, j1, part);
          else if (wantLoss) multiMarginChunk<P, true, true>(xr, gr, mxy, k, j0, j1, part);
          else multiMarginChunk<P, false, true>(xr, gr, mxy, k, j0, j1, part);
        },
        sum);
    // Take out the target's own term z_y = (margin - x_y) + x_y, exactly as the loop added it.
    const float zy = mxy + xr[y];
    if (zy > 0.0f) {
      sum[0] -= static_cast<double>(multiMarginTerm<P>(zy));
      sum[1] -= static_cast<double>(multiMarginGrad<P>(zy, k));
    }
    if (wantGrad) gr[y] = static_cast<float>(-sum[1]);
    return sum[0] * wy * invC;
  });
  if (changedAt.load() >= 0)
    fail(a, ErrorReason::ChangedDuringCall, inputAt(1, changedAt.load()), kNaN, static_cast<double>(C));
}

void multiMarginLoss(LossArgs& a) {
  const RowShape s = rowShapeOf(a);
  const int32_t* target = a.i32(1);
  for (int64_t r = 0; r < s.rows; ++r) {
    const int32_t t = target[r];
    if (t < 0 || t >= s.cols) {
      fail(a, ErrorReason::ClassOutOfRange, inputAt(1, r), t, static_cast<double>(s.cols));
      return;
    }
  }
  // p selects the template (PyTorch supports only 1 and 2); nothing memory-related depends on it.
  if (a.p[params::torch::multiMarginLoss::p] == 2.0) multiMargin<2>(a);
  else if (a.p[params::torch::multiMarginLoss::p] == 1.0) multiMargin<1>(a);
  else
    fail(a, ErrorReason::UnsupportedValue, parameter(params::torch::multiMarginLoss::p),
         a.p[params::torch::multiMarginLoss::p], 1, 2);
}

// Slots: input [rows, C], target int32 [rows, C]: the row's classes, read up to the first
// negative entry (PyTorch pads with -1). For target classes y and non-target classes i:
// l_r = sum_y sum_i max(0, 1 - (x_y - x_i)) / C (strict z > 0 for the gradient, as ATen);
// duplicated classes count again, as in PyTorch. torch.nn.functional.multilabel_margin_loss.
void multilabelMarginLoss(LossArgs& a) {
  const float* x = a.f(0);
  const int32_t* target = a.i32(1);
  const RowShape s = rowShapeOf(a);
  const int64_t C = s.cols;
  const int64_t n = a.inLen[1];
  // PyTorch checks every entry, also those after the first -1.
  // int32 compares (the targets' type) vectorize at every level: t in [-1, C - 1].
  const int32_t last = C - 1 > INT32_MAX ? INT32_MAX : static_cast<int32_t>(C - 1);
  const int64_t bad = firstBad(target, n, [last](int32_t t) { return t >= -1 && t <= last; });
  if (bad < n) {
    fail(a, ErrorReason::ClassOrPadOutOfRange, inputAt(1, bad), target[bad], static_cast<double>(C));
    return;
  }
  const double invC = 1.0 / static_cast<double>(C);
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  // A target entry that is no longer a valid class when the row is computed (memory changed
  // after the check above: a SharedArrayBuffer written by another thread, JS during an async
  // call) makes the row NaN and the call a RangeError; it is never used as an index.
  std::atomic<int64_t> changedAt{-1};
  std::atomic<bool> noMemory{false};
  // Per-chunk scratch: the row's targets, read once, and one flag per class (1 = not a target).
  auto rowFn = [&](int64_t r, double u, int32_t* tgt, float* isOther) {
    const float* xr = x + r * C;
    const int32_t* tr = target + r * C;
    float* gr = wantGrad ? a.grad[0] + r * C : nullptr;
    int64_t T = 0;
    bool changed = false;
    for (int64_t k = 0; k < C; ++k) {
      const int32_t v = tr[k];  // each entry read exactly once
      if (v < 0) break;
      if (static_cast<uint64_t>(v) >= static_cast<uint64_t>(C)) {
        changed = true;
        changedAt.store(r * C + k, std::memory_order_relaxed);
        break;
      }
      tgt[T++] = v;
    }
    if (wantGrad) {
#pragma omp simd
      for (int64_t j = 0; j < C; ++j) gr[j] = 0.0f;
    }
    if (changed) return kNaN;
#pragma omp simd
    for (int64_t j = 0; j < C; ++j) isOther[j] = 1.0f;
    for (int64_t k = 0; k < T; ++k) isOther[tgt[k]] = 0.0f;
    const float g = static_cast<float>(u * invC);
    double acc = 0.0;
    for (int64_t k = 0; k < T; ++k) {
      const int64_t y = tgt[k];
      const float oneMinusXy = 1.0f - xr[y];
      double s[2] = {0.0, 0.0};
      if (!wantGrad) multilabelMarginTerm<true, false>(xr, isOther, gr, oneMinusXy, g, C, s);
      else if (wantLoss) multilabelMarginTerm<true, true>(xr, isOther, gr, oneMinusXy, g, C, s);
      else multilabelMarginTerm<false, true>(xr, isOther, gr, oneMinusXy, g, C, s);
      if (wantGrad) gr[y] -= static_cast<float>(s[1]);
      acc += s[0];
    }
    return acc * invC;
  };
  // Rows are never split here: the scratch is per row chunk.
  const bool none = a.reduction == Reduction::None;
  const float* up = a.gradOut;
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(s.rows));
  auto chunk = [&](int64_t b, int64_t e) {
    const size_t cs = static_cast<size_t>(C > 0 ? C : 1);
    void* scratch = cs <= (SIZE_MAX / 8) ? std::malloc(cs * (sizeof(int32_t) + sizeof(float))) : nullptr;
    if (!scratch) {
      noMemory.store(true, std::memory_order_relaxed);
      return 0.0;
    }
    float* isOther = static_cast<float*>(scratch);
    int32_t* tgt = reinterpret_cast<int32_t*>(isOther + cs);
    double acc = 0.0;
    for (int64_t r = b; r < e; ++r) {
      const double l = rowFn(r, up ? static_cast<double>(up[r]) : scale, tgt, isOther);
      if (none && wantLoss) a.out[r] = static_cast<float>(l);
      acc += l;
    }
    std::free(scratch);
    return acc;
  };
  const int64_t cols = C > 0 ? C : 1;
  double total = 0.0;
  if (none || !wantLoss) parallelFor(s.rows, rowsPerChunk(cols), mulSat(cols, 2), chunk);
  else total = reduceRows(s.rows, cols, 2, chunk);
  if (noMemory.load()) {
    fail(a, ErrorReason::OutOfMemory, ErrorAt{}, 0.0, 1.0, static_cast<double>(C));
    return;
  }
  if (changedAt.load() >= 0) {
    fail(a, ErrorReason::ChangedDuringCall, inputAt(1, changedAt.load()), kNaN, static_cast<double>(C));
    return;
  }
  finishReduction(a, Framework::Torch, total, s.rows);
}

// Slots: input1, input2, target (same length). p[0] = margin.
// l = max(0, -t (x1 - x2) + margin); d/dx1 = -t, d/dx2 = t where the clamp passes (>= 0).
// torch.nn.functional.margin_ranking_loss (any target value, as PyTorch computes it).
void marginRankingLoss(LossArgs& a) {
  const float* x1 = a.f(0);
  const float* x2 = a.f(1);
  const float* t = a.f(2);
  const int64_t n = a.inLen[0];
  const float margin = static_cast<float>(a.p[params::torch::marginRankingLoss::margin]);
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  float* out = a.out;
  float* g1 = a.grad[0];
  float* g2 = a.grad[1];
  const float* up = a.gradOut;
  const float scale = static_cast<float>(a.gradScale / reductionDivisor(a, static_cast<double>(n)));
  auto chunk = [&](int64_t b, int64_t e) -> double {
    if (none) {
      if (wantLoss && wantGrad) {
        return up ? rankingChunk<true, false, true, true>(x1, x2, t, margin, out, g1, g2, up, scale, b, e)
                  : rankingChunk<true, false, true, false>(x1, x2, t, margin, out, g1, g2, up, scale, b, e);
      }
      if (wantLoss) return rankingChunk<true, false, false, false>(x1, x2, t, margin, out, g1, g2, up, scale, b, e);
      return up ? rankingChunk<false, false, true, true>(x1, x2, t, margin, out, g1, g2, up, scale, b, e)
                : rankingChunk<false, false, true, false>(x1, x2, t, margin, out, g1, g2, up, scale, b, e);
    }
    if (!wantLoss) return rankingChunk<false, false, true, false>(x1, x2, t, margin, out, g1, g2, up, scale, b, e);
    if (wantGrad) return rankingChunk<false, true, true, false>(x1, x2, t, margin, out, g1, g2, up, scale, b, e);
    return rankingChunk<false, true, false, false>(x1, x2, t, margin, out, g1, g2, up, scale, b, e);
  };
  if (none || !wantLoss) {
    parallelFor(n, kChunk, 1, [&](int64_t b, int64_t e) { chunk(b, e); });
    return;
  }
  const double total = reduceChunks(n, 1, [&](int64_t b, int64_t e) { return once(chunk, b, e); });
  finishReduction(a, Framework::Torch, total, n);
}

// Slots: input1 [rows, D], input2 [rows, D], target [rows] of 1 / -1 (checked). p[0] = margin.
// cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) (ATen's EPSILON);
// l = t == 1 ? 1 - cos : max(0, cos - margin) (the clamp passes the gradient at the tie).
// dcos/dx1 = x2 / den - cos x1 / (|x1|^2 + eps), and symmetrically for x2.
// torch.nn.functional.cosine_embedding_loss.
void cosineEmbeddingLoss(LossArgs& a) {
  const float* x1 = a.f(0);
  const float* x2 = a.f(1);
  const float* t = a.f(2);
  const RowShape s = rowShapeOf(a);
  const int64_t D = s.cols;
  if (!checkSignTargets(a, 2)) return;
  const double margin = a.p[params::torch::cosineEmbeddingLoss::margin];
  const bool wantGrad = a.wantGrad();
  rowLosses(a, Framework::Torch, s.rows, D, 3, nullptr, [&](int64_t r, double u, bool wide) {
    const float* ar = x1 + r * D;
    const float* br = x2 + r * D;
    double sums[3];
    rowSums<3>(
        D, wide, 3, [&](int64_t j0, int64_t j1, double* part) { cosineSums(ar, br, j0, j1, part); }, sums);
    const double m1 = sums[1] + kTorchCosEps, m2 = sums[2] + kTorchCosEps;
    const double den = std::sqrt(m1 * m2);
    const double cos = sums[0] / den;
    const bool positive = t[r] == 1.0f;
    const double l = positive ? 1.0 - cos : (cos - margin < 0.0 ? 0.0 : cos - margin);
    if (wantGrad) {
      // dl/dcos: -1 for t = 1; 1 where the clamp passes for t = -1.
      const double c = positive ? -u : (cos - margin >= 0.0 ? u : 0.0);
      const double kb = c / den;
      const double ka1 = -c * cos / m1;
      const double ka2 = -c * cos / m2;
      float* g1 = a.grad[0] + r * D;
      float* g2 = a.grad[1] + r * D;
      rowColumns(D, wide, 3, [&](int64_t j0, int64_t j1) { combinePair(g1, g2, ar, br, kb, ka1, ka2, j0, j1); });
    }
    return l;
  });
}

// Slots: anchor, positive, negative [rows, D]. p[0] = margin, p[1] = p, p[2] = eps, p[3] = swap.
// d(x, y) = ||x - y + eps||_p (pairwise_distance); d_neg = min(d(a, n), d(p, n)) with swap
// (torch.min splits the gradient evenly at a tie); l = max(0, margin + d(a, p) - d_neg),
// the clamp passing the gradient at the tie. torch.nn.functional.triplet_margin_loss.
template <int P>
void triplet(LossArgs& a) {
  const float* A = a.f(0);
  const float* Pp = a.f(1);
  const float* Nn = a.f(2);
  const RowShape s = rowShapeOf(a);
  const int64_t D = s.cols;
  const double margin = a.p[params::torch::tripletMarginLoss::margin];
  const float p = static_cast<float>(a.p[params::torch::tripletMarginLoss::p]);
  const float pm1 = p - 1.0f;
  const float eps = static_cast<float>(a.p[params::torch::tripletMarginLoss::eps]);
  const bool swap = a.p[params::torch::tripletMarginLoss::swap] != 0.0;
  const bool wantGrad = a.wantGrad();
  const int64_t cost = P == 0 ? 24 : 3;
  rowLosses(a, Framework::Torch, s.rows, D, cost, nullptr, [&](int64_t r, double u, bool wide) {
    const float* ar = A + r * D;
    const float* pr = Pp + r * D;
    const float* nr = Nn + r * D;
    double sums[3];
    rowSums<3>(
        D, wide, cost,
        [&](int64_t j0, int64_t j1, double* part) {
          if (swap) tripletSums<P, true>(ar, pr, nr, eps, p, j0, j1, part);
          else tripletSums<P, false>(ar, pr, nr, eps, p, j0, j1, part);
        },
        sums);
    const double dap = normFromSum<P>(sums[0], p);
    const double dan = normFromSum<P>(sums[1], p);
    const double dpn = swap ? normFromSum<P>(sums[2], p) : 0.0;
    // torch.min(d_an, d_pn): the smaller takes the gradient, both half of it at a tie.
    double wan = 1.0, wpn = 0.0;
    double dneg = dan;
    if (swap) {
      if (dpn < dan) {
        wan = 0.0;
        wpn = 1.0;
        dneg = dpn;
      } else if (dpn == dan) {
        wan = 0.5;
        wpn = 0.5;
      }
    }
    const double v = margin + dap - dneg;
    const double l = v < 0.0 ? 0.0 : v;
    if (wantGrad) {
      const double g = v >= 0.0 ? u : 0.0;
      // u_xy = d d(x, y) / dx = NormGrad(v_xy); the coefficients fold in g and the weights.
      const float kap = static_cast<float>(g);
      const float kan = static_cast<float>(g * wan);
      const float kpn = static_cast<float>(g * wpn);
      const float iap = static_cast<float>(dap > 0.0 ? 1.0 / dap : 0.0);
      const float ian = static_cast<float>(dan > 0.0 ? 1.0 / dan : 0.0);
      const float ipn = static_cast<float>(dpn > 0.0 ? 1.0 / dpn : 0.0);
      float* ga = a.grad[0] + r * D;
      float* gp = a.grad[1] + r * D;
      float* gn = a.grad[2] + r * D;
      rowColumns(D, wide, cost, [&](int64_t j0, int64_t j1) {
        if (swap) tripletGrads<P, true>(ar, pr, nr, ga, gp, gn, eps, pm1, iap, ian, ipn, kap, kan, kpn, j0, j1);
        else tripletGrads<P, false>(ar, pr, nr, ga, gp, gn, eps, pm1, iap, ian, ipn, kap, kan, kpn, j0, j1);
      });
    }
    return l;
  });
}

void tripletMarginLoss(LossArgs& a) {
  if (a.p[params::torch::tripletMarginLoss::p] == 2.0) triplet<2>(a);
  else if (a.p[params::torch::tripletMarginLoss::p] == 1.0) triplet<1>(a);
  else triplet<0>(a);
}

}  // namespace torch

// ====================================================================== Keras

namespace keras {

// Slots: yPred, yTrue, sampleWeight (optional).
void hinge(LossArgs& a) {
  if (firstBad(a.f(1), a.inLen[1], isBinaryLabel) == a.inLen[1]) kerasRowMean(a, KerasHinge<true>{});
  else kerasRowMean(a, KerasHinge<false>{});
}

void squaredHinge(LossArgs& a) {
  if (firstBad(a.f(1), a.inLen[1], isBinaryLabel) == a.inLen[1]) kerasRowMean(a, KerasSquaredHinge<true>{});
  else kerasRowMean(a, KerasSquaredHinge<false>{});
}

// Per sample (last axis): pos = sum t p, neg = max((1 - t) p), l = max(neg - pos + 1, 0).
// Gradient with TF's conventions: reduce_max splits it evenly between tied maxima,
// tf.maximum passes it at the tie. keras.losses.categorical_hinge.
void categoricalHinge(LossArgs& a) {
  const float* pred = a.f(0);
  const float* truth = a.f(1);
  const float* w = a.f(2);
  const RowShape s = rowShapeOf(a);
  const int64_t C = s.cols;
  const bool wantGrad = a.wantGrad();
  rowLosses(a, Framework::Keras, s.rows, C, 2, w, [&](int64_t r, double u, bool) {
    const float* p = pred + r * C;
    const float* t = truth + r * C;
    double pos = 0.0;
    float neg = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(+ : pos) reduction(max : neg)
    for (int64_t j = 0; j < C; ++j) {
      pos += static_cast<double>(t[j] * p[j]);
      const float q = (1.0f - t[j]) * p[j];
      neg = q > neg ? q : neg;  // fmax here (neg starts at -inf, a NaN q never wins), inlined
    }
    const double v = static_cast<double>(neg) - pos + 1.0;
    if (wantGrad) {
      float* g = a.grad[0] + r * C;
      const bool on = v >= 0.0;
      int64_t count = 0;
      if (on) {
#pragma omp simd reduction(+ : count)
        for (int64_t j = 0; j < C; ++j) count += (1.0f - t[j]) * p[j] == neg ? 1 : 0;
      }
      const float k = on ? static_cast<float>(u) : 0.0f;
      const float km = on && count > 0 ? static_cast<float>(u / static_cast<double>(count)) : 0.0f;
#pragma omp simd
      for (int64_t j = 0; j < C; ++j) {
        const float q = (1.0f - t[j]) * p[j];
        g[j] = -k * t[j] + (q == neg ? km * (1.0f - t[j]) : 0.0f);
      }
    }
    return v < 0.0 ? 0.0 : v;
  });
}

// Slots: yPred, yTrue, sampleWeight (optional, one per loss). p[0] = axis (normalized).
// l = -sum(t_hat p_hat) over the axis, x_hat = x / sqrt(max(sum x^2, 1e-12)) (l2_normalize).
// dl/dp = -rt rp t + [sum p^2 >= 1e-12] (t.p) rt rp^3 p (tf.maximum passes at the tie).
// keras.losses.cosine_similarity.
void cosineSimilarity(LossArgs& a) {
  const float* pred = a.f(0);
  const float* truth = a.f(1);
  const float* w = a.f(2);
  // The axis comes from params: checked here too, as a double, before it indexes dims.
  const double axisParam = a.p[params::keras::cosineSimilarity::axis];
  int axis = 0;
  if (a.ndim > 0) {
    if (!(axisParam >= 0.0 && axisParam < static_cast<double>(a.ndim)) || axisParam != std::floor(axisParam)) {
      fail(a, ErrorReason::AxisOutOfRange, parameter(params::keras::cosineSimilarity::axis), axisParam, a.ndim);
      return;
    }
    axis = static_cast<int>(axisParam);
  }
  const int64_t outer = dimsProduct(a, 0, axis);
  const int64_t inner = a.ndim > 0 ? dimsProduct(a, axis + 1, a.ndim) : 1;
  const int64_t D = a.ndim > 0 ? a.dims[axis] : 1;
  const bool wantGrad = a.wantGrad();
  auto coefficients = [&](double tp, double tt, double pp, double u, double* l, double* kt, double* kp) {
    const double rt = 1.0 / std::sqrt(tt >= kKerasNormEps ? tt : kKerasNormEps);
    const double rp = 1.0 / std::sqrt(pp >= kKerasNormEps ? pp : kKerasNormEps);
    *l = -tp * rt * rp;
    *kt = -u * rt * rp;
    *kp = pp >= kKerasNormEps ? u * tp * rt * rp * rp * rp : 0.0;
  };
  if (inner == 1) {
    rowLosses(a, Framework::Keras, outer, D, 3, w, [&](int64_t r, double u, bool wide) {
      const float* p = pred + r * D;
      const float* t = truth + r * D;
      double sums[3];  // t.p, t.t, p.p
      rowSums<3>(
          D, wide, 3, [&](int64_t j0, int64_t j1, double* part) { cosineSums(t, p, j0, j1, part); }, sums);
      double l, kt, kp;
      coefficients(sums[0], sums[1], sums[2], u, &l, &kt, &kp);
      if (wantGrad) {
        float* g = a.grad[0] + r * D;
        rowColumns(D, wide, 3, [&](int64_t j0, int64_t j1) { combine2(g, t, p, kt, kp, j0, j1); });
      }
      return l;
    });
    return;
  }
  // Reduced axis not last: blocks of kBlock contiguous inner positions, the axis walked with
  // stride `inner`; sums in double on the stack. One "row" of rowLosses per (outer, block).
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t samples = mulSat(outer, inner);
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss();
  const float* up = a.gradOut;
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(samples));
  auto block = [&](int64_t item) {
    const int64_t o = item / blocks;
    const int64_t k0 = (item % blocks) * kBlock;
    const int64_t kn = inner - k0 < kBlock ? inner - k0 : kBlock;
    const float* p = pred + o * D * inner + k0;
    const float* t = truth + o * D * inner + k0;
    double tp[kBlock] = {}, tt[kBlock] = {}, pp[kBlock] = {};
    for (int64_t d = 0; d < D; ++d) {
      const float* pd = p + d * inner;
      const float* td = t + d * inner;
#pragma omp simd
      for (int64_t k = 0; k < kn; ++k) {
        const double pk = pd[k], tk = td[k];
        tp[k] += tk * pk;
        tt[k] += tk * tk;
        pp[k] += pk * pk;
      }
    }
    double kt[kBlock], kp[kBlock];
    double acc = 0.0;
    for (int64_t k = 0; k < kn; ++k) {
      const int64_t idx = o * inner + k0 + k;
      const double wr = w ? static_cast<double>(w[idx]) : 1.0;
      const double u = (up ? static_cast<double>(up[idx]) : scale) * wr;
      double l;
      coefficients(tp[k], tt[k], pp[k], u, &l, &kt[k], &kp[k]);
      if (w) l *= wr;
      if (none && wantLoss) a.out[idx] = static_cast<float>(l);
      acc += l;
    }
    if (wantGrad) {
      float* g = a.grad[0] + o * D * inner + k0;
      for (int64_t d = 0; d < D; ++d) {
        const float* pd = p + d * inner;
        const float* td = t + d * inner;
        float* gd = g + d * inner;
#pragma omp simd
        for (int64_t k = 0; k < kn; ++k)
          gd[k] = static_cast<float>(kt[k] * static_cast<double>(td[k]) + kp[k] * static_cast<double>(pd[k]));
      }
    }
    return acc;
  };
  const int64_t items = mulSat(outer, blocks);
  const int64_t perItem = mulSat(D > 0 ? D : 1, kBlock);
  const int64_t grain = perItem >= kChunk ? 1 : kChunk / perItem;
  if (none || !wantLoss) {
    parallelFor(items, grain, mulSat(perItem, 3), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) block(i);
    });
    return;
  }
  double total = reduceRows(items, perItem, 3, [&](int64_t b, int64_t e) {
    double acc = 0.0;
    for (int64_t i = b; i < e; ++i) acc += once(block, i);
    return acc;
  });
  finishReduction(a, Framework::Keras, total, samples);
}

}  // namespace keras

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
