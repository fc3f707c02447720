// Softmax cross-entropy over a class axis (PyTorch cross_entropy, Keras categorical and sparse
// categorical crossentropy from logits): the Xent engine and the class-axis shapes.
#pragma once
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

// ------------------------------------------------------------------ softmax cross-entropy
//
// Logits x of logical shape [N, C, S] (class axis 1, S = prod of the trailing dims; Keras and
// 1-D inputs have S = 1). Per position (n, s), with lse = log sum_c exp(x_c):
//   class index y (not ignored): (1 - ls) w_y (lse - x_y) + ls / C sum_c w_c (lse - x_c)
//   probabilities t:             sum_c t'_c w_c (lse - x_c),  t' = t (1 - ls) + ls / C
// (torch.nn.functional.cross_entropy; w = class weights or 1). Each position's loss is
// multiplied by its sample weight (Keras). Mean divides by D = the summed w_y of the
// non-ignored index targets (PyTorch, Keras' ignore_class), or by the number of positions for
// probability targets. With a_c the coefficient of -(x_c - lse), the gradient is
// K softmax_c - a_c, K = sum_c a_c (TF's softmax_cross_entropy_with_logits uses K = 1 per
// unit of upstream gradient: softmax - labels). lse - x_c is formed as log(sumexp) + (max - x_c)
// so that nothing cancels. The gradient buffer first holds exp(x - max) and is then rescaled
// in place: no temporary of the input's size.
struct Xent {
  Framework fw;     // Keras: no positions give a mean of 0, not NaN
  int ignoreParam;  // the parameter holding the ignored class (hasIgnore), for error reports
  const float* x;
  int64_t N, C, S;
  const int32_t* idx;  // class indices [N, S] or null
  const float* prob;   // probabilities [N, C, S] or null
  const float* cw;     // class weights [C] or null
  const float* sw;     // sample weights [N * S] or null
  bool hasIgnore;
  int64_t ignore;
  float ls;  // label smoothing
  bool tfGrad;
  float* out;
  float* g;
  const float* up;
  double gradScale;
  Reduction reduction;
  bool wantLoss, wantGrad;
  // Derived.
  double W = 0.0;      // sum of class weights (C without)
  double D = 0.0;      // mean divisor
  float keep = 1.0f;   // 1 - ls
  float lsC = 0.0f;    // ls / C
  bool needU = false;  // the smoothing sums sum_c w_c (max - x_c) are needed
  // Position of an index target found outside [0, C) during the compute (memory changed after
  // prepare() checked it); owned by the caller, reported by reportChanged().
  std::atomic<int64_t>* changedAt = nullptr;

  // The class of position p, read exactly once: y in [0, C), -1 when ignored, -2 when the
  // value is not a class (recorded in changedAt; the position's loss becomes NaN). Every index
  // the compute loops use comes from here, so a target changed during the call can never index
  // out of bounds.
  int64_t target(int64_t p) const {
    const int64_t y = idx[p];
    if (hasIgnore && y == ignore) return -1;
    if (static_cast<uint64_t>(y) < static_cast<uint64_t>(C)) return y;
    if (changedAt) changedAt->store(p, std::memory_order_relaxed);
    return -2;
  }

  // After the compute: a RangeError if a target (slot 1) changed to an invalid value mid-call.
  bool reportChanged(LossArgs& a) const {
    if (!changedAt || changedAt->load() < 0) return false;
    fail(a, ErrorReason::ChangedDuringCall, inputAt(1, changedAt->load()), kNaN, static_cast<double>(C));
    return true;
  }

  bool none() const { return reduction == Reduction::None; }

  // Validates index targets and forms D; before any output is written.
  bool prepare(LossArgs& a) {
    keep = 1.0f - ls;
    lsC = static_cast<float>(static_cast<double>(ls) / static_cast<double>(C));
    W = 0.0;
    if (cw) {
      for (int64_t c = 0; c < C; ++c) W += static_cast<double>(cw[c]);
    } else {
      W = static_cast<double>(C);
    }
    const int64_t P = mulSat(N, S);
    if (idx) {
      needU = ls != 0.0f;
      double d = 0.0;
      for (int64_t i = 0; i < P; ++i) {
        const int64_t y = idx[i];
        if (hasIgnore && y == ignore) continue;
        if (y < 0 || y >= C) {
          fail(a, ErrorReason::ClassOutOfRange, ErrorAt{1, i, hasIgnore ? ignoreParam : -1}, static_cast<double>(y),
               static_cast<double>(C), static_cast<double>(ignore));
          return false;
        }
        d += cw ? static_cast<double>(cw[y]) : 1.0;
      }
      D = d;
    } else {
      needU = true;
      D = static_cast<double>(P);
    }
    return true;
  }

  // Gradient scale per unit loss of position p (before class coefficients).
  double posScale(int64_t p) const {
    const double s = up ? static_cast<double>(up[p]) : (reduction == Reduction::Mean ? gradScale / D : gradScale);
    return sw ? s * static_cast<double>(sw[p]) : s;
  }

  // Position statistics relative to the shift m (the max): se = sum exp(x - m),
  // u = sum a'_c (m - x_c) with a' = w (index, smoothing) or t' w (probabilities),
  // A = sum t'_c w_c (probabilities). Loss (before the sample weight) and gradient factors:
  struct Final {
    double loss;  // unweighted by sample weight
    float k;      // multiplies exp(x - m)
    float kc;     // index targets: subtracted as kc (or kc w_c) everywhere; probs: scale s
    float ky;     // index targets: extra subtracted at y
  };

  Final finish(int64_t p, float m, double se, double u, double A, float xy, int64_t y) const {
    Final f = wantGrad ? factors(p, se, A, y) : Final{0.0, 0.0f, 0.0f, 0.0f};
    f.loss = lossOf(p, m, se, u, A, xy, y);
    return f;
  }

  // finish()'s loss alone.
  double lossOf(int64_t p, float m, double se, double u, double A, float xy, int64_t y) const {
    const double logS = vmath::log(static_cast<float>(se));
    const double wsw = sw ? static_cast<double>(sw[p]) : 1.0;
    if (!idx) return (A * logS + u) * wsw;
    if (hasIgnore && y == ignore) return 0.0;
    const double wy = cw ? static_cast<double>(cw[y]) : 1.0;
    double l = static_cast<double>(keep) * wy * (logS + (static_cast<double>(m) - xy));
    if (ls != 0.0f) l += static_cast<double>(lsC) * (W * logS + u);
    return l * wsw;
  }

  // finish()'s gradient factors alone (loss 0): no log on their path.
  Final factors(int64_t p, double se, double A, int64_t y) const {
    Final f{0.0, 0.0f, 0.0f, 0.0f};
    const double s = posScale(p);
    if (idx) {
      if (hasIgnore && y == ignore) return f;
      const double wy = cw ? static_cast<double>(cw[y]) : 1.0;
      const double K = s * (static_cast<double>(keep) * wy + static_cast<double>(lsC) * W);
      f.k = static_cast<float>(K / se);
      f.kc = static_cast<float>(s * lsC);
      f.ky = static_cast<float>(s * keep * wy);
    } else {
      f.k = static_cast<float>((tfGrad ? s : s * A) / se);
      f.kc = static_cast<float>(s);
    }
    return f;
  }

  FASTLOSS_HOT float smoothT(float t) const { return t * keep + lsC; }

  // -------- contiguous rows (S == 1): positions are rows of C, vectorized along C.

  // Stats of row r over classes [c0, c1), shifted by the chunk max; writes exp(x - m) to g.
  struct Part {
    float m;   // chunk max (-inf when every logit is -inf)
    float sh;  // shift used for exp (the max, or 0 for an all -inf chunk)
    double se, u, A;
    // exp(sh - M): moves the chunk's sums to the row shift M; an all -inf chunk adds nothing.
    float to(float M) const { return m == -kInf ? 0.0f : vmath::exp(sh - M); }
  };

  // sum_c exp(x_c - sh) over [c0, c1) (and exp(x_c - sh) into g when Store): float lanes over
  // blocks of kSumBlock classes, each block's float sum added to a double. No float -> double
  // conversion in the vector loop (2 + 2 uops per 16 elements on Sapphire Rapids, 8 on Zen 4:
  // scripts/mca.js), and at most kSumBlock / lanes terms per float partial. The last
  // (c1 - c0) % kLanes classes run as one vector over [c1 - kLanes, c1), counting only its new
  // lanes (the others are recomputed to the same bits): no scalar exp epilogue per row. The
  // lanes are explicit and folded by laneSum (lanes.h): `omp simd reduction` ended each block
  // with a serial chain of kLanes scalar adds. ahead (an address, 0: none): the (c1 - c0) floats
  // there are prefetched in step with the classes.
  static constexpr int64_t kSumBlock = kRowSumBlock;
  static constexpr int64_t kLanes = kRowLanes;
  static constexpr int64_t kAhead = 4096;
  // Max (nx, M, fused): the same loop also takes rowMax's lanes M over nx[c0, c0 + fused) (another
  // range, e.g. the next row, indexed like xr; fused a multiple of kMaxLanes, <= c1 - c0), in
  // rowMax's order: rowMaxFrom(nx, M, c0, c0 + fused, ...) finishes it. The loads of the next range
  // and its max cost little beside the exp, and that range's own max pass (an L2 pass) goes.
  // Scale: pg[c0, c1) *= pk in the same loop (another row's pending rescale: its stores overlap the
  // exp instead of running as a store-bound pass of their own).
  template <bool Store, bool Max = false, bool Scale = false>
  static double expSum(const float* __restrict xr, float* __restrict gr, const float sh, int64_t c0, int64_t c1,
                       const uintptr_t ahead = 0, const bool aheadToL1 = true, const float* __restrict nx = nullptr,
                       float* __restrict M = nullptr, const int64_t fused = 0, float* __restrict pg = nullptr,
                       const float pk = 0.0f) {
    if (Scale) {
      const int64_t body = c1 - c0 < kLanes ? c0 : c0 + (c1 - c0) / kLanes * kLanes;
#pragma omp simd
      for (int64_t c = body; c < c1; ++c) pg[c] *= pk;  // the rest in vec below
    }
    if (c1 - c0 < kLanes) {
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int64_t c = c0; c < c1; ++c) {
        const float v = vmath::expNonPositive(xr[c] - sh);  // x <= max
        if (Store) gr[c] = v;
        s += v;
      }
      return static_cast<double>(s);
    }
    const int64_t body = c0 + (c1 - c0) / kLanes * kLanes;
    double se = 0.0;
    float S[kLanes];
    const float nsh = negate(sh);  // x + (-sh) is x - sh, and takes x straight from memory
    float Ml[kMaxLanes];           // M, in registers through the loops
    if constexpr (Max) {
#pragma omp simd
      for (int64_t k = 0; k < kMaxLanes; ++k) Ml[k] = M[k];
    }
    auto vec = [&](const int64_t c) {
#pragma omp simd
      for (int64_t k = 0; k < kLanes; ++k) {
        const float v = vmath::expNonPositive(xr[c + k] + nsh);
        if (Store) gr[c + k] = v;
        if (Scale) pg[c + k] *= pk;
        S[k] += v;
      }
    };
    for (int64_t b = c0; b < body; b += kSumBlock) {
      const int64_t e = body - b < kSumBlock ? body : b + kSumBlock;
#pragma omp simd
      for (int64_t k = 0; k < kLanes; ++k) S[k] = 0.0f;
      int64_t c = b;
      if constexpr (Max) {
        for (const int64_t fe = e < c0 + fused ? e : c0 + fused; c < fe; c += kMaxLanes) {
#pragma omp simd
          for (int64_t k = 0; k < kMaxLanes; ++k) Ml[k] = nx[c + k] > Ml[k] ? nx[c + k] : Ml[k];
          for (int64_t q = c; q < c + kMaxLanes; q += kLanes) vec(q);
        }
      }
      for (; c < e; c += kLanes) {
        if (ahead && aheadToL1)
          __builtin_prefetch(reinterpret_cast<const void*>(ahead + static_cast<uintptr_t>(c - c0) * 4));
        if (ahead && !aheadToL1)
          __builtin_prefetch(reinterpret_cast<const void*>(ahead + static_cast<uintptr_t>(c - c0) * 4), 0, 2);
        vec(c);
      }
      if (e == body && body < c1) {
        const int64_t c = c1 - kLanes;
#pragma omp simd
        for (int64_t k = 0; k < kLanes; ++k) {
          const float v = vmath::expNonPositive(xr[c + k] + nsh);
          if (Store) gr[c + k] = v;
          S[k] += c + k >= body ? v : 0.0f;
        }
      }
      se += static_cast<double>(laneSum(S));
    }
    if constexpr (Max) {
#pragma omp simd
      for (int64_t k = 0; k < kMaxLanes; ++k) M[k] = Ml[k];
    }
    return se;
  }

  Part rowPart(int64_t r, int64_t c0, int64_t c1) const { return rowPartFrom(r, c0, c1, rowMax(x + r * C, c0, c1)); }

  // rowPart with the max m of the range already known. With next (a range of nextLen logits, e.g.
  // the next row), *nextMax = rowMax of it, taken in the exp pass (expSum's Max). With pg (wantGrad),
  // pg[c0, c1) *= pk in the exp pass too (expSum's Scale).
  Part rowPartFrom(int64_t r, int64_t c0, int64_t c1, const float m, const float* next = nullptr,
                   const int64_t nextLen = 0, float* nextMax = nullptr, float* pg = nullptr,
                   const float pk = 0.0f) const {
    const float* xr = x + r * C;
    const float sh = m == -kInf ? 0.0f : m;
    Part pt{m, sh, 0.0, 0.0, 0.0};
    float* gr = wantGrad ? g + r * C : nullptr;
    if (next) {
      const int64_t n = c1 - c0 < nextLen ? c1 - c0 : nextLen;
      const int64_t fused = nextLen < kMaxLanes ? 0 : n / kMaxLanes * kMaxLanes;
      float M[kMaxLanes];
      maxLanesInit(M);
      const float* nx = next - c0;
      pt.se = pg   ? expSum<true, true, true>(xr, gr, sh, c0, c1, 0, true, nx, M, fused, pg, pk)
              : gr ? expSum<true, true>(xr, gr, sh, c0, c1, 0, true, nx, M, fused)
                   : expSum<false, true>(xr, nullptr, sh, c0, c1, 0, true, nx, M, fused);
      *nextMax = fused ? rowMaxFrom(nx, M, c0, c0 + fused, c0 + nextLen) : rowMax(next, 0, nextLen);
      sumsU(pt, r, c0, c1);
      return pt;
    }
    // The next row's logits (up to kAhead of them, so that they fit L1 beside this row and its
    // gradient) are fetched during this compute-bound pass: its max pass then reads L1, not L2 or
    // L3. withGrad [256, 1000], one AVX-512 thread: the max pass after a gradient pass took 0.075
    // ns per element (0.026 alone); 0.332 -> 0.319 ns per element in all. Forward: no change.
    // Longer ranges (splitRows' chunks) fetch the next chunk into L2 only.
    const uintptr_t ahead = r * C + c1 < N * C ? reinterpret_cast<uintptr_t>(xr + c1) : 0;
    const bool toL1 = c1 - c0 <= kAhead;
    pt.se = pg   ? expSum<true, false, true>(xr, gr, sh, c0, c1, ahead, toL1, nullptr, nullptr, 0, pg, pk)
            : gr ? expSum<true>(xr, gr, sh, c0, c1, ahead, toL1)
                 : expSum<false>(xr, nullptr, sh, c0, c1, ahead, toL1);
    sumsU(pt, r, c0, c1);
    return pt;
  }

  // The smoothing / probability sums u, A of pt (needU).
  void sumsU(Part& pt, int64_t r, int64_t c0, int64_t c1) const {
    const float* xr = x + r * C;
    const float sh = pt.sh;
    if (needU) {
      double u = 0.0, A = 0.0;
      if (idx) {
        if (cw) {
#pragma omp simd reduction(+ : u)
          for (int64_t c = c0; c < c1; ++c) u += static_cast<double>(cw[c] * (sh - xr[c]));
        } else {
#pragma omp simd reduction(+ : u)
          for (int64_t c = c0; c < c1; ++c) u += static_cast<double>(sh - xr[c]);
        }
      } else {
        const float* tr = prob + r * C;
        if (cw) {
#pragma omp simd reduction(+ : u, A)
          for (int64_t c = c0; c < c1; ++c) {
            const float a = smoothT(tr[c]) * cw[c];
            A += static_cast<double>(a);
            u += static_cast<double>(a * (sh - xr[c]));
          }
        } else {
#pragma omp simd reduction(+ : u, A)
          for (int64_t c = c0; c < c1; ++c) {
            const float a = smoothT(tr[c]);
            A += static_cast<double>(a);
            u += static_cast<double>(a * (sh - xr[c]));
          }
        }
      }
      pt.u = u;
      pt.A = A;
    }
  }

  // Rescales g over [c0, c1) of row r: g = k e - a_c (e already in g; k includes the chunk shift).
  void rowGrad(int64_t r, int64_t c0, int64_t c1, float k, const Final& f, int64_t y) const {
    float* gr = g + r * C;
    if (idx) {
      if (ls == 0.0f) {
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) gr[c] *= k;
      } else if (cw) {
        const float kc = f.kc;
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) gr[c] = gr[c] * k - kc * cw[c];
      } else {
        const float kc = f.kc;
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) gr[c] = gr[c] * k - kc;
      }
      if (y >= c0 && y < c1) gr[y] -= f.ky;
    } else {
      const float* tr = prob + r * C;
      const float s = f.kc;
      if (cw) {
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) gr[c] = gr[c] * k - s * (smoothT(tr[c]) * cw[c]);
      } else {
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) gr[c] = gr[c] * k - s * smoothT(tr[c]);
      }
    }
  }

  // The gradient of an ignored position (y == -1) whose logits are xr[c * stride]. PyTorch:
  // nll_loss gives 0 there and log_softmax's backward g - exp(out) sum(g) turns it into
  // 0 * softmax, NaN when the logits hold a NaN or +inf or are all -inf, else 0. Keras: 0.
  float ignoredGrad(const float* xr, const int64_t n, const int64_t stride) const {
    if (fw != Framework::Torch) return 0.0f;
    bool nanOrInf = false, allNegInf = n > 0;
    for (int64_t c = 0; c < n; ++c) {
      const float v = xr[c * stride];
      nanOrInf |= !(v < kInf);
      allNegInf &= v == -kInf;
    }
    return nanOrInf || allNegInf ? kNaN : 0.0f;
  }

  // An ignored (-1) or changed (-2) row's gradient: ignoredGrad, or 0.
  void fillSkippedRow(int64_t r, int64_t y) const {
    float* gr = g + r * C;
    const float v = y == -1 ? ignoredGrad(x + r * C, C, 1) : 0.0f;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) gr[c] = v;
  }

  // An ignored (y == -1: loss 0) or changed (-2: NaN) row: its loss, its gradient filled.
  double skippedRow(int64_t r, int64_t y) const {
    const double l = y == -1 ? 0.0 : kNaN;
    if (none() && wantLoss) out[r] = static_cast<float>(l);
    if (wantGrad) fillSkippedRow(r, y);
    return l;
  }

  // Rows [b, e) whole, C >= kMaxLanes. Each row's exp pass also takes the next row's max (expSum's
  // Max: no max pass of its own, which read the row from L2 once more) and, for index targets
  // without smoothing (g = k exp(x - max), then -ky at y), the previous row's rescale (expSum's
  // Scale: its stores overlap the exp; as a pass of its own it was store-bound). Other gradients
  // are rescaled (rowGrad) right after their exp pass, while g is in L1. The losses (a log each: a
  // long dependency chain, which held up the next row's exp pass behind it) come after a batch of
  // kBatch rows, one after the other, so that their latencies overlap. Same values as row().
  static constexpr int64_t kBatch = 8;
  double rowsFused(int64_t b, int64_t e) const {
    const bool ahead = wantGrad && idx && ls == 0.0f;  // rescale in the next row's exp pass
    // The next row's max in the exp pass: below AVX-512 the forward's exp loop has no room for it
    // (AVX2, AMD EPYC: [65, 1000] forward 1.4 % slower fused, withGrad [16, 4000] 4 % faster).
    const bool fuseMax = kRowLanes >= 16 || wantGrad;
    double acc = 0.0;
    float m = rowMax(x + b * C, 0, C);
    int64_t pr = -1, py = 0;  // the row whose rescale is pending (-1: none), its target and factors
    Final pf{};
    for (int64_t r0 = b; r0 < e; r0 += kBatch) {
      const int64_t r1 = e - r0 < kBatch ? e : r0 + kBatch;
      int64_t ys[kBatch];
      Part pts[kBatch];
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t y = idx ? target(r) : 0;
        const float* next = r + 1 < e ? x + (r + 1) * C : nullptr;
        float mn = 0.0f;
        bool fusedMax = false;
        ys[r - r0] = y;
        if (y >= 0) {
          float* pg = pr >= 0 ? g + pr * C : nullptr;
          fusedMax = fuseMax && next;
          pts[r - r0] = rowPartFrom(r, 0, C, m, fusedMax ? next : nullptr, C, &mn, pg, pf.k);
          if (pg) pg[py] -= pf.ky;
          pr = -1;
          if (wantGrad) {
            const Final f = factors(r, pts[r - r0].se, pts[r - r0].A, y);
            if (ahead) {
              pr = r;
              py = y;
              pf = f;
            } else {
              rowGrad(r, 0, C, f.k, f, y);
            }
          }
        }
        if (next && !fusedMax) mn = rowMax(next, 0, C);
        m = mn;
      }
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t y = ys[r - r0];
        if (y < 0) {
          acc += skippedRow(r, y);
          continue;
        }
        const Part& pt = pts[r - r0];
        const double l = lossOf(r, pt.sh, pt.se, pt.u, pt.A, idx ? x[r * C + y] : 0.0f, y);
        if (none() && wantLoss) out[r] = static_cast<float>(l);
        acc += l;
      }
    }
    if (pr >= 0) rowGrad(pr, 0, C, pf.k, pf, py);
    return acc;
  }

  // One row, whole: returns its (sample-weighted) loss.
  double row(int64_t r) const {
    const int64_t y = idx ? target(r) : 0;
    if (y < 0) return skippedRow(r, y);
    const Part pt = rowPart(r, 0, C);
    const float xy = idx ? x[r * C + y] : 0.0f;
    const Final f = finish(r, pt.sh, pt.se, pt.u, pt.A, xy, y);
    if (none() && wantLoss) out[r] = static_cast<float>(f.loss);
    if (wantGrad) rowGrad(r, 0, C, f.k, f, y);
    return f.loss;
  }

  // -------- short rows (S == 1, C <= kShortC): a row of a few classes leaves a loop along C
  // nothing but its vector tail, and its scalar ending (log, divisions) costs more than its
  // classes (C = 2: 70 ns per element against 28 for a plain JS loop). So kRowBlock rows at a
  // time are transposed into class-major scratch and every step, the ending included, runs
  // vectorized along the rows. Sums over the few classes are in float (PyTorch's own width).
  static constexpr int64_t kShortC = 16;
  static constexpr int64_t kRowBlock = 64;

  // Row r0 + j's target yb[j], its logit xy[j] and its class's weight wy[j] (0 for an ignored or
  // changed one), its sample weight ws[j] (1 without); xr: the block's logits, Cn per row.
  void gatherTargets(const int64_t r0, const int64_t B, const float* __restrict xr, const int64_t Cn,
                     int64_t* __restrict yb, float* __restrict xy, float* __restrict wy, float* __restrict ws) const {
    for (int64_t j = 0; j < B; ++j) {
      const int64_t y = idx ? target(r0 + j) : 0;
      yb[j] = y;
      xy[j] = idx && y >= 0 ? xr[j * Cn + y] : 0.0f;
      wy[j] = y < 0 ? 0.0f : cw && idx ? cw[y] : 1.0f;
    }
    if (sw) {
      for (int64_t j = 0; j < B; ++j) ws[j] = sw[r0 + j];
    } else {
      for (int64_t j = 0; j < B; ++j) ws[j] = 1.0f;
    }
  }

  template <bool HasUp>
  FASTLOSS_HOT void shortFactors(const float* __restrict upr, const float base, const int64_t B,
                                 const float* __restrict sh, const float* __restrict se, const float* __restrict u,
                                 const float* __restrict A, const float* __restrict xy, const float* __restrict wy,
                                 const float* __restrict ws, float* __restrict loss, float* __restrict fk,
                                 float* __restrict fc, float* __restrict fy) const {
    const float keepF = keep, lsCF = lsC, WF = static_cast<float>(W);
    if (idx) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) {
        const float logS = vmath::log(se[j]);
        const float s = (HasUp ? upr[j] : base) * ws[j];
        const float l = keepF * wy[j] * (logS + (sh[j] - xy[j]));
        loss[j] = (lsCF != 0.0f ? l + lsCF * (WF * logS + u[j]) : l) * ws[j];
        fk[j] = s * (keepF * wy[j] + lsCF * WF) / se[j];
        fc[j] = s * lsCF;
        fy[j] = s * keepF * wy[j];
      }
    } else {
      const float tf = tfGrad ? 1.0f : 0.0f;
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) {
        const float logS = vmath::log(se[j]);
        const float s = (HasUp ? upr[j] : base) * ws[j];
        loss[j] = (A[j] * logS + u[j]) * ws[j];
        fk[j] = (tf != 0.0f ? s : s * A[j]) / se[j];
        fc[j] = s;
      }
    }
  }

  // The ending of finish() for a block of short rows, vectorized along them: loss[j] (times the
  // sample weight; 0 ignored, NaN changed: out when 'none') and the gradient factors fk (times
  // exp), fc, fy. Returns the block's summed loss, added in row order.
  FASTLOSS_HOT double shortFinish(const int64_t r0, const int64_t B, const float* __restrict sh,
                                  const float* __restrict se, const float* __restrict u, const float* __restrict A,
                                  const float* __restrict xy, const float* __restrict wy, const float* __restrict ws,
                                  const int64_t* __restrict yb, float* __restrict loss, float* __restrict fk,
                                  float* __restrict fc, float* __restrict fy) const {
    const bool mean = reduction == Reduction::Mean;
    const float base = static_cast<float>(mean ? gradScale / D : gradScale);
    // Separate loops with and without upstream gradients: a load under a condition would
    // become a masked load, and masked-off lanes at a null pointer cost a fault assist each.
    if (up) shortFactors<true>(up + r0, base, B, sh, se, u, A, xy, wy, ws, loss, fk, fc, fy);
    else shortFactors<false>(nullptr, base, B, sh, se, u, A, xy, wy, ws, loss, fk, fc, fy);
      // Ignored rows 0, changed ones NaN.
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) loss[j] = yb[j] >= 0 ? loss[j] : yb[j] == -1 ? 0.0f : kNaN;
    return writeAndSumBlock(loss, B, none() && wantLoss ? out : nullptr, r0);
  }

  // Index targets: the target's share -fy at y; ignored rows get ignoredGrad, changed ones 0.
  void shortTargets(float* __restrict gr, const float* __restrict xr, const int64_t Cn, const int64_t B,
                    const int64_t* __restrict yb, const float* __restrict fy) const {
    for (int64_t j = 0; j < B; ++j) {
      if (yb[j] >= 0) {
        gr[j * Cn + yb[j]] -= fy[j];
      } else {
        const float v = yb[j] == -1 ? ignoredGrad(xr + j * Cn, Cn, 1) : 0.0f;
        for (int64_t c = 0; c < Cn; ++c) gr[j * Cn + c] = v;
      }
    }
  }

  // shortBlock for C = CC fixed at compile time (2, 3, 4): no transposes, each row's classes
  // read in place (constant-stride loads, unrolled), exp(x - max) kept in g for the gradient.
  template <int CC, int LB>
  FASTLOSS_LOOP double shortBlockFixed(const int64_t r0, const int64_t Bn) const {
    constexpr int64_t L = kRowBlock;
    const int64_t B = LB ? LB : Bn;
    float sh[L], se[L], u[L], A[L], xy[L], wy[L], ws[L], loss[L], fk[L], fc[L], fy[L];
    int64_t yb[L];
    const float* __restrict xr = x + r0 * CC;
    const float* __restrict tr = prob ? prob + r0 * CC : nullptr;
    float* __restrict gr = wantGrad ? g + r0 * CC : nullptr;
    gatherTargets(r0, B, xr, CC, yb, xy, wy, ws);
    // max (as rowPart: NaN never wins a comparison), the shift, sum exp(x - shift).
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) {
      float m = -kInf;
      for (int c = 0; c < CC; ++c) m = xr[j * CC + c] > m ? xr[j * CC + c] : m;
      sh[j] = m == -kInf ? 0.0f : m;
    }
    if (gr) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) {
        float s = 0.0f;
        for (int c = 0; c < CC; ++c) {
          const float e = vmath::exp(xr[j * CC + c] - sh[j]);
          gr[j * CC + c] = e;
          s += e;
        }
        se[j] = s;
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) {
        float s = 0.0f;
        for (int c = 0; c < CC; ++c) s += vmath::exp(xr[j * CC + c] - sh[j]);
        se[j] = s;
      }
    }
    if (needU) {
      float wc[CC];
      for (int c = 0; c < CC; ++c) wc[c] = cw ? cw[c] : 1.0f;
      if (tr) {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) {
          float uu = 0.0f, aa = 0.0f;
          for (int c = 0; c < CC; ++c) {
            const float a = smoothT(tr[j * CC + c]) * wc[c];
            aa += a;
            uu += a * (sh[j] - xr[j * CC + c]);
          }
          u[j] = uu;
          A[j] = aa;
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) {
          float uu = 0.0f;
          for (int c = 0; c < CC; ++c) uu += wc[c] * (sh[j] - xr[j * CC + c]);
          u[j] = uu;
        }
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) u[j] = A[j] = 0.0f;  // read (and unused) by shortFactors
    }
    const double total = shortFinish(r0, B, sh, se, u, A, xy, wy, ws, yb, loss, fk, fc, fy);
    if (!gr) return total;
    // g = k exp - a_c, then the target's share at y; ignored rows 0.
    if (idx && ls == 0.0f) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j)
        for (int c = 0; c < CC; ++c) gr[j * CC + c] *= fk[j];
    } else {
      float wc[CC];
      for (int c = 0; c < CC; ++c) wc[c] = cw ? cw[c] : 1.0f;
      if (tr) {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j)
          for (int c = 0; c < CC; ++c)
            gr[j * CC + c] = gr[j * CC + c] * fk[j] - fc[j] * (smoothT(tr[j * CC + c]) * wc[c]);
      } else {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j)
          for (int c = 0; c < CC; ++c) gr[j * CC + c] = gr[j * CC + c] * fk[j] - fc[j] * wc[c];
      }
    }
    if (idx) shortTargets(gr, xr, CC, B, yb, fy);
    return total;
  }

  // Rows [r0, r0 + B), B <= kRowBlock, of any C <= kShortC: their summed (sample-weighted) loss.
  // LB: B when the block is full (kRowBlock, a constant trip count), else 0.
  template <int LB>
  FASTLOSS_LOOP double shortBlock(const int64_t r0, const int64_t Bn) const {
    constexpr int64_t L = kRowBlock;
    const int64_t B = LB ? LB : Bn;
    float xt[kShortC * L];  // logits, class-major: xt[c * L + j] = x[r0 + j, c]; then exp(x - max)
    float tt[kShortC * L];  // probability targets, class-major
    float sh[L], se[L], u[L], A[L], xy[L], wy[L], ws[L], loss[L], fk[L], fc[L], fy[L];
    int64_t yb[L];
    const int64_t Cn = C;
    const float* __restrict xr = x + r0 * Cn;
    for (int64_t c = 0; c < Cn; ++c) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) xt[c * L + j] = xr[j * Cn + c];
    }
    if (prob) {
      const float* __restrict tr = prob + r0 * Cn;
      for (int64_t c = 0; c < Cn; ++c) {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) tt[c * L + j] = smoothT(tr[j * Cn + c]);
      }
    }
    gatherTargets(r0, B, xr, Cn, yb, xy, wy, ws);
    // max (as rowPart: NaN never wins a comparison), the shift, sum exp(x - shift).
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) sh[j] = -kInf;
    for (int64_t c = 0; c < Cn; ++c) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) sh[j] = xt[c * L + j] > sh[j] ? xt[c * L + j] : sh[j];
    }
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) {
      sh[j] = sh[j] == -kInf ? 0.0f : sh[j];
      se[j] = u[j] = A[j] = 0.0f;
    }
    for (int64_t c = 0; c < Cn; ++c) {
      float* __restrict xc = xt + c * L;
      const float wc = cw ? cw[c] : 1.0f;
      if (needU && idx) {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) u[j] += wc * (sh[j] - xc[j]);
      } else if (needU) {
        const float* __restrict tc = tt + c * L;
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) {
          const float a = tc[j] * wc;
          A[j] += a;
          u[j] += a * (sh[j] - xc[j]);
        }
      }
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) {
        const float e = vmath::exp(xc[j] - sh[j]);
        xc[j] = e;
        se[j] += e;
      }
    }
    const double total = shortFinish(r0, B, sh, se, u, A, xy, wy, ws, yb, loss, fk, fc, fy);
    if (!wantGrad) return total;
    // g = k exp - a_c (class-major, in place), then back to rows; the target's share at y.
    for (int64_t c = 0; c < Cn; ++c) {
      float* __restrict ec = xt + c * L;
      const float wc = cw ? cw[c] : 1.0f;
      if (!idx) {
        const float* __restrict tc = tt + c * L;
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) ec[j] = ec[j] * fk[j] - fc[j] * (tc[j] * wc);
      } else if (ls != 0.0f) {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) ec[j] = ec[j] * fk[j] - fc[j] * wc;
      } else {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) ec[j] *= fk[j];
      }
    }
    float* __restrict gr = g + r0 * Cn;
    for (int64_t c = 0; c < Cn; ++c) {
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) gr[j * Cn + c] = xt[c * L + j];
    }
    if (idx) shortTargets(gr, xr, Cn, B, yb, fy);
    return total;
  }

  // Every row through shortBlock, in the fixed row chunks of reduceRows.
  template <int CC>
  double shortRows() const {
    return reduceRows(N, C, 8, [&](int64_t b, int64_t e) {
      double acc = 0.0;
      for (int64_t r = b; r < e; r += kRowBlock)
        if constexpr (CC > 0)
          acc += e - r >= kRowBlock ? shortBlockFixed<CC, kRowBlock>(r, kRowBlock) : shortBlockFixed<CC, 0>(r, e - r);
        else acc += e - r >= kRowBlock ? shortBlock<kRowBlock>(r, kRowBlock) : shortBlock<0>(r, e - r);
      return acc;
    });
  }

  // Rows split into chunks of kSplit classes: per-chunk max / sum-exp in parallel, combined per
  // row in chunk order (max M, sumexp = sum se_k exp(m_k - M)), then the gradient in parallel.
  // With the gradient, rows go in groups of about kSplitGroup logits, each group's gradient
  // rescaled right after its first pass, while its exp(x - shift) is still in L2 (all rows first:
  // [8, 32000] re-read 1 MB of it from L3). The chunks and their combination are the same.
  static constexpr int64_t kSplit = 8192;
  static constexpr int64_t kSplitGroup = 1 << 16;

  // Rows [r0, r1) of splitRows; adds their losses to total in row order.
  void splitGroup(int64_t r0, int64_t r1, int64_t parts, Part* st, Final* fin, float* shift, const int64_t* ys,
                  double& total) const {
    const int64_t u0 = r0 * parts, units = (r1 - r0) * parts;
    // Runs of units per thread (about two per thread; a chunk's Part is the same whoever computes
    // it): each unit's exp pass takes the next one's max (rowPartFrom's next), as rowsFused.
    const int64_t grain = units / (2 * static_cast<int64_t>(runtime::numThreads()));
    parallelFor(units, grain > 1 ? grain : 1, kSplit * 8, [&](int64_t b, int64_t e) {
      bool have = false;  // m holds unit k's max
      float m = 0.0f;
      for (int64_t k = u0 + b; k < u0 + e; ++k) {
        const int64_t r = k / parts, q = k % parts;
        if (ys[r] < 0) {
          have = false;
          continue;
        }
        const int64_t c0 = q * kSplit, c1 = c0 + kSplit < C ? c0 + kSplit : C;
        if (!have) m = rowMax(x + r * C, c0, c1);
        const int64_t kn = k + 1, rn = kn / parts, n0 = kn % parts * kSplit;
        have = kn < u0 + e && ys[rn] >= 0;
        if (have) st[k] = rowPartFrom(r, c0, c1, m, x + rn * C + n0, n0 + kSplit < C ? kSplit : C - n0, &m);
        else st[k] = rowPartFrom(r, c0, c1, m);
      }
    });
    for (int64_t r = r0; r < r1; ++r) {
      if (ys[r] < 0) {
        const double l = ys[r] == -1 ? 0.0 : kNaN;
        // k holds the skipped row's gradient value for the pass below.
        fin[r] = Final{l, wantGrad && ys[r] == -1 ? ignoredGrad(x + r * C, C, 1) : 0.0f, 0.0f, 0.0f};
        if (none() && wantLoss) out[r] = static_cast<float>(l);
        total += l;
        continue;
      }
      const Part* p = st + r * parts;
      float M = -kInf;
      for (int64_t q = 0; q < parts; ++q) M = p[q].m > M || p[q].m != p[q].m ? p[q].m : M;
      double se = 0.0, u = 0.0, A = 0.0;
      for (int64_t q = 0; q < parts; ++q) {
        se += p[q].se * static_cast<double>(p[q].to(M));
        if (needU) {
          // Re-centre each chunk's sum on M: sum a'(M - x) = u_k + (M - m_k) sum a'.
          const int64_t c0 = q * kSplit, c1 = c0 + kSplit < C ? c0 + kSplit : C;
          double wk = 0.0;
          if (idx) {
            if (cw) {
              for (int64_t c = c0; c < c1; ++c) wk += static_cast<double>(cw[c]);
            } else {
              wk = static_cast<double>(c1 - c0);
            }
          } else {
            wk = p[q].A;
          }
          u += p[q].u + (static_cast<double>(M) - p[q].sh) * wk;
          A += p[q].A;
        }
      }
      const int64_t y = ys[r];
      const float xy = idx ? x[r * C + y] : 0.0f;
      shift[r] = M;
      fin[r] = finish(r, M, se, u, A, xy, y);
      if (none() && wantLoss) out[r] = static_cast<float>(fin[r].loss);
      total += fin[r].loss;
    }
    if (wantGrad) {
      parallelFor((r1 - r0) * parts, 1, kSplit * 2, [&](int64_t b, int64_t e) {
        for (int64_t k = u0 + b; k < u0 + e; ++k) {
          const int64_t r = k / parts, q = k % parts;
          const int64_t c0 = q * kSplit, c1 = c0 + kSplit < C ? c0 + kSplit : C;
          if (ys[r] < 0) {
            float* gr = g + r * C;
            const float v = fin[r].k;
#pragma omp simd
            for (int64_t c = c0; c < c1; ++c) gr[c] = v;
            continue;
          }
          rowGrad(r, c0, c1, fin[r].k * st[k].to(shift[r]), fin[r], ys[r]);
        }
      });
    }
  }

  // false when its scratch cannot be allocated (nothing written then).
  bool splitRows(double* totalOut) const {
    const int64_t parts = (C + kSplit - 1) / kSplit;
    const int64_t units = mulSat(N, parts);
    const size_t rows = static_cast<size_t>(N > 0 ? N : 1);
    const size_t cap = SIZE_MAX / 64;
    if (static_cast<uint64_t>(units) > cap || rows > cap) return false;
    Part* st = static_cast<Part*>(std::malloc(sizeof(Part) * static_cast<size_t>(units > 0 ? units : 1)));
    Final* fin = static_cast<Final*>(std::malloc(sizeof(Final) * rows));
    float* shift = static_cast<float*>(std::malloc(sizeof(float) * rows));
    int64_t* ys = static_cast<int64_t*>(std::malloc(sizeof(int64_t) * rows));
    if (!st || !fin || !shift || !ys) {
      std::free(st);
      std::free(fin);
      std::free(shift);
      std::free(ys);
      return false;
    }
    // Each row's target read once, for all three passes.
    for (int64_t r = 0; r < N; ++r) ys[r] = idx ? target(r) : 0;
    const int64_t group = !wantGrad ? N : C < kSplitGroup ? kSplitGroup / C : 1;
    double total = 0.0;
    for (int64_t r0 = 0; r0 < N; r0 += group)
      splitGroup(r0, N - r0 < group ? N : r0 + group, parts, st, fin, shift, ys, total);
    std::free(st);
    std::free(fin);
    std::free(shift);
    std::free(ys);
    *totalOut = total;
    return true;
  }

  // -------- strided class axis (S > 1): blocks of B positions, vectorized along S.
  static constexpr int64_t kBlock = 256;

  double block(int64_t n, int64_t s0, int64_t B) const {
    const float* xb = x + n * C * S + s0;
    float* gb = wantGrad ? g + n * C * S + s0 : nullptr;
    const float* tb = prob ? prob + n * C * S + s0 : nullptr;
    const int64_t p0 = n * S + s0;
    // Each position's target read once: every later use of it (loss, gradient scatter) is this.
    int64_t yb[kBlock];
    for (int64_t j = 0; j < B; ++j) yb[j] = idx ? target(p0 + j) : 0;
    float m[kBlock];
    double se[kBlock], u[kBlock], A[kBlock];
    for (int64_t j = 0; j < B; ++j) {
      m[j] = -kInf;
      se[j] = u[j] = A[j] = 0.0;
    }
    for (int64_t c = 0; c < C; ++c) {
      const float* xc = xb + c * S;
#pragma omp simd
      for (int64_t j = 0; j < B; ++j) m[j] = xc[j] > m[j] ? xc[j] : m[j];
    }
    for (int64_t j = 0; j < B; ++j) m[j] = m[j] == -kInf ? 0.0f : m[j];
    for (int64_t c = 0; c < C; ++c) {
      const float* xc = xb + c * S;
      if (gb) {
        float* gc = gb + c * S;
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) {
          const float e = vmath::exp(xc[j] - m[j]);
          gc[j] = e;
          se[j] += static_cast<double>(e);
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) se[j] += static_cast<double>(vmath::exp(xc[j] - m[j]));
      }
      if (needU) {
        if (idx) {
          const float wc = cw ? cw[c] : 1.0f;
#pragma omp simd
          for (int64_t j = 0; j < B; ++j) u[j] += static_cast<double>(wc * (m[j] - xc[j]));
        } else {
          const float wc = cw ? cw[c] : 1.0f;
          const float* tc = tb + c * S;
#pragma omp simd
          for (int64_t j = 0; j < B; ++j) {
            const float a = smoothT(tc[j]) * wc;
            A[j] += static_cast<double>(a);
            u[j] += static_cast<double>(a * (m[j] - xc[j]));
          }
        }
      }
    }
    // Per position: the loss and the gradient factors.
    float fk[kBlock], fc[kBlock], fy[kBlock];
    double total = 0.0;
    for (int64_t j = 0; j < B; ++j) {
      const int64_t p = p0 + j;
      const int64_t y = yb[j];
      Final f{y == -2 ? kNaN : 0.0, 0.0f, 0.0f, 0.0f};
      if (y >= 0) f = finish(p, m[j], se[j], u[j], A[j], idx ? xb[y * S + j] : 0.0f, y);
      if (none() && wantLoss) out[p] = static_cast<float>(f.loss);
      total += f.loss;
      fk[j] = f.k;
      fc[j] = f.kc;
      fy[j] = f.ky;
    }
    if (!gb) return total;
    for (int64_t c = 0; c < C; ++c) {
      float* gc = gb + c * S;
      if (idx) {
        const float wc = cw ? cw[c] : 1.0f;
        if (ls == 0.0f) {
#pragma omp simd
          for (int64_t j = 0; j < B; ++j) gc[j] *= fk[j];
        } else {
#pragma omp simd
          for (int64_t j = 0; j < B; ++j) gc[j] = gc[j] * fk[j] - fc[j] * wc;
        }
      } else {
        const float wc = cw ? cw[c] : 1.0f;
        const float* tc = tb + c * S;
#pragma omp simd
        for (int64_t j = 0; j < B; ++j) gc[j] = gc[j] * fk[j] - fc[j] * (smoothT(tc[j]) * wc);
      }
    }
    if (idx) {
      for (int64_t j = 0; j < B; ++j) {
        if (yb[j] >= 0) {
          gb[yb[j] * S + j] -= fy[j];
        } else {  // ignored: ignoredGrad; changed: 0
          const float v = yb[j] == -1 ? ignoredGrad(xb + j, C, S) : 0.0f;
          for (int64_t c = 0; c < C; ++c) gb[c * S + j] = v;
        }
      }
    }
    return total;
  }

  void run(LossArgs& a) {
    if (!prepare(a)) return;
    std::atomic<int64_t> changed{-1};
    changedAt = &changed;
    double total = 0.0;
    if (S == 1 && C > 2 * kSplit && N > 0) {
      if (!splitRows(&total)) {
        fail(a, ErrorReason::OutOfMemory, ErrorAt{}, 0.0, static_cast<double>(N), static_cast<double>(C));
        changedAt = nullptr;
        return;
      }
    } else if (S == 1 && C <= kShortC) {
      if (C == 2) total = shortRows<2>();
      else if (C == 3) total = shortRows<3>();
      else if (C == 4) total = shortRows<4>();
      else total = shortRows<0>();
    } else if (S == 1 && C >= kMaxLanes) {
      total = reduceRows(N, C, 8, [&](int64_t b, int64_t e) { return rowsFused(b, e); });
    } else if (S == 1) {
      total = reduceRows(N, C, 8, [&](int64_t b, int64_t e) {
        double acc = 0.0;
        for (int64_t r = b; r < e; ++r) acc += row(r);
        return acc;
      });
    } else {
      const int64_t blocks = (S + kBlock - 1) / kBlock;
      const int64_t units = mulSat(N, blocks);
      const int64_t per = S < kBlock ? S : kBlock;
      total = reduceRows(units, mulSat(C, per), 8, [&](int64_t b, int64_t e) {
        double acc = 0.0;
        for (int64_t k = b; k < e; ++k) {
          const int64_t n = k / blocks, s0 = (k % blocks) * kBlock;
          acc += block(n, s0, S - s0 < kBlock ? S - s0 : kBlock);
        }
        return acc;
      });
    }
    const bool changedMidCall = reportChanged(a);
    changedAt = nullptr;
    if (!changedMidCall) finishReduction(a, fw, total, mulSat(N, S), D);
  }
};

// Shape [N, C, d...] (or [C]) of a PyTorch class-axis-1 input.
inline void torchClassShape(const LossArgs& a, int64_t& N, int64_t& C, int64_t& S) {
  if (a.ndim <= 1) {
    N = 1;
    C = a.ndim == 1 ? a.dims[0] : 1;
    S = 1;
    return;
  }
  N = a.dims[0];
  C = a.dims[1];
  S = dimsProduct(a, 2, a.ndim);
}

// An ignore index from params: the integer itself when it fits int32 (the targets' type), else a
// value no int32 target equals (a double outside int64 would be undefined to convert).
inline int64_t ignoreIndexOf(double v) {
  if (v >= -2147483648.0 && v <= 2147483647.0 && v == std::floor(v)) return static_cast<int64_t>(v);
  return std::numeric_limits<int64_t>::min();
}

// Logits in slot 0, class targets in slot 1; the caller sets the shape, targets and options.
inline Xent makeXent(LossArgs& a, Framework fw) {
  Xent k{};
  k.fw = fw;
  k.ignoreParam = -1;
  k.x = a.f(0);
  k.out = a.out;
  k.g = a.grad[0];
  k.up = a.gradOut;
  k.gradScale = a.gradScale;
  k.reduction = a.reduction;
  k.wantLoss = a.wantLoss();
  k.wantGrad = a.wantGrad();
  return k;
}

// Keras: classes on the last axis, every other axis a sample; sample weights in slot 2.
inline Xent makeKerasXent(LossArgs& a) {
  Xent k = makeXent(a, Framework::Keras);
  const RowShape s = rowShapeOf(a);
  k.N = s.rows;
  k.C = s.cols;
  k.S = 1;
  k.sw = a.f(2);
  return k;
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
