// Keras 3 focal cross-entropy over a class axis and generalized cross-entropy of integer labels
// (keras/src/losses/losses.py, categorical_focal_crossentropy and
// categorical_generalized_cross_entropy). Forward and gradient side by side.
//
// The class axis is `axis` of the logical shape, seen as [outer, C, inner]: one loss per
// (outer, inner) position, classes at stride `inner`. Each position is computed whole inside
// one fixed chunk of positions, so the bits do not depend on the thread count.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>

#include "axis_view.h"
#include "engine.h"
#include "lanes.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

#define FASTLOSS_FOCAL_HOT __attribute__((always_inline)) inline

struct FocalParams {
  float alpha, gamma, keep, add;  // label smoothing: y' = y keep + add (add = ls / C)
};

// The loss term of one class and its derivative with respect to the normalized prediction q:
// o = clip(q, eps, 1 - eps), l = alpha (1 - o)^gamma (-y' log o) (losses.py: output, cce,
// modulating_factor, weighting_factor); dl/dq = alpha y' (gamma (1 - o)^(gamma - 1) log o -
// (1 - o)^gamma / o) where the clip passes (inclusive bounds), else 0.
struct FocalTerm {
  float weight, nll, dq;  // the loss is weight nll: alpha (1 - o)^gamma and -y' log o
  float loss() const { return weight * nll; }
};
// Square: gamma == 2 (the default), (1 - o)^2 without exp/log.
template <bool Square>
FASTLOSS_FOCAL_HOT FocalTerm focalTerm(float q, float truth, FocalParams f) {
  const float o = kerasClipSelect(q);
  const float pass = kerasClipPass(q);
  const float y = truth * f.keep + f.add;
  const float lg = vmath::logPositive(o), om = 1.0f - o;  // o, 1 - o in [eps, 1 - eps] (or NaN)
  const float mod = Square ? om * om : vmath::exp(f.gamma * vmath::logPositive(om));
  const float dmod = Square ? 2.0f * om : f.gamma * mod / om;  // d(1 - o)^gamma / d(-o)
  return {f.alpha * mod, -y * lg, pass * f.alpha * y * (dmod * lg - mod / o)};
}

// One vector of classes of focalProbRow (pointers at it): the loss into L, with Grad dl/dq into g
// and dl/dq q into D; only lanes k >= from counted (a row's tail vector overlaps the body).
template <bool Square, bool Grad>
FASTLOSS_FOCAL_HOT void focalVector(const float* __restrict pred, const float* __restrict truth, const float inv,
                                    const FocalParams f, float* __restrict g, const int64_t from, float* L, float* D) {
#pragma omp simd
  for (int64_t i = 0; i < kRowLanes; ++i) {
    const float q = pred[i] * inv;
    const FocalTerm t = focalTerm<Square>(q, truth[i], f);
    // One fused rounding (scalar.h mulAdd): left to the compiler, L + weight nll was fused in one of the
    // forward and gradient loops' tail vectors and not in the other (withGrad's loss 1 ulp off).
    L[i] = i >= from ? mulAdd(t.weight, t.nll, L[i]) : L[i];
    if (Grad) {
      D[i] += i >= from ? t.dq * q : 0.0f;
      g[i] = t.dq;
    }
  }
}

// focalProbRow's gradient for a vector whose y are all +-0, in a row where no q is NaN, alpha finite
// and gamma >= 0 finite: o in [eps, 1 - eps], (1 - o)^gamma in [0, 1], dl/dq = [pass] alpha y (dmod
// log o - mod / o) with the bracket finite and of sign bit set (dmod log o <= 0, mod / o >= 0), so
// dl/dq = -([pass] alpha y), no log, no division.
FASTLOSS_FOCAL_HOT void focalZeroVector(const float* __restrict pred, const float* __restrict truth, const float inv,
                                        const FocalParams f, float* __restrict g, const int64_t from, float* D) {
#pragma omp simd
  for (int64_t i = 0; i < kRowLanes; ++i) {
    const float q = pred[i] * inv, dq = negate(kerasClipPass(q) * f.alpha * (truth[i] * f.keep + f.add));
    g[i] = dq;
    D[i] += i >= from ? dq * q : 0.0f;
  }
}

// A contiguous row of C >= kRowLanes probabilities (focalPosition's arithmetic): sums in lanes
// (lanes.h), q = p * (1 / sum p) (within an ulp of Keras' float32 division), the last
// C % kRowLanes classes as one vector over [C - kRowLanes, C) (its new lanes counted).
// Sparse (lanes.h rowVectors; y = t, no q NaN, alpha finite, gamma >= 0 finite): a class with y =
// +-0 has loss +-0 (alpha mod finite, log o finite), a no-op on a lane sum; only vectors with a
// non-zero y take the logs (focalZeroVector for the others' gradient). The same bits as without
// Sparse (a NaN's sign aside); dense: see rowVectors.
template <bool Square, bool Grad, bool Sparse>
FASTLOSS_FOCAL_HOT double focalProbRow(const float* __restrict pred, const float* __restrict truth, const int64_t C,
                                       const FocalParams f, float* __restrict g, const float k, const float norm,
                                       const float inv, bool& dense) {
  const int64_t body = C / kRowLanes * kRowLanes, tailAt = C - kRowLanes;
  double loss = 0.0, dqq = 0.0;
  for (int64_t b = 0; b < body; b += kRowSumBlock) {
    const int64_t e = body - b < kRowSumBlock ? body : b + kRowSumBlock;
    float L[kRowLanes], D[kRowLanes];
#pragma omp simd
    for (int64_t i = 0; i < kRowLanes; ++i) L[i] = D[i] = 0.0f;
    dense |= rowVectors<Sparse>(
        truth, b, e, e == body && body < C, tailAt, body,
        [&](int64_t j, int64_t from) { focalVector<Square, Grad>(pred + j, truth + j, inv, f, g + j, from, L, D); },
        [&](int64_t j, int64_t from) {
          if (Grad) focalZeroVector(pred + j, truth + j, inv, f, g + j, from, D);
        });
    loss += static_cast<double>(laneSum(L));
    if (Grad) dqq += static_cast<double>(laneSum(D));
  }
  if (Grad) {
    // dl/dp = k (dq - sum dq q) / sum(p)
    const float sum = static_cast<float>(dqq);
    const float kn = static_cast<float>(static_cast<double>(k) / static_cast<double>(norm));
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) g[c] = (g[c] - sum) * kn;
  }
  return loss;
}

// One position: returns its loss; with Grad, writes k * dl/dpred at the position's classes
// (dl/dq first, then corrected in place once sum_c dl/dq_c q_c is known).
// Probabilities: q = p / sum(p), dl/dp_j = (dq_j - sum_c dq_c q_c) / sum(p).
// Logits: q = softmax(x) (Keras' renormalization of a softmax is the identity up to rounding),
// dl/dx_j = q_j (dq_j - sum_c dq_c q_c).
template <bool Logits, bool Contiguous, bool Square, bool Grad>
double focalPosition(const float* __restrict pred, const float* __restrict truth, const int64_t C,
                     const int64_t strideArg, const FocalParams f, float* __restrict g, const float k) {
  const int64_t cs = Contiguous ? 1 : strideArg;
  float shift = 0.0f, norm;
  if (Logits) {
    float m = -INFINITY;
    for (int64_t c = 0; c < C; ++c) m = pred[c * cs] > m ? pred[c * cs] : m;
    shift = m;
    double z = 0.0;
#pragma omp simd reduction(+ : z)
    for (int64_t c = 0; c < C; ++c) z += static_cast<double>(vmath::exp(pred[c * cs] - shift));
    norm = static_cast<float>(z);
  } else {
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < C; ++c) s += static_cast<double>(pred[c * cs]);
    norm = static_cast<float>(s);
  }
  double loss = 0.0, dqq = 0.0;
#pragma omp simd reduction(+ : loss, dqq)
  for (int64_t c = 0; c < C; ++c) {
    const float q = (Logits ? vmath::exp(pred[c * cs] - shift) : pred[c * cs]) / norm;
    const FocalTerm t = focalTerm<Square>(q, truth[c * cs], f);
    loss += static_cast<double>(t.loss());
    if (Grad) {
      dqq += static_cast<double>(t.dq * q);
      g[c * cs] = t.dq;
    }
  }
  if (Grad) {
    const float sum = static_cast<float>(dqq);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) {
      if (Logits) g[c * cs] = k * (vmath::exp(pred[c * cs] - shift) / norm) * (g[c * cs] - sum);
      else g[c * cs] = k * (g[c * cs] - sum) / norm;
    }
  }
  return loss;
}

// Positions [b, e): l = w * focal sum over classes, written to out (when given) and summed.
template <bool Logits, bool Contiguous, bool Square>
double focalPositions(const float* __restrict pred, const float* __restrict truth, const float* __restrict w,
                      const float* __restrict up, float* __restrict out, float* __restrict grad, const AxisView ax,
                      const FocalParams f, const double scale, int64_t b, int64_t e) {
  // Contiguous probability rows: focalProbRow, with the row sums a group of rows ahead.
  const int64_t C = ax.size;
  const auto kOf = [&](int64_t pos) {  // upstream (or the reduction's scale) times the weight
    return static_cast<float>((up ? static_cast<double>(up[pos]) : scale) * (w ? static_cast<double>(w[pos]) : 1.0));
  };
  const auto finish = [&](int64_t pos, double l) {
    l *= w ? static_cast<double>(w[pos]) : 1.0;
    if (out) out[pos] = static_cast<float>(l);
    return l;
  };
  if (Contiguous && !Logits && C >= kRowLanes) {
    RowSumsAhead sums(pred, C, b, e);
    // Sparse rows (focalProbRow): labels not smoothed, alpha finite, gamma >= 0 finite.
    const bool plain =
        f.keep == 1.0f && f.add == 0.0f && f.alpha - f.alpha == 0.0f && f.gamma - f.gamma == 0.0f && f.gamma >= 0.0f;
    SparseRowGate gate;
    return rowGroups(
        sums, pred, truth, C, b, e, grad == nullptr,
        // x - x == 0: x finite (a non-finite p makes the sum non-finite).
        [&](float norm, float inv) { return gate.take(plain && norm - norm == 0.0f && inv - inv == 0.0f); },
        [&](int64_t pos, float norm, float inv, bool sparse) {
          const int64_t base = pos * C;
          const float k = kOf(pos);
          bool dense = false;
          float* gr = grad ? grad + base : nullptr;
          const double l = withGradSparse(grad != nullptr, sparse, [&](auto g, auto sp) {
            return focalProbRow<Square, g(), sp()>(pred + base, truth + base, C, f, gr, k, norm, inv, dense);
          });
          gate.after(dense);
          return l;
        },
        [&](float p, float t, float inv) {
          const FocalTerm ft = focalTerm<Square>(p * inv, t, f);
          return mulAdd(ft.weight, ft.nll, 0.0f);
        },
        finish);
  }
  double acc = 0.0;
  for (int64_t pos = b; pos < e; ++pos) {
    const int64_t o = Contiguous ? pos : pos / ax.inner, i = pos - o * ax.inner;  // Contiguous: inner 1
    const int64_t base = o * ax.size * ax.inner + i;
    const float k = kOf(pos);
    const double l = grad ? focalPosition<Logits, Contiguous, Square, true>(pred + base, truth + base, ax.size,
                                                                            ax.inner, f, grad + base, k)
                          : focalPosition<Logits, Contiguous, Square, false>(pred + base, truth + base, ax.size,
                                                                             ax.inner, f, nullptr, k);
    acc += finish(pos, l);
  }
  return acc;
}

// Contiguous positions of few classes (C <= kShortC): a loop along C per position is nothing but
// its vector tail (rows of 1-8: 9-18 ns per element against 6-12 for a plain JS loop). So
// kRowBlock positions at a time are transposed into class-major scratch and every step runs
// vectorized along the positions (as keras_categorical.cpp KerasCategoricalShort). Float sums
// over the few classes. LB: B when the block is full, else 0.
constexpr int64_t kShortC = 16;
constexpr int64_t kRowBlock = 64;

template <bool Logits, bool Square, int LB>
FASTLOSS_LOOP double focalShortBlock(const float* __restrict pred, const float* __restrict truth,
                                     const float* __restrict w, const float* __restrict up, float* __restrict out,
                                     float* __restrict grad, const int64_t C, const FocalParams f, const double scale,
                                     const int64_t r0, const int64_t Bn) {
  constexpr int64_t L = kRowBlock;
  const int64_t B = LB ? LB : Bn;
  float pt[kShortC * L], tt[kShortC * L];  // pred (then q), truth (then dl/dq), class-major
  float norm[L], loss[L], dqq[L];
  const float* __restrict pr = pred + r0 * C;
  const float* __restrict tr = truth + r0 * C;
  for (int64_t c = 0; c < C; ++c) {
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) {
      pt[c * L + j] = pr[j * C + c];
      tt[c * L + j] = tr[j * C + c];
    }
  }
  if (Logits) {
    // As focalPosition: shift by the max, q = exp(x - max) / sum.
    float sh[L];
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) sh[j] = -INFINITY;
    for (int64_t c = 0; c < C; ++c) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) sh[j] = pt[c * L + j] > sh[j] ? pt[c * L + j] : sh[j];
    }
    for (int64_t c = 0; c < C; ++c) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) pt[c * L + j] = vmath::exp(pt[c * L + j] - sh[j]);
    }
  }
#pragma omp simd
  for (int64_t j = 0; j < B; ++j) norm[j] = loss[j] = dqq[j] = 0.0f;
  for (int64_t c = 0; c < C; ++c) {
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) norm[j] += pt[c * L + j];
  }
  for (int64_t c = 0; c < C; ++c) {
    float* __restrict pc = pt + c * L;
    float* __restrict tc = tt + c * L;
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) {
      const float q = pc[j] / norm[j];
      const FocalTerm t = focalTerm<Square>(q, tc[j], f);
      loss[j] += t.loss();
      dqq[j] += t.dq * q;
      pc[j] = q;
      tc[j] = t.dq;
    }
  }
  float k[L];
  const double total = finishShortRows<false>(r0, B, w, up, scale, grad != nullptr, out, loss, k);
  if (!grad) return total;
  // Logits: dl/dx = k q (dq - sum dq q); probabilities: dl/dp = k (dq - sum dq q) / sum(p).
  float* __restrict gr = grad + r0 * C;
  for (int64_t c = 0; c < C; ++c) {
    const float* __restrict pc = pt + c * L;
    const float* __restrict tc = tt + c * L;
#pragma omp simd
    for (int64_t j = 0; j < B; ++j)
      gr[j * C + c] = Logits ? k[j] * pc[j] * (tc[j] - dqq[j]) : k[j] * (tc[j] - dqq[j]) / norm[j];
  }
  return total;
}

template <bool Logits, bool Contiguous, bool Square>
void focalRun(LossArgs& a, const AxisView ax, const FocalParams f) {
  const float* pred = a.f(0);
  const float* truth = a.f(1);
  const float* w = a.f(2);
  const float* up = a.gradOut;
  const int64_t positions = ax.losses();
  const bool none = a.reduction == Reduction::None;
  float* out = none && a.wantLoss() ? a.out : nullptr;
  float* grad = a.wantGrad() ? a.grad[0] : nullptr;
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(positions));
  const bool isShort = Contiguous && ax.size > 0 && ax.size <= kShortC;
  const double total = reduceRows(positions, ax.size, Logits ? 24 : 16, [&](int64_t b, int64_t e) {
    if (!isShort) return focalPositions<Logits, Contiguous, Square>(pred, truth, w, up, out, grad, ax, f, scale, b, e);
    double acc = 0.0;
    for (int64_t r = b; r < e; r += kRowBlock)
      acc += e - r >= kRowBlock
                 ? focalShortBlock<Logits, Square, kRowBlock>(pred, truth, w, up, out, grad, ax.size, f, scale, r,
                                                              kRowBlock)
                 : focalShortBlock<Logits, Square, 0>(pred, truth, w, up, out, grad, ax.size, f, scale, r, e - r);
    return acc;
  });
  // sum_over_batch_size: Keras' divide_no_nan, so no positions give 0.
  if (!none && a.wantLoss() && !reportParts(a, total, reductionDivisor(a, static_cast<double>(positions)), positions))
    a.result = a.reduction == Reduction::Mean ? (positions > 0 ? total / static_cast<double>(positions) : 0.0) : total;
}

// Rows [b, e) of generalized cross-entropy: p = yPred[r, y_r], l = w (1 - p^q) / q
// (losses.py l. 2786-2794: one_hot, sum(y_pred * one_hot), no clipping), dl/dp = -p^(q - 1) at
// the label, times one_hot's 0 elsewhere: NaN there when dl/dp is not finite (p = 0: -inf at
// the label, NaN elsewhere, as Keras). Unlike Keras' sum, a NaN or inf at another class is not
// read (one load per row: reading every class costs 20x at rows of 1000). A label read outside
// [0, C) (changed since the check) gives NaN and is recorded in changedAt. Rows go in blocks:
// the labelled probabilities are gathered first (a tight loop keeps many of these scattered
// loads in flight), then the powers computed in one vector loop, p^x = exp(x log p) (0 for
// p = 0, NaN for p < 0, as pow).
constexpr int64_t kGceBlock = 256;
constexpr int64_t kGather32 = (int64_t{1} << 31) / kGceBlock - 1;  // a block's offsets fit in int32
double gceRows(const float* __restrict pred, const int32_t* __restrict labels, const float* __restrict w,
               const float* __restrict up, float* __restrict out, float* __restrict grad, const float q,
               const double scale, const int64_t C, std::atomic<int64_t>* changedAt, int64_t b, int64_t e) {
  constexpr int64_t kBlock = kGceBlock;
  float pv[kBlock], powQ[kBlock], powQ1[kBlock], lv[kBlock], atv[kBlock], elv[kBlock];
  double kv[kBlock];
  int32_t yv[kBlock];
  const float invQ = static_cast<float>(1.0 / static_cast<double>(q));
  double acc = 0.0;
  for (int64_t r0 = b; r0 < e; r0 += kBlock) {
    const int64_t m = e - r0 < kBlock ? e - r0 : kBlock;
    // Each label read once (into yv, -1 when not a class: changed since the check) and the
    // labelled probability gathered in the same vector loop, branch-free (the offset clamped to
    // 0 for a changed label, NaN put there afterwards; with a test inside, the loop ran scalar).
    int32_t bad = 0;
    const uint32_t classes = static_cast<uint32_t>(C < INT32_MAX ? C : INT32_MAX);
    if (C == 1) {
#pragma omp simd reduction(+ : bad)
      for (int64_t i = 0; i < m; ++i) {
        const int32_t y = labels[r0 + i];
        yv[i] = y == 0 ? 0 : -1;
        bad += y == 0 ? 0 : 1;
        pv[i] = pred[r0 + i];
      }
    } else if (C <= kGather32) {  // 32-bit offsets from the block's first row: 16-lane gathers
      const float* __restrict base = pred + r0 * C;
      const int32_t c32 = static_cast<int32_t>(C);
#pragma omp simd reduction(+ : bad)
      for (int32_t i = 0; i < static_cast<int32_t>(m); ++i) {
        const int32_t y = labels[r0 + i];
        const bool valid = static_cast<uint32_t>(y) < classes;
        yv[i] = valid ? y : -1;
        bad += valid ? 0 : 1;
        pv[i] = base[i * c32 + (valid ? y : 0)];
      }
    } else {
#pragma omp simd reduction(+ : bad)
      for (int64_t i = 0; i < m; ++i) {
        const int32_t y = labels[r0 + i];
        const bool valid = static_cast<uint32_t>(y) < classes;
        yv[i] = valid ? y : -1;
        bad += valid ? 0 : 1;
        pv[i] = pred[(r0 + i) * C + (valid ? y : 0)];
      }
    }
    if (bad)
      for (int64_t i = 0; i < m; ++i)
        if (yv[i] < 0) {
          pv[i] = std::numeric_limits<float>::quiet_NaN();
          changedAt->store(r0 + i, std::memory_order_relaxed);
        }
    // The loss of each row vectorized (short rows: a serial double ending costs more than the
    // row), summed in a fixed lane order (the same for any thread count); p^(q - 1) only for
    // the gradient.
    if (q == 0.5f) {  // Keras' default: p^0.5 = sqrt(p), p^-0.5 = 1 / sqrt(p), no log / exp
      // (p + 0: pow(-0, 0.5) is +0 and pow(-0, -0.5) +inf, where sqrt(-0) is -0)
      if (grad) {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) {
          const float s = std::sqrt(pv[i] + 0.0f);
          powQ[i] = s;
          powQ1[i] = 1.0f / s;
        }
      } else {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) powQ[i] = std::sqrt(pv[i] + 0.0f);
      }
    } else if (grad) {
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) {
        const float lg = vmath::log(pv[i]);
        powQ[i] = vmath::exp(q * lg);
        powQ1[i] = vmath::exp((q - 1.0f) * lg);
      }
    } else {
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) powQ[i] = vmath::exp(q * vmath::log(pv[i]));
    }
    if (w) {
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) lv[i] = w[r0 + i] * ((1.0f - powQ[i]) * invQ);
    } else {
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) lv[i] = (1.0f - powQ[i]) * invQ;
    }
    if (out)
      for (int64_t i = 0; i < m; ++i) out[r0 + i] = lv[i];
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < m; ++i) sum += static_cast<double>(lv[i]);
    acc += sum;
    if (grad) {
      // The label's factor per row vectorized (k = upstream x weight, in double as before), the
      // block's gradient zeroed in one flat loop, then per row one store at the label, and the
      // row filled with one_hot's 0 times the factor only where that is not 0 (a NaN).
      if (up && w) {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) kv[i] = static_cast<double>(up[r0 + i]) * static_cast<double>(w[r0 + i]);
      } else if (up) {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) kv[i] = static_cast<double>(up[r0 + i]);
      } else if (w) {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) kv[i] = scale * static_cast<double>(w[r0 + i]);
      } else {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) kv[i] = scale;
      }
      int32_t nonzero = 0;
#pragma omp simd reduction(+ : nonzero)
      for (int64_t i = 0; i < m; ++i) {
        const float at = static_cast<float>(-kv[i] * static_cast<double>(powQ1[i]));
        const float el = yv[i] >= 0 ? at - at : 0.0f;
        atv[i] = yv[i] >= 0 ? at : el;
        elv[i] = el;
        nonzero += el == 0.0f ? 0 : 1;
      }
      float* __restrict gb = grad + r0 * C;
      if (C == 1) {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) gb[i] = atv[i];
      } else {
        const int64_t len = m * C;
#pragma omp simd
        for (int64_t j = 0; j < len; ++j) gb[j] = 0.0f;
        if (nonzero == 0 && bad == 0) {
          for (int64_t i = 0; i < m; ++i) gb[i * C + yv[i]] = atv[i];
        } else {
          for (int64_t i = 0; i < m; ++i) {
            float* __restrict g = gb + i * C;
            if (!(elv[i] == 0.0f))
              for (int64_t j = 0; j < C; ++j) g[j] = elv[i];
            if (yv[i] >= 0) g[yv[i]] = atv[i];
          }
        }
      }
    }
  }
  return acc;
}

}  // namespace

namespace keras {

void categoricalGeneralizedCrossEntropy(LossArgs& a) {
  const int64_t C = a.ndim > 0 ? a.dims[a.ndim - 1] : 1;
  const int64_t rows = a.ndim > 0 ? dimsProduct(a, 0, a.ndim - 1) : 1;
  const int32_t* labels = a.i32(1);
  // Labels in [0, C): a vectorized count first (engine firstBad), the position only on a failure.
  const uint32_t classes = static_cast<uint32_t>(C < INT32_MAX ? C : INT32_MAX);
  const int64_t bad = firstBad(labels, rows, [classes](int32_t v) { return static_cast<uint32_t>(v) < classes; });
  if (bad < rows) {
    fail(a, ErrorReason::ClassOutOfRange, inputAt(1, bad), labels[bad], static_cast<double>(C));
    return;
  }
  const bool none = a.reduction == Reduction::None;
  float* out = none && a.wantLoss() ? a.out : nullptr;
  float* grad = a.wantGrad() ? a.grad[0] : nullptr;
  const float q = static_cast<float>(a.p[params::keras::categoricalGeneralizedCrossEntropy::q]);
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(rows));
  const float* pred = a.f(0);
  const float* w = a.f(2);
  const float* up = a.gradOut;
  std::atomic<int64_t> changed{-1};
  // Chunks of at least kGceBlock rows whatever C (the forward reads one element per row: chunks
  // sized by elements were 8 rows at C = 1000, their fixed cost 10 ns a row); the same chunks for
  // every mode and thread count. The work (thread lease) counts the gradient's C writes a row.
  const int64_t perChunk = rowsPerChunk(C) > kGceBlock ? rowsPerChunk(C) : kGceBlock;
  const int64_t work = mulSat(rows, grad && C > 4 ? C : 4);
  const double total = reduceBlocks(rows, perChunk, work, [&](int64_t b, int64_t e) {
    return gceRows(pred, labels, w, up, out, grad, q, scale, C, &changed, b, e);
  });
  if (changed.load() >= 0) {
    fail(a, ErrorReason::ChangedDuringCall, inputAt(1, changed.load()), 0.0, static_cast<double>(C));
    return;
  }
  if (!none && a.wantLoss() && !reportParts(a, total, reductionDivisor(a, static_cast<double>(rows)), rows))
    a.result = a.reduction == Reduction::Mean ? (rows > 0 ? total / static_cast<double>(rows) : 0.0) : total;
}

void categoricalFocalCrossentropy(LossArgs& a) {
  using P = params::keras::categoricalFocalCrossentropy;
  AxisView ax;
  if (!axisViewOf(a, P::axis, ax)) return;
  const double ls = a.p[P::labelSmoothing];
  const FocalParams f{static_cast<float>(a.p[P::alpha]), static_cast<float>(a.p[P::gamma]),
                      static_cast<float>(1.0 - ls),
                      static_cast<float>(ax.size > 0 ? ls / static_cast<double>(ax.size) : 0.0)};
  const bool logits = a.p[P::fromLogits] != 0.0;
  const bool square = a.p[P::gamma] == 2.0;
  const int variant = (logits ? 4 : 0) | (ax.inner == 1 ? 2 : 0) | (square ? 1 : 0);
  switch (variant) {
    case 0: focalRun<false, false, false>(a, ax, f); break;
    case 1: focalRun<false, false, true>(a, ax, f); break;
    case 2: focalRun<false, true, false>(a, ax, f); break;
    case 3: focalRun<false, true, true>(a, ax, f); break;
    case 4: focalRun<true, false, false>(a, ax, f); break;
    case 5: focalRun<true, false, true>(a, ax, f); break;
    case 6: focalRun<true, true, false>(a, ax, f); break;
    default: focalRun<true, true, true>(a, ax, f); break;
  }
}

}  // namespace keras
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
