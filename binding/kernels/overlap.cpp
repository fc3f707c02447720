// Keras 3 overlap losses (keras/src/losses/losses.py dice, tversky). Forward and gradient.
//
// The reduced axes arrive merged into one, `axis` of the logical shape, seen as [outer, size,
// inner] (the facade requires them to be consecutive): one loss per (outer, inner) slot from
// three sums over the axis, I = sum y p, P = sum p, T = sum y. The gradient with respect to
// yPred is linear in y within a slot: dl/dp = c1 y + c0.
//
// Sums run over fixed pieces (a slot's axis cut in kChunk segments when inner == 1, blocks of
// kInnerBlock slots otherwise), each piece in order by one thread, the pieces combined left to
// right: the same bits for any thread count.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "axis_view.h"
#include "engine.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

constexpr int64_t kInnerBlock = 1024;

struct Sums {
  double inter, pred, truth;
};

// Sums of y p, p and y over [b, e) of contiguous elements.
FASTLOSS_LOOP inline Sums contiguousSums(const float* __restrict p, const float* __restrict t, int64_t b, int64_t e) {
  double si = 0.0, sp = 0.0, st = 0.0;
#pragma omp simd reduction(+ : si, sp, st)
  for (int64_t j = b; j < e; ++j) {
    si += static_cast<double>(p[j]) * static_cast<double>(t[j]);
    sp += static_cast<double>(p[j]);
    st += static_cast<double>(t[j]);
  }
  return {si, sp, st};
}

// Slots [i0, i1) of one outer index, strided layout: acc[i] += sums of element (r, i) over r.
FASTLOSS_LOOP inline void stridedSums(const float* __restrict p, const float* __restrict t, Sums* __restrict acc,
                                      int64_t size, int64_t inner, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) acc[i] = {0.0, 0.0, 0.0};
  for (int64_t r = 0; r < size; ++r) {
    const float* __restrict pr = p + r * inner;
    const float* __restrict tr = t + r * inner;
    for (int64_t i = i0; i < i1; ++i) {
      acc[i].inter += static_cast<double>(pr[i]) * static_cast<double>(tr[i]);
      acc[i].pred += static_cast<double>(pr[i]);
      acc[i].truth += static_cast<double>(tr[i]);
    }
  }
}

// g = c1 y + c0 over [b, e).
FASTLOSS_LOOP inline void linearGrad(const float* __restrict t, float* __restrict g, const double c1, const double c0,
                                     int64_t b, int64_t e) {
#pragma omp simd
  for (int64_t j = b; j < e; ++j) g[j] = static_cast<float>(c1 * static_cast<double>(t[j]) + c0);
}

// A slot's loss and gradient coefficients (dl/dp = c1 y + c0) from its sums.
// dice (losses.py l. 2607-2614): l = 1 - 2I / (T + P + eps).
// tversky (l. 2648-2657): fp = P - I, fn = T - I (sum (1 - y) p and sum y (1 - p)),
// l = 1 - I / (I + alpha fp + beta fn + eps).
struct SlotLoss {
  double loss, c1, c0;
};
inline SlotLoss slotLoss(const Sums s, bool dice, double alpha, double beta) {
  if (dice) {
    const double d = s.truth + s.pred + kKerasEpsilonF64;
    return {1.0 - 2.0 * s.inter / d, -2.0 / d, 2.0 * s.inter / (d * d)};
  }
  const double den = s.inter + alpha * (s.pred - s.inter) + beta * (s.truth - s.inter) + kKerasEpsilonF64;
  return {1.0 - s.inter / den, -(den - s.inter * (1.0 - alpha - beta)) / (den * den), alpha * s.inter / (den * den)};
}

// pieceFn(q, row, j0, j1) for piece q of the contiguous layout: segment q % segs (kChunk
// elements, the last one shorter) of row q / segs, elements [j0, j1).
template <class PieceFn>
void forEachPiece(int64_t pieces, int64_t segs, int64_t size, const PieceFn& pieceFn) {
  parallelFor(pieces, segs >= 2 ? 1 : rowsPerChunk(size), size < kChunk ? size : kChunk, [&](int64_t b, int64_t e) {
    for (int64_t q = b; q < e; ++q) {
      const int64_t row = q / segs, seg = q - row * segs;
      pieceFn(q, row, row * size + seg * kChunk, row * size + (seg + 1 == segs ? size : (seg + 1) * kChunk));
    }
  });
}

// Contiguous slots of few elements (size <= kShortSize): the general path's per-slot scratch
// (a malloc of the whole problem) and its per-slot loops cost more than the slot (rows of 1:
// 17 ns per element against 2.6 for a plain JS loop). So blocks of kShortBlock slots are
// computed whole, vectorized along the slots: the sums, the loss, the weights and the gradient.
// In float, as Keras (float32): a slot's sums never cross a chunk, so the bits do not depend on
// the thread count; double sums and divisions cost 2x at slots of 2 to 16. The gradient's
// divisions are TF's (x / y / y, no d * d to overflow). Returns the block's summed loss (double).
constexpr int64_t kShortSize = 16;
constexpr int64_t kShortBlock = 64;

// CC: the slot size when fixed at compile time (1 .. 4: unit or constant-stride loads), else 0.
template <int CC, int LB>
FASTLOSS_LOOP double shortSlots(const float* __restrict pred, const float* __restrict truth, const float* __restrict w,
                                const float* __restrict up, float* __restrict out, float* __restrict g,
                                const int64_t sizeArg, const bool dice, const float alpha, const float beta,
                                const float scale, const int64_t s0, const int64_t Bn) {
  constexpr int64_t L = kShortBlock;
  const int64_t B = LB ? LB : Bn;
  const int64_t size = CC ? CC : sizeArg;
  float si[L], sp[L], st[L], loss[L], c1[L], c0[L], wr[L], k[L];
  const float* __restrict p = pred + s0 * size;
  const float* __restrict t = truth + s0 * size;
#pragma omp simd
  for (int64_t j = 0; j < B; ++j) si[j] = sp[j] = st[j] = 0.0f;
  for (int64_t c = 0; c < size; ++c) {
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) {
      const float pv = p[j * size + c], tv = t[j * size + c];
      si[j] = mulAdd(pv, tv, si[j]);
      sp[j] += pv;
      st[j] += tv;
    }
  }
  // slotLoss, vectorized: dice l = 1 - 2I / d, d = T + P + eps, dl/dp = -2 y / d + (2I / d) / d;
  // tversky l = 1 - I / den, dl/dp = -(den - I (1 - alpha - beta)) / den / den y + alpha (I / den) / den.
  if (dice) {
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) {
      const float d = st[j] + sp[j] + kKerasEpsilon;
      const float q = 2.0f * si[j] / d;
      loss[j] = 1.0f - q;
      c1[j] = -2.0f / d;
      c0[j] = q / d;
    }
  } else {
    const float gamma = 1.0f - alpha - beta;
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) {
      const float den = mulAdd(alpha, sp[j] - si[j], mulAdd(beta, st[j] - si[j], si[j])) + kKerasEpsilon;
      const float q = si[j] / den;
      loss[j] = 1.0f - q;
      c1[j] = -((den - si[j] * gamma) / den) / den;
      c0[j] = alpha * q / den;
    }
  }
  if (w) {
    for (int64_t j = 0; j < B; ++j) wr[j] = w[s0 + j];
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) loss[j] *= wr[j];
  }
  const double total = writeAndSumBlock(loss, B, out, s0);
  if (!g) return total;
  if (up && w) {
    for (int64_t j = 0; j < B; ++j) k[j] = up[s0 + j] * wr[j];
  } else if (up) {
    for (int64_t j = 0; j < B; ++j) k[j] = up[s0 + j];
  } else if (w) {
    for (int64_t j = 0; j < B; ++j) k[j] = scale * wr[j];
  } else {
    for (int64_t j = 0; j < B; ++j) k[j] = scale;
  }
#pragma omp simd
  for (int64_t j = 0; j < B; ++j) {
    c1[j] *= k[j];
    c0[j] *= k[j];
  }
  float* __restrict gr = g + s0 * size;
  for (int64_t c = 0; c < size; ++c) {
#pragma omp simd
    for (int64_t j = 0; j < B; ++j) gr[j * size + c] = mulAdd(c1[j], t[j * size + c], c0[j]);
  }
  return total;
}
// The reduction of the slots' losses (or, for an accumulator, its parts): a Keras mean of no slot is 0.
inline void finishOverlap(LossArgs& a, bool none, double total, int64_t slots) {
  if (none || !a.wantLoss() || reportParts(a, total, reductionDivisor(a, static_cast<double>(slots)), slots)) return;
  a.result = a.reduction == Reduction::Mean ? (slots > 0 ? total / static_cast<double>(slots) : 0.0) : total;
}

void overlap(LossArgs& a, int axisSlot, bool dice, double alpha, double beta) {
  AxisView v;
  if (!axisViewOf(a, axisSlot, v)) return;
  const float* pred = a.f(0);
  const float* truth = a.f(1);
  const float* w = a.f(2);
  const float* up = a.gradOut;
  const int64_t slots = v.losses();
  const bool contiguous = v.inner == 1;
  if (contiguous && v.size > 0 && v.size <= kShortSize) {
    const bool none = a.reduction == Reduction::None;
    float* out = none && a.wantLoss() ? a.out : nullptr;
    float* g = a.wantGrad() ? a.grad[0] : nullptr;
    const float scale = static_cast<float>(a.gradScale / reductionDivisor(a, static_cast<double>(slots)));
    const float alphaF = static_cast<float>(alpha), betaF = static_cast<float>(beta);
    const int64_t size = v.size;
    auto run = [&](auto cc) {
      constexpr int CC = decltype(cc)::value;
      return reduceRows(slots, size, 2, [&](int64_t b, int64_t e) {
        double acc = 0.0;
        for (int64_t s = b; s < e; s += kShortBlock)
          acc += e - s >= kShortBlock
                     ? shortSlots<CC, kShortBlock>(pred, truth, w, up, out, g, size, dice, alphaF, betaF, scale, s,
                                                   kShortBlock)
                     : shortSlots<CC, 0>(pred, truth, w, up, out, g, size, dice, alphaF, betaF, scale, s, e - s);
        return acc;
      });
    };
    const double total = size == 1   ? run(std::integral_constant<int, 1>{})
                         : size == 2 ? run(std::integral_constant<int, 2>{})
                         : size == 3 ? run(std::integral_constant<int, 3>{})
                         : size == 4 ? run(std::integral_constant<int, 4>{})
                                     : run(std::integral_constant<int, 0>{});
    finishOverlap(a, none, total, slots);
    return;
  }
  const int64_t segments = contiguous ? (v.size + kChunk - 1) / kChunk : 1;
  const int64_t pieces = contiguous ? mulSat(v.outer, segments > 0 ? segments : 1) : 0;
  // Scratch: the sums of every slot (then its coefficients), plus one partial per piece.
  const int64_t count = slots + pieces;
  Sums* sums = count > 0 ? static_cast<Sums*>(std::malloc(static_cast<size_t>(count) * sizeof(Sums))) : nullptr;
  if (count > 0 && !sums) {
    fail(a, ErrorReason::OutOfMemory, ErrorAt{}, 0.0, static_cast<double>(count), 3.0);  // 3 sums per slot and piece
    return;
  }
  Sums* partial = sums + slots;
  const int64_t size = v.size, inner = v.inner, segs = segments > 0 ? segments : 1;
  const bool none = a.reduction == Reduction::None;
  const bool wantGrad = a.wantGrad();
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(slots));
  float* g = a.grad[0];
  // Slot o's sums: its pieces' partials, left to right.
  auto slotSums = [&](int64_t o) {
    Sums s{0.0, 0.0, 0.0};
    for (int64_t q = o * segs; q < (o + 1) * segs; ++q) {
      s.inter += partial[q].inter;
      s.pred += partial[q].pred;
      s.truth += partial[q].truth;
    }
    return s;
  };
  // Slot o's weighted loss and gradient coefficients k c1, k c0 (k: the upstream or the reduction's
  // scale, times the weight), from its sums in sums[o].
  auto slotGrad = [&](int64_t o) {
    const double weight = w ? static_cast<double>(w[o]) : 1.0;
    const double k = (up ? static_cast<double>(up[o]) : scale) * weight;
    const SlotLoss sl = slotLoss(sums[o], dice, alpha, beta);
    return SlotLoss{weight * sl.loss, k * sl.c1, k * sl.c0};
  };
  // A slot within one piece (size <= kChunk) has its sums when its piece ends: its gradient follows at
  // once, yTrue's row still in L1 or L2, instead of a second pass over yTrue from memory.
  const bool fused = contiguous && segs == 1 && wantGrad;
  if (contiguous) {
    forEachPiece(pieces, segs, size, [&](int64_t q, int64_t row, int64_t j0, int64_t j1) {
      partial[q] = contiguousSums(pred, truth, j0, j1);
      if (!fused) return;
      sums[row] = slotSums(row);
      const SlotLoss sl = slotGrad(row);
      linearGrad(truth, g, sl.c1, sl.c0, j0, j1);
    });
    for (int64_t o = 0; o < slots; ++o) sums[o] = slotSums(o);
  } else {
    const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
    parallelFor(mulSat(v.outer, blocks), 1, mulSat(size, kInnerBlock), [&](int64_t b, int64_t e) {
      for (int64_t q = b; q < e; ++q) {
        const int64_t o = q / blocks, blk = q - o * blocks;
        const int64_t i0 = blk * kInnerBlock, i1 = i0 + kInnerBlock < inner ? i0 + kInnerBlock : inner;
        stridedSums(pred + o * size * inner, truth + o * size * inner, sums + o * inner, size, inner, i0, i1);
      }
    });
  }

  // Losses, weights and the reduction, slots in order; sums[s] becomes (k c1, k c0).
  double total = 0.0;
  for (int64_t s = 0; s < slots; ++s) {
    const SlotLoss sl = slotGrad(s);
    if (none && a.wantLoss()) a.out[s] = static_cast<float>(sl.loss);
    total += sl.loss;
    sums[s] = {sl.c1, sl.c0, 0.0};
  }
  if (wantGrad && !fused) {
    if (contiguous) {
      forEachPiece(pieces, segs, size, [&](int64_t, int64_t row, int64_t j0, int64_t j1) {
        linearGrad(truth, g, sums[row].inter, sums[row].pred, j0, j1);
      });
    } else {
      parallelFor(mulSat(v.outer, size), rowsPerChunk(inner), inner, [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
          const int64_t o = row / size;
          const Sums* k = sums + o * inner;
          const float* t = truth + row * inner;
          float* gr = g + row * inner;
          for (int64_t i = 0; i < inner; ++i)
            gr[i] = static_cast<float>(k[i].inter * static_cast<double>(t[i]) + k[i].pred);
        }
      });
    }
  }
  std::free(sums);
  finishOverlap(a, none, total, slots);
}

}  // namespace

namespace keras {

void dice(LossArgs& a) { overlap(a, params::keras::dice::axis, true, 0.0, 0.0); }

void tversky(LossArgs& a) {
  using P = params::keras::tversky;
  overlap(a, P::axis, false, a.p[P::alpha], a.p[P::beta]);
}

}  // namespace keras
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
