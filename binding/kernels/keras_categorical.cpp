// Keras categorical and sparse categorical crossentropy (TF 2.x), from logits (the Xent
// engine) and on probabilities (rows here). Forward and gradient side by side.
#include <atomic>
#include <cstdint>
#include <limits>

#include "lanes.h"
#include "xent.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// ------------------------------------------------------------------ Keras probability rows

// keras.backend.categorical_crossentropy on probabilities: q = p / sum(p), c = clip(q, eps,
// 1 - eps), loss = -sum t' log c. With u_j = -t'_j / c_j where the clip passes:
// d/dp_k = (u_k - sum_j u_j q_j) / sum(p).
// Short rows (C <= kShortC) of kerasCategoricalProbs: kRowBlock rows at a time, transposed
// into class-major scratch so that every step (sums, log, the gradient) runs vectorized along
// the rows instead of in a loop of C iterations per row (rows of 1-8: 9-15 ns per element
// against 6-10 for a plain JS loop). Float sums over the few classes.
struct KerasCategoricalShort {
  static constexpr int64_t kShortC = Xent::kShortC;
  static constexpr int64_t kRowBlock = Xent::kRowBlock;
  const float* pred;
  const float* truth;
  const float* w;
  const float* up;
  float* out;  // 'none' losses, or null
  float* g;    // gradient, or null
  int64_t C;
  float keep, add;
  double scale;

  // Rows [r0, r0 + B): their summed loss. CC: C when fixed at compile time (1), else 0; LB: B
  // when the block is full, else 0.
  template <int CC, int LB>
  FASTLOSS_LOOP double block(const int64_t r0, const int64_t Bn) const {
    constexpr int64_t L = kRowBlock;
    const int64_t B = LB ? LB : Bn;
    const int64_t Cn = CC ? CC : C;
    float pt[kShortC * L], yt[kShortC * L];  // p and the smoothed t, class-major
    float sp[L], l[L], uq[L];
    const float* __restrict pr = pred + r0 * Cn;
    const float* __restrict tr = truth + r0 * Cn;
    const float kp = keep, ad = add;
    for (int64_t c = 0; c < Cn; ++c) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) {
        pt[c * L + j] = pr[j * Cn + c];
        yt[c * L + j] = tr[j * Cn + c] * kp + ad;
      }
    }
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) sp[j] = l[j] = uq[j] = 0.0f;
    for (int64_t c = 0; c < Cn; ++c) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) sp[j] += pt[c * L + j];
    }
    for (int64_t c = 0; c < Cn; ++c) {
      float* __restrict pc = pt + c * L;
      const float* __restrict yc = yt + c * L;
      if (g) {
        // pc becomes u = [clip passes] (-y / c), the gradient's per-class term.
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) {
          const float q = pc[j] / sp[j], cl = kerasClip(q);
          l[j] += yc[j] * vmath::logPositive(cl);  // clipped: [eps, 1 - eps] or NaN
          const float uj = kerasClipPass(q) * (-yc[j] / cl);
          uq[j] += uj * q;
          pc[j] = uj;
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) l[j] += yc[j] * vmath::logPositive(kerasClip(pc[j] / sp[j]));
      }
    }
    float k[L];
    const double total = finishShortRows<true>(r0, B, w, up, scale, g != nullptr, out, l, k);  // l: sum y log(clip)
    if (!g) return total;
    // g = k (u - sum_j u_j q_j) / sum(p), k = upstream (or the reduction's scale) times the weight.
    float* __restrict gr = g + r0 * Cn;
    for (int64_t c = 0; c < Cn; ++c) {
      const float* __restrict pc = pt + c * L;
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) gr[j * Cn + c] = k[j] * (pc[j] - uq[j]) / sp[j];
    }
    return total;
  }

  template <int CC>
  double rows(int64_t b, int64_t e) const {
    double acc = 0.0;
    for (int64_t r = b; r < e; r += kRowBlock)
      acc += e - r >= kRowBlock ? block<CC, kRowBlock>(r, kRowBlock) : block<CC, 0>(r, e - r);
    return acc;
  }
};

// Long rows (C > kShortC) of kerasCategoricalProbs, sums in lanes (lanes.h). One class: q = p / sum(p) (as p * (1 /
// sum): within an ulp of Keras' float32 division), c = clip(q), y = smoothed t; l = y log c (as y and log c), and with
// Grad u = [clip passes] (-y / c), uq = u q.
template <bool Grad>
FASTLOSS_HOT void catTerm(float p, float t, float invS, float kp, float ad, float& y, float& lg, float& u, float& uq) {
  const float q = p * invS, c = kerasClipSelect(q);
  y = t * kp + ad;
  lg = vmath::logPositive(c);  // clipped: [eps, 1 - eps] or NaN
  if (Grad) {
    u = kerasClipPass(q) * (-y / c);
    uq = u * q;
  }
}

// One vector of classes [j, j + kRowLanes) (pointers at j): y log c into L, with Grad u into g and
// u q into U; only lanes k >= from counted (a row's tail vector overlaps the body).
template <bool Grad>
FASTLOSS_HOT void catVector(const float* __restrict p, const float* __restrict t, float* __restrict g, const float invS,
                            const float kp, const float ad, const int64_t from, float* L, float* U) {
#pragma omp simd
  for (int64_t k = 0; k < kRowLanes; ++k) {
    float yj, lgj, uj = 0.0f, uqj = 0.0f;
    catTerm<Grad>(p[k], t[k], invS, kp, ad, yj, lgj, uj, uqj);
    // One fused rounding (scalar.h mulAdd): left to the compiler, L + y log c was fused in one of the
    // forward and gradient loops' tail vectors and not in the other (withGrad's loss 1 ulp off).
    L[k] = k >= from ? mulAdd(yj, lgj, L[k]) : L[k];
    if (Grad) {
      g[k] = uj;
      U[k] += k >= from ? uqj : 0.0f;
    }
  }
}

// catLongRow's gradient for a vector whose y are all +-0, in a row where no q is NaN: every c is
// in [eps, 1 - eps], so u = [pass] (-y / c) = [pass] (-y), no division.
FASTLOSS_HOT void catZeroVector(const float* __restrict p, const float* __restrict t, float* __restrict g,
                                const float invS, const float kp, const float ad, const int64_t from, float* U) {
#pragma omp simd
  for (int64_t k = 0; k < kRowLanes; ++k) {
    // -y as a sign flip: -(t kp + ad) may become fnmsub, whose zero has the other sign.
    const float q = p[k] * invS, u = kerasClipPass(q) * negate(t[k] * kp + ad);
    g[k] = u;
    U[k] += k >= from ? u * q : 0.0f;
  }
}

// sum_j y_j log c_j over a row of C >= kRowLanes classes; with Grad, u_j into g and sum_j u_j q_j
// into uqOut. The last C % kRowLanes classes run as one vector over [C - kRowLanes, C), counting only
// its new lanes (the others recomputed to the same bits): no scalar log epilogue per row.
// Sparse (lanes.h rowVectors): labels not smoothed (y = t) and no q of the row NaN (finite p, sum
// and 1 / sum). Then every c is in [eps, 1 - eps] and a class with y = +-0 adds y log c = +-0 (a
// no-op on a lane sum, never -0): only vectors with a non-zero y (one per one-hot row) take the
// log; the others' u need no division (catZeroVector). The same bits as without Sparse (a NaN's
// sign aside, which follows the compiler's operand order). dense: see rowVectors.
template <bool Grad, bool Sparse>
FASTLOSS_HOT double catLongRow(const float* __restrict p, const float* __restrict t, float* __restrict g,
                               const int64_t C, const float invS, const float kp, const float ad, double& uqOut,
                               bool& dense) {
  const int64_t body = C / kRowLanes * kRowLanes, tailAt = C - kRowLanes;
  double l = 0.0, uq = 0.0;
  for (int64_t b = 0; b < body; b += kRowSumBlock) {
    const int64_t e = body - b < kRowSumBlock ? body : b + kRowSumBlock;
    float L[kRowLanes], U[kRowLanes];
#pragma omp simd
    for (int64_t k = 0; k < kRowLanes; ++k) L[k] = U[k] = 0.0f;
    dense |= rowVectors<Sparse>(
        t, b, e, e == body && body < C, tailAt, body,
        [&](int64_t j, int64_t from) { catVector<Grad>(p + j, t + j, g + j, invS, kp, ad, from, L, U); },
        [&](int64_t j, int64_t from) {
          if (Grad) catZeroVector(p + j, t + j, g + j, invS, kp, ad, from, U);
        });
    l += static_cast<double>(laneSum(L));
    if (Grad) uq += static_cast<double>(laneSum(U));
  }
  uqOut = uq;
  return l;
}

void kerasCategoricalProbs(LossArgs& a, float ls) {
  const float* pred = a.f(0);
  const float* truth = a.f(1);
  const float* w = a.f(2);
  const RowShape shape = rowShapeOf(a);
  const int64_t rows = shape.rows, C = shape.cols;
  const float keep = 1.0f - ls, add = static_cast<float>(static_cast<double>(ls) / static_cast<double>(C));
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  const float* up = a.gradOut;
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(rows));
  if (C > 0 && C <= KerasCategoricalShort::kShortC) {
    const KerasCategoricalShort rowsOf{
        pred, truth, w, up, none && wantLoss ? a.out : nullptr, wantGrad ? a.grad[0] : nullptr, C, keep, add, scale};
    const double total = reduceRows(
        rows, C, 6, [&](int64_t b, int64_t e) { return C == 1 ? rowsOf.rows<1>(b, e) : rowsOf.rows<0>(b, e); });
    finishReduction(a, Framework::Keras, total, rows);
    return;
  }
  const bool plain = keep == 1.0f && add == 0.0f;  // y = t (+ +-0)
  const double total = reduceRows(rows, C, 6, [&](int64_t b, int64_t e) {
    RowSumsAhead sums(pred, C, b, e);
    SparseRowGate gate;
    return rowGroups(
        sums, pred, truth, C, b, e, !wantGrad,
        // x - x == 0: x finite (a non-finite p makes the sum non-finite).
        [&](float s, float invS) { return gate.take(plain && s - s == 0.0f && invS - invS == 0.0f); },
        [&](int64_t r, float s, float invS, bool sparse) {
          const float* p = pred + r * C;
          const float* t = truth + r * C;
          double uq = 0.0;
          bool dense = false;
          float* g = wantGrad ? a.grad[0] + r * C : nullptr;
          const double l = withGradSparse(wantGrad, sparse, [&](auto gr, auto sp) {
            return catLongRow<gr(), sp()>(p, t, g, C, invS, keep, add, uq, dense);
          });
          gate.after(dense);
          if (wantGrad) {
            // g holds u; g = k (u - sum_j u_j q_j) / sum(p).
            const double wr = w ? static_cast<double>(w[r]) : 1.0;
            const float kS =
                static_cast<float>((up ? static_cast<double>(up[r]) : scale) * wr / static_cast<double>(s));
            const float fuq = static_cast<float>(uq);
#pragma omp simd
            for (int64_t j = 0; j < C; ++j) g[j] = (g[j] - fuq) * kS;
          }
          return l;
        },
        [&](float p, float t, float invS) {
          float y, lg, u, uq;
          catTerm<false>(p, t, invS, keep, add, y, lg, u, uq);
          return mulAdd(y, lg, 0.0f);
        },
        [&](int64_t r, double l) {
          l = -l * (w ? static_cast<double>(w[r]) : 1.0);
          if (none && wantLoss) a.out[r] = static_cast<float>(l);
          return l;
        });
  });
  finishReduction(a, Framework::Keras, total, rows);
}

// keras.backend.sparse_categorical_crossentropy on probabilities: c = clip(p, eps, 1 - eps),
// loss = log(sum c) - log c_y (sparse softmax cross-entropy of log c); d/dp_j =
// (1 / sum c - [j == y] / c_j) where the clip passes. ignore_class: masked samples give 0 and
// sum_over_batch_size divides by the valid samples (Keras' apply_valid_mask).
void kerasSparseProbs(LossArgs& a, bool hasIgnore, int64_t ignore) {
  const float* pred = a.f(0);
  const int32_t* truth = a.i32(1);
  const float* w = a.f(2);
  Xent k = makeKerasXent(a);
  const int64_t rows = k.N, C = k.C;
  k.ignoreParam = params::keras::sparseCategoricalCrossentropy::ignoreClass;
  k.idx = truth;
  k.hasIgnore = hasIgnore;
  k.ignore = ignore;
  if (!k.prepare(a)) return;
  std::atomic<int64_t> changed{-1};
  k.changedAt = &changed;
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  const double total = reduceRows(rows, C, 4, [&](int64_t b, int64_t e) {
    double acc = 0.0;
    for (int64_t r = b; r < e; ++r) {
      const float* p = pred + r * C;
      float* g = wantGrad ? a.grad[0] + r * C : nullptr;
      const int64_t y = k.target(r);  // read once; -1 ignored, -2 changed mid-call
      if (y < 0) {
        const double l = y == -1 ? 0.0 : kNaN;
        if (none && wantLoss) a.out[r] = static_cast<float>(l);
        if (g) {
#pragma omp simd
          for (int64_t j = 0; j < C; ++j) g[j] = 0.0f;
        }
        acc += l;
        continue;
      }
      double sc = 0.0;
#pragma omp simd reduction(+ : sc)
      for (int64_t j = 0; j < C; ++j) sc += static_cast<double>(kerasClip(p[j]));
      const double wr = w ? static_cast<double>(w[r]) : 1.0;
      const double l =
          (static_cast<double>(vmath::log(static_cast<float>(sc))) - static_cast<double>(vmath::log(kerasClip(p[y])))) *
          wr;
      if (none && wantLoss) a.out[r] = static_cast<float>(l);
      acc += l;
      if (g) {
        const double s = k.posScale(r);
        const float ks = static_cast<float>(s / sc);
#pragma omp simd
        for (int64_t j = 0; j < C; ++j) g[j] = kerasClipPass(p[j]) * ks;
        g[y] = kerasClipPass(p[y]) * static_cast<float>(s / sc - s / static_cast<double>(kerasClip(p[y])));
      }
    }
    return acc;
  });
  if (k.reportChanged(a)) return;
  finishReduction(a, Framework::Keras, total, rows, k.D);
}

}  // namespace

namespace keras {

// p[0] fromLogits, p[1] labelSmoothing.
void categoricalCrossentropy(LossArgs& a) {
  const float ls = static_cast<float>(a.p[params::keras::categoricalCrossentropy::labelSmoothing]);
  if (a.p[params::keras::categoricalCrossentropy::fromLogits] == 0.0) {
    kerasCategoricalProbs(a, ls);
    return;
  }
  // tf.nn.softmax_cross_entropy_with_logits on smoothed labels; gradient softmax - labels.
  Xent k = makeKerasXent(a);
  k.prob = a.f(1);
  k.ls = ls;
  k.tfGrad = true;
  k.run(a);
}

// Slots: yPred, yTrue (Int32 labels, shape[:-1]), sampleWeight?.
// p[0] fromLogits, p[1] has ignoreClass, p[2] ignoreClass.
void sparseCategoricalCrossentropy(LossArgs& a) {
  const bool hasIgnore = a.p[params::keras::sparseCategoricalCrossentropy::hasIgnoreClass] != 0.0;
  const int64_t ignore = ignoreIndexOf(a.p[params::keras::sparseCategoricalCrossentropy::ignoreClass]);
  if (a.p[params::keras::sparseCategoricalCrossentropy::fromLogits] == 0.0) {
    kerasSparseProbs(a, hasIgnore, ignore);
    return;
  }
  Xent k = makeKerasXent(a);
  k.ignoreParam = params::keras::sparseCategoricalCrossentropy::ignoreClass;
  k.idx = a.i32(1);
  k.hasIgnore = hasIgnore;
  k.ignore = ignore;
  k.run(a);
}

}  // namespace keras

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
