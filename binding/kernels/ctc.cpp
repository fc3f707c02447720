// CTC (connectionist temporal classification) losses: torch.nn.functional.ctc_loss (PyTorch 1.13
// CPU autograd; an input length of 0 as in 2.x, where 1.13 reads uninitialized memory) and Keras 3
// keras.losses.ctc (tf.nn.ctc_loss on dense labels, blank 0, log-softmax of the logits inside).
//
// Per sequence with L labels, over the extended labels l' = (blank, l1, blank, ..., lL, blank) of
// 2L + 1 states, in log space (PyTorch's ctc_loss_cpu_template and its backward):
//   alpha_t(s) = lse(alpha_{t-1}(s), alpha_{t-1}(s-1), [l'(s) != l'(s-2)] alpha_{t-1}(s-2)) + lp_t(l'(s))
//   beta_t(s)  = lse(beta_{t+1}(s), beta_{t+1}(s+1), [l'(s) != l'(s+2)] beta_{t+1}(s+2)) + lp_t(l'(s))
//   nll = -lse(alpha_{T-1}(2L), alpha_{T-1}(2L-1))
//   dnll/dlp_t(c) = exp(lp_t(c)) - sum_{s: l'(s) = c} exp(alpha_t(s) + beta_t(s) + nll - lp_t(c))
// (the gradient PyTorch's CPU backward returns: that of the logits under a log-softmax, exactly what
// TF returns for Keras' logits). Every state of a time step at once (vectorized), one sequence per
// parallel item, so the bits never depend on the thread count.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "engine.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Padding of -inf around each state row: alpha reads s - 2, beta s + 2.
constexpr int64_t kPad = 2;
// The recursion runs over the states rounded up to a multiple of 16 (one AVX-512 vector), so it has
// no scalar tail: there GCC turns logSumExp3's compares into branches that mispredict (characters,
// 201 states: the 9 tail states cost about as much as the 192 in vectors). The extra states stay -inf
// (their emissions are -inf) and only extra states read them.
constexpr int64_t kRound = 16;
inline int64_t roundedStates(int64_t states) { return (states + kRound - 1) / kRound * kRound; }

// exp(x) flushed to 0 below exp(-87) = 1.6e-38, so no lane (even a discarded one) makes a subnormal:
// they cost the AMD EPYC (Zen 5) about as much as the rest of the step (characters forward 1.8x
// faster without). Only results below 1.7e-38 change (to 0). kAnyX: vmath::exp's overflow to +inf;
// else x <= 0 or NaN only.
template <bool kAnyX>
inline float expFlushed(float x) {
  const bool low = x < -87.0f;
  const float xc = vmath::select(low, -87.0f, x);
  return vmath::select(low, 0.0f, kAnyX ? vmath::exp(xc) : vmath::detail::expCore(xc));
}

// log(exp(a) + exp(b) + exp(c)) = m + log1p(exp(mid - m) + exp(low - m)), m the largest: its term
// is 1, so two exps instead of PyTorch's three. -inf when all are -inf; NaN for a NaN or a +inf
// (PyTorch's exp(inf - inf)).
inline float logSumExp3(float a, float b, float c) {
  const float hi = a > b ? a : b, low = a > b ? b : a;
  const float m = hi > c ? hi : c, mid = hi > c ? c : hi;
  // mid - m, low - m <= 0 (or NaN, then selected away below): their exps sum to [0, 2]
  const float r = m + vmath::log1pUnit(expFlushed<false>(mid - m) + expFlushed<false>(low - m));
  const bool nan = a != a || b != b || c != c || m == -kNegInf;
  return vmath::select(nan, std::numeric_limits<float>::quiet_NaN(), vmath::select(m == kNegInf, kNegInf, r));
}

// One step of either recursion over n states: cur[s] = lse(p0[s], p1[s], skip[s] ? p2[s] : -inf) + e[s].
// Alpha reads prev at s, s - 1, s - 2; beta reads next at s, s + 1, s + 2. Returns the row's max.
FASTLOSS_LOOP inline float recursionStep(const float* __restrict p0, const float* __restrict p1,
                                         const float* __restrict p2, const int32_t* __restrict skip,
                                         const float* __restrict e, float* __restrict cur, int64_t n) {
  float m = kNegInf;
#pragma omp simd reduction(max : m)
  for (int64_t s = 0; s < n; ++s) {
    const float v = logSumExp3(p0[s], p1[s], vmath::select(skip[s] != 0, p2[s], kNegInf)) + e[s];
    cur[s] = v;
    m = v > m ? v : m;
  }
  return m;
}

// Rows are kept relative to their max (the offsets summed in double): float rounding then stays at
// the scale of one step's values instead of growing with the accumulated log-likelihood (a 10-50x
// smaller error at T = 60). Returns the offset taken out (0 for a row with no finite max).
FASTLOSS_LOOP inline float normalizeRow(float* __restrict row, float m, int64_t n) {
  if (!(m > kNegInf && m < -kNegInf)) return 0.0f;
#pragma omp simd
  for (int64_t s = 0; s < n; ++s) row[s] -= m;
  return m;
}

// The first row of either recursion: e at [first, first + 2), -inf elsewhere; returns its max.
inline float initialRow(float* row, const float* e, int64_t first, int64_t n) {
  float m = kNegInf;
  for (int64_t k = 0; k < n; ++k) {
    row[k] = k >= first && k < first + 2 ? e[k] : kNegInf;
    m = row[k] > m ? row[k] : m;
  }
  return m;
}

// e[s] = lp_t(l'(s)) = row[ext[s]] - shift (shift: Keras' log-sum-exp of the logits row, else 0).
FASTLOSS_LOOP inline void gatherEmissions(const float* __restrict row, const int32_t* __restrict ext, float shift,
                                          float* __restrict e, int64_t n) {
#pragma omp simd
  for (int64_t s = 0; s < n; ++s) e[s] = row[ext[s]] - shift;
}

// gamma[s] = exp(alpha + beta + k - e), k = nll plus the rows' offsets: the posterior of state s at this step. Returns
// the sum over the blank states (even s).
FASTLOSS_LOOP inline float occupancy(const float* __restrict al, const float* __restrict be, const float* __restrict e,
                                     float k, float* __restrict gamma, int64_t n) {
  float blank = 0.0f;
#pragma omp simd reduction(+ : blank)
  for (int64_t s = 0; s < n; ++s) {
    const float g = expFlushed<true>(al[s] + be[s] + k - e[s]);
    gamma[s] = g;
    blank += (s & 1) ? 0.0f : g;
  }
  return blank;
}

// g[c] = gr exp(lp_t(c)). PyTorch computes exp(lp) - exp(-inf + nll - lp) for a class no state
// emits: NaN where lp = -inf; TF's exp(log_softmax) - exp(-inf) is 0 there.
template <bool kTorch>
FASTLOSS_LOOP inline void softmaxRow(const float* __restrict row, float shift, float gr, float* __restrict g,
                                     int64_t n) {
  constexpr float kQuietNaN = std::numeric_limits<float>::quiet_NaN();
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) {
    const float lp = row[c] - shift;
    g[c] = gr * (kTorch ? vmath::select(lp == kNegInf, kQuietNaN, vmath::exp(lp)) : vmath::exp(lp));
  }
}

FASTLOSS_LOOP inline void fillRow(float* __restrict g, float v, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) g[c] = v;
}

// log(sum_c exp(row[c])), Keras' log-softmax shift of one logits row.
FASTLOSS_LOOP inline float logSumExpRow(const float* __restrict row, int64_t n) {
  float m = kNegInf;
#pragma omp simd reduction(max : m)
  for (int64_t c = 0; c < n; ++c) m = row[c] > m ? row[c] : m;
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < n; ++c) sum += vmath::exp(row[c] - m);
  return vmath::log(sum) + m;
}

// One call: the shape, the layout of logProbs / logits, and the per-sequence lengths, each read
// from the caller's arrays exactly once (during the checks).
struct Problem {
  bool torch = true;  // PyTorch conventions; else Keras (log-softmax inside, blank 0, all T steps)
  int64_t T = 0, N = 0, C = 0;
  int64_t tStride = 0, bStride = 0;  // element (t, b, c) at t * tStride + b * bStride + c
  int32_t blank = 0;
  bool zeroInfinity = false;
  const float* x = nullptr;
  const int32_t* targets = nullptr;
  int64_t* inputLength = nullptr;   // [N]
  int64_t* targetLength = nullptr;  // [N]
  int64_t* targetOffset = nullptr;  // [N]
  double* nll = nullptr;            // [N], written by the parallel pass
};

// Scratch of one sequence: the alpha rows' offsets (double, T), then in floats the alpha rows (all T
// when the gradient is wanted, else two), two beta rows, emissions, occupancies and Keras' per-step
// shift; then the rounded states + kPad int32 each for the extended labels and the skip flags.
struct Scratch {
  void* block = nullptr;
  double* alphaOffset;
  float *alpha, *beta, *e, *gamma, *shift;
  int32_t *ext, *skip;
  int64_t width;  // one padded row
};

bool allocate(Scratch& s, int64_t T, int64_t states, bool wantGrad) {
  s.width = roundedStates(states) + 2 * kPad;
  const int64_t alphaRows = wantGrad ? (T > 0 ? T : 1) : 2;
  const int64_t floats = mulSat(alphaRows + 4, s.width) + 3 * T;
  const int64_t ints = 2 * (s.width - kPad);
  if (floats >= (INT64_MAX / 8) || ints >= (INT64_MAX / 8)) return false;
  const uint64_t bytes = static_cast<uint64_t>(floats) * sizeof(float) + static_cast<uint64_t>(ints) * sizeof(int32_t);
  if (bytes > SIZE_MAX / 2) return false;
  s.block = std::malloc(static_cast<size_t>(bytes));
  if (!s.block) return false;
  s.alphaOffset = static_cast<double*>(s.block);
  s.alpha = reinterpret_cast<float*>(s.alphaOffset + T);
  s.beta = s.alpha + alphaRows * s.width;
  s.e = s.beta + 2 * s.width;
  s.gamma = s.e + s.width;
  s.shift = s.gamma + s.width;
  s.ext = reinterpret_cast<int32_t*>(s.shift + T);
  s.skip = s.ext + (s.width - kPad);
  for (int64_t k = states; k < s.width - 2 * kPad; ++k) s.e[k] = kNegInf;  // the extra states' emissions
  return true;
}

// -inf in the kPad cells on both sides of a state row of n.
inline void padRow(float* row, int64_t n) {
  for (int64_t k = 1; k <= kPad; ++k) row[-k] = row[n + k - 1] = kNegInf;
}

// Reads one sequence's labels into ext/skip, checking each again (memory may have changed since the
// up-front check). Returns the index into targets of a changed label, or -1.
int64_t extendLabels(const Problem& p, int64_t b, const Scratch& s, int64_t states) {
  const int32_t* tg = p.targets + p.targetOffset[b];
  const int32_t firstLabel = p.torch ? 0 : 1;  // Keras: 0 is the blank
  int32_t before2 = p.blank;                   // l'(s - 2)
  for (int64_t s2 = 0; s2 < states; ++s2) {
    int32_t v = p.blank;
    if (s2 & 1) {
      v = tg[s2 / 2];  // read once
      if (v < firstLabel || v >= p.C || v == p.blank) return p.targetOffset[b] + s2 / 2;
    }
    s.ext[s2] = v;
    s.skip[s2] = (s2 & 1) && s2 >= 2 && v != before2;
    before2 = s2 >= 1 ? s.ext[s2 - 1] : p.blank;
  }
  for (int64_t k = states; k < s.width - kPad; ++k) s.skip[k] = 0;
  return -1;
}

// One sequence: returns its nll; with g, writes the gradient rows t < T of this sequence scaled by
// gr (rows at g + t * tStride). Rows beyond the input length are the caller's.
template <bool kTorch>
double sequence(const Problem& p, int64_t b, const Scratch& s, int64_t T, int64_t states, float* g, float gr) {
  const float* x = p.x + b * p.bStride;
  const int64_t W = s.width;
  if (!kTorch)
    for (int64_t t = 0; t < T; ++t) s.shift[t] = logSumExpRow(x + t * p.tStride, p.C);
  auto shiftAt = [&](int64_t t) { return kTorch ? 0.0f : s.shift[t]; };
  const bool keepAll = g != nullptr;
  auto alphaRow = [&](int64_t t) { return s.alpha + (keepAll ? t : (t & 1)) * W + kPad; };
  const int64_t n = W - 2 * kPad;  // the states rounded up
  double offset = 0.0;             // log scale of the current alpha row
  for (int64_t t = 0; t < T; ++t) {
    float* cur = alphaRow(t);
    padRow(cur, n);
    gatherEmissions(x + t * p.tStride, s.ext, shiftAt(t), s.e, states);
    const float* prev = t > 0 ? alphaRow(t - 1) : nullptr;
    const float m = t == 0 ? initialRow(cur, s.e, 0, n) : recursionStep(prev, prev - 1, prev - 2, s.skip, s.e, cur, n);
    offset += normalizeRow(cur, m, n);
    if (keepAll) s.alphaOffset[t] = offset;
  }
  const float* last = alphaRow(T - 1);
  const float l1 = last[states - 1], l2 = states > 1 ? last[states - 2] : kNegInf;
  float m = l1 > l2 ? l1 : l2;
  if (m == kNegInf) m = 0.0f;
  const double nll = -(static_cast<double>(std::log(std::exp(l1 - m) + std::exp(l2 - m)) + m) + offset);
  if (!g) return nll;

  if (!(nll < kInf)) {  // +inf (impossible alignment) or NaN: PyTorch's NaN rows
    for (int64_t t = 0; t < T; ++t) fillRow(g + t * p.tStride, std::numeric_limits<float>::quiet_NaN(), p.C);
    return nll;
  }
  float* next = s.beta + kPad;
  float* cur = s.beta + W + kPad;
  double betaOffset = 0.0;
  for (int64_t t = T - 1; t >= 0; --t) {
    const float* row = x + t * p.tStride;
    padRow(cur, n);
    gatherEmissions(row, s.ext, shiftAt(t), s.e, states);
    const float mb = t == T - 1 ? initialRow(cur, s.e, states - 2, n)
                                : recursionStep(next, next + 1, next + 2, s.skip + 2, s.e, cur, n);
    betaOffset += normalizeRow(cur, mb, n);
    // gamma = exp(alpha + beta + nll - e), the offsets and nll summed in double first
    const float k = static_cast<float>(s.alphaOffset[t] + betaOffset + nll);
    const float blankSum = occupancy(alphaRow(t), cur, s.e, k, s.gamma, states);
    float* gt = g + t * p.tStride;
    softmaxRow<kTorch>(row, shiftAt(t), gr, gt, p.C);
    gt[p.blank] -= gr * blankSum;
    for (int64_t j = 1; j < states; j += 2) gt[s.ext[j]] -= gr * s.gamma[j];
    float* swap = next;
    next = cur;
    cur = swap;
  }
  return nll;
}

struct Outcome {
  std::atomic<int64_t> changedAt{-1};
  std::atomic<bool> noMemory{false};
};

// Runs every sequence in parallel: p.nll[b] gets each loss (PyTorch's zeroInfinity applied), and the
// gradient rows of b get grScale(b) times it.
template <bool kTorch, class GradScale>
void runSequences(const Problem& p, bool wantGrad, float* g, const GradScale& grScale, Outcome& outcome) {
  int64_t maxStates = 1;
  for (int64_t b = 0; b < p.N; ++b)
    maxStates = 2 * p.targetLength[b] + 1 > maxStates ? 2 * p.targetLength[b] + 1 : maxStates;
  const int64_t cost = mulSat(p.T, mulSat(maxStates, 16) + (wantGrad ? mulSat(p.C, 4) : 0));
  parallelFor(p.N, 1, cost, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t T = p.inputLength[b], states = 2 * p.targetLength[b] + 1;
      float* gb = wantGrad ? g + b * p.bStride : nullptr;
      const float gr = wantGrad ? grScale(b) : 0.0f;
      double nll;
      int64_t rowsDone = 0;  // gradient rows written by the recursion
      if (T == 0) {
        nll = p.targetLength[b] == 0 ? 0.0 : kInf;  // PyTorch 2.x (1.13 leaves the value uninitialized)
      } else {
        Scratch s;
        if (!allocate(s, T, states, wantGrad)) {
          outcome.noMemory.store(true, std::memory_order_relaxed);
          nll = kNaN;
        } else {
          const int64_t changed = extendLabels(p, b, s, states);
          if (changed >= 0) {
            outcome.changedAt.store(changed, std::memory_order_relaxed);
            nll = kNaN;
          } else {
            nll = sequence<kTorch>(p, b, s, T, states, gb, gr);
            rowsDone = wantGrad ? T : 0;
          }
          std::free(s.block);
        }
      }
      const bool zeroed = p.zeroInfinity && nll == kInf;
      if (zeroed) nll = 0.0;
      if (gb)
        for (int64_t t = zeroed ? 0 : rowsDone; t < p.T; ++t) fillRow(gb + t * p.tStride, 0.0f, p.C);
      p.nll[b] = nll;
    }
  });
}

// The per-sequence arrays of a call: lengths and offsets (int64) and losses (double), 32 bytes a sequence.
struct PerSequence {
  void* block = nullptr;
  bool allocate(Problem& p) {
    const uint64_t n = static_cast<uint64_t>(p.N > 0 ? p.N : 1);
    if (n > SIZE_MAX / 64) return false;
    block = std::malloc(static_cast<size_t>(n * 32));
    if (!block) return false;
    p.inputLength = static_cast<int64_t*>(block);
    p.targetLength = p.inputLength + n;
    p.targetOffset = p.targetLength + n;
    p.nll = reinterpret_cast<double*>(p.targetOffset + n);
    return true;
  }
  ~PerSequence() { std::free(block); }
};

// PyTorch's checks, before anything is written (plus labels in range and not the blank, which 1.13
// does not check): lengths in range, targets padded [N, S] (its length a multiple of N, each target
// length <= S) or concatenated (its length the sum of the target lengths; preferred when both fit,
// which then describe the same labels).
bool checkTorch(LossArgs& a, Problem& p) {
  const int32_t* inLens = a.i32(2);
  const int32_t* tgLens = a.i32(3);
  const int64_t len = a.inLen[1];
  int64_t total = 0, longest = 0;
  for (int64_t b = 0; b < p.N; ++b) {
    const int32_t il = inLens[b], tl = tgLens[b];
    if (il < 0 || il > p.T) {
      fail(a, ErrorReason::LengthOutsideDim, inputAt(2, b), il, static_cast<double>(p.T), 0);  // dims[0] = T
      return false;
    }
    if (tl < 0) {
      fail(a, ErrorReason::Negative, inputAt(3, b), tl);
      return false;
    }
    p.inputLength[b] = il;
    p.targetLength[b] = tl;
    total += tl;
    longest = tl > longest ? tl : longest;
  }
  const int64_t width = p.N > 0 ? len / p.N : 0;
  if (total == len) {
    for (int64_t b = 0, at = 0; b < p.N; at += p.targetLength[b++]) p.targetOffset[b] = at;
  } else if (p.N > 0 && len % p.N == 0 && longest <= width) {
    for (int64_t b = 0; b < p.N; ++b) p.targetOffset[b] = b * width;
  } else {
    if (p.N > 0 && len % p.N == 0) {
      int64_t b = 0;
      while (p.targetLength[b] <= width) ++b;
      fail(a, ErrorReason::LengthAboveWidth, inputAt(3, b), static_cast<double>(p.targetLength[b]),
           static_cast<double>(width), static_cast<double>(len), static_cast<double>(total));
    } else {
      fail(a, ErrorReason::LengthNotSumNorMultiple, inputAt(1), static_cast<double>(len), static_cast<double>(total),
           static_cast<double>(p.N), 3);  // the sum of the lengths in slot 3
    }
    return false;
  }
  for (int64_t b = 0; b < p.N; ++b) {
    const int32_t* tg = p.targets + p.targetOffset[b];
    for (int64_t k = 0; k < p.targetLength[b]; ++k) {
      if (tg[k] < 0 || tg[k] >= p.C || tg[k] == p.blank) {
        fail(a, ErrorReason::ClassIsBlankOrOutOfRange, inputAt(1, p.targetOffset[b] + k), tg[k],
             static_cast<double>(p.C), p.blank);
        return false;
      }
    }
  }
  return true;
}

// Keras: label length = the number of non-zero labels of a row, read from its start
// (keras.losses.ctc; tf.nn.ctc_loss takes the first label_length). A 0 before a label would be read
// as a label emitting the blank, which TF's gradient then ignores: refused.
bool checkKeras(LossArgs& a, Problem& p) {
  const int64_t len = a.inLen[1];
  if (p.N == 0 ? len != 0 : len % p.N != 0) {
    fail(a, ErrorReason::LengthNotMultiple, inputAt(1), static_cast<double>(len), static_cast<double>(p.N));
    return false;
  }
  const int64_t S = p.N > 0 ? len / p.N : 0;
  for (int64_t b = 0; b < p.N; ++b) {
    const int32_t* row = p.targets + b * S;
    int64_t L = 0;
    for (int64_t k = 0; k < S; ++k) {
      const int32_t v = row[k];
      if (v < 0 || v >= p.C) {
        fail(a, ErrorReason::LabelOrBlankOutOfRange, inputAt(1, b * S + k), v, static_cast<double>(p.C));
        return false;
      }
      if (v != 0 && L != k) {
        fail(a, ErrorReason::LabelAfterBlank, inputAt(1, b * S + k), v);
        return false;
      }
      L += v != 0;
    }
    p.inputLength[b] = p.T;
    p.targetLength[b] = L;
    p.targetOffset[b] = b * S;
  }
  return true;
}

// The scratch failures, after the parallel pass.
bool reportOutcome(LossArgs& a, const Problem& p, const Outcome& o) {
  if (o.noMemory.load()) {
    fail(a, ErrorReason::OutOfMemory, ErrorAt{}, 0.0, static_cast<double>(p.T), static_cast<double>(p.C));
    return false;
  }
  if (o.changedAt.load() >= 0) {
    fail(a, ErrorReason::ChangedDuringCall, inputAt(1, o.changedAt.load()), 0.0, static_cast<double>(p.C));
    return false;
  }
  return true;
}

// The shape as three dims (the facade gives [T, N, C] / [N, T, C]).
bool shape3(LossArgs& a) {
  if (a.ndim == 3) return true;
  fail(a, ErrorReason::WrongRank, ErrorAt{}, a.ndim, 3);
  return false;
}

// The course of either kernel once p has its shape: per-sequence arrays, the framework's checks
// (check(a, p)), the parallel pass (gradient rows times grScale(b)), then the losses lossOf(b)
// written for 'none' and summed left to right; 'mean' divides the sum by N (emptyMean for N = 0).
template <bool kTorch, class Check, class GradScale, class LossOf>
void runCall(LossArgs& a, Problem& p, Check check, const GradScale& grScale, const LossOf& lossOf, double emptyMean) {
  p.x = a.f(0);
  p.targets = a.i32(1);
  PerSequence per;
  if (!per.allocate(p)) {
    fail(a, ErrorReason::OutOfMemory, ErrorAt{}, 0.0, static_cast<double>(p.N), 3.0);  // 3 values per sequence
    return;
  }
  if (!check(a, p)) return;
  Outcome outcome;
  runSequences<kTorch>(p, a.wantGrad(), a.grad[0], grScale, outcome);
  if (!reportOutcome(a, p, outcome) || !a.wantLoss()) return;
  double total = 0.0;
  for (int64_t b = 0; b < p.N; ++b) {
    const double l = lossOf(b);
    if (a.reduction == Reduction::None) a.out[b] = static_cast<float>(l);
    total += l;
  }
  if (reportParts(a, total, a.reduction == Reduction::Mean ? static_cast<double>(p.N) : 1.0, p.N)) return;
  if (a.reduction != Reduction::Mean) a.result = total;
  else a.result = p.N > 0 ? total / static_cast<double>(p.N) : emptyMean;
}

}  // namespace

namespace torch {

// Slots: logProbs [T, N, C], targets, inputLengths [N], targetLengths [N] (Int32Array).
// p: blank, zeroInfinity. 'mean': mean_b nll_b / max(targetLength_b, 1) (NaN for N = 0); 'sum'; 'none' [N].
void ctcLoss(LossArgs& a) {
  if (!shape3(a)) return;
  Problem p;
  p.T = a.dims[0];
  p.N = a.dims[1];
  p.C = a.dims[2];
  p.tStride = mulSat(p.N, p.C);
  p.bStride = p.C;
  const double blank = a.p[params::torch::ctcLoss::blank];
  if (!(blank >= 0 && blank < static_cast<double>(p.C)) || blank != std::floor(blank)) {
    fail(a, ErrorReason::IndexParamOutOfRange, parameter(params::torch::ctcLoss::blank), blank,
         static_cast<double>(p.C), 2);
    return;
  }
  p.blank = static_cast<int32_t>(blank);
  p.zeroInfinity = a.p[params::torch::ctcLoss::zeroInfinity] != 0;
  const bool mean = a.reduction == Reduction::Mean;
  const float* up = a.gradOut;
  auto perTarget = [&](int64_t b) {
    return mean && p.targetLength[b] > 1 ? static_cast<double>(p.targetLength[b]) : 1.0;
  };
  auto grScale = [&](int64_t b) {
    if (up) return up[b];
    return static_cast<float>(mean ? a.gradScale / static_cast<double>(p.N) / perTarget(b) : a.gradScale);
  };
  runCall<true>(
      a, p, checkTorch, grScale, [&](int64_t b) { return p.nll[b] / perTarget(b); }, kNaN);
}

}  // namespace torch

namespace keras {

// Slots: yPred [N, T, C] logits, yTrue [N, S] labels (0 = blank, padding the end), sampleWeight [N].
// Per sample w_b * nll_b; sum_over_batch_size divides the sum by N (0 for N = 0, divide_no_nan).
void ctc(LossArgs& a) {
  if (!shape3(a)) return;
  Problem p;
  p.torch = false;
  p.N = a.dims[0];
  p.T = a.dims[1];
  p.C = a.dims[2];
  p.tStride = p.C;
  p.bStride = mulSat(p.T, p.C);
  if (p.C < 1) {
    fail(a, ErrorReason::EmptyBlankDim, inputAt(0), 0.0, 0.0, 2);  // dims[2] = C
    return;
  }
  const float* w = a.f(2);
  const float* up = a.gradOut;
  const double scale = a.gradScale / (a.reduction == Reduction::Mean && p.N > 0 ? static_cast<double>(p.N) : 1.0);
  auto weight = [&](int64_t b) { return w ? static_cast<double>(w[b]) : 1.0; };
  auto grScale = [&](int64_t b) { return static_cast<float>((up ? static_cast<double>(up[b]) : scale) * weight(b)); };
  runCall<false>(
      a, p, checkKeras, grScale, [&](int64_t b) { return p.nll[b] * weight(b); }, 0.0);
}

}  // namespace keras
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
