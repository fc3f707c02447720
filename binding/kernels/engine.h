// Shared loops for every kernel: fixed-chunk parallel reductions (bitwise identical for any
// thread count), the PyTorch element-wise engine and the Keras per-sample engine.
// Everything lives in the per-ISA namespace: this header is compiled once per ISA level.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "isa.h"
#include "loss_args.h"
#include "params.h"
#include "runtime.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {

// Elements per partial sum. Fixed, so the combination order never depends on threads.
// Chunks are claimed one at a time (runtime::runChunks): partials are indexed by chunk, so the
// result does not depend on which thread took which chunk, and the calling thread takes over the
// chunks of a helper the OS has not scheduled yet (a busy machine) instead of waiting for it.
constexpr int64_t kChunk = 1 << 13;

// Partial sums combined per parallel region: they live on the caller's stack (no allocation,
// whatever the size), and the regions run one after another, so the sums are still added
// strictly left to right.
constexpr int64_t kGroup = 1024;

// a * b for a, b >= 0, saturating at INT64_MAX instead of overflowing. Shapes are bounded by
// the Node-API layer; this keeps every derived count (rows x cols x cost) defined regardless.
inline int64_t mulSat(int64_t a, int64_t b) {
  int64_t r;
  if (a <= 0 || b <= 0) return 0;
  if (__builtin_mul_overflow(a, b, &r)) return INT64_MAX;
  return r;
}

// Product of dims[from, to), saturating.
inline int64_t dimsProduct(const LossArgs& a, int from, int to) {
  int64_t p = 1;
  for (int d = from; d < to && d < a.ndim; ++d) p = a.dims[d] > 0 ? mulSat(p, a.dims[d]) : 0;
  return p;
}

// fn(args...) through one out-of-line copy per function: inlined separately into the serial and
// the parallel (OpenMP-outlined) branch of a loop, or cloned by IPA-CP for a constant argument,
// GCC vectorizes the same body differently (a simd reduction summed lane-wise in one copy and
// sequentially in another, an element in a vector body in one and in a scalar tail in the
// other), and the bits would depend on the thread count. Every chunk of every engine loop goes
// through here, serial or parallel.
template <class Fn, class... Args>
__attribute__((noinline, noclone)) auto once(const Fn& fn, Args... args) {
  return fn(args...);
}

// Chunk c of [0, n) in blocks of `per` items: [c * per, min(n, (c + 1) * per)).
struct Blocks {
  int64_t n, per, chunks;
  int64_t begin(int64_t c) const { return c * per; }
  int64_t end(int64_t c) const { return c + 1 == chunks ? n : (c + 1) * per; }
};

// The parallel branch of reduceBlocks, out of line: its stack of partials (kGroup doubles) is
// set up only when a parallel region runs, never on the serial path.
template <class ChunkFn>
__attribute__((noinline)) double reduceBlocksParallel(const Blocks blocks, int threads, const ChunkFn& chunkFn) {
  struct Region {
    const ChunkFn* fn;
    Blocks blocks;
    int64_t first;
    double* partials;
  };
  double total = 0.0;
  double partials[kGroup];
  for (int64_t g0 = 0; g0 < blocks.chunks; g0 += kGroup) {
    const int64_t g1 = blocks.chunks - g0 < kGroup ? blocks.chunks : g0 + kGroup;
    Region region{&chunkFn, blocks, g0, partials};
    runtime::runChunks(g1 - g0, threads, [](void* ctx, int64_t k) {
      const Region& r = *static_cast<const Region*>(ctx);
      const int64_t c = r.first + k;
      r.partials[k] = once(*r.fn, r.blocks.begin(c), r.blocks.end(c));
    }, &region);
    for (int64_t c = g0; c < g1; ++c) total += partials[c - g0];
  }
  return total;
}

// The parallel branch of parallelFor.
template <class BodyFn>
__attribute__((noinline)) void parallelForParallel(const Blocks blocks, int threads, const BodyFn& bodyFn) {
  struct Region {
    const BodyFn* fn;
    Blocks blocks;
  } region{&bodyFn, blocks};
  runtime::runChunks(blocks.chunks, threads, [](void* ctx, int64_t c) {
    const Region& r = *static_cast<const Region*>(ctx);
    once(*r.fn, r.blocks.begin(c), r.blocks.end(c));
  }, &region);
}

// chunkFn(begin, end) -> double over items [0, n) in fixed blocks of `per` items, combined
// left to right; `work` (elements x cost) sizes the thread lease. The same blocks, through the
// same code, for one thread or many: bitwise identical results. Nothing to do: returns at once.
template <class ChunkFn>
double reduceBlocks(int64_t n, int64_t per, int64_t work, ChunkFn chunkFn) {
  if (n <= 0) return 0.0;
  if (per < 1) per = 1;
  if (n <= per) return once(chunkFn, int64_t{0}, n);
  const int64_t chunks = n / per + (n % per != 0 ? 1 : 0);
  runtime::ThreadLease lease(work);
  if (lease.threads() > 1) return reduceBlocksParallel(Blocks{n, per, chunks}, lease.threads(), chunkFn);
  double total = 0.0;
  for (int64_t c = 0; c < chunks; ++c) total += once(chunkFn, c * per, c + 1 == chunks ? n : (c + 1) * per);
  return total;
}

// chunkFn(begin, end) -> double over elements [0, n) in chunks of kChunk.
template <class ChunkFn>
double reduceChunks(int64_t n, int64_t costPerElement, ChunkFn chunkFn) {
  return reduceBlocks(n, kChunk, mulSat(n, costPerElement), chunkFn);
}

// bodyFn(begin, end) over [0, n) in chunks of `grain` items, in parallel above the grain. The
// chunks are the same on one thread (so an element lands in the same vector body or scalar tail
// whatever the thread count).
template <class BodyFn>
void parallelFor(int64_t n, int64_t grain, int64_t costPerItem, BodyFn bodyFn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (n <= grain) {
    once(bodyFn, int64_t{0}, n);
    return;
  }
  const int64_t chunks = n / grain + (n % grain != 0 ? 1 : 0);
  runtime::ThreadLease lease(mulSat(n, costPerItem));
  if (lease.threads() == 1) {
    for (int64_t c = 0; c < chunks; ++c) once(bodyFn, c * grain, c + 1 == chunks ? n : (c + 1) * grain);
    return;
  }
  parallelForParallel(Blocks{n, grain, chunks}, lease.threads(), bodyFn);
}

// Rows of a [rows, cols] problem grouped into chunks of about kChunk elements.
inline int64_t rowsPerChunk(int64_t cols) {
  return cols >= kChunk ? 1 : kChunk / (cols > 0 ? cols : 1);
}

// Same as reduceChunks, over rows of `cols` elements: chunkFn(rowBegin, rowEnd) -> double.
template <class ChunkFn>
double reduceRows(int64_t rows, int64_t cols, int64_t costPerElement, ChunkFn chunkFn) {
  return reduceBlocks(rows, rowsPerChunk(cols), mulSat(mulSat(rows, cols > 0 ? cols : 1), costPerElement), chunkFn);
}

inline double reductionDivisor(Reduction r, int64_t n) {
  return r == Reduction::Mean ? static_cast<double>(n) : 1.0;
}

// The four vectorized loops of an element-wise op over [b, e). Everything by value and
// __restrict, so GCC sees no aliasing; flatten inlines the op (and its vmath calls) into the
// loop whatever the caller, so the whole body vectorizes.
#if defined(__GNUC__)
#define FASTLOSS_LOOP __attribute__((flatten))
#else
#define FASTLOSS_LOOP
#endif
template <class Op>
FASTLOSS_LOOP inline void lossLoop(const Op op, const float* __restrict x, const float* __restrict y, float* __restrict out,
                     int64_t b, int64_t e) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) out[i] = op.loss(x[i], y[i]);
}

// g_i = (up ? up_i : scale) * op.grad(x_i, y_i)
template <class Op>
FASTLOSS_LOOP inline void gradLoop(const Op op, const float* __restrict x, const float* __restrict y, const float* __restrict up,
                     const float scale, float* __restrict g, int64_t b, int64_t e) {
  if (up) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) g[i] = up[i] * op.grad(x[i], y[i]);
  } else {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) g[i] = scale * op.grad(x[i], y[i]);
  }
}

template <class Op>
FASTLOSS_LOOP inline double sumLoop(const Op op, const float* __restrict x, const float* __restrict y, int64_t b, int64_t e) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = b; i < e; ++i) acc += static_cast<double>(op.loss(x[i], y[i]));
  return acc;
}

// Fused: returns sum_i loss_i and writes g_i = scale * grad_i in the same pass.
template <class Op>
FASTLOSS_LOOP inline double sumGradLoop(const Op op, const float* __restrict x, const float* __restrict y, const float scale,
                          float* __restrict g, int64_t b, int64_t e) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = b; i < e; ++i) {
    acc += static_cast<double>(op.loss(x[i], y[i]));
    g[i] = scale * op.grad(x[i], y[i]);
  }
  return acc;
}

// PyTorch element-wise loss: l_i = op.loss(x_i, y_i), dl_i/dx_i = op.grad(x_i, y_i).
// Slots: 0 input (differentiated), 1 target. 'none' writes out; mean/sum return the total
// (mean of nothing is NaN). Gradient: gradOut_i (or gradScale / divisor) * op.grad.
template <class Op>
void elementwise(LossArgs& a, const Op& op, int64_t cost = 1) {
  const float* x = a.f(0);
  const float* y = a.f(1);
  const int64_t n = a.inLen[0];
  const bool wantLoss = a.wantLoss();
  const bool wantGrad = a.wantGrad();
  float* out = a.out;
  float* g = a.grad[0];
  const float* up = a.gradOut;
  const float scale = static_cast<float>(a.gradScale / reductionDivisor(a.reduction, n));

  if (a.reduction == Reduction::None || !wantLoss) {
    parallelFor(n, kChunk, cost, [&](int64_t b, int64_t e) {
      if (wantLoss) lossLoop(op, x, y, out, b, e);
      if (wantGrad) gradLoop(op, x, y, up, scale, g, b, e);
    });
    return;
  }
  const double total = reduceChunks(n, cost, [&](int64_t b, int64_t e) {
    return wantGrad ? sumGradLoop(op, x, y, scale, g, b, e) : sumLoop(op, x, y, b, e);
  });
  a.result = a.reduction == Reduction::Mean ? total / static_cast<double>(n) : total;
}

// Samples [b, e) of kerasRowMean: l_s = w_s * mean_j op.loss (returned summed, and written to
// out[s] when out is given), gradient rows g = (up_s or scale) * w_s / D * op.grad. Everything by
// value: the caller's chunk body runs out of line (engine `once`), where values captured by
// reference would be reloaded for every short row.
// Rows that go through kerasShortRows: shorter than kShortRow elements, or than kShortRowCostly
// for ops with transcendentals (cost >= 4), whose vector remainders cost most (measured on one
// AVX-512 thread: binaryCrossentropy rows of 40 6.8 -> 1.1 ns/elem, MSE rows of 40 0.28 per row
// vs 0.48 flat).
constexpr int64_t kShortRow = 32;
constexpr int64_t kShortRowCostly = 256;
inline bool shortRows(int64_t cols, int64_t cost) {
  return cols > 0 && cols < (cost >= 4 ? kShortRowCostly : kShortRow);
}

// kerasRows for short rows: a row of a few elements leaves a vector loop nothing but its tail (a
// masked or scalar remainder: 20 ns per element for keras.binaryCrossentropy with sample weights
// on rows of 4 at AVX-512). So the losses (and gradients) of up to kBuf elements are computed by
// one flat vectorized loop into a stack buffer, the per-row scale k_r spread into a second one,
// and each row then sums its few losses in double, in order.
template <class Op>
FASTLOSS_LOOP inline double kerasShortRows(const Op op, const float* __restrict pred, const float* __restrict truth,
                                           const float* __restrict w, const float* __restrict up,
                                           float* __restrict out, float* __restrict g, const double scale,
                                           const double invCols, const int64_t cols, const bool wantLoss,
                                           const bool wantGrad, int64_t b, int64_t e) {
  constexpr int64_t kBuf = 1024;
  float lb[kBuf], kb[kBuf];
  const int64_t per = kBuf / cols;  // cols < kShortRowCostly: at least 4 rows per block
  double acc = 0.0;
  for (int64_t r0 = b; r0 < e; r0 += per) {
    const int64_t r1 = e - r0 < per ? e : r0 + per;
    const int64_t m = (r1 - r0) * cols;
    const float* __restrict p = pred + r0 * cols;
    const float* __restrict t = truth + r0 * cols;
    if (wantGrad) {
      for (int64_t r = r0; r < r1; ++r) {
        const double weight = w ? static_cast<double>(w[r]) : 1.0;
        const float k = static_cast<float>((up ? static_cast<double>(up[r]) : scale) * invCols * weight);
        for (int64_t j = 0; j < cols; ++j) kb[(r - r0) * cols + j] = k;
      }
      float* __restrict gr = g + r0 * cols;
      if (wantLoss) {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) {
          lb[i] = op.loss(p[i], t[i]);
          gr[i] = kb[i] * op.grad(p[i], t[i]);
        }
      } else {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) gr[i] = kb[i] * op.grad(p[i], t[i]);
        if (out)
          for (int64_t r = r0; r < r1; ++r) out[r] = 0.0f;
        continue;
      }
    } else {
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) lb[i] = op.loss(p[i], t[i]);
    }
    for (int64_t r = r0; r < r1; ++r) {
      const float* lr = lb + (r - r0) * cols;
      double sum = 0.0;
      for (int64_t j = 0; j < cols; ++j) sum += static_cast<double>(lr[j]);
      const double weight = w ? static_cast<double>(w[r]) : 1.0;
      const double l = sum * invCols * weight;
      if (out) out[r] = static_cast<float>(l);
      acc += l;
    }
  }
  return acc;
}

template <class Op>
FASTLOSS_LOOP inline double kerasRows(const Op op, const float* __restrict pred, const float* __restrict truth,
                                      const float* __restrict w, const float* __restrict up, float* __restrict out,
                                      float* __restrict g, const double scale, const double invCols,
                                      const int64_t cols, const bool wantLoss, const bool wantGrad,
                                      const bool isShort, int64_t b, int64_t e) {
  if (isShort)
    return kerasShortRows(op, pred, truth, w, up, out, g, scale, invCols, cols, wantLoss, wantGrad, b, e);
  double acc = 0.0;
  for (int64_t r = b; r < e; ++r) {
    const double weight = w ? static_cast<double>(w[r]) : 1.0;
    const int64_t rb = r * cols, re = rb + cols;
    const float k = static_cast<float>((up ? static_cast<double>(up[r]) : scale) * invCols * weight);
    double l = 0.0;
    if (!wantGrad) l = sumLoop(op, pred, truth, rb, re) * invCols * weight;
    else if (!wantLoss) gradLoop(op, pred, truth, nullptr, k, g, rb, re);
    else l = sumGradLoop(op, pred, truth, k, g, rb, re) * invCols * weight;
    if (out) out[r] = static_cast<float>(l);
    acc += l;
  }
  return acc;
}

// Keras per-sample loss: per sample s (a row of the last axis, D = cols),
// l_s = w_s * mean_j op.loss(yPred_sj, yTrue_sj) (sum_j with meanOverCols false); sum_over_batch_size (Mean) divides the
// sum by the number of samples. Slots: 0 yPred (differentiated), 1 yTrue, 2 sampleWeight
// (optional, one per sample). Gradient: up_s * w_s / D * op.grad.
template <class Op>
void kerasRowReduce(LossArgs& a, const Op& op, int64_t cost, bool meanOverCols) {
  const float* pred = a.f(0);
  const float* truth = a.f(1);
  const float* w = a.f(2);
  const int64_t cols = a.ndim > 0 ? a.dims[a.ndim - 1] : 1;
  const int64_t rows = a.ndim > 0 ? dimsProduct(a, 0, a.ndim - 1) : 1;  // samples: every axis but the last (a 1-D tensor is one sample)
  const bool wantLoss = a.wantLoss();
  const bool wantGrad = a.wantGrad();
  const float* up = a.gradOut;
  const double invCols = meanOverCols ? 1.0 / static_cast<double>(cols) : 1.0;
  const double scale = a.gradScale / reductionDivisor(a.reduction, rows);
  const bool isShort = shortRows(cols, cost);
  float* out = a.out;
  float* g = a.grad[0];

  double total;
  if (!w && !up && a.reduction != Reduction::None) {
    // Unweighted and reduced: sum_s mean_j l_sj = (sum of every l) / D, so one flat pass over
    // all elements in fixed chunks, free of per-row overhead for short rows.
    const int64_t n = mulSat(rows, cols);
    const float k = static_cast<float>(scale * invCols);
    if (!wantLoss) {
      parallelFor(n, kChunk, cost, [&](int64_t b, int64_t e) { gradLoop(op, pred, truth, nullptr, k, g, b, e); });
      return;
    }
    total = invCols * reduceChunks(n, cost, [&](int64_t b, int64_t e) {
      return wantGrad ? sumGradLoop(op, pred, truth, k, g, b, e) : sumLoop(op, pred, truth, b, e);
    });
  } else if (a.reduction == Reduction::None || !wantLoss) {
    float* o = wantLoss ? out : nullptr;
    parallelFor(rows, rowsPerChunk(cols), mulSat(cols > 0 ? cols : 1, cost), [&](int64_t b, int64_t e) {
      kerasRows(op, pred, truth, w, up, o, g, scale, invCols, cols, wantLoss, wantGrad, isShort, b, e);
    });
    return;
  } else {
    total = reduceRows(rows, cols, cost, [&](int64_t b, int64_t e) {
      return kerasRows(op, pred, truth, w, up, nullptr, g, scale, invCols, cols, wantLoss, wantGrad, isShort, b, e);
    });
  }
  // Keras divides with divide_no_nan: no samples give 0, not NaN.
  if (a.reduction == Reduction::Mean) total = rows > 0 ? total / static_cast<double>(rows) : 0.0;
  a.result = total;
}

template <class Op>
void kerasRowMean(LossArgs& a, const Op& op, int64_t cost = 1) {
  kerasRowReduce(a, op, cost, true);
}

// The same with the per-sample loss summed (not averaged) over the last axis (keras kl_divergence).
template <class Op>
void kerasRowSum(LossArgs& a, const Op& op, int64_t cost = 1) {
  kerasRowReduce(a, op, cost, false);
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
