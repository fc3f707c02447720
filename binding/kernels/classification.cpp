// Classification and probabilistic losses: PyTorch 1.13 (torch.nn.functional, torchvision's
// sigmoid_focal_loss) and TF 2.x Keras. Forward and gradient side by side.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "engine.h"
#include "vmath.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kKerasEps = 1e-7f;                  // keras.backend.epsilon() as float32
constexpr float kKerasOneMinusEps = 1.0f - 1e-7f;   // 1 - epsilon in float32, as TF computes it
constexpr float kHalfLog2Pi = 0.91893853320467274f;  // 0.5 log(2 pi)

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
double torchDivisor(const LossArgs& a, int64_t n) {
  switch (a.reduction) {
    case Reduction::Mean: return static_cast<double>(n);
    case Reduction::BatchMean: return a.ndim > 0 ? static_cast<double>(a.dims[0]) : 1.0;
    default: return 1.0;
  }
}

int64_t lastDim(const LossArgs& a) { return a.ndim > 0 ? a.dims[a.ndim - 1] : 1; }

// An ignore index from params: the integer itself when it fits int32 (the targets' type), else a
// value no int32 target equals (a double outside int64 would be undefined to convert).
int64_t ignoreIndexOf(double v) {
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

// ------------------------------------------------------------------ PyTorch element-wise ops

// -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100)); d/dx = w (x - y) / max((1 - x) x, 1e-12).
// torch.nn.functional.binary_cross_entropy (its CPU kernel and backward).
struct BinaryCrossEntropy : SeparateBoth<BinaryCrossEntropy> {
  FASTLOSS_HOT float loss(float x, float y, float w, float) const {
    const float lx = maxOf(vmath::log(x), -100.0f);
    const float l1x = maxOf(vmath::log1p(-x), -100.0f);
    return w * ((y - 1.0f) * l1x - y * lx);
  }
  FASTLOSS_HOT float grad(float x, float y, float w, float) const {
    return w * (x - y) / maxOf((1.0f - x) * x, 1e-12f);
  }
};

// (1 - y) x + lw softplus(-x), lw = (pw - 1) y + 1 (pw = pos_weight, 1 without), times w;
// d/dx = w ((pw y + 1 - y) sigmoid(x) - pw y).  binary_cross_entropy_with_logits.
struct BceWithLogits {
  FASTLOSS_HOT static void parts(float x, float& sp, float& sig) {
    const float e = vmath::exp(-std::fabs(x));   // exp(-|x|) in (0, 1]
    sp = relu(-x) + vmath::log1pUnit(e);  // softplus(-x)
    const float r = 1.0f / (1.0f + e);
    sig = x >= 0.0f ? r : e * r;                 // sigmoid(x)
  }
  FASTLOSS_HOT float loss(float x, float y, float w, float pw) const {
    float sp, sig;
    parts(x, sp, sig);
    return w * ((1.0f - y) * x + ((pw - 1.0f) * y + 1.0f) * sp);
  }
  FASTLOSS_HOT float grad(float x, float y, float w, float pw) const {
    float sp, sig;
    parts(x, sp, sig);
    const float t = pw * y;
    return w * ((t + 1.0f - y) * sig - t);
  }
  FASTLOSS_HOT void both(float x, float y, float w, float pw, float& l, float& d) const {
    float sp, sig;
    parts(x, sp, sig);
    const float t = pw * y;
    l = w * ((1.0f - y) * x + ((pw - 1.0f) * y + 1.0f) * sp);
    d = w * ((t + 1.0f - y) * sig - t);
  }
};

// xlogy(y, y) - y x (0 where y == 0); d/dx = -y.  torch.nn.functional.kl_div, log_target=False.
struct KlDiv : SeparateBoth<KlDiv> {
  FASTLOSS_HOT float loss(float x, float y, float, float) const {
    const float ylogy = y == 0.0f ? 0.0f : y * vmath::log(y);
    return ylogy - y * x;
  }
  FASTLOSS_HOT float grad(float, float y, float, float) const { return -y; }
};

// exp(y) (y - x); d/dx = -exp(y).  kl_div, log_target=True.
struct KlDivLogTarget : SeparateBoth<KlDivLogTarget> {
  FASTLOSS_HOT float loss(float x, float y, float, float) const { return vmath::exp(y) * (y - x); }
  FASTLOSS_HOT float grad(float, float y, float, float) const { return -vmath::exp(y); }
};

// Stirling term of poisson_nll_loss(full=True): y log y - y + 0.5 log(2 pi y) where y > 1.
FASTLOSS_HOT float stirling(float y) {
  const float s = y * vmath::log(y) - y + 0.5f * vmath::log(6.28318530717958648f * y);
  return y > 1.0f ? s : 0.0f;
}

// log_input: exp(x) - y x, d/dx = exp(x) - y.  torch.nn.functional.poisson_nll_loss.
template <bool Full>
struct PoissonLogInput {
  FASTLOSS_HOT float loss(float x, float y, float, float) const {
    return vmath::exp(x) - y * x + (Full ? stirling(y) : 0.0f);
  }
  FASTLOSS_HOT float grad(float x, float y, float, float) const { return vmath::exp(x) - y; }
  FASTLOSS_HOT void both(float x, float y, float, float, float& l, float& d) const {
    const float e = vmath::exp(x);
    l = e - y * x + (Full ? stirling(y) : 0.0f);
    d = e - y;
  }
};

// x - y log(x + eps), d/dx = 1 - y / (x + eps).  poisson_nll_loss(log_input=False).
template <bool Full>
struct PoissonRate {
  float eps;
  FASTLOSS_HOT float loss(float x, float y, float, float) const {
    return x - y * vmath::log(x + eps) + (Full ? stirling(y) : 0.0f);
  }
  FASTLOSS_HOT float grad(float x, float y, float, float) const { return 1.0f - y / (x + eps); }
  FASTLOSS_HOT void both(float x, float y, float w, float v, float& l, float& d) const {
    l = loss(x, y, w, v);
    d = grad(x, y, w, v);
  }
};

// Focal term shared by torchvision's sigmoid_focal_loss and Keras' binary focal crossentropy
// (from logits): ce = BCE-with-logits, p = sigmoid(x), m = 1 - p_t = p (1 - y) + (1 - p) y,
// loss = a_t m^gamma ce; d/dx = a_t (m^gamma (p - y) + gamma m^(gamma-1) (1 - 2y) p (1 - p) ce).
// (m^gamma)' is 0 for gamma == 0, as in PyTorch's pow backward.
// m^gamma and gamma m^(gamma - 1); Mode fixes the exponent at compile time so that the loops
// stay branch-free: 0 (gamma == 0), 1, 2, or 3 (any other gamma, through exp and log).
template <int Mode>
struct FocalPow {
  float gamma;
  FASTLOSS_HOT void eval(float m, float& pw, float& dpw) const {
    if (Mode == 0) {
      pw = 1.0f;
      dpw = 0.0f;
    } else if (Mode == 1) {
      pw = m;
      dpw = 1.0f;
    } else if (Mode == 2) {
      pw = m * m;
      dpw = 2.0f * m;
    } else {
      const float lm = vmath::log(m);
      pw = vmath::exp(gamma * lm);
      dpw = gamma * vmath::exp((gamma - 1.0f) * lm);
    }
  }
};

// fn(FocalPow<Mode>{gamma}) with the mode of gamma.
template <class Fn>
void withFocalPow(float gamma, Fn fn) {
  if (gamma == 0.0f) fn(FocalPow<0>{gamma});
  else if (gamma == 1.0f) fn(FocalPow<1>{gamma});
  else if (gamma == 2.0f) fn(FocalPow<2>{gamma});
  else fn(FocalPow<3>{gamma});
}

template <class Pow>
struct SigmoidFocal {
  Pow pow;
  float alpha;  // < 0: no alpha term (torchvision)
  FASTLOSS_HOT void both(float x, float y, float, float, float& l, float& d) const {
    const float e = vmath::exp(-std::fabs(x));
    const float sp = relu(-x) + vmath::log1pUnit(e);  // softplus(-x)
    const float r = 1.0f / (1.0f + e);
    const float p = x >= 0.0f ? r : e * r;   // sigmoid(x)
    const float q = x >= 0.0f ? e * r : r;   // 1 - sigmoid(x), without cancellation
    const float ce = (1.0f - y) * x + sp;
    const float m = p * (1.0f - y) + q * y;
    float pw, dpw;
    pow.eval(m, pw, dpw);
    const float at = alpha >= 0.0f ? alpha * y + (1.0f - alpha) * (1.0f - y) : 1.0f;
    l = at * ce * pw;
    d = at * (pw * (p - y) + dpw * (1.0f - 2.0f * y) * p * q * ce);
  }
  FASTLOSS_HOT float loss(float x, float y, float w, float v) const {
    float l, d;
    both(x, y, w, v, l, d);
    return l;
  }
  FASTLOSS_HOT float grad(float x, float y, float w, float v) const {
    float l, d;
    both(x, y, w, v, l, d);
    return d;
  }
};

// ------------------------------------------------------------------ Keras element-wise ops
// Keras ops take (yPred, yTrue) as kerasRowMean calls them.

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

// -(y log(c + eps) + (1 - y) log(1 - c + eps)), c = clip(p, eps, 1 - eps).
// keras.backend.binary_crossentropy on probabilities.
struct KerasBce {
  BinarySmooth smooth;
  FASTLOSS_HOT float loss(float p, float t) const {
    const float y = smooth(t), c = kerasClip(p);
    return -(y * vmath::log(c + kKerasEps) + (1.0f - y) * vmath::log(1.0f - c + kKerasEps));
  }
  FASTLOSS_HOT float grad(float p, float t) const {
    const float y = smooth(t), c = kerasClip(p);
    return kerasClipPass(p) * ((1.0f - y) / (1.0f - c + kKerasEps) - y / (c + kKerasEps));
  }
};

// tf.nn.sigmoid_cross_entropy_with_logits: max(x, 0) - x y + log1p(exp(-|x|)); d/dx = sigmoid(x) - y.
struct KerasBceLogits {
  BinarySmooth smooth;
  FASTLOSS_HOT float loss(float x, float t) const {
    const float y = smooth(t);
    return relu(x) - x * y + vmath::log1pUnit(vmath::exp(-std::fabs(x)));
  }
  FASTLOSS_HOT float grad(float x, float t) const { return vmath::sigmoid(x) - smooth(t); }
};

// p - y log(p + eps); d/dp = 1 - y / (p + eps).  keras.losses.poisson.
struct KerasPoisson {
  FASTLOSS_HOT float loss(float p, float y) const { return p - y * vmath::log(p + kKerasEps); }
  FASTLOSS_HOT float grad(float p, float y) const { return 1.0f - y / (p + kKerasEps); }
};

// keras.backend.binary_focal_crossentropy on probabilities: m = 1 - p_t with the raw p,
// bce on the clipped p; loss = a_t m^gamma bce; d/dp = a_t (gamma m^(gamma-1) (1 - 2y) bce + m^gamma bce').
template <class Pow>
struct KerasFocal {
  BinarySmooth smooth;
  Pow pow;
  float alpha;
  float balance;  // 1 with class balancing (a float: a bool member stops vectorization)
  FASTLOSS_HOT float weight(float y) const { return balance != 0.0f ? y * alpha + (1.0f - y) * (1.0f - alpha) : 1.0f; }
  FASTLOSS_HOT float loss(float p, float t) const {
    const float y = smooth(t), c = kerasClip(p);
    const float bce = -(y * vmath::log(c + kKerasEps) + (1.0f - y) * vmath::log(1.0f - c + kKerasEps));
    const float m = 1.0f - (y * p + (1.0f - y) * (1.0f - p));
    float pw, dpw;
    pow.eval(m, pw, dpw);
    return weight(y) * pw * bce;
  }
  FASTLOSS_HOT float grad(float p, float t) const {
    const float y = smooth(t), c = kerasClip(p);
    const float bce = -(y * vmath::log(c + kKerasEps) + (1.0f - y) * vmath::log(1.0f - c + kKerasEps));
    const float dbce = kerasClipPass(p) * ((1.0f - y) / (1.0f - c + kKerasEps) - y / (c + kKerasEps));
    const float m = 1.0f - (y * p + (1.0f - y) * (1.0f - p));
    float pw, dpw;
    pow.eval(m, pw, dpw);
    return weight(y) * (dpw * (1.0f - 2.0f * y) * bce + pw * dbce);
  }
};

// From logits: sigmoid p, bce = sigmoid_cross_entropy_with_logits (as Keras computes it).
template <class Pow>
struct KerasFocalLogits {
  BinarySmooth smooth;
  Pow pow;
  float alpha;
  float balance;  // 1 with class balancing (a float: a bool member stops vectorization)
  FASTLOSS_HOT void both(float x, float t, float& l, float& d) const {
    const float y = smooth(t);
    const float e = vmath::exp(-std::fabs(x));
    const float r = 1.0f / (1.0f + e);
    const float p = x >= 0.0f ? r : e * r;
    const float bce = relu(x) - x * y + vmath::log1pUnit(e);
    const float m = 1.0f - (y * p + (1.0f - y) * (1.0f - p));
    float pw, dpw;
    pow.eval(m, pw, dpw);
    const float at = balance != 0.0f ? y * alpha + (1.0f - y) * (1.0f - alpha) : 1.0f;
    l = at * pw * bce;
    d = at * (dpw * (1.0f - 2.0f * y) * p * (1.0f - p) * bce + pw * (p - y));
  }
  FASTLOSS_HOT float loss(float x, float t) const {
    float l, d;
    both(x, t, l, d);
    return l;
  }
  FASTLOSS_HOT float grad(float x, float t) const {
    float l, d;
    both(x, t, l, d);
    return d;
  }
};

// sum_j c(y) log(c(y) / c(p)), c = clip(., eps, 1); d/dp = -c(y) / c(p) where eps <= p <= 1.
// keras.losses.kl_divergence (a sum over the last axis).
struct KerasKl {
  FASTLOSS_HOT static float clip1(float v) { return v < kKerasEps ? kKerasEps : (v > 1.0f ? 1.0f : v); }
  FASTLOSS_HOT float loss(float p, float t) const {
    const float y = clip1(t);
    return y * vmath::log(y / clip1(p));
  }
  FASTLOSS_HOT float grad(float p, float t) const {
    const float pass = (p >= kKerasEps && p <= 1.0f) ? 1.0f : 0.0f;
    return pass * (-clip1(t) / clip1(p));
  }
};

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
  const char* fn;
  const char* targetName;
  const char* ignoreName;
  const float* x;
  int64_t N, C, S;
  const int32_t* idx;   // class indices [N, S] or null
  const float* prob;    // probabilities [N, C, S] or null
  const float* cw;      // class weights [C] or null
  const float* sw;      // sample weights [N * S] or null
  bool hasIgnore;
  int64_t ignore;
  float ls;             // label smoothing
  bool tfGrad;
  bool kerasMean;       // Keras: no positions give 0, not NaN
  float* out;
  float* g;
  const float* up;
  double gradScale;
  Reduction reduction;
  bool wantLoss, wantGrad;
  // Derived.
  double W = 0.0;       // sum of class weights (C without)
  double D = 0.0;       // mean divisor
  float keep = 1.0f;    // 1 - ls
  float lsC = 0.0f;     // ls / C
  bool needU = false;   // the smoothing sums sum_c w_c (max - x_c) are needed
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

  // After the compute: a RangeError if a target changed to an invalid value mid-call.
  bool reportChanged(LossArgs& a) const {
    if (!changedAt || changedAt->load() < 0) return false;
    fail(a, 1, "%s: %s[%lld] changed during the call to a value outside 0..%lld", fn, targetName,
         static_cast<long long>(changedAt->load()), static_cast<long long>(C - 1));
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
          if (hasIgnore)
            fail(a, 1, "%s: %s[%lld] = %lld is out of range: classes are 0..%lld (%s %lld)", fn,
                 targetName, static_cast<long long>(i), static_cast<long long>(y),
                 static_cast<long long>(C - 1), ignoreName, static_cast<long long>(ignore));
          else
            fail(a, 1, "%s: %s[%lld] = %lld is out of range: classes are 0..%lld", fn, targetName,
                 static_cast<long long>(i), static_cast<long long>(y), static_cast<long long>(C - 1));
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
    const double s = up ? static_cast<double>(up[p])
                        : (reduction == Reduction::Mean ? gradScale / D : gradScale);
    return sw ? s * static_cast<double>(sw[p]) : s;
  }

  // Position statistics relative to the shift m (the max): se = sum exp(x - m),
  // u = sum a'_c (m - x_c) with a' = w (index, smoothing) or t' w (probabilities),
  // A = sum t'_c w_c (probabilities). Loss (before the sample weight) and gradient factors:
  struct Final {
    double loss;   // unweighted by sample weight
    float k;       // multiplies exp(x - m)
    float kc;      // index targets: subtracted as kc (or kc w_c) everywhere; probs: scale s
    float ky;      // index targets: extra subtracted at y
  };

  Final finish(int64_t p, float m, double se, double u, double A, float xy, int64_t y) const {
    Final f{0.0, 0.0f, 0.0f, 0.0f};
    const double logS = vmath::log(static_cast<float>(se));
    const double wsw = sw ? static_cast<double>(sw[p]) : 1.0;
    if (idx) {
      if (hasIgnore && y == ignore) return f;
      const double wy = cw ? static_cast<double>(cw[y]) : 1.0;
      double l = static_cast<double>(keep) * wy * (logS + (static_cast<double>(m) - xy));
      if (ls != 0.0f) l += static_cast<double>(lsC) * (W * logS + u);
      f.loss = l * wsw;
      if (wantGrad) {
        const double s = posScale(p);
        const double K = s * (static_cast<double>(keep) * wy + static_cast<double>(lsC) * W);
        f.k = static_cast<float>(K / se);
        f.kc = static_cast<float>(s * lsC);
        f.ky = static_cast<float>(s * keep * wy);
      }
    } else {
      f.loss = (A * logS + u) * wsw;
      if (wantGrad) {
        const double s = posScale(p);
        f.k = static_cast<float>((tfGrad ? s : s * A) / se);
        f.kc = static_cast<float>(s);
      }
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

  Part rowPart(int64_t r, int64_t c0, int64_t c1) const {
    const float* xr = x + r * C;
    float m = -kInf;
#pragma omp simd reduction(max : m)
    for (int64_t c = c0; c < c1; ++c) m = xr[c] > m ? xr[c] : m;
    const float sh = m == -kInf ? 0.0f : m;
    Part pt{m, sh, 0.0, 0.0, 0.0};
    double se = 0.0;
    if (wantGrad) {
      float* gr = g + r * C;
#pragma omp simd reduction(+ : se)
      for (int64_t c = c0; c < c1; ++c) {
        const float e = vmath::exp(xr[c] - sh);
        gr[c] = e;
        se += static_cast<double>(e);
      }
    } else {
#pragma omp simd reduction(+ : se)
      for (int64_t c = c0; c < c1; ++c) se += static_cast<double>(vmath::exp(xr[c] - sh));
    }
    pt.se = se;
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
    return pt;
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

  void zeroRow(int64_t r) const {
    float* gr = g + r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) gr[c] = 0.0f;
  }

  // One row, whole: returns its (sample-weighted) loss.
  double row(int64_t r) const {
    const int64_t y = idx ? target(r) : 0;
    if (y < 0) {  // ignored (0), or a target changed mid-call (NaN)
      const double l = y == -1 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
      if (none() && wantLoss) out[r] = static_cast<float>(l);
      if (wantGrad) zeroRow(r);
      return l;
    }
    const Part pt = rowPart(r, 0, C);
    const float xy = idx ? x[r * C + y] : 0.0f;
    const Final f = finish(r, pt.sh, pt.se, pt.u, pt.A, xy, y);
    if (none() && wantLoss) out[r] = static_cast<float>(f.loss);
    if (wantGrad) rowGrad(r, 0, C, f.k, f, y);
    return f.loss;
  }

  // Rows split into chunks of kSplit classes: per-chunk max / sum-exp in parallel, combined per
  // row in chunk order (max M, sumexp = sum se_k exp(m_k - M)), then the gradient in parallel.
  static constexpr int64_t kSplit = 8192;

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
    parallelFor(units, 1, kSplit * 8, [&](int64_t b, int64_t e) {
      for (int64_t k = b; k < e; ++k) {
        const int64_t r = k / parts, q = k % parts;
        if (ys[r] < 0) continue;
        const int64_t c0 = q * kSplit, c1 = c0 + kSplit < C ? c0 + kSplit : C;
        st[k] = rowPart(r, c0, c1);
      }
    });
    double total = 0.0;
    for (int64_t r = 0; r < N; ++r) {
      if (ys[r] < 0) {
        const double l = ys[r] == -1 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
        fin[r] = Final{l, 0.0f, 0.0f, 0.0f};
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
      parallelFor(units, 1, kSplit * 2, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) {
          const int64_t r = k / parts, q = k % parts;
          const int64_t c0 = q * kSplit, c1 = c0 + kSplit < C ? c0 + kSplit : C;
          if (ys[r] < 0) {
            float* gr = g + r * C;
#pragma omp simd
            for (int64_t c = c0; c < c1; ++c) gr[c] = 0.0f;
            continue;
          }
          rowGrad(r, c0, c1, fin[r].k * st[k].to(shift[r]), fin[r], ys[r]);
        }
      });
    }
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
      Final f{y == -2 ? std::numeric_limits<double>::quiet_NaN() : 0.0, 0.0f, 0.0f, 0.0f};
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
      for (int64_t j = 0; j < B; ++j)
        if (yb[j] >= 0) gb[yb[j] * S + j] -= fy[j];
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
        fail(a, 1, "%s: out of memory (scratch for %lld rows of %lld classes)", fn, static_cast<long long>(N),
             static_cast<long long>(C));
        changedAt = nullptr;
        return;
      }
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
    if (changedMidCall || none() || !wantLoss) return;
    if (reduction == Reduction::Mean) {
      a.result = kerasMean && mulSat(N, S) == 0 ? 0.0 : total / D;
    } else {
      a.result = total;
    }
  }
};

// Shape [N, C, d...] (or [C]) of a PyTorch class-axis-1 input.
void torchClassShape(const LossArgs& a, int64_t& N, int64_t& C, int64_t& S) {
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

// Keras: classes on the last axis, every other axis a sample.
void kerasClassShape(const LossArgs& a, int64_t& N, int64_t& C) {
  C = lastDim(a);
  N = a.ndim > 0 ? dimsProduct(a, 0, a.ndim - 1) : 1;
}

Xent makeXent(LossArgs& a, const char* fn, const char* targetName) {
  Xent k{};
  k.fn = fn;
  k.targetName = targetName;
  k.ignoreName = fn[0] == 'k' ? "ignoreClass" : "ignoreIndex";
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

// ------------------------------------------------------------------ nll_loss
//
// -w_y x[n, y, s] per position (0 where ignored); mean divides by the summed w_y of the
// non-ignored targets. The gradient is -w_y * upstream at the target, 0 elsewhere.
// torch.nn.functional.nll_loss.
void nll(LossArgs& a) {
  int64_t N, C, S;
  torchClassShape(a, N, C, S);
  Xent k = makeXent(a, "torch.nllLoss", "target");
  k.N = N;
  k.C = C;
  k.S = S;
  k.idx = a.i32(1);
  k.cw = a.f(2);
  k.hasIgnore = true;
  k.ignore = ignoreIndexOf(a.p[params::torch::nllLoss::ignoreIndex]);
  if (!k.prepare(a)) return;
  std::atomic<int64_t> changed{-1};
  k.changedAt = &changed;
  const float* x = a.f(0);
  const float* cw = a.f(2);
  const int64_t P = mulSat(N, S);
  const bool none = a.reduction == Reduction::None;
  if (a.wantGrad()) {
    float* g = a.grad[0];
    const int64_t n = a.inLen[0];
    parallelFor(n, kChunk, 1, [&](int64_t b, int64_t e) {
#pragma omp simd
      for (int64_t i = b; i < e; ++i) g[i] = 0.0f;
    });
  }
  const double total = reduceChunks(P, 2, [&](int64_t b, int64_t e) {
    double acc = 0.0;
    for (int64_t p = b; p < e; ++p) {
      const int64_t y = k.target(p);  // read once; -1 ignored, -2 changed mid-call
      double l = y == -2 ? std::numeric_limits<double>::quiet_NaN() : 0.0;
      if (y >= 0) {
        const int64_t at = (p / S) * C * S + y * S + p % S;
        const double wy = cw ? static_cast<double>(cw[y]) : 1.0;
        l = -wy * static_cast<double>(x[at]);
        if (a.wantGrad()) a.grad[0][at] = static_cast<float>(-wy * k.posScale(p));
      }
      if (none && a.wantLoss()) a.out[p] = static_cast<float>(l);
      acc += l;
    }
    return acc;
  });
  if (k.reportChanged(a)) return;
  if (!none && a.wantLoss()) a.result = a.reduction == Reduction::Mean ? total / k.D : total;
}

// ------------------------------------------------------------------ gaussian_nll_loss
//
// 0.5 (log v + (x - y)^2 / v) (+ 0.5 log 2 pi if full), v = max(var, eps); the clamp is done
// under no_grad in PyTorch, so the var gradient passes straight through it:
// d/dx = (x - y) / v, d/dvar = 0.5 (1 / v - (x - y)^2 / v^2). var has the input's length, or
// one value per row of the last axis (then its gradient sums over the row).
// torch.nn.functional.gaussian_nll_loss; negative var raises, as in PyTorch.
// Element-wise gaussian_nll loops; what is present is a template choice, so no loop carries a
// conditional (masked) load or store of an absent array.
inline bool anyNegative(const float* __restrict v, int64_t n) {
  int bad = 0;
#pragma omp simd reduction(| : bad)
  for (int64_t i = 0; i < n; ++i) bad |= v[i] < 0.0f ? 1 : 0;
  return bad != 0;
}

template <bool kOut>
double gaussianLossLoop(const float* __restrict x, const float* __restrict y, const float* __restrict var,
                        float* __restrict out, float eps, float constant, int64_t b, int64_t e) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = b; i < e; ++i) {
    const float v = var[i] < eps ? eps : var[i], d = x[i] - y[i];
    const float l = 0.5f * (vmath::log(v) + d * d / v) + constant;
    if (kOut) out[i] = l;
    acc += static_cast<double>(l);
  }
  return acc;
}

template <bool kUp>
void gaussianGradLoop(const float* __restrict x, const float* __restrict y, const float* __restrict var,
                      const float* __restrict up, float scale, float eps, float* __restrict gx,
                      float* __restrict gv, int64_t b, int64_t e) {
#pragma omp simd
  for (int64_t i = b; i < e; ++i) {
    const float v = var[i] < eps ? eps : var[i], d = x[i] - y[i], iv = 1.0f / v;
    const float s = kUp ? up[i] : scale;
    gx[i] = s * d * iv;
    gv[i] = s * 0.5f * (iv - d * d * iv * iv);
  }
}

// One row sharing one variance v (lv = log v): loss sum (kOut: also each loss), and the
// x gradient row with the returned var-gradient sum (kUp: per-element upstream).
template <bool kOut>
double gaussianRowLoss(const float* __restrict xr, const float* __restrict yr, float* __restrict o, float v,
                       float lv, float constant, int64_t cols) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (int64_t j = 0; j < cols; ++j) {
    const float d = xr[j] - yr[j];
    const float l = 0.5f * (lv + d * d / v) + constant;
    if (kOut) o[j] = l;
    acc += static_cast<double>(l);
  }
  return acc;
}

template <bool kUp>
double gaussianRowGrad(const float* __restrict xr, const float* __restrict yr, const float* __restrict u,
                       float scale, float v, float* __restrict g, int64_t cols) {
  const float iv = 1.0f / v;
  double sv = 0.0;
#pragma omp simd reduction(+ : sv)
  for (int64_t j = 0; j < cols; ++j) {
    const float d = xr[j] - yr[j];
    const float s = kUp ? u[j] : scale;
    g[j] = s * d * iv;
    sv += static_cast<double>(s * 0.5f * (iv - d * d * iv * iv));
  }
  return sv;
}

void gaussian(LossArgs& a) {
  const float* x = a.f(0);
  const float* y = a.f(1);
  const float* var = a.f(2);
  const int64_t n = a.inLen[0];
  const int64_t nv = a.inLen[2];
  // var holds one value per element (N) or one per row of the last axis (R), as the dims say:
  // the per-row layout only when the length is R and not N, with cols the last dim.
  const int64_t L = lastDim(a);
  const int64_t R = a.ndim > 0 ? dimsProduct(a, 0, a.ndim - 1) : 1;
  const bool perRow = nv != n;
  if (perRow && (nv != R || mulSat(R, L) != n)) {
    fail(a, 1, "torch.gaussianNllLoss: var has length %lld; expected %lld (the input's) or %lld (one per row)",
         static_cast<long long>(nv), static_cast<long long>(n), static_cast<long long>(R));
    return;
  }
  const float eps = static_cast<float>(a.p[params::torch::gaussianNllLoss::eps]);
  const float constant = a.p[params::torch::gaussianNllLoss::full] != 0.0 ? kHalfLog2Pi : 0.0f;
  if (anyNegative(var, nv)) {
    int64_t i = 0;
    while (i < nv && !(var[i] < 0.0f)) ++i;  // bounded: var may have changed since the check
    const float v = i < nv ? var[i] : -0.0f;
    fail(a, 1, "torch.gaussianNllLoss: var[%lld] = %g is negative; var must be >= 0",
         static_cast<long long>(i < nv ? i : 0), static_cast<double>(v));
    return;
  }
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  const double divisor = torchDivisor(a, n);
  const float scale = static_cast<float>(a.gradScale / divisor);
  const float* up = a.gradOut;
  float* out = a.out;
  float* gx = a.grad[0];
  float* gv = a.grad[1];
  const int64_t cols = perRow ? L : 1;  // 0 for an empty last axis: rows of nothing
  auto clampV = [eps](float v) { return v < eps ? eps : v; };
  double total;
  if (!perRow) {
    total = reduceChunks(n, 4, [&](int64_t b, int64_t e) {
      double acc = 0.0;
      if (wantLoss) {
        acc = none ? gaussianLossLoop<true>(x, y, var, out, eps, constant, b, e)
                   : gaussianLossLoop<false>(x, y, var, out, eps, constant, b, e);
      }
      if (wantGrad) {
        if (up) gaussianGradLoop<true>(x, y, var, up, scale, eps, gx, gv, b, e);
        else gaussianGradLoop<false>(x, y, var, up, scale, eps, gx, gv, b, e);
      }
      return acc;
    });
  } else {
    const int64_t rows = nv;
    total = reduceRows(rows, cols, 4, [&](int64_t b, int64_t e) {
      double acc = 0.0;
      for (int64_t r = b; r < e; ++r) {
        const float v = clampV(var[r]), lv = vmath::log(v);
        const float* xr = x + r * cols;
        const float* yr = y + r * cols;
        if (wantLoss) {
          acc += none ? gaussianRowLoss<true>(xr, yr, out + r * cols, v, lv, constant, cols)
                      : gaussianRowLoss<false>(xr, yr, nullptr, v, lv, constant, cols);
        }
        if (wantGrad) {
          float* g = gx + r * cols;
          const double sv = up ? gaussianRowGrad<true>(xr, yr, up + r * cols, scale, v, g, cols)
                               : gaussianRowGrad<false>(xr, yr, nullptr, scale, v, g, cols);
          gv[r] = static_cast<float>(sv);
        }
      }
      return acc;
    });
  }
  if (!none && wantLoss) a.result = total / divisor;
}

// ------------------------------------------------------------------ Keras probability rows

// keras.backend.categorical_crossentropy on probabilities: q = p / sum(p), c = clip(q, eps,
// 1 - eps), loss = -sum t' log c. With u_j = -t'_j / c_j where the clip passes:
// d/dp_k = (u_k - sum_j u_j q_j) / sum(p).
void kerasCategoricalProbs(LossArgs& a, float ls) {
  const float* pred = a.f(0);
  const float* truth = a.f(1);
  const float* w = a.f(2);
  int64_t rows, C;
  kerasClassShape(a, rows, C);
  const float keep = 1.0f - ls, add = static_cast<float>(static_cast<double>(ls) / static_cast<double>(C));
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  const float* up = a.gradOut;
  const double scale = a.gradScale / reductionDivisor(a.reduction, rows);
  double total = reduceRows(rows, C, 6, [&](int64_t b, int64_t e) {
    double acc = 0.0;
    for (int64_t r = b; r < e; ++r) {
      const float* p = pred + r * C;
      const float* t = truth + r * C;
      double sp = 0.0;
#pragma omp simd reduction(+ : sp)
      for (int64_t j = 0; j < C; ++j) sp += static_cast<double>(p[j]);
      const float s = static_cast<float>(sp);
      const double wr = w ? static_cast<double>(w[r]) : 1.0;
      const float kp = keep, ad = add;  // locals, so the loops below vectorize
      double l = 0.0, uq = 0.0;
      if (wantGrad) {
#pragma omp simd reduction(+ : l, uq)
        for (int64_t j = 0; j < C; ++j) {
          const float q = p[j] / s, c = kerasClip(q), y = t[j] * kp + ad;
          l += static_cast<double>(y * vmath::log(c));
          uq += static_cast<double>(kerasClipPass(q) * (-y / c) * q);
        }
      } else {
#pragma omp simd reduction(+ : l)
        for (int64_t j = 0; j < C; ++j) l += static_cast<double>((t[j] * kp + ad) * vmath::log(kerasClip(p[j] / s)));
      }
      l = -l * wr;
      if (none && wantLoss) a.out[r] = static_cast<float>(l);
      acc += l;
      if (wantGrad) {
        float* g = a.grad[0] + r * C;
        const float k = static_cast<float>((up ? static_cast<double>(up[r]) : scale) * wr);
        const float fuq = static_cast<float>(uq);
#pragma omp simd
        for (int64_t j = 0; j < C; ++j) {
          const float q = p[j] / s, c = kerasClip(q), y = t[j] * kp + ad;
          g[j] = k * (kerasClipPass(q) * (-y / c) - fuq) / s;
        }
      }
    }
    return acc;
  });
  if (!none && wantLoss) {
    if (a.reduction == Reduction::Mean) total = rows > 0 ? total / static_cast<double>(rows) : 0.0;
    a.result = total;
  }
}

// keras.backend.sparse_categorical_crossentropy on probabilities: c = clip(p, eps, 1 - eps),
// loss = log(sum c) - log c_y (sparse softmax cross-entropy of log c); d/dp_j =
// (1 / sum c - [j == y] / c_j) where the clip passes. ignore_class: masked samples give 0 and
// sum_over_batch_size divides by the valid samples (Keras' apply_valid_mask).
void kerasSparseProbs(LossArgs& a, bool hasIgnore, int64_t ignore) {
  const float* pred = a.f(0);
  const int32_t* truth = a.i32(1);
  const float* w = a.f(2);
  int64_t rows, C;
  kerasClassShape(a, rows, C);
  Xent k = makeXent(a, "keras.sparseCategoricalCrossentropy", "yTrue");
  k.N = rows;
  k.C = C;
  k.S = 1;
  k.idx = truth;
  k.hasIgnore = hasIgnore;
  k.ignore = ignore;
  k.sw = w;
  if (!k.prepare(a)) return;
  std::atomic<int64_t> changed{-1};
  k.changedAt = &changed;
  const bool none = a.reduction == Reduction::None;
  const bool wantLoss = a.wantLoss(), wantGrad = a.wantGrad();
  double total = reduceRows(rows, C, 4, [&](int64_t b, int64_t e) {
    double acc = 0.0;
    for (int64_t r = b; r < e; ++r) {
      const float* p = pred + r * C;
      float* g = wantGrad ? a.grad[0] + r * C : nullptr;
      const int64_t y = k.target(r);  // read once; -1 ignored, -2 changed mid-call
      if (y < 0) {
        const double l = y == -1 ? 0.0 : std::numeric_limits<double>::quiet_NaN();
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
      const double l = (static_cast<double>(vmath::log(static_cast<float>(sc))) -
                        static_cast<double>(vmath::log(kerasClip(p[y])))) * wr;
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
  if (!none && wantLoss) {
    if (a.reduction == Reduction::Mean) total = rows > 0 ? total / k.D : 0.0;
    a.result = total;
  }
}

}  // namespace

namespace torch {

// Slots: input, target, weight?.  Input must lie in [0, 1] (PyTorch raises otherwise).
void binaryCrossEntropy(LossArgs& a) {
  const float* x = a.f(0);
  const int64_t n = a.inLen[0];
  for (int64_t i = 0; i < n; ++i) {
    if (!(x[i] >= 0.0f && x[i] <= 1.0f)) {
      fail(a, 1, "torch.binaryCrossEntropy: input[%lld] = %g; all elements of input should be between 0 and 1",
           static_cast<long long>(i), static_cast<double>(x[i]));
      return;
    }
  }
  if (a.in[2]) elementwiseWV<true, false>(a, BinaryCrossEntropy{}, 2, -1, 4);
  else elementwisePlain(a, BinaryCrossEntropy{}, 4);
}

// Slots: input, target, weight?, posWeight? (along the last axis).
void binaryCrossEntropyWithLogits(LossArgs& a) { elementwiseOptional(a, BceWithLogits{}, 2, 3, 4); }

// Slots: input, target (Int32 class indices or Float32 probabilities), weight?.
// p[0] ignoreIndex, p[1] labelSmoothing, p[2] 1 when target holds class indices.
void crossEntropy(LossArgs& a) {
  Xent k = makeXent(a, "torch.crossEntropy", "target");
  torchClassShape(a, k.N, k.C, k.S);
  // Index or probability target from the real element type of the array (not params).
  const bool indices = a.inIsInt[1];
  k.idx = indices ? a.i32(1) : nullptr;
  k.prob = indices ? nullptr : a.f(1);
  k.cw = a.f(2);
  k.hasIgnore = indices;
  k.ignore = ignoreIndexOf(a.p[params::torch::crossEntropy::ignoreIndex]);
  k.ls = static_cast<float>(a.p[params::torch::crossEntropy::labelSmoothing]);
  k.run(a);
}

// Slots: input (log-probabilities), target (class indices), weight?. p[0] ignoreIndex.
void nllLoss(LossArgs& a) { nll(a); }

// p[0] logTarget. Reductions include batchmean (sum / shape[0]).
void klDiv(LossArgs& a) {
  if (a.p[params::torch::klDiv::logTarget] != 0.0) elementwisePlain(a, KlDivLogTarget{}, 2);
  else elementwisePlain(a, KlDiv{}, 2);
}

// p[0] logInput, p[1] full, p[2] eps.
void poissonNllLoss(LossArgs& a) {
  const bool full = a.p[params::torch::poissonNllLoss::full] != 0.0;
  if (a.p[params::torch::poissonNllLoss::logInput] != 0.0) {
    if (full) elementwisePlain(a, PoissonLogInput<true>{}, 4);
    else elementwisePlain(a, PoissonLogInput<false>{}, 2);
  } else {
    const float eps = static_cast<float>(a.p[params::torch::poissonNllLoss::eps]);
    if (full) elementwisePlain(a, PoissonRate<true>{eps}, 4);
    else elementwisePlain(a, PoissonRate<false>{eps}, 2);
  }
}

// Slots: input, target, var. p[0] full, p[1] eps.
void gaussianNllLoss(LossArgs& a) { gaussian(a); }

// p[0] alpha (< 0: none), p[1] gamma.  torchvision.ops.sigmoid_focal_loss.
void sigmoidFocalLoss(LossArgs& a) {
  const float alpha = static_cast<float>(a.p[params::torch::sigmoidFocalLoss::alpha]);
  withFocalPow(static_cast<float>(a.p[params::torch::sigmoidFocalLoss::gamma]), [&](auto pow) {
    elementwisePlain(a, SigmoidFocal<decltype(pow)>{pow, alpha}, 6);
  });
}

}  // namespace torch

namespace keras {

// Slots: yPred, yTrue, sampleWeight?. p[0] fromLogits, p[1] labelSmoothing.
void binaryCrossentropy(LossArgs& a) {
  const BinarySmooth smooth(static_cast<float>(a.p[params::keras::binaryCrossentropy::labelSmoothing]));
  if (a.p[params::keras::binaryCrossentropy::fromLogits] != 0.0) kerasRowMean(a, KerasBceLogits{smooth}, 4);
  else kerasRowMean(a, KerasBce{smooth}, 4);
}

// p[0] fromLogits, p[1] labelSmoothing.
void categoricalCrossentropy(LossArgs& a) {
  const float ls = static_cast<float>(a.p[params::keras::categoricalCrossentropy::labelSmoothing]);
  if (a.p[params::keras::categoricalCrossentropy::fromLogits] == 0.0) {
    kerasCategoricalProbs(a, ls);
    return;
  }
  // tf.nn.softmax_cross_entropy_with_logits on smoothed labels; gradient softmax - labels.
  Xent k = makeXent(a, "keras.categoricalCrossentropy", "yTrue");
  kerasClassShape(a, k.N, k.C);
  k.S = 1;
  k.prob = a.f(1);
  k.sw = a.f(2);
  k.ls = ls;
  k.tfGrad = true;
  k.kerasMean = true;
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
  Xent k = makeXent(a, "keras.sparseCategoricalCrossentropy", "yTrue");
  kerasClassShape(a, k.N, k.C);
  k.S = 1;
  k.idx = a.i32(1);
  k.sw = a.f(2);
  k.hasIgnore = hasIgnore;
  k.ignore = ignore;
  k.kerasMean = true;
  k.run(a);
}

void klDivergence(LossArgs& a) { kerasRowSum(a, KerasKl{}, 4); }

void poisson(LossArgs& a) { kerasRowMean(a, KerasPoisson{}, 2); }

// p[0] gamma, p[1] alpha, p[2] applyClassBalancing, p[3] fromLogits, p[4] labelSmoothing.
void binaryFocalCrossentropy(LossArgs& a) {
  const BinarySmooth smooth(static_cast<float>(a.p[params::keras::binaryFocalCrossentropy::labelSmoothing]));
  const float alpha = static_cast<float>(a.p[params::keras::binaryFocalCrossentropy::alpha]);
  const float balance = a.p[params::keras::binaryFocalCrossentropy::applyClassBalancing] != 0.0 ? 1.0f : 0.0f;
  const bool logits = a.p[params::keras::binaryFocalCrossentropy::fromLogits] != 0.0;
  withFocalPow(static_cast<float>(a.p[params::keras::binaryFocalCrossentropy::gamma]), [&](auto pow) {
    using Pow = decltype(pow);
    if (logits) kerasRowMean(a, KerasFocalLogits<Pow>{smooth, pow, alpha, balance}, 6);
    else kerasRowMean(a, KerasFocal<Pow>{smooth, pow, alpha, balance}, 6);
  });
}

}  // namespace keras

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
