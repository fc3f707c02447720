// Branch-free float32 exp/log/log1p/tanh/sigmoid/softplus that GCC auto-vectorizes inside
// `#pragma omp simd` loops (no libm calls, no intrinsics, no -ffast-math needed).
// Every path is computed and blended with bit-mask selects (see select()).
//
// "measured": scripts/vmath_check.cpp over all 2^32 float inputs, max distance in ulps from
// the double libm result rounded to float (and, in parentheses, from the unrounded result).
// Same maxima at -march=x86-64, x86-64-v3, x86-64-v4; v3 and v4 are bit-identical, the
// baseline build (no FMA contraction) differs from them in the last bit for a few inputs (exp: for
// 0.5%, it keeps a longer ending there; see expCore).
// IEEE semantics assumed: with FTZ/DAZ enabled (MXCSR / FPCR) subnormals flush to zero.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__GNUC__) || defined(__clang__)
#define FASTLOSS_VMATH_FN static inline __attribute__((always_inline))
#else
#define FASTLOSS_VMATH_FN static inline
#endif

namespace fastloss {
namespace vmath {

FASTLOSS_VMATH_FN uint32_t bitsOf(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

FASTLOSS_VMATH_FN float fromBits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// a * b + c, fused where the ISA has FMA (one rounding), else two roundings: written where the
// compiler could contract an expression two ways (a * b + c * d) and chose differently per loop.
FASTLOSS_VMATH_FN float mulAdd(float a, float b, float c) {
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}

FASTLOSS_VMATH_FN float absOf(float x) { return fromBits(bitsOf(x) & 0x7fffffffu); }

// NaN x with its quiet bit set: keeps sign and payload (x + x may flip the sign once GCC folds
// the expression, e.g. -(-x + -x) -> x * -2).
FASTLOSS_VMATH_FN float quiet(float x) { return fromBits(bitsOf(x) | 0x00400000u); }

// c ? a : b as a bit blend. A plain ternary lets GCC sink the arm computations into branches,
// and under the default -ftrapping-math it then refuses to if-convert (no vectorization).
FASTLOSS_VMATH_FN float select(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return fromBits((bitsOf(a) & m) | (bitsOf(b) & ~m));
}

namespace detail {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
// ln2 = kLn2Hi + kLn2Lo; kLn2Hi has 15 significant bits so k*kLn2Hi is exact for |k| < 512.
constexpr float kLn2Hi = 0x1.62e4p-1f;  // 0.693145751953125
constexpr float kLn2Lo = 1.428606765330187e-6f;
constexpr uint32_t kSqrtHalfBits = 0x3f3504f3u;  // 0.70710677f

// 2^n for n in [-126, 127], built from the exponent field.
FASTLOSS_VMATH_FN float pow2i(int32_t n) { return fromBits(static_cast<uint32_t>(n + 127) << 23); }

// log(2^k * (1+f)) + corr for 1+f in [sqrt(1/2), sqrt(2)):
// s = f/(2+f), log(1+f) = 2s + s*R(s^2) = f - (hfsq - s*(hfsq + R)), hfsq = f^2/2,
// R(z) = z*(L1 + L2 z + L3 z^2): minimax, |rel err| < 9e-10 for z <= 0.0295.
// The multiply-adds written out (mulAdd): left to the compiler, hfsq + R fused either product, and
// hfsq - (...) then fused or not, differently in two loops of one kernel (focal withGrad's loss 1 ulp
// off forward in a row's tail vector).
FASTLOSS_VMATH_FN float logCore(float f, float kf, float corr) {
  const float s = f / (2.0f + f);
  const float z = s * s;
  const float P = mulAdd(z, mulAdd(z, 0x1.31e34cp-2f, 0x1.995eb6p-2f), 0x1.55557ap-1f);  // R = z P
  const float hfsq = 0.5f * f * f;  // rounded: an FMA operand is not contracted
  const float inner = mulAdd(s, mulAdd(z, P, hfsq), mulAdd(kf, kLn2Lo, corr));
  return kf * kLn2Hi - ((hfsq - inner) - f);
}

// Splits positive normal u = 2^k * m with m in [sqrt(1/2), sqrt(2)); returns m - 1 (exact).
FASTLOSS_VMATH_FN float reduceLog(float u, int32_t& k) {
  const int32_t t = static_cast<int32_t>(bitsOf(u) - kSqrtHalfBits);
  k = t >> 23;  // arithmetic shift: floor
  return fromBits((static_cast<uint32_t>(t) & 0x007fffffu) + kSqrtHalfBits) - 1.0f;
}

}  // namespace detail

namespace detail {

constexpr float kShift = 0x1.8p23f;  // adding it rounds to an integer, n in t's low mantissa bits

// expCore's reduction and polynomial: exp(xc) = p 2^n, p = exp(r), n = t - kShift in t's low mantissa bits.
FASTLOSS_VMATH_FN float expReduced(float xc, float& t) {
  t = xc * 1.44269504f + kShift;
  const float n = t - kShift;
  const float rHi = xc - n * kLn2Hi;  // exact
  const float rLo = -(n * kLn2Lo);
  const float r = rHi + rLo;
  const float P =
      0x1.fffffcp-2f + r * (0x1.55548ap-3f + r * (0x1.555916p-5f + r * (0x1.123fb4p-7f + r * 0x1.6a1a8ep-10f)));
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  const float p = 1.0f + r * (1.0f + r * P);
#else
  const float s = 1.0f + rHi;
  const float sErr = (1.0f - s) + rHi;  // 1 + rHi = s + sErr exactly (Fast2Sum)
  const float p = s + (sErr + (rLo + r * r * P));
#endif
  return p;
}

// exp(xc) for xc in [-104, +Inf) (or NaN: then a NaN, payload not kept); finite results only for
// xc < 88.73, the caller selects +Inf above. Cody-Waite: x = n*ln2 + r, |r| <= 0.35,
// exp(r) = 1 + r + r^2*P(r), P minimax deg 4 (|rel err| < 5e-9). With FMA contraction:
// 1 + r*(1 + r*P), six FMAs. Without (baseline x86-64: separate roundings, 1.14 ulp that way):
// r = rHi + rLo with rHi exact and 1 + rHi summed exactly.
// 2^n goes straight into the exponent field (bits(p) + n<<23); where p*2^n would be subnormal
// (n < -125) the field gets n + 64 and one multiply by 2^-64 rounds once (gradual underflow).
FASTLOSS_VMATH_FN float expCore(float xc) {
  float t;
  const float p = expReduced(xc, t);
  const bool tiny = t - kShift < -125.0f;                                                     // n < -125
  const uint32_t e = (bitsOf(t) << 23) + ((0u - static_cast<uint32_t>(tiny)) & (64u << 23));  // (n [+ 64]) << 23
  return fromBits(bitsOf(p) + e) * select(tiny, 0x1p-64f, 1.0f);
}

}  // namespace detail

// exp(x) (detail::expCore). Overflow -> +Inf, gradual underflow to 0, exp(-Inf) = 0,
// NaN -> same NaN (quieted).
// measured: 1 ulp (0.89 FMA builds, 0.77 baseline; 99.5% correctly rounded), every float in [-104, 89].
FASTLOSS_VMATH_FN float exp(float x) {
  const float y = detail::expCore(select(x < -104.0f, -104.0f, x));  // exp(-104) rounds to 0
  // x * Inf: +Inf above ln(FLT_MAX) (rounds to 88.72283), x's NaN quieted (sign and payload kept).
  // select(), not a ternary: in scalar code (loop tails) a ternary is a branch, and expCore's last
  // multiply then fuses with the caller's arithmetic (exp(x) - y x) unlike in the vector body.
  return select(!(x <= 0x1.62e42ep6f), x * detail::kInf, y);
}

// exp(x) for |x| <= kExpInRange only: exp's bits there (n in [-125, 125]: a normal result, no
// clamp, no overflow, no NaN), without its special cases. For loops that check the range as they go
// (engine.h `fast()`) and redo a block with exp when an x is outside.
constexpr float kExpInRange = 86.0f;
constexpr uint32_t kExpInRangeBits = __builtin_bit_cast(uint32_t, kExpInRange);
FASTLOSS_VMATH_FN float expInRange(float x) {
  float t;
  const float p = detail::expReduced(x, t);
  return fromBits(bitsOf(p) + (bitsOf(t) << 23));
}

// exp(x) for x <= 0 only (x - max in softmax, -|x| in softplus and sigmoid): the same bits as exp
// there, without the overflow and NaN selects (a NaN x gives a NaN, not necessarily x's payload).
FASTLOSS_VMATH_FN float expNonPositive(float x) { return detail::expCore(select(x < -104.0f, -104.0f, x)); }

// log(x). x = 2^k * m, m in [sqrt(1/2), sqrt(2)), log = k*ln2 + log(m) via detail::logCore.
// Subnormals are scaled by 2^23 first. log(+-0) = -Inf, log(x<0) = NaN, log(+Inf) = +Inf.
// measured: 1 ulp (0.84; 99.69% correctly rounded).
FASTLOSS_VMATH_FN float log(float x) {
  const bool sub = x < 0x1p-126f;
  const float xn = select(sub, x * 0x1p23f, x);
  int32_t k;
  const float f = detail::reduceLog(xn, k);
  const float kf = static_cast<float>(k - (23 & -static_cast<int32_t>(sub)));
  const float y = detail::logCore(f, kf, 0.0f);
  // x <= 0, +Inf, NaN (x * Inf: +Inf, x's NaN quieted) in one select: the ternaries become masked
  // moves (-12 instructions per 32 elements, AVX-512). A ternary for the last select changed GCC's
  // FMA contraction in logCore (not the same bits as logPositive).
  const float special = x == 0.0f ? -detail::kInf : (x < 0.0f ? detail::kNaN : x * detail::kInf);
  return select(x > 0.0f && x < detail::kInf, y, special);
}

// log(x) for x positive and normal (or NaN), e.g. after Keras' clip to [1e-7, 1 - 1e-7]: the same
// bits as log there without the subnormal scaling and the special-case selects; corr = x - x is +0
// for finite x and makes a NaN x give a NaN (payload not kept).
FASTLOSS_VMATH_FN float logPositive(float x) {
  int32_t k;
  const float f = detail::reduceLog(x, k);
  return detail::logCore(f, static_cast<float>(k), x - x);
}

// log1p(x). u = 1 + x rounded, c = (1 + x) - u exactly (Fast2Sum), then
// log1p(x) = log(u) + c/u with c/u folded into the low part of detail::logCore.
// log1p(+-0) = +-0, log1p(-1) = -Inf, log1p(x < -1) = NaN, log1p(+Inf) = +Inf.
// measured: 1 ulp (0.84 FMA builds, 0.87 baseline; 99.61% correctly rounded).
namespace detail {
// log1p's arithmetic for finite x > -1 (x = +-0 gives +0).
FASTLOSS_VMATH_FN float log1pFinite(float x) {
  const float u = 1.0f + x;
  const float c = select(x > 1.0f, 1.0f - (u - x), x - (u - 1.0f));
  int32_t k;
  const float f = reduceLog(u, k);
  return logCore(f, static_cast<float>(k), c / u);
}
}  // namespace detail

FASTLOSS_VMATH_FN float log1p(float x) {
  const float y = detail::log1pFinite(x);
  // x <= -1, +Inf, NaN as in log; +-0 keeps its sign
  const float special = x == -1.0f ? -detail::kInf : (x < -1.0f ? detail::kNaN : x * detail::kInf);
  return select(x > -1.0f && x < detail::kInf, select(x == 0.0f, x, y), special);
}

// log1p(x) for x > 0, +Inf or NaN only (after Keras' clip to [1e-7, ...)): the same bits as log1p there
// without its -1 and zero cases (keras.meanSquaredLogarithmicError 0.66 -> 0.44 ns/el, AMD EPYC, AVX-512).
FASTLOSS_VMATH_FN float log1pPositive(float x) {
  return select(x < detail::kInf, detail::log1pFinite(x), x * detail::kInf);
}

// log1p(u) for u in [0, 2] only, e.g. u = exp(-|x|) in softplus: log1p's arithmetic without its
// special cases (same bits as log1p there). w = 1 + u, c = u - (w - 1) exactly (u and 1 share an
// exponent above 1), log(w) + c/w.
FASTLOSS_VMATH_FN float log1pUnit(float u) {
  const float w = 1.0f + u;
  const float c = u - (w - 1.0f);
  int32_t k;
  const float f = detail::reduceLog(w, k);
  return detail::logCore(f, static_cast<float>(k), c / w);
}

// tanh(x). |x| < 0.625: x + x^3*P(x^2), P minimax deg 5 (|rel err| < 3e-9); otherwise
// sign(x) * (1 - 2e/(1 + e)) with e = exp(-2|x|) (never overflows). tanh(+-0) = +-0, +-Inf -> +-1.
// tanhOfExp takes e already computed (log cosh also needs log1p(e)): the same bits.
// measured: 1 ulp (1.41; 99.87% correctly rounded).
FASTLOSS_VMATH_FN float tanhOfExp(float x, float e) {
  const float a = absOf(x);
  const float z = x * x;
  const float P =
      -0x1.555554p-2f +
      z * (0x1.111066p-3f + z * (-0x1.b9ee90p-5f + z * (0x1.638b58p-6f + z * (-0x1.0bf4fep-7f + z * 0x1.18e1dep-9f))));
  const float small = a + a * z * P;
  const float big = 1.0f - 2.0f * (e / (1.0f + e));  // 2 (e / w) = (2 e) / w exactly
  const float y = fromBits(bitsOf(select(a < 0.625f, small, big)) | (bitsOf(x) & 0x80000000u));
  return select(x != x, quiet(x), y);
}
FASTLOSS_VMATH_FN float tanh(float x) { return tanhOfExp(x, vmath::expNonPositive(-2.0f * absOf(x))); }

// sigmoid(x) = 1/(1+exp(-x)), computed as (x >= 0 ? 1 : e)/(1 + e) with e = exp(-|x|) so
// neither branch overflows and tiny results keep full relative accuracy (incl. subnormals).
// sigmoidOfExp takes e already computed (a loss that also needs softplus): the same bits.
// measured: 2 ulp (1.97; 10868 of 2^32 inputs off by 2 ulp, 10879 in the baseline build).
FASTLOSS_VMATH_FN float sigmoidOfExp(float x, float e) {
  const float d = 1.0f + e;
  const float dl = e - (d - 1.0f);  // 1 + e = d + dl exactly
  const bool pos = x >= 0.0f;
  const float q = select(pos, 1.0f, e) / d;
  const float y = q - q * dl * select(pos, q, 1.0f - q);  // q*(1 - dl/d); 1/d = q or 1-q
  return select(x != x, quiet(x), y);
}
FASTLOSS_VMATH_FN float sigmoid(float x) { return sigmoidOfExp(x, vmath::expNonPositive(-absOf(x))); }

// softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)).
// measured: 2 ulp (1.59; 47 of 2^32 inputs off by 2 ulp, 53 in the baseline build).
FASTLOSS_VMATH_FN float softplus(float x) {
  const float y = select(x > 0.0f, x, 0.0f) + log1pUnit(vmath::expNonPositive(-absOf(x)));
  return select(x != x, quiet(x), y);
}

// log_sigmoid(x) = log(sigmoid(x)) = -softplus(-x).
// measured: 2 ulp (1.59), as softplus.
FASTLOSS_VMATH_FN float log_sigmoid(float x) { return -vmath::softplus(-x); }

}  // namespace vmath
}  // namespace fastloss

#undef FASTLOSS_VMATH_FN
