// Accuracy check for binding/kernels/vmath.h against double-precision libm rounded to float.
//
//   g++ -O2 -std=c++17 scripts/vmath_check.cpp -I binding/kernels -o /tmp/vmath_check
//   /tmp/vmath_check            # every 61st float bit pattern (~7e7 inputs per function)
//   /tmp/vmath_check 1          # all 2^32 bit patterns (a few minutes)
//
// Add -march=x86-64-v3 / -march=x86-64-v4 (and -O3 -fopenmp-simd) to check those builds; the
// per-function output hash shows whether two builds produce bit-identical results.
// Exit status is non-zero if a special value is wrong or an error exceeds kMaxUlp.
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "vmath.h"

namespace vm = fastloss::vmath;

namespace {

constexpr int64_t kMaxUlp = 2;  // the documented target
constexpr float kInf = std::numeric_limits<float>::infinity();

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
float fromBits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// Float bit patterns mapped onto a line where adjacent floats differ by 1 (+0 and -0 both 0).
int64_t ordered(float x) {
  const uint32_t u = bits(x);
  return (u & 0x80000000u) ? -static_cast<int64_t>(u & 0x7fffffffu) : static_cast<int64_t>(u);
}

// Spacing of floats at the magnitude of the (float-rounded) reference.
double ulpAt(float r) {
  const float a = std::fabs(r);
  if (a < 0x1p-126f) return 0x1p-149;
  int e;
  std::frexp(a, &e);  // a in [2^(e-1), 2^e)
  return std::ldexp(1.0, e - 1 - 23);
}

// References in double (libm), rounded to float by the caller.
double refSoftplus(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

struct Fn {
  const char* name;
  void (*vec)(const float*, float*, int);  // the vmath function over an array
  double (*ref)(double);
};

#define VMATH_LOOP(NAME)                                       \
  [](const float* x, float* y, int n) {                        \
    _Pragma("omp simd") for (int i = 0; i < n; ++i) y[i] = vm::NAME(x[i]);  \
  }

const Fn kFns[] = {
    {"exp", VMATH_LOOP(exp), [](double x) { return std::exp(x); }},
    {"log", VMATH_LOOP(log), [](double x) { return std::log(x); }},
    {"log1p", VMATH_LOOP(log1p), [](double x) { return std::log1p(x); }},
    {"tanh", VMATH_LOOP(tanh), [](double x) { return std::tanh(x); }},
    {"sigmoid", VMATH_LOOP(sigmoid), [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
    {"softplus", VMATH_LOOP(softplus), refSoftplus},
    {"log_sigmoid", VMATH_LOOP(log_sigmoid), [](double x) { return -refSoftplus(-x); }},
};

struct Stats {
  uint64_t count = 0, exact = 0, over1 = 0, bad = 0, mismatch = 0;
  int64_t maxUlp = 0;
  float maxUlpAt = 0;
  double maxFrac = 0;  // |y - ref| / ulp, vs the unrounded double reference
  float maxFracAt = 0;
  uint64_t hash = 1469598103934665603ull;
};

void account(Stats& s, float x, float y, double refD) {
  const float ref = static_cast<float>(refD);
  s.count++;
  s.hash = (s.hash ^ bits(y)) * 1099511628211ull;
  if (std::isnan(x)) {  // the input NaN itself, quieted (sign and payload kept)
    if (bits(y) == (bits(x) | 0x00400000u)) s.exact++; else s.mismatch++;
    return;
  }
  if (std::isnan(ref) || std::isnan(y)) {
    if (std::isnan(ref) && std::isnan(y)) s.exact++; else s.mismatch++;
    return;
  }
  if (std::isinf(ref) || std::isinf(y)) {
    if (ref != y) {
      // still measure: the largest finite float next to Inf counts as 1 ulp
      const int64_t d = std::llabs(ordered(y) - ordered(ref));
      if (d > s.maxUlp) s.maxUlp = d, s.maxUlpAt = x;
      if (d > kMaxUlp) s.bad++;
      if (d > 1) s.over1++;
    } else {
      s.exact++;
    }
    return;
  }
  if (y == 0 && ref == 0 && std::signbit(y) != std::signbit(ref)) s.mismatch++;
  const int64_t d = std::llabs(ordered(y) - ordered(ref));
  if (d == 0) s.exact++;
  if (d > 1) s.over1++;
  if (d > kMaxUlp) s.bad++;
  if (d > s.maxUlp) s.maxUlp = d, s.maxUlpAt = x;
  const double frac = std::fabs(static_cast<double>(y) - refD) / ulpAt(ref);
  if (frac > s.maxFrac) s.maxFrac = frac, s.maxFracAt = x;
}

// Inputs worth hitting exactly whatever the stride.
std::vector<float> edgeInputs() {
  std::vector<float> v = {0.0f, -0.0f, kInf, -kInf, 1.0f, -1.0f, 0x1p-149f, -0x1p-149f, 0x1p-126f,
                          -0x1p-126f, 0x1.fffffep-127f, std::numeric_limits<float>::max(),
                          -std::numeric_limits<float>::max(), 88.72283f, 88.72284f, 88.7f, 89.0f,
                          -87.33654f, -87.3f, -103.27893f, -103.97208f, -104.0f, -100.0f, 1e-10f,
                          -1e-10f, 0.625f, -0.625f, 0x1.3fffffp-1f, 0x1.000002p-1f, 0.7071067f,
                          1.4142135f, -0.99999994f, 0.5f, 2.0f, 9.0f, -9.0f, 15.9f, -15.9f, 44.5f};
  // every float near the exp overflow / underflow thresholds
  for (float a : {88.0f, -104.0f, -87.5f}) {
    float x = a;
    for (int i = 0; i < (1 << 20); ++i) v.push_back(x = std::nextafter(x, kInf));
  }
  return v;
}

bool checkSpecials() {
  struct Case {
    const char* what;
    float got, want;
    bool bitExact;  // compare bit patterns (sign of zero, NaN payload)
  };
  const float qnan = fromBits(0x7fc12345u);  // quiet NaN with a payload
  const float sub = std::exp(-100.0);         // 3.7835e-44, subnormal
  const Case cases[] = {
      {"exp(-100) subnormal", vm::exp(-100.0f), sub, true},
      {"exp(-103.5) subnormal", vm::exp(-103.5f), static_cast<float>(std::exp(-103.5)), true},
      {"exp(-104) == 0", vm::exp(-104.0f), 0.0f, true},
      {"exp(-Inf) == 0", vm::exp(-kInf), 0.0f, true},
      {"exp(+Inf) == Inf", vm::exp(kInf), kInf, true},
      {"exp(88.72283) finite", vm::exp(88.72283f), static_cast<float>(std::exp(double{88.72283f})),
       true},
      {"exp(88.72284) == Inf", vm::exp(88.72284f), kInf, true},
      {"exp(1000) == Inf", vm::exp(1000.0f), kInf, true},
      {"exp(0) == 1", vm::exp(0.0f), 1.0f, true},
      {"exp(-0) == 1", vm::exp(-0.0f), 1.0f, true},
      {"exp(NaN) same NaN", vm::exp(qnan), qnan, true},
      {"exp(-NaN) same NaN", vm::exp(-qnan), -qnan, true},
      {"exp(sNaN) quieted", vm::exp(fromBits(0xff812345u)), fromBits(0xffc12345u), true},
      {"log(0) == -Inf", vm::log(0.0f), -kInf, true},
      {"log(-0) == -Inf", vm::log(-0.0f), -kInf, true},
      {"log(-1) NaN", vm::log(-1.0f), std::numeric_limits<float>::quiet_NaN(), false},
      {"log(-Inf) NaN", vm::log(-kInf), std::numeric_limits<float>::quiet_NaN(), false},
      {"log(-1e-45) NaN", vm::log(-0x1p-149f), std::numeric_limits<float>::quiet_NaN(), false},
      {"log(+Inf) == Inf", vm::log(kInf), kInf, true},
      {"log(1) == +0", vm::log(1.0f), 0.0f, true},
      {"log(2^-149)", vm::log(0x1p-149f), static_cast<float>(std::log(0x1p-149)), true},
      {"log(FLT_MAX)", vm::log(std::numeric_limits<float>::max()),
       static_cast<float>(std::log(static_cast<double>(std::numeric_limits<float>::max()))), true},
      {"log(NaN) same NaN", vm::log(qnan), qnan, true},
      {"log1p(1e-10) == 1e-10", vm::log1p(1e-10f), 1e-10f, true},
      {"log1p(-1e-10) == -1e-10", vm::log1p(-1e-10f), -1e-10f, true},
      {"log1p(2^-149) == 2^-149", vm::log1p(0x1p-149f), 0x1p-149f, true},
      {"log1p(+0) == +0", vm::log1p(0.0f), 0.0f, true},
      {"log1p(-0) == -0", vm::log1p(-0.0f), -0.0f, true},
      {"log1p(-1) == -Inf", vm::log1p(-1.0f), -kInf, true},
      {"log1p(-1.5) NaN", vm::log1p(-1.5f), std::numeric_limits<float>::quiet_NaN(), false},
      {"log1p(-Inf) NaN", vm::log1p(-kInf), std::numeric_limits<float>::quiet_NaN(), false},
      {"log1p(+Inf) == Inf", vm::log1p(kInf), kInf, true},
      {"log1p(FLT_MAX)", vm::log1p(std::numeric_limits<float>::max()),
       static_cast<float>(std::log1p(double{std::numeric_limits<float>::max()})), true},
      {"log1p(NaN) same NaN", vm::log1p(qnan), qnan, true},
      {"tanh(+0) == +0", vm::tanh(0.0f), 0.0f, true},
      {"tanh(-0) == -0", vm::tanh(-0.0f), -0.0f, true},
      {"tanh(1e-30) == 1e-30", vm::tanh(1e-30f), 1e-30f, true},
      {"tanh(-2^-149) == -2^-149", vm::tanh(-0x1p-149f), -0x1p-149f, true},
      {"tanh(+Inf) == 1", vm::tanh(kInf), 1.0f, true},
      {"tanh(-Inf) == -1", vm::tanh(-kInf), -1.0f, true},
      {"tanh(100) == 1", vm::tanh(100.0f), 1.0f, true},
      {"tanh(NaN) same NaN", vm::tanh(qnan), qnan, true},
      {"sigmoid(0) == 0.5", vm::sigmoid(0.0f), 0.5f, true},
      {"sigmoid(-0) == 0.5", vm::sigmoid(-0.0f), 0.5f, true},
      {"sigmoid(+Inf) == 1", vm::sigmoid(kInf), 1.0f, true},
      {"sigmoid(-Inf) == 0", vm::sigmoid(-kInf), 0.0f, true},
      {"sigmoid(100) == 1", vm::sigmoid(100.0f), 1.0f, true},
      {"sigmoid(-100) subnormal", vm::sigmoid(-100.0f),
       static_cast<float>(1.0 / (1.0 + std::exp(100.0))), true},
      {"sigmoid(NaN) same NaN", vm::sigmoid(qnan), qnan, true},
      {"softplus(0) == ln2", vm::softplus(0.0f), static_cast<float>(std::log(2.0)), true},
      {"softplus(+Inf) == Inf", vm::softplus(kInf), kInf, true},
      {"softplus(-Inf) == 0", vm::softplus(-kInf), 0.0f, true},
      {"softplus(100) == 100", vm::softplus(100.0f), 100.0f, true},
      {"softplus(-100) subnormal", vm::softplus(-100.0f), sub, true},
      {"softplus(FLT_MAX)", vm::softplus(std::numeric_limits<float>::max()),
       std::numeric_limits<float>::max(), true},
      {"softplus(NaN) same NaN", vm::softplus(qnan), qnan, true},
      {"log_sigmoid(0) == -ln2", vm::log_sigmoid(0.0f), -static_cast<float>(std::log(2.0)), true},
      {"log_sigmoid(-Inf) == -Inf", vm::log_sigmoid(-kInf), -kInf, true},
      {"log_sigmoid(+Inf) == -0", vm::log_sigmoid(kInf), -0.0f, true},
      {"log_sigmoid(-100) == -100", vm::log_sigmoid(-100.0f), -100.0f, true},
      {"log_sigmoid(100) subnormal", vm::log_sigmoid(100.0f), -sub, true},
      {"log_sigmoid(NaN) same NaN", vm::log_sigmoid(qnan), qnan, true},
  };
  int failed = 0;
  for (const Case& c : cases) {
    const bool ok = c.bitExact ? bits(c.got) == bits(c.want)
                               : (std::isnan(c.want) ? std::isnan(c.got) : c.got == c.want);
    if (!ok) {
      ++failed;
      std::printf("  FAIL %-28s got %a (0x%08x) want %a (0x%08x)\n", c.what, c.got, bits(c.got),
                  c.want, bits(c.want));
    }
  }
  const int total = static_cast<int>(sizeof cases / sizeof cases[0]);
  std::printf("special values: %d/%d passed\n", total - failed, total);
  return failed == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t stride = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 61;
  if (stride == 0) return 2;
  std::printf("vmath_check: build");
#if defined(__AVX512F__)
  std::printf(" avx512f");
#endif
#if defined(__AVX2__)
  std::printf(" avx2");
#endif
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
  std::printf(" fma");
#endif
#if defined(__aarch64__)
  std::printf(" aarch64");
#endif
  std::printf(", stride %" PRIu64 " over all 2^32 float bit patterns + edge inputs\n", stride);

  bool ok = checkSpecials();
  const std::vector<float> edges = edgeInputs();
  constexpr int kBatch = 1 << 16;
  std::vector<float> xs(kBatch), ys(kBatch);

  // max_ulp: vs the double result rounded to float; exact%: correctly rounded; >1ulp: inputs
  // off by more than 1 ulp; max_vs_exact: |y - ref| in ulps of the unrounded double result;
  // mismatches: NaN/Inf/sign-of-zero disagreements (must be 0).
  std::printf("%-12s %11s %7s %10s %8s %7s %12s %9s %10s %18s\n", "function", "inputs", "max_ulp",
              "at", "exact%", ">1ulp", "max_vs_exact", "at", "mismatches", "output_hash");
  for (const Fn& fn : kFns) {
    Stats s;
    auto runBatch = [&](int n) {
      fn.vec(xs.data(), ys.data(), n);
      for (int i = 0; i < n; ++i) account(s, xs[i], ys[i], fn.ref(static_cast<double>(xs[i])));
    };
    int n = 0;
    for (uint64_t u = 0; u <= 0xffffffffull; u += stride) {
      xs[n++] = fromBits(static_cast<uint32_t>(u));
      if (n == kBatch) runBatch(n), n = 0;
    }
    for (float e : edges) {
      xs[n++] = e;
      if (n == kBatch) runBatch(n), n = 0;
    }
    if (n) runBatch(n);
    const double pct = 100.0 / static_cast<double>(s.count);
    std::printf("%-12s %11" PRIu64 " %7" PRId64 " %10.4g %8.4f %7" PRIu64 " %12.3f %9.4g %10" PRIu64
                " %018" PRIx64 "\n",
                fn.name, s.count, s.maxUlp, s.maxUlpAt, s.exact * pct, s.over1, s.maxFrac,
                s.maxFracAt, s.mismatch, s.hash);
    if (s.bad || s.mismatch) ok = false;
  }
  std::printf("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
