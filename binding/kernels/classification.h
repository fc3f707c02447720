// Shared by the classification family's kernel files (binary.cpp, probabilistic.cpp,
// cross_entropy.cpp, keras_categorical.cpp): constants, scalar helpers and the PyTorch
// element-wise engine with optional weights.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "engine.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kKerasEps = 1e-7f;                  // keras.backend.epsilon() as float32
constexpr float kKerasOneMinusEps = 1.0f - 1e-7f;   // 1 - epsilon in float32, as TF computes it

// Hot element helpers are forced inline: an out-of-line call inside a simd loop blocks
// vectorization.
#define FASTLOSS_HOT __attribute__((always_inline)) inline

// max(a, b) as std::max(a, b) in PyTorch's kernels (NaN a propagates); a plain select
// vectorizes, fmaxf is a library call without -ffast-math.
FASTLOSS_HOT float maxOf(float a, float b) { return a < b ? b : a; }
FASTLOSS_HOT float relu(float v) { return v > 0.0f ? v : 0.0f; }

template <class... T>
void fail(LossArgs& a, int kind, const char* fmt, T... v) {
  a.errorKind = kind;
  std::snprintf(a.error, sizeof(a.error), fmt, v...);
}

// Mean divides by n, batchmean by shape[0] (torch.nn.functional.kl_div), sum by 1.
inline double torchDivisor(const LossArgs& a, int64_t n) {
  switch (a.reduction) {
    case Reduction::Mean: return static_cast<double>(n);
    case Reduction::BatchMean: return a.ndim > 0 ? static_cast<double>(a.dims[0]) : 1.0;
    default: return 1.0;
  }
}

inline int64_t lastDim(const LossArgs& a) { return a.ndim > 0 ? a.dims[a.ndim - 1] : 1; }

// An ignore index from params: the integer itself when it fits int32 (the targets' type), else a
// value no int32 target equals (a double outside int64 would be undefined to convert).
inline int64_t ignoreIndexOf(double v) {
  if (v >= -2147483648.0 && v <= 2147483647.0 && v == std::floor(v)) return static_cast<int64_t>(v);
  return std::numeric_limits<int64_t>::min();
}

// ------------------------------------------------------------------ element-wise engine
//
// PyTorch element-wise loss with an optional per-element weight w (PyTorch's `weight`) and an
// optional vector v along the last axis (BCE-with-logits `pos_weight`). op.loss/op.grad/op.both
// take (x, y, w, v); absent arrays read as 1. Flat chunks are split into runs along the last
// axis so that v is read contiguously and every run vectorizes.
template <class Op, bool HasW, bool HasV>
struct Elementwise {
  const Op& op;
  const float *x, *y, *w, *v;
  float* out;
  float* g;
  const float* up;
  float scale;
  int64_t cols;
  bool none, wantLoss, wantGrad;

  double run(int64_t b, int64_t e) const {
    if (!HasV) return segment(b, e, nullptr);
    double acc = 0.0;
    for (int64_t i = b; i < e;) {
      const int64_t j0 = i % cols;
      const int64_t end = e < i + (cols - j0) ? e : i + (cols - j0);
      acc += segment(i, end, v + j0);
      i = end;
    }
    return acc;
  }

  double segment(int64_t b, int64_t e, const float* vv) const {
    // Locals, not members: a store through g could otherwise alias this->scale and the like,
    // which stops vectorization.
    const Op op = this->op;
    const float *x = this->x, *y = this->y, *w = this->w;
    float* out = this->out;
    float* g = this->g;
    const float* up = this->up;
    const float scale = this->scale;
#define FASTLOSS_EW_ARGS x[i], y[i], HasW ? w[i] : 1.0f, HasV ? vv[i - b] : 1.0f
    if (none) {
      if (wantLoss && wantGrad) {
        if (up) {
#pragma omp simd
          for (int64_t i = b; i < e; ++i) {
            float l, d;
            op.both(FASTLOSS_EW_ARGS, l, d);
            out[i] = l;
            g[i] = up[i] * d;
          }
        } else {
#pragma omp simd
          for (int64_t i = b; i < e; ++i) {
            float l, d;
            op.both(FASTLOSS_EW_ARGS, l, d);
            out[i] = l;
            g[i] = scale * d;
          }
        }
        return 0.0;
      }
      if (wantLoss) {
#pragma omp simd
        for (int64_t i = b; i < e; ++i) out[i] = op.loss(FASTLOSS_EW_ARGS);
      }
      if (wantGrad) {
        if (up) {
#pragma omp simd
          for (int64_t i = b; i < e; ++i) g[i] = up[i] * op.grad(FASTLOSS_EW_ARGS);
        } else {
#pragma omp simd
          for (int64_t i = b; i < e; ++i) g[i] = scale * op.grad(FASTLOSS_EW_ARGS);
        }
      }
      return 0.0;
    }
    if (!wantLoss) {
#pragma omp simd
      for (int64_t i = b; i < e; ++i) g[i] = scale * op.grad(FASTLOSS_EW_ARGS);
      return 0.0;
    }
    double acc = 0.0;
    if (wantGrad) {
#pragma omp simd reduction(+ : acc)
      for (int64_t i = b; i < e; ++i) {
        float l, d;
        op.both(FASTLOSS_EW_ARGS, l, d);
        acc += static_cast<double>(l);
        g[i] = scale * d;
      }
    } else {
#pragma omp simd reduction(+ : acc)
      for (int64_t i = b; i < e; ++i) acc += static_cast<double>(op.loss(FASTLOSS_EW_ARGS));
    }
    return acc;
#undef FASTLOSS_EW_ARGS
  }
};

// Slots: 0 input (differentiated), 1 target, wSlot / vSlot optional (-1: none).
template <bool HasW, bool HasV, class Op>
void elementwiseWV(LossArgs& a, const Op& op, int wSlot, int vSlot, int64_t cost) {
  const int64_t n = a.inLen[0];
  const bool none = a.reduction == Reduction::None;
  const double divisor = torchDivisor(a, n);
  Elementwise<Op, HasW, HasV> k{op,
                                a.f(0),
                                a.f(1),
                                HasW ? a.f(wSlot) : nullptr,
                                HasV ? a.f(vSlot) : nullptr,
                                a.out,
                                a.grad[0],
                                a.gradOut,
                                static_cast<float>(a.gradScale / divisor),
                                lastDim(a) > 0 ? lastDim(a) : 1,
                                none,
                                a.wantLoss(),
                                a.wantGrad()};
  const double total = reduceChunks(n, cost, [&](int64_t b, int64_t e) { return k.run(b, e); });
  if (!none && a.wantLoss()) a.result = total / divisor;
}

template <class Op>
void elementwisePlain(LossArgs& a, const Op& op, int64_t cost) {
  elementwiseWV<false, false>(a, op, -1, -1, cost);
}

template <class Op>
void elementwiseOptional(LossArgs& a, const Op& op, int wSlot, int vSlot, int64_t cost) {
  const bool hw = wSlot >= 0 && a.in[wSlot] != nullptr;
  const bool hv = vSlot >= 0 && a.in[vSlot] != nullptr;
  if (hw && hv) elementwiseWV<true, true>(a, op, wSlot, vSlot, cost);
  else if (hw) elementwiseWV<true, false>(a, op, wSlot, vSlot, cost);
  else if (hv) elementwiseWV<false, true>(a, op, wSlot, vSlot, cost);
  else elementwiseWV<false, false>(a, op, wSlot, vSlot, cost);
}

// Ops whose loss and gradient share nothing.
template <class Derived>
struct SeparateBoth {
  FASTLOSS_HOT void both(float x, float y, float w, float v, float& l, float& d) const {
    const Derived& self = static_cast<const Derived&>(*this);
    l = self.loss(x, y, w, v);
    d = self.grad(x, y, w, v);
  }
};

// tf.clip_by_value(p, eps, 1 - eps) passes the gradient where eps <= p <= 1 - eps.
FASTLOSS_HOT float kerasClip(float p) {
  return p < kKerasEps ? kKerasEps : (p > kKerasOneMinusEps ? kKerasOneMinusEps : p);
}
FASTLOSS_HOT float kerasClipPass(float p) {
  return (p >= kKerasEps && p <= kKerasOneMinusEps) ? 1.0f : 0.0f;
}

// Label smoothing of binary targets: y (1 - ls) + 0.5 ls.
struct BinarySmooth {
  float keep, add;
  explicit BinarySmooth(float ls) : keep(1.0f - ls), add(0.5f * ls) {}
  FASTLOSS_HOT float operator()(float y) const { return y * keep + add; }
};


}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
