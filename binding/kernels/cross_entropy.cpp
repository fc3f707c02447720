// Softmax cross-entropy and negative log-likelihood over a class axis: PyTorch 1.13
// torch.nn.functional.cross_entropy and nll_loss. Forward and gradient side by side.
#include <atomic>
#include <cstdint>
#include <limits>

#include "xent.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {
namespace {

// ------------------------------------------------------------------ nll_loss
//
// -w_y x[n, y, s] per position (0 where ignored); mean divides by the summed w_y of the
// non-ignored targets. The gradient is -w_y * upstream at the target, 0 elsewhere.
// torch.nn.functional.nll_loss.
void nll(LossArgs& a) {
  int64_t N, C, S;
  torchClassShape(a, N, C, S);
  Xent k = makeXent(a, Framework::Torch);
  k.ignoreParam = params::torch::nllLoss::ignoreIndex;
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
      double l = y == -2 ? kNaN : 0.0;
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
  finishReduction(a, Framework::Torch, total, P, k.D);
}

}  // namespace

namespace torch {

// Slots: input, target (Int32 class indices or Float32 probabilities), weight?.
// p[0] ignoreIndex, p[1] labelSmoothing, p[2] 1 when target holds class indices.
void crossEntropy(LossArgs& a) {
  Xent k = makeXent(a, Framework::Torch);
  k.ignoreParam = params::torch::crossEntropy::ignoreIndex;
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

}  // namespace torch

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
