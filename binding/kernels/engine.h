// The one loop engine of every kernel: fixed-chunk parallel reductions (bitwise identical for
// any thread count), then three loop shapes over them (docs/ARCHITECTURE.md "The engine"):
//   elementwise   PyTorch element-wise losses, optional per-element weight and column operand
//   kerasRowMean  Keras per-sample losses (mean or sum over the last axis, sample weights)
//   rowLosses     losses with one value per row (margin, ranking, embedding), rows split
//                 across threads when they are few and long (rowSums, rowColumns)
// plus the reduction ending (finishReduction) and the error report (fail) every kernel uses.
// Everything lives in the per-ISA namespace: this header is compiled once per ISA level.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <utility>

#include "isa.h"
#include "lanes.h"
#include "loss_args.h"
#include "params.h"
#include "runtime.h"
#include "scalar.h"

// Loop functions are flattened: the op (and its vmath calls) inline on every path, including the
// single-thread one, so the whole body vectorizes.
#if defined(__GNUC__)
#define FASTLOSS_LOOP __attribute__((flatten))
#else
#define FASTLOSS_LOOP
#endif

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
    runtime::runChunks(
        g1 - g0, threads,
        [](void* ctx, int64_t k) {
          const Region& r = *static_cast<const Region*>(ctx);
          const int64_t c = r.first + k;
          r.partials[k] = once(*r.fn, r.blocks.begin(c), r.blocks.end(c));
        },
        &region);
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
  runtime::runChunks(
      blocks.chunks, threads,
      [](void* ctx, int64_t c) {
        const Region& r = *static_cast<const Region*>(ctx);
        once(*r.fn, r.blocks.begin(c), r.blocks.end(c));
      },
      &region);
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
inline int64_t rowsPerChunk(int64_t cols) { return cols >= kChunk ? 1 : kChunk / (cols > 0 ? cols : 1); }

// Same as reduceChunks, over rows of `cols` elements: chunkFn(rowBegin, rowEnd) -> double.
template <class ChunkFn>
double reduceRows(int64_t rows, int64_t cols, int64_t costPerElement, ChunkFn chunkFn) {
  return reduceBlocks(rows, rowsPerChunk(cols), mulSat(mulSat(rows, cols > 0 ? cols : 1), costPerElement), chunkFn);
}

// ---------------------------------------------------------------- shapes, reductions, errors

// Every axis but the last as rows, the last as columns (a 0-d shape is one row of one element).
struct RowShape {
  int64_t rows = 1, cols = 1;
};
inline RowShape rowShapeOf(const LossArgs& a) {
  RowShape s;
  s.cols = a.ndim > 0 ? a.dims[a.ndim - 1] : 1;
  s.rows = a.ndim > 0 ? dimsProduct(a, 0, a.ndim - 1) : 1;
  return s;
}

// What a reduced loss divides by: 'mean' the count, 'batchmean' shape[0] (kl_div), 'sum' 1.
inline double reductionDivisor(const LossArgs& a, double count) {
  switch (a.reduction) {
    case Reduction::Mean: return count;
    case Reduction::BatchMean: return a.ndim > 0 ? static_cast<double>(a.dims[0]) : 1.0;
    default: return 1.0;
  }
}

// Whose reduction semantics a kernel follows where they differ: the mean of no items is NaN in
// PyTorch (0 / 0) and 0 in Keras (divide_no_nan).
enum class Framework { Torch, Keras };

// Ends a reduced call: a.result = total / reductionDivisor(count), total being the summed losses
// of `items` items and count what 'mean' divides by (the items, or PyTorch's summed weights of
// the non-ignored targets). Nothing for 'none' or a gradient-only call.
// Streaming accumulators (kReportParts, src/core/accumulate.ts) sum a reduced call's parts over
// chunks instead of its quotient: result = the summed losses, divisor = what 'mean' / 'batchmean'
// divides by (1 for 'sum'), items = the count whose emptiness makes a Keras mean 0. False when not asked.
inline bool reportParts(LossArgs& a, double total, double divisor, int64_t items) {
  if (!(a.flags & kReportParts) || a.reduction == Reduction::None || !a.wantLoss()) return false;
  a.result = total;
  a.divisor = divisor;
  a.items = static_cast<double>(items);
  return true;
}

inline void finishReduction(LossArgs& a, Framework fw, double total, int64_t items, double count) {
  if (a.reduction == Reduction::None || !a.wantLoss()) return;
  if (reportParts(a, total, reductionDivisor(a, count), items)) return;
  const bool emptyKerasMean = fw == Framework::Keras && a.reduction == Reduction::Mean && items <= 0;
  a.result = emptyKerasMean ? 0.0 : total / reductionDivisor(a, count);
}
inline void finishReduction(LossArgs& a, Framework fw, double total, int64_t items) {
  finishReduction(a, fw, total, items, static_cast<double>(items));
}

// A block's B losses copied to out + at ('none', or null) and their sum, added in a fixed lane order
// (the blocks start at the engine's fixed row chunks: the same bits for any thread count; a serial
// double sum would cost 4 cycles per row).
inline double writeAndSumBlock(const float* __restrict loss, const int64_t B, float* __restrict out, const int64_t at) {
  if (out)
    for (int64_t j = 0; j < B; ++j) out[at + j] = loss[j];
  double total = 0.0;
#pragma omp simd reduction(+ : total)
  for (int64_t j = 0; j < B; ++j) total += static_cast<double>(loss[j]);
  return total;
}

// The ending of a block of B short rows vectorized along the rows (focal.cpp, keras_categorical.cpp):
// loss[j] (negated when Negate) times row r0 + j's weight (w, 1 without), copied to out ('none', or
// null); with grad, k[j] = the upstream gradient (up, else the reduction's scale) times the weight.
// Returns the block's summed loss (writeAndSumBlock).
template <bool Negate>
inline double finishShortRows(const int64_t r0, const int64_t B, const float* w, const float* up, const double scale,
                              const bool grad, float* out, float* __restrict loss, float* __restrict k) {
  if (w) {
    for (int64_t j = 0; j < B; ++j) k[j] = w[r0 + j];
  } else {
    for (int64_t j = 0; j < B; ++j) k[j] = 1.0f;
  }
#pragma omp simd
  for (int64_t j = 0; j < B; ++j) loss[j] = (Negate ? -loss[j] : loss[j]) * k[j];
  const double total = writeAndSumBlock(loss, B, out, r0);
  if (!grad) return total;
  if (up) {
    for (int64_t j = 0; j < B; ++j) k[j] = up[r0 + j] * k[j];
  } else {
    const float sc = static_cast<float>(scale);
    for (int64_t j = 0; j < B; ++j) k[j] = sc * k[j];
  }
  return total;
}

// Where an error is: an input slot and element, and/or a parameter (LossArgs::p index).
struct ErrorAt {
  int slot = -1;
  int64_t index = -1;
  int param = -1;
};
inline ErrorAt inputAt(int slot, int64_t index = -1) { return ErrorAt{slot, index, -1}; }
inline ErrorAt parameter(int param) { return ErrorAt{-1, -1, param}; }

// Records why the call fails, as data (loss_args.h KernelError; the facade writes the message).
// Call it before writing any output; a value found changed during the call is reported after
// the compute (the output holds NaN there). The first report wins.
inline void fail(LossArgs& a, ErrorReason reason, ErrorAt at, double value, double bound0 = 0.0, double bound1 = 0.0,
                 double bound2 = 0.0) {
  if (a.fault.kind != ErrorKind::None) return;
  a.fault.kind = ErrorKind::Range;
  a.fault.reason = reason;
  a.fault.slot = at.slot;
  a.fault.index = at.index;
  a.fault.param = at.param;
  a.fault.value = value;
  a.fault.bound[0] = bound0;
  a.fault.bound[1] = bound1;
  a.fault.bound[2] = bound2;
}

// The count loop of firstBad, by value: its chunk body runs out of line (engine `once`).
template <class T, class Ok>
FASTLOSS_LOOP inline int32_t countBad(const T* __restrict p, const Ok ok, int64_t b, int64_t e) {
  int32_t cnt = 0;
#pragma omp simd reduction(+ : cnt)
  for (int64_t i = b; i < e; ++i) cnt += ok(p[i]) ? 0 : 1;
  return cnt;
}

// Index of the first element failing ok(v), or n: a parallel vectorized count, then a serial
// search only when the count found one. ok is a function object (inlined into the count loop).
template <class T, class Ok>
int64_t firstBad(const T* v, int64_t n, Ok ok) {
  const double bad =
      reduceChunks(n, 1, [v, ok](int64_t b, int64_t e) { return static_cast<double>(countBad(v, ok, b, e)); });
  if (bad == 0.0) return n;
  for (int64_t i = 0; i < n; ++i)
    if (!ok(v[i])) return i;
  return n;
}

// ---------------------------------------------------------------- element ops
//
// An op is a struct of plain values (its parameters) with
//   float loss(float x, float y) const;   float grad(float x, float y) const;   (d loss / dx)
// and, when loss and gradient share work, void both(float x, float y, float& l, float& d) const
// (alone, it serves for loss and grad too).
// x is the differentiated input (PyTorch input, Keras yPred), y the target. An op that reads a
// column operand (a vector along the last axis: BCE-with-logits pos_weight) declares loss, grad
// and both with (x, y, v, ...) as well. Per-element weights are multiplied in by the engine.

template <class Op, class = void>
struct HasBoth : std::false_type {};
template <class Op>
struct HasBoth<Op, std::void_t<decltype(std::declval<const Op&>().both(0.0f, 0.0f, std::declval<float&>(),
                                                                       std::declval<float&>()))>> : std::true_type {};

template <class Op, class = void>
struct HasLoss : std::false_type {};
template <class Op>
struct HasLoss<Op, std::void_t<decltype(std::declval<const Op&>().loss(0.0f, 0.0f))>> : std::true_type {};

template <class Op, class = void>
struct TakesColumn : std::false_type {};
template <class Op>
struct TakesColumn<Op, std::void_t<decltype(std::declval<const Op&>().loss(0.0f, 0.0f, 0.0f))>> : std::true_type {};

template <bool HasV, class Op>
FASTLOSS_HOT float lossAt(const Op& op, float x, float y, float v) {
  (void)v;
  if constexpr (HasV) {
    return op.loss(x, y, v);
  } else if constexpr (HasLoss<Op>::value) {
    return op.loss(x, y);
  } else {
    float l, d;
    op.both(x, y, l, d);
    return l;
  }
}
template <bool HasV, class Op>
FASTLOSS_HOT float gradAt(const Op& op, float x, float y, float v) {
  (void)v;
  if constexpr (HasV) {
    return op.grad(x, y, v);
  } else if constexpr (HasLoss<Op>::value) {
    return op.grad(x, y);
  } else {
    float l, d;
    op.both(x, y, l, d);
    return d;
  }
}

// Loss and gradient of one element, by value: locals whose address is taken inside an `omp simd`
// loop become per-lane arrays in memory, so the loops never pass their own locals by reference.
struct LossGrad {
  float loss, grad;
};
template <bool HasV, class Op>
FASTLOSS_HOT LossGrad bothAt(const Op& op, float x, float y, float v) {
  (void)v;
  LossGrad r;
  if constexpr (HasV) {
    op.both(x, y, v, r.loss, r.grad);
  } else if constexpr (HasBoth<Op>::value) {
    op.both(x, y, r.loss, r.grad);
  } else {
    r.loss = op.loss(x, y);
    r.grad = op.grad(x, y);
  }
  return r;
}

// The element loops over [b, e): everything by value and __restrict, so GCC sees no aliasing;
// flatten inlines the op (and its vmath calls) into the loop whatever the caller, so the whole
// body vectorizes. What is present (weights w, column operand v: v[i - b], the run lies in one
// row) is a template choice, so no loop carries a masked load of an absent array.
#define FASTLOSS_ELEMENT x[i], y[i], HasV ? v[i - b] : 1.0f
#define FASTLOSS_WEIGHTED(value) (HasW ? w[i] * (value) : (value))

// out_i = w_i l_i
template <bool HasW, bool HasV, class Op>
FASTLOSS_LOOP inline void lossLoop(const Op op, const float* __restrict x, const float* __restrict y,
                                   const float* __restrict w, const float* __restrict v, float* __restrict out,
                                   int64_t b, int64_t e) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) out[i] = FASTLOSS_WEIGHTED(lossAt<HasV>(op, FASTLOSS_ELEMENT));
}

// g_i = (up ? up_i : scale) w_i d_i
template <bool HasW, bool HasV, class Op>
FASTLOSS_LOOP inline void gradLoop(const Op op, const float* __restrict x, const float* __restrict y,
                                   const float* __restrict w, const float* __restrict v, const float* __restrict up,
                                   const float scale, float* __restrict g, int64_t b, int64_t e) {
  if (up) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) g[i] = up[i] * FASTLOSS_WEIGHTED(gradAt<HasV>(op, FASTLOSS_ELEMENT));
  } else {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) g[i] = scale * FASTLOSS_WEIGHTED(gradAt<HasV>(op, FASTLOSS_ELEMENT));
  }
}

// Both into out and g in one pass (reduction 'none').
template <bool HasW, bool HasV, class Op>
FASTLOSS_LOOP inline void lossGradLoop(const Op op, const float* __restrict x, const float* __restrict y,
                                       const float* __restrict w, const float* __restrict v, const float* __restrict up,
                                       const float scale, float* __restrict out, float* __restrict g, int64_t b,
                                       int64_t e) {
  if (up) {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) {
      const LossGrad r = bothAt<HasV>(op, FASTLOSS_ELEMENT);
      out[i] = FASTLOSS_WEIGHTED(r.loss);
      g[i] = up[i] * FASTLOSS_WEIGHTED(r.grad);
    }
  } else {
#pragma omp simd
    for (int64_t i = b; i < e; ++i) {
      const LossGrad r = bothAt<HasV>(op, FASTLOSS_ELEMENT);
      out[i] = FASTLOSS_WEIGHTED(r.loss);
      g[i] = scale * FASTLOSS_WEIGHTED(r.grad);
    }
  }
}

// Ops whose loss is a long dependency chain (an exp or a log) declare
//   static constexpr bool kSumInBlocks = true;
// and their summing loops run in two passes per block (blockSum): the losses of kSumBlock elements into a
// stack buffer, then their sum in double. Widening and adding in the same loop kept the core's scheduler
// full of the chain's waiting uops (poissonNllLoss withGrad 0.27 -> 0.22 ns/el apart, AMD EPYC, AVX-512).
template <class Op, class = void>
struct SumsInBlocks : std::false_type {};
template <class Op>
struct SumsInBlocks<Op, std::void_t<decltype(Op::kSumInBlocks)>> : std::bool_constant<Op::kSumInBlocks> {};

constexpr int64_t kSumBlock = 256;

// sum over [b, e) in double of the losses fill(j0, j1, l) writes for [j0, j1) into l[0, j1 - j0), in the
// lanes of `omp simd reduction(+)` at every ISA level: lane k adds elements b + k, b + k + kRowLanes, ...,
// the last (e - b) % kRowLanes elements go to lane 0 in order, then the lanes are added in order (the same
// bits as the one-pass loop at AVX-512).
template <class Fill>
FASTLOSS_HOT double blockSum(const int64_t b, const int64_t e, Fill fill) {
  double S[kRowLanes] = {};
  float l[kSumBlock];
  const int64_t body = b + (e - b) / kRowLanes * kRowLanes;
  for (int64_t j0 = b; j0 < body; j0 += kSumBlock) {
    const int64_t j1 = body - j0 < kSumBlock ? body : j0 + kSumBlock;
    fill(j0, j1, l);
    for (int64_t j = 0; j < j1 - j0; j += kRowLanes) {
#pragma omp simd
      for (int64_t k = 0; k < kRowLanes; ++k) S[k] += static_cast<double>(l[j + k]);
    }
  }
  if (body < e) {
    fill(body, e, l);
    for (int64_t i = 0; i < e - body; ++i) S[0] += static_cast<double>(l[i]);
  }
  double acc = 0.0;
  for (int64_t k = 0; k < kRowLanes; ++k) acc += S[k];
  return acc;
}

// A kSumInBlocks op whose arithmetic has special cases outside a range (exp's overflow and
// subnormals) may also offer
//   Fast fast() const;                    an op with the op's bits wherever fastKey(x, y) <= kFastMax
//   uint32_t fastKey(float x, float y) const;   e.g. |x|'s bits (NaN and Inf above any bound)
//   static constexpr uint32_t kFastMax;
// Its blocks run fast() with the largest key in the same loop, and are filled again by the op itself
// when a key is above kFastMax: the op's bits, for the cost of one integer max per vector.
template <class Op, class = void>
struct HasFast : std::false_type {};
template <class Op>
struct HasFast<Op, std::void_t<decltype(std::declval<const Op&>().fast())>> : std::true_type {};

// l[i - j0] = w_i l_i for i in [j0, j1) of a run starting at b; with Grad also g_i = scale w_i d_i.
template <bool HasW, bool HasV, bool Grad, class Op>
FASTLOSS_HOT void fillLosses(const Op op, const float* __restrict x, const float* __restrict y,
                             const float* __restrict w, const float* __restrict v, const float scale,
                             float* __restrict g, float* __restrict l, const int64_t b, const int64_t j0,
                             const int64_t j1) {
  if constexpr (HasFast<Op>::value) {
    const auto fast = op.fast();
    uint32_t key = 0;
    if constexpr (Grad) {
#pragma omp simd reduction(max : key)
      for (int64_t i = j0; i < j1; ++i) {
        const LossGrad r = bothAt<HasV>(fast, FASTLOSS_ELEMENT);
        l[i - j0] = FASTLOSS_WEIGHTED(r.loss);
        g[i] = scale * FASTLOSS_WEIGHTED(r.grad);
        const uint32_t k = op.fastKey(x[i], y[i]);
        key = k > key ? k : key;
      }
    } else {
#pragma omp simd reduction(max : key)
      for (int64_t i = j0; i < j1; ++i) {
        l[i - j0] = FASTLOSS_WEIGHTED(lossAt<HasV>(fast, FASTLOSS_ELEMENT));
        const uint32_t k = op.fastKey(x[i], y[i]);
        key = k > key ? k : key;
      }
    }
    if (key <= Op::kFastMax) return;
  }
  if constexpr (Grad) {
#pragma omp simd
    for (int64_t i = j0; i < j1; ++i) {
      const LossGrad r = bothAt<HasV>(op, FASTLOSS_ELEMENT);
      l[i - j0] = FASTLOSS_WEIGHTED(r.loss);
      g[i] = scale * FASTLOSS_WEIGHTED(r.grad);
    }
  } else {
    (void)scale;
    (void)g;
#pragma omp simd
    for (int64_t i = j0; i < j1; ++i) l[i - j0] = FASTLOSS_WEIGHTED(lossAt<HasV>(op, FASTLOSS_ELEMENT));
  }
}

// sum_i w_i l_i in double.
template <bool HasW, bool HasV, class Op>
FASTLOSS_LOOP inline double sumLoop(const Op op, const float* __restrict x, const float* __restrict y,
                                    const float* __restrict w, const float* __restrict v, int64_t b, int64_t e) {
  if constexpr (SumsInBlocks<Op>::value) {
    return blockSum(b, e, [&](int64_t j0, int64_t j1, float* l) {
      fillLosses<HasW, HasV, false>(op, x, y, w, v, 0.0f, nullptr, l, b, j0, j1);
    });
  }
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = b; i < e; ++i) acc += static_cast<double>(FASTLOSS_WEIGHTED(lossAt<HasV>(op, FASTLOSS_ELEMENT)));
  return acc;
}

// Fused: returns sum_i w_i l_i and writes g_i = scale w_i d_i in the same pass.
template <bool HasW, bool HasV, class Op>
FASTLOSS_LOOP inline double sumGradLoop(const Op op, const float* __restrict x, const float* __restrict y,
                                        const float* __restrict w, const float* __restrict v, const float scale,
                                        float* __restrict g, int64_t b, int64_t e) {
  if constexpr (SumsInBlocks<Op>::value) {
    return blockSum(b, e, [&](int64_t j0, int64_t j1, float* l) {
      fillLosses<HasW, HasV, true>(op, x, y, w, v, scale, g, l, b, j0, j1);
    });
  }
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = b; i < e; ++i) {
    const LossGrad r = bothAt<HasV>(op, FASTLOSS_ELEMENT);
    acc += static_cast<double>(FASTLOSS_WEIGHTED(r.loss));
    g[i] = scale * FASTLOSS_WEIGHTED(r.grad);
  }
  return acc;
}
#undef FASTLOSS_WEIGHTED
#undef FASTLOSS_ELEMENT

// ---------------------------------------------------------------- special runs
//
// An op may offer a cheaper op for some elements (Keras BCE on hard labels: one log instead of two):
//   Special special() const;                     the cheaper op (the same interface): the op's
//                                                gradient bits, its loss value (a zero's sign may differ)
//   bool hasSpecial() const;                     whether its options allow it at all
//   float specialMiss(float x, float y) const;   +0 when element (x, y) allows it, else > 0 or NaN
// withSpecial picks the op per run [b, e) (a chunk of a parallel loop), never per vector: a run's
// element loops, their sums' lane order included, stay those of one op, so the bits are the op's.
// Only where the losses are summed (from +0: a zero's sign is lost) or not wanted (summed false: a
// loss goes to the output as it is).
template <class Op, class = void>
struct HasSpecial : std::false_type {};
template <class Op>
struct HasSpecial<Op, std::void_t<decltype(std::declval<const Op&>().special())>> : std::true_type {};

// Whether op.specialMiss is +0 on all of [b, e): summed in blocks (a float sum of terms >= 0 or NaN
// is +0 only when every term is; no compare per element), stopping after the first block that misses.
template <class Op>
FASTLOSS_LOOP inline bool specialRun(const Op op, const float* __restrict x, const float* __restrict y, int64_t b,
                                     int64_t e) {
  constexpr int64_t kBlock = 1024;
  for (int64_t j = b; j < e; j += kBlock) {
    const int64_t je = e - j < kBlock ? e : j + kBlock;
    float miss = 0.0f;
#pragma omp simd reduction(+ : miss)
    for (int64_t i = j; i < je; ++i) miss += op.specialMiss(x[i], y[i]);
    if (!(miss == 0.0f)) return false;
  }
  return true;
}

// fn(op.special()) when summed and all of the elements [b, e) of x, y allow it, else fn(op).
template <class Op, class Fn>
FASTLOSS_HOT auto withSpecial(const Op& op, const bool summed, const float* x, const float* y, int64_t b, int64_t e,
                              Fn fn) {
  if constexpr (HasSpecial<Op>::value) {
    if (summed && op.hasSpecial() && specialRun(op, x, y, b, e)) return fn(op.special());
  }
  return fn(op);
}

// ---------------------------------------------------------------- shape 1: elementwise

// One run of elements [b, e) (inside one row when there is a column operand v, v[i - b]).
// Returns the run's summed loss when the call is reduced and wants it.
template <bool HasW, bool HasV, class Op>
inline double elementwiseRun(const Op op, const float* x, const float* y, const float* w, const float* v, float* out,
                             float* g, const float* up, const float scale, const bool none, const bool wantLoss,
                             const bool wantGrad, int64_t b, int64_t e) {
  if (none) {
    if (wantLoss && wantGrad) lossGradLoop<HasW, HasV>(op, x, y, w, v, up, scale, out, g, b, e);
    else if (wantLoss) lossLoop<HasW, HasV>(op, x, y, w, v, out, b, e);
    else if (wantGrad) gradLoop<HasW, HasV>(op, x, y, w, v, up, scale, g, b, e);
    return 0.0;
  }
  if (!wantLoss) {
    gradLoop<HasW, HasV>(op, x, y, w, v, nullptr, scale, g, b, e);
    return 0.0;
  }
  return wantGrad ? sumGradLoop<HasW, HasV>(op, x, y, w, v, scale, g, b, e) : sumLoop<HasW, HasV>(op, x, y, w, v, b, e);
}

template <bool HasW, bool HasV, class Op>
double elementwiseChunk(const Op op, const float* x, const float* y, const float* w, const float* v, float* out,
                        float* g, const float* up, const float scale, const int64_t cols, const bool none,
                        const bool wantLoss, const bool wantGrad, int64_t b, int64_t e) {
  if (!HasV) return elementwiseRun<HasW, HasV>(op, x, y, w, v, out, g, up, scale, none, wantLoss, wantGrad, b, e);
  // Runs along the last axis, so that v is read contiguously and every run vectorizes.
  double acc = 0.0;
  for (int64_t i = b; i < e;) {
    const int64_t j0 = i % cols;
    const int64_t end = e < i + (cols - j0) ? e : i + (cols - j0);
    acc += elementwiseRun<HasW, HasV>(op, x, y, w, v + j0, out, g, up, scale, none, wantLoss, wantGrad, i, end);
    i = end;
  }
  return acc;
}

template <bool HasW, bool HasV, class Op>
void elementwiseWith(LossArgs& a, const Op& op, const float* w, const float* v, int64_t cost) {
  const float* x = a.f(0);
  const float* y = a.f(1);
  const int64_t n = a.inLen[0];
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  float* out = a.out;
  float* g = a.grad[0];
  const float* up = a.gradOut;
  const float scale = static_cast<float>(a.gradScale / reductionDivisor(a, static_cast<double>(n)));
  const int64_t cols = rowShapeOf(a).cols > 0 ? rowShapeOf(a).cols : 1;
  const double total = reduceChunks(n, cost, [&](int64_t b, int64_t e) {
    return elementwiseChunk<HasW, HasV>(op, x, y, w, v, out, g, up, scale, cols, none, wantLoss, wantGrad, b, e);
  });
  finishReduction(a, Framework::Torch, total, n);
}

// PyTorch element-wise loss: l_i = w_i op.loss(x_i, y_i), dl_i/dx_i = w_i op.grad(x_i, y_i).
// Slots: 0 input (differentiated), 1 target; weightSlot (PyTorch `weight`, one per element) and
// columnSlot (a vector along the last axis, passed to the op) are optional (-1: none; a null
// array: absent). 'none' writes out; mean / sum / batchmean end in finishReduction. Gradient:
// gradOut_i (or gradScale / divisor) * w_i * op.grad.
template <class Op>
void elementwise(LossArgs& a, const Op& op, int64_t cost = 1, int weightSlot = -1, int columnSlot = -1) {
  const float* w = weightSlot >= 0 ? a.f(weightSlot) : nullptr;
  const float* v = columnSlot >= 0 ? a.f(columnSlot) : nullptr;
  if constexpr (TakesColumn<Op>::value) {
    if (v) {
      if (w) elementwiseWith<true, true>(a, op, w, v, cost);
      else elementwiseWith<false, true>(a, op, w, v, cost);
      return;
    }
  }
  if (w) elementwiseWith<true, false>(a, op, w, v, cost);
  else elementwiseWith<false, false>(a, op, w, v, cost);
}

// ---------------------------------------------------------------- shape 2: kerasRowMean

// Rows that go through kerasShortRows: shorter than kShortRow elements, or than kShortRowCostly
// for ops with transcendentals (cost >= 4), whose vector remainders cost most (measured on one
// AVX-512 thread: binaryCrossentropy rows of 40 6.8 -> 1.1 ns/elem, MSE rows of 40 0.28 per row
// vs 0.48 flat).
constexpr int64_t kShortRow = 32;
constexpr int64_t kShortRowCostly = 256;
inline bool shortRows(int64_t cols, int64_t cost) {
  return cols > 0 && cols < (cost >= 4 ? kShortRowCostly : kShortRow);
}

// kerasRows for rows of one element (shape [N, 1], the usual binary classifier): the per-sample
// loss is the element's, so the rows run as one flat vectorized loop: l_r = w_r op.loss, g_r =
// (up_r or scale) w_r op.grad, the same values as kerasShortRows (a product of two floats is
// exact in double), the sum in a fixed lane order per chunk.
template <class Op>
FASTLOSS_LOOP inline double kerasRowsOfOne(const Op op, const float* __restrict pred, const float* __restrict truth,
                                           const float* __restrict w, const float* __restrict up, float* __restrict out,
                                           float* __restrict g, const double scale, const bool wantLoss,
                                           const bool wantGrad, int64_t b, int64_t e) {
  if (wantGrad) {
    if (up && w) {
#pragma omp simd
      for (int64_t r = b; r < e; ++r)
        g[r] = static_cast<float>(static_cast<double>(up[r]) * static_cast<double>(w[r])) *
               gradAt<false>(op, pred[r], truth[r], 1.0f);
    } else if (up) {
#pragma omp simd
      for (int64_t r = b; r < e; ++r) g[r] = up[r] * gradAt<false>(op, pred[r], truth[r], 1.0f);
    } else if (w) {
#pragma omp simd
      for (int64_t r = b; r < e; ++r)
        g[r] = static_cast<float>(scale * static_cast<double>(w[r])) * gradAt<false>(op, pred[r], truth[r], 1.0f);
    } else {
      const float k = static_cast<float>(scale);
#pragma omp simd
      for (int64_t r = b; r < e; ++r) g[r] = k * gradAt<false>(op, pred[r], truth[r], 1.0f);
    }
  }
  if (!wantLoss) {
    if (out)
      for (int64_t r = b; r < e; ++r) out[r] = 0.0f;
    return 0.0;
  }
  // (Loops split on out and w: a store or load under a condition becomes a masked one, and
  // masked-off lanes at a null pointer cost a fault assist each.)
  double acc = 0.0;
  if (w && out) {
#pragma omp simd reduction(+ : acc)
    for (int64_t r = b; r < e; ++r) {
      const double l = static_cast<double>(lossAt<false>(op, pred[r], truth[r], 1.0f)) * static_cast<double>(w[r]);
      out[r] = static_cast<float>(l);
      acc += l;
    }
  } else if (w) {
#pragma omp simd reduction(+ : acc)
    for (int64_t r = b; r < e; ++r)
      acc += static_cast<double>(lossAt<false>(op, pred[r], truth[r], 1.0f)) * static_cast<double>(w[r]);
  } else if (out) {
#pragma omp simd reduction(+ : acc)
    for (int64_t r = b; r < e; ++r) {
      const float l = lossAt<false>(op, pred[r], truth[r], 1.0f);
      out[r] = l;
      acc += static_cast<double>(l);
    }
  } else {
#pragma omp simd reduction(+ : acc)
    for (int64_t r = b; r < e; ++r) acc += static_cast<double>(lossAt<false>(op, pred[r], truth[r], 1.0f));
  }
  return acc;
}

// kerasRows for short rows: a row of a few elements leaves a vector loop nothing but its tail (a
// masked or scalar remainder: 20 ns per element for keras.binaryCrossentropy with sample weights
// on rows of 4 at AVX-512). So the losses (and gradients) of up to kBuf elements are computed by
// one flat vectorized loop into a stack buffer, the per-row scale k_r spread into a second one,
// and each row then sums its few losses in double, in order.
template <class Op>
FASTLOSS_LOOP inline double kerasShortRows(const Op op, const float* __restrict pred, const float* __restrict truth,
                                           const float* __restrict w, const float* __restrict up, float* __restrict out,
                                           float* __restrict g, const double scale, const double invCols,
                                           const int64_t cols, const bool wantLoss, const bool wantGrad, int64_t b,
                                           int64_t e) {
  if (cols == 1) return kerasRowsOfOne(op, pred, truth, w, up, out, g, scale, wantLoss, wantGrad, b, e);
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
          lb[i] = lossAt<false>(op, p[i], t[i], 1.0f);
          gr[i] = kb[i] * gradAt<false>(op, p[i], t[i], 1.0f);
        }
      } else {
#pragma omp simd
        for (int64_t i = 0; i < m; ++i) gr[i] = kb[i] * gradAt<false>(op, p[i], t[i], 1.0f);
        if (out)
          for (int64_t r = r0; r < r1; ++r) out[r] = 0.0f;
        continue;
      }
    } else {
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) lb[i] = lossAt<false>(op, p[i], t[i], 1.0f);
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
                                      float* __restrict g, const double scale, const double invCols, const int64_t cols,
                                      const bool wantLoss, const bool wantGrad, const bool isShort, int64_t b,
                                      int64_t e) {
  if (isShort) return kerasShortRows(op, pred, truth, w, up, out, g, scale, invCols, cols, wantLoss, wantGrad, b, e);
  double acc = 0.0;
  for (int64_t r = b; r < e; ++r) {
    const double weight = w ? static_cast<double>(w[r]) : 1.0;
    const int64_t rb = r * cols, re = rb + cols;
    const float k = static_cast<float>((up ? static_cast<double>(up[r]) : scale) * invCols * weight);
    double l = 0.0;
    if (!wantGrad) l = sumLoop<false, false>(op, pred, truth, nullptr, nullptr, rb, re) * invCols * weight;
    else if (!wantLoss) gradLoop<false, false>(op, pred, truth, nullptr, nullptr, nullptr, k, g, rb, re);
    else l = sumGradLoop<false, false>(op, pred, truth, nullptr, nullptr, k, g, rb, re) * invCols * weight;
    if (out) out[r] = static_cast<float>(l);
    acc += l;
  }
  return acc;
}

// Keras per-sample loss: per sample s (a row of the last axis, D = cols),
// l_s = w_s * mean_j op.loss(yPred_sj, yTrue_sj) (sum_j with meanOverCols false); sum_over_batch_size (Mean) divides
// the sum by the number of samples. Slots: 0 yPred (differentiated), 1 yTrue, 2 sampleWeight (optional, one per
// sample). Gradient: up_s * w_s / D * op.grad.
template <class Op>
void kerasRowReduce(LossArgs& a, const Op& op, int64_t cost, bool meanOverCols) {
  const float* pred = a.f(0);
  const float* truth = a.f(1);
  const float* w = a.f(2);
  const RowShape shape = rowShapeOf(a);  // samples: every axis but the last (a 1-D tensor is one sample)
  const int64_t cols = shape.cols, rows = shape.rows;
  const bool wantLoss = a.wantLoss();
  const bool wantGrad = a.wantGrad();
  const float* up = a.gradOut;
  const double invCols = meanOverCols ? 1.0 / static_cast<double>(cols) : 1.0;
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(rows));
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
      parallelFor(n, kChunk, cost, [&](int64_t b, int64_t e) {
        withSpecial(op, true, pred, truth, b, e, [&](const auto& o) {
          gradLoop<false, false>(o, pred, truth, nullptr, nullptr, nullptr, k, g, b, e);
        });
      });
      return;
    }
    total = invCols * reduceChunks(n, cost, [&](int64_t b, int64_t e) {
              return withSpecial(op, true, pred, truth, b, e, [&](const auto& o) {
                return wantGrad ? sumGradLoop<false, false>(o, pred, truth, nullptr, nullptr, k, g, b, e)
                                : sumLoop<false, false>(o, pred, truth, nullptr, nullptr, b, e);
              });
            });
  } else if (a.reduction == Reduction::None || !wantLoss) {
    float* o = wantLoss ? out : nullptr;
    // Rows of one element write their losses as they are (kerasRowsOfOne), longer rows their sums.
    const bool summed = !(o && cols == 1);
    parallelFor(rows, rowsPerChunk(cols), mulSat(cols > 0 ? cols : 1, cost), [&](int64_t b, int64_t e) {
      withSpecial(op, summed, pred, truth, b * cols, e * cols, [&](const auto& op1) {
        kerasRows(op1, pred, truth, w, up, o, g, scale, invCols, cols, wantLoss, wantGrad, isShort, b, e);
      });
    });
    return;
  } else {
    total = reduceRows(rows, cols, cost, [&](int64_t b, int64_t e) {
      return withSpecial(op, true, pred, truth, b * cols, e * cols, [&](const auto& op1) {
        return kerasRows(op1, pred, truth, w, up, nullptr, g, scale, invCols, cols, wantLoss, wantGrad, isShort, b, e);
      });
    });
  }
  finishReduction(a, Framework::Keras, total, rows);
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

// ---------------------------------------------------------------- shape 3: rowLosses
//
// Row losses run one pass per row over the columns (a second, cache-resident pass writes the
// gradient when it needs the row's sums), rows in parallel. Row sums are accumulated in
// double over fixed column chunks of kChunk combined left to right, so a row that is split
// across threads (few, very long rows) gives the same bits as one done by a single thread.

// Rows this long, when there are fewer than two per thread, are split across threads.
inline bool wideRows(int64_t rows, int64_t cols) {
  return cols >= 2 * kChunk && rows < 2 * static_cast<int64_t>(runtime::numThreads());
}

// The parallel branch of rowSums, out of line: its stack of partials (kGroup x K doubles) is
// set up only for a row split across threads, not on every row.
template <int K, class SumFn>
__attribute__((noinline)) void rowSumsParallel(int64_t cols, int64_t chunks, int64_t cost, const SumFn& sumFn,
                                               double* s) {
  auto chunkEnd = [&](int64_t c) { return c + 1 == chunks ? cols : (c + 1) * kChunk; };
  // Partials of kGroup chunks at a time on the stack, added left to right after each group.
  double partials[kGroup * K];
  for (int64_t g0 = 0; g0 < chunks; g0 += kGroup) {
    const int64_t g1 = chunks - g0 < kGroup ? chunks : g0 + kGroup;
    parallelFor(g1 - g0, 1, kChunk * cost, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        double* part = partials + c * K;
        for (int k = 0; k < K; ++k) part[k] = 0.0;
        once(sumFn, (g0 + c) * kChunk, chunkEnd(g0 + c), part);
      }
    });
    for (int64_t c = 0; c < g1 - g0; ++c)
      for (int k = 0; k < K; ++k) s[k] += partials[c * K + k];
  }
}

// Sums of one row over fixed column chunks of kChunk, combined left to right: same bits
// whether the chunks run serially or in parallel. sumFn(j0, j1, part) adds one chunk's
// sums into part[0..K) (zeroed); it may also write that chunk's gradient.
template <int K, class SumFn>
void rowSums(int64_t cols, bool parallel, int64_t cost, SumFn sumFn, double* s) {
  for (int k = 0; k < K; ++k) s[k] = 0.0;
  const int64_t chunks = (cols + kChunk - 1) / kChunk;
  if (parallel && chunks > 1) {
    rowSumsParallel<K>(cols, chunks, cost, sumFn, s);
    return;
  }
  for (int64_t c = 0; c < chunks; ++c) {
    double part[K] = {};
    once(sumFn, c * kChunk, c + 1 == chunks ? cols : (c + 1) * kChunk, part);
    for (int k = 0; k < K; ++k) s[k] += part[k];
  }
}

// bodyFn(j0, j1) over a row's columns; in parallel when the row is split across threads.
template <class BodyFn>
void rowColumns(int64_t cols, bool parallel, int64_t cost, BodyFn bodyFn) {
  // The same kChunk pieces either way, so an element's bits never depend on the split.
  parallelFor(cols, kChunk, parallel ? cost : 0, bodyFn);
}

// A row loss reading one input array streams one address range per thread, which the hardware
// prefetcher alone follows at about 2/3 of the read bandwidth (torch.multiMarginLoss [16384, 1000],
// one thread: 65 % of probe.streamRead's rate, 85 % with this). Such a loss prefetches the next row
// into L1 while it computes this one (`next`: none after the last row). Rows of 1 to 8 KiB only:
// shorter ones would prefetch the same lines again and again, longer ones would flood L1.
inline void prefetchNextRow(const float* row, int64_t cols, bool next) {
  const int64_t bytes = cols * static_cast<int64_t>(sizeof(float));
  if (!next || bytes < 1024 || bytes > 8192) return;
  const char* p = reinterpret_cast<const char*>(row + cols);
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o);
}

// Runs a loss with one value per row: rowFn(r, u, wide) -> l_r, where u = d(result)/d(l_r)
// (upstream times the reduction's scale, times the row weight) and wide says the row should
// be split across threads. rowFn writes the row's gradient when the call wants it.
// w: per-row weights (Keras sample weights) multiplying l_r. Reductions: 'none' writes
// out[r]; mean / sum over rows end in finishReduction (fw: whose empty mean).
template <class RowFn>
void rowLosses(LossArgs& a, Framework fw, int64_t rows, int64_t cols, int64_t cost, const float* w, RowFn rowFn) {
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss();
  const float* up = a.gradOut;
  const double scale = a.gradScale / reductionDivisor(a, static_cast<double>(rows));
  float* out = a.out;
  const bool wide = wideRows(rows, cols);
  auto one = [&](int64_t r) {
    const double wr = w ? static_cast<double>(w[r]) : 1.0;
    const double u = (up ? static_cast<double>(up[r]) : scale) * wr;
    const double l = once(rowFn, r, u, wide);
    return w ? l * wr : l;
  };
  if (none || !wantLoss) {
    auto body = [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const double l = one(r);
        if (wantLoss) out[r] = static_cast<float>(l);
      }
    };
    if (wide) body(0, rows);
    else parallelFor(rows, rowsPerChunk(cols), (cols > 0 ? cols : 1) * cost, body);
    return;
  }
  double total = 0.0;
  if (wide) {
    // Same combination order as reduceRows with one row per chunk.
    for (int64_t r = 0; r < rows; ++r) total += 0.0 + one(r);
  } else {
    total = reduceRows(rows, cols > 0 ? cols : 1, cost, [&](int64_t b, int64_t e) {
      double acc = 0.0;
      for (int64_t r = b; r < e; ++r) acc += one(r);
      return acc;
    });
  }
  finishReduction(a, fw, total, rows);
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
