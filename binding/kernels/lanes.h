// Sums inside one row (never split across calls, so float partials are allowed: docs/
// ARCHITECTURE.md) in explicit float lanes, one vector wide. GCC's `omp simd reduction` ends each
// loop with a serial chain of scalar adds over the lanes, which costs more per row of 100 classes
// than the row's logs; laneSum folds the lanes in a fixed tree order instead (same bits for any
// thread count; the bits may differ between ISA levels).
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>
#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "scalar.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {

#if defined(__AVX512F__)
constexpr int64_t kRowLanes = 16;
#elif defined(__AVX__)
constexpr int64_t kRowLanes = 8;
#else
constexpr int64_t kRowLanes = 4;
#endif
// Classes per float partial before it is added to a double.
constexpr int64_t kRowSumBlock = 256;

// GCC 12's AVX-512 casts and maxps read an "undefined" vector it then warns about.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// v[0] + ... + v[kRowLanes - 1], halves added pairwise. AVX-512: the same adds in registers (GCC
// stored the lanes and reloaded their halves, a store-forwarding round trip per level on the
// row's ending).
template <int64_t W = kRowLanes / 2>
FASTLOSS_HOT float laneSum(float* __restrict v) {
#if defined(__AVX512F__)
  if constexpr (W == 8) {
    const __m512 a = _mm512_loadu_ps(v);
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    const __m128 p = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(p, _mm_movehdup_ps(p)));
  }
#endif
#pragma omp simd
  for (int64_t k = 0; k < W; ++k) v[k] += v[k + W];
  if constexpr (W > 1) {
    return laneSum<W / 2>(v);
  } else {
    return v[0];
  }
}

// sum(p[0, C)) for C >= kRowLanes: lanes over blocks of kRowSumBlock, each block's lanes then
// added to a double; the last C % kRowLanes elements as one vector over [C - kRowLanes, C),
// counting only its new lanes.
FASTLOSS_HOT float rowSum(const float* __restrict p, const int64_t C) {
  const int64_t body = C / kRowLanes * kRowLanes;
  double sp = 0.0;
  for (int64_t b = 0; b < body; b += kRowSumBlock) {
    const int64_t e = body - b < kRowSumBlock ? body : b + kRowSumBlock;
    float S[kRowLanes];
#pragma omp simd
    for (int64_t k = 0; k < kRowLanes; ++k) S[k] = 0.0f;
    for (int64_t j = b; j < e; j += kRowLanes) {
#pragma omp simd
      for (int64_t k = 0; k < kRowLanes; ++k) S[k] += p[j + k];
    }
    if (e == body && body < C) {
      const int64_t j = C - kRowLanes;
#pragma omp simd
      for (int64_t k = 0; k < kRowLanes; ++k) S[k] += j + k >= body ? p[j + k] : 0.0f;
    }
    sp += static_cast<double>(laneSum(S));
  }
  return static_cast<float>(sp);
}

// max(p[c0, c1)) as `p[c] > m ? p[c] : m` from -inf (NaN never wins; -inf for an empty range), in
// kMaxLanes independent lanes: one accumulator vector made the softmax max pass a chain of
// vmaxps, 2 cycles (its latency) per vector instead of about 0.5. The last (c1 - c0) % kMaxLanes
// elements as one block over [c1 - kMaxLanes, c1): max is idempotent, so the overlap is harmless.
constexpr int64_t kMaxLanes = 4 * kRowLanes;
template <int64_t W = kMaxLanes / 2>
FASTLOSS_HOT float laneMax(float* __restrict v) {
#if defined(__AVX512F__)
  if constexpr (W == 32) {  // as laneSum: max_ps(a, b) is a > b ? a : b
    const __m512 c = _mm512_max_ps(_mm512_max_ps(_mm512_loadu_ps(v + 48), _mm512_loadu_ps(v + 16)),
                                   _mm512_max_ps(_mm512_loadu_ps(v + 32), _mm512_loadu_ps(v)));
    const __m256 d = _mm256_max_ps(_mm512_extractf32x8_ps(c, 1), _mm512_castps512_ps256(c));
    const __m128 e = _mm_max_ps(_mm256_extractf128_ps(d, 1), _mm256_castps256_ps128(d));
    const __m128 f = _mm_max_ps(_mm_movehl_ps(e, e), e);
    return _mm_cvtss_f32(_mm_max_ss(_mm_movehdup_ps(f), f));
  }
#endif
#pragma omp simd
  for (int64_t k = 0; k < W; ++k) v[k] = v[k + W] > v[k] ? v[k + W] : v[k];
  if constexpr (W > 1) {
    return laneMax<W / 2>(v);
  } else {
    return v[0];
  }
}
#pragma GCC diagnostic pop
// rowMax's lanes M, already holding p[c0, from) (from - c0 a multiple of kMaxLanes, c1 - from >= 0,
// c1 - c0 >= kMaxLanes), taken on over p[from, c1) and folded: a loop that visited p[c0, from) in
// order (Xent::expSum's fused max) ends with this and gives rowMax's value.
FASTLOSS_HOT float rowMaxFrom(const float* __restrict p, float* __restrict M, const int64_t c0, const int64_t from,
                              const int64_t c1) {
  const int64_t body = c0 + (c1 - c0) / kMaxLanes * kMaxLanes;
  for (int64_t c = from; c < body; c += kMaxLanes) {
#pragma omp simd
    for (int64_t k = 0; k < kMaxLanes; ++k) M[k] = p[c + k] > M[k] ? p[c + k] : M[k];
  }
  if (body < c1) {
    const int64_t c = c1 - kMaxLanes;
#pragma omp simd
    for (int64_t k = 0; k < kMaxLanes; ++k) M[k] = p[c + k] > M[k] ? p[c + k] : M[k];
  }
  return laneMax(M);
}
FASTLOSS_HOT void maxLanesInit(float* __restrict M) {
#pragma omp simd
  for (int64_t k = 0; k < kMaxLanes; ++k) M[k] = -std::numeric_limits<float>::infinity();
}
FASTLOSS_HOT float rowMax(const float* __restrict p, const int64_t c0, const int64_t c1) {
  if (c1 - c0 < kMaxLanes) {
    float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t c = c0; c < c1; ++c) m = p[c] > m ? p[c] : m;
    return m;
  }
  float M[kMaxLanes];
  maxLanesInit(M);
  return rowMaxFrom(p, M, c0, c0, c1);
}

// -x by its sign bit (what -x means; GCC may contract -(a b + c) into fnmsub, -(a b) - c,
// which gives +0 where -(a b + c) is -0).
FASTLOSS_HOT float negate(float x) { return vmath::fromBits(vmath::bitsOf(x) ^ 0x80000000u); }

// True when t[0, kRowLanes) are all +0 or -0 (a NaN is not): one vector test (GCC's reduction of
// the generic loop takes 12 instructions for 16 lanes, a test and kortest 3).
FASTLOSS_HOT bool lanesZero(const float* __restrict t) {
#if defined(__AVX512F__)
  return _mm512_test_epi32_mask(_mm512_loadu_si512(t), _mm512_set1_epi32(0x7fffffff)) == 0;
#elif defined(__AVX__)
  return _mm256_testz_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t)), _mm256_set1_epi32(0x7fffffff));
#else
  uint32_t any = 0;
#pragma omp simd reduction(| : any)
  for (int64_t k = 0; k < kRowLanes; ++k) any |= vmath::bitsOf(t[k]) << 1;
  return any == 0;
#endif
}

// Bit k set when t[k] is not +-0 (a NaN is not), k < kRowLanes.
FASTLOSS_HOT uint32_t lanesNonZero(const float* __restrict t) {
#if defined(__AVX512F__)
  return _mm512_test_epi32_mask(_mm512_loadu_si512(t), _mm512_set1_epi32(0x7fffffff));
#elif defined(__AVX__)
  const __m256i v =
      _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(t)), _mm256_set1_epi32(0x7fffffff));
  return ~static_cast<uint32_t>(
             _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, _mm256_setzero_si256())))) &
         0xffu;
#else
  uint32_t m = 0;
  for (int64_t k = 0; k < kRowLanes; ++k) m |= static_cast<uint32_t>((vmath::bitsOf(t[k]) << 1) != 0) << k;
  return m;
#endif
}

// The class of a row's only non-zero target t[0, C) (C >= kRowLanes), or -1 (none, or several).
FASTLOSS_HOT int64_t oneHotAt(const float* __restrict t, const int64_t C) {
  const int64_t body = C / kRowLanes * kRowLanes;
  int64_t at = -1;
  for (int64_t j = 0; j < body; j += kRowLanes) {
    const uint32_t m = lanesNonZero(t + j);
    if (m) {
      if (at >= 0 || (m & (m - 1))) return -1;
      at = j + __builtin_ctz(m);
    }
  }
  if (body < C) {  // the tail vector's new lanes
    const uint32_t m = lanesNonZero(t + C - kRowLanes) >> (kRowLanes - (C - body));
    if (m) {
      if (at >= 0 || (m & (m - 1))) return -1;
      at = body + __builtin_ctz(m);
    }
  }
  return at;
}

// The vectors of a row's part [b, e) (a multiple of kRowLanes) in order, then with tail the row's
// tail vector at tailAt (its lanes below body counted already): full(j, from) computes the vector
// at j, counting its lanes k >= from. Sparse (targets t where a zero target adds nothing to the
// loss): a vector whose t are all +-0 runs zero(j, from) instead (its gradient only, if any).
// A test and a branch per vector: measured faster (AMD EPYC, busy) than visiting the non-zero
// vectors of a bit mask, which kept ~300 more instructions per row of 100 outside the loop.
// Returns true when Sparse and most vectors were not zero (dense: the caller may stop testing).
template <bool Sparse, class Full, class Zero>
FASTLOSS_HOT bool rowVectors(const float* __restrict t, const int64_t b, const int64_t e, const bool tail,
                             const int64_t tailAt, const int64_t body, Full full, Zero zero) {
  int64_t zeros = 0;
  for (int64_t j = b; j < e; j += kRowLanes) {
    // from = 0 a literal in the body: there GCC contracts a sum of products into FMAs.
    if (Sparse && lanesZero(t + j)) {
      zero(j, 0);
      ++zeros;
    } else {
      full(j, 0);
    }
  }
  if (tail) {
    if (Sparse && lanesZero(t + tailAt)) zero(tailAt, body - tailAt);
    else full(tailAt, body - tailAt);
  }
  return Sparse && 2 * zeros < (e - b) / kRowLanes;
}

// Rows that skip the zero-vector test after a dense one (rowVectors): a test per vector costs
// ~30 % more instructions on rows without zero vectors (soft labels; AVX2, cachegrind).
constexpr int64_t kDenseRows = 16;

// Which rows of a chunk run rowVectors<Sparse = true>: take(eligible) for each row in turn (eligible:
// its values allow Sparse), after(dense) with what the row's rowVectors returned. After a dense row
// the next kDenseRows rows run without the test (the same bits either way).
class SparseRowGate {
  int64_t denseRows_ = 0;

 public:
  bool take(const bool eligible) {
    const bool sparse = eligible && denseRows_ == 0;
    denseRows_ -= denseRows_ > 0;
    return sparse;
  }
  void after(const bool dense) {
    if (dense) denseRows_ = kDenseRows;
  }
};

// row(std::bool_constant<Grad>{}, std::bool_constant<Sparse>{}): a row kernel instantiated for the
// call's grad and the gate's sparse.
template <class Row>
FASTLOSS_HOT auto withGradSparse(const bool grad, const bool sparse, Row row) {
  return grad ? (sparse ? row(std::true_type{}, std::true_type{}) : row(std::true_type{}, std::false_type{}))
              : (sparse ? row(std::false_type{}, std::true_type{}) : row(std::false_type{}, std::false_type{}));
}

// Row sums (rowSum) of rows [r, e) of C classes, a group of rows ahead: the loop over a row waits
// on its sum, and the sums' latencies overlap. at(r) for r = b, b + 1, ... in turn. A group is up
// to kGroup rows, within ~16 KiB (re-read from L1); no division per row.
struct RowSumsAhead {
  static constexpr int64_t kGroup = 16;
  const float* p;
  int64_t C, e, group, g0;
  float sums[kGroup];
  RowSumsAhead(const float* pred, int64_t C_, int64_t b, int64_t e_)
      : p(pred), C(C_), e(e_), group(C_ < 4096 / kGroup ? kGroup : (C_ < 4096 ? 4096 / C_ : 1)), g0(b - group) {}
  FASTLOSS_HOT float at(const int64_t r) {
    if (r == g0 + group) {
      g0 = r;
      // A counted loop: with `i < e && i < r + group` Keras categorical forward ran 0.22 ns/el, not 0.16.
      const int64_t n = e - r < group ? e - r : group;
      for (int64_t i = 0; i < n; ++i) sums[i] = rowSum(p + (r + i) * C, C);
    }
    return sums[r - g0];
  }
};

// Rows [b, e) of C >= kRowLanes probabilities p with targets t (sums from RowSumsAhead, started at
// b), in groups of RowSumsAhead::kGroup: returns sum over rows of finish(r, l_r), in row order.
// l_r = row(r, sum, 1 / sum, sparse) (sparse = sparseOf(sum, 1 / sum), called once per row in order),
// except, with oneHot, for a sparse row with one non-zero target t_j (oneHotAt): there the row's
// lane sums hold the one class's term(p_j, t_j, 1 / sum) (+0 elsewhere, x + 0 = x, and -0 + 0 = +0
// as term's fma onto +0 gives), so l_r = term, computed for the group's such rows in one vector
// loop instead of one vector of 1 useful lane per row. Same bits as row().
template <class SparseOf, class Row, class Term, class Finish>
FASTLOSS_HOT double rowGroups(RowSumsAhead& sums, const float* __restrict p, const float* __restrict t, const int64_t C,
                              const int64_t b, const int64_t e, const bool oneHot, SparseOf sparseOf, Row row,
                              Term term, Finish finish) {
  constexpr int64_t G = RowSumsAhead::kGroup;
  double acc = 0.0;
  for (int64_t g0 = b; g0 < e; g0 += G) {
    const int64_t n = e - g0 < G ? e - g0 : G;
    double lr[G];
    float pv[G], tv[G], iv[G], lv[G];
    int64_t idx[G], m = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = g0 + i;
      const float s = sums.at(r), inv = 1.0f / s;
      const bool sparse = sparseOf(s, inv);
      const int64_t at = oneHot && sparse ? oneHotAt(t + r * C, C) : -1;
      if (at >= 0) {
        pv[m] = p[r * C + at];
        tv[m] = t[r * C + at];
        iv[m] = inv;
        idx[m++] = i;
      } else {
        lr[i] = row(r, s, inv, sparse);
      }
    }
    if (m) {
      for (int64_t k = m; k < G; ++k) pv[k] = tv[k] = iv[k] = 0.5f;
#pragma omp simd
      for (int64_t k = 0; k < G; ++k) lv[k] = term(pv[k], tv[k], iv[k]);
      for (int64_t k = 0; k < m; ++k) lr[idx[k]] = 0.0 + static_cast<double>(lv[k]);
    }
    for (int64_t i = 0; i < n; ++i) acc += finish(g0 + i, lr[i]);
  }
  return acc;
}

// kerasClip as bit selects: inside a loop that takes log of it, GCC folds the ternary form into
// log's special cases (+2 to 5 uops per vector in scripts/mca.js). Same values.
FASTLOSS_HOT float kerasClipSelect(float p) {
  return vmath::select(p < kKerasEpsilon, kKerasEpsilon,
                       vmath::select(p > kKerasOneMinusEpsilon, kKerasOneMinusEpsilon, p));
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
