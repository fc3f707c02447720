// Hot loops for scripts/mca.js (llvm-mca): each MCA_* wrapper calls the kernel's own code with
// the options fixed, so the compiler inlines it into one loop. Compiled with -S only, never linked.
// FASTLOSS_ISA_NS and the -march flags come from the script (the CMakeLists.txt flags).
#include <cstdint>

#if defined(MCA_XENT) || defined(MCA_XENTGRAD) || defined(MCA_XENTFUSED) || defined(MCA_XENTGRADFUSED) || \
    defined(MCA_XENTGRADSCALE)
#include "xent.h"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// Cross-entropy, one long row: max pass, then the sum of exp(x - max) (Xent::expSum, as rowPart),
// each exp stored into g with the gradient (MCA_XENTGRAD). Fused (Xent::rowsFused): the same loop
// also takes the next row's max, and with SCALE rescales the previous row's gradient.
extern "C" __attribute__((flatten)) double mcaLoop(const float* x, float* g, int64_t C) {
  const float m = rowMax(x, 0, C);
#if defined(MCA_XENT)
  return Xent::expSum<false>(x, nullptr, m, 0, C);
#elif defined(MCA_XENTGRAD)
  return Xent::expSum<true>(x, g, m, 0, C);
#else
  float M[kMaxLanes];
  maxLanesInit(M);
  const int64_t fused = C / kMaxLanes * kMaxLanes;
#if defined(MCA_XENTFUSED)
  return Xent::expSum<false, true>(x, nullptr, m, 0, C, 0, true, x + C, M, fused) + M[0];
#elif defined(MCA_XENTGRADFUSED)
  return Xent::expSum<true, true>(x, g, m, 0, C, 0, true, x + C, M, fused) + M[0];
#else
  return Xent::expSum<true, true, true>(x, g + C, m, 0, C, 0, true, x + C, M, fused, g, 0.5f) + M[0];
#endif
#endif
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#elif defined(MCA_POISSONGRAD)
#include "probabilistic.cpp"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// torch.poissonNllLoss (log input) with the gradient: the engine's fused sum and gradient loop.
extern "C" __attribute__((flatten)) double mcaLoop(const float* x, const float* y, float* g, int64_t n) {
  return sumGradLoop<false, false>(PoissonLogInput<false>{}, x, y, nullptr, nullptr, 0.5f, g, 0, n);
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#elif defined(MCA_LOGCOSH) || defined(MCA_LOGCOSHGRAD) || defined(MCA_MSLE) || defined(MCA_MSLEGRAD)
#include "regression.cpp"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// keras.logCosh or keras.meanSquaredLogarithmicError: the engine's summing loop (forward), or its fused
// sum and gradient loop (MSLE: blockSum, the losses pass).
#if defined(MCA_LOGCOSH) || defined(MCA_LOGCOSHGRAD)
using McaOp = LogCosh;
#else
using McaOp = SquaredLogError;
#endif
extern "C" __attribute__((flatten)) double mcaLoop(const float* p, const float* t, float* g, int64_t n) {
#if defined(MCA_LOGCOSH) || defined(MCA_MSLE)
  (void)g;
  return sumLoop<false, false>(McaOp{}, p, t, nullptr, nullptr, 0, n);
#else
  return sumGradLoop<false, false>(McaOp{}, p, t, nullptr, nullptr, 0.5f, g, 0, n);
#endif
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#elif defined(MCA_BCELOGITS)
#include "binary.cpp"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// torch.binaryCrossEntropyWithLogits forward: the engine's summing loop over BceWithLogits::loss.
extern "C" __attribute__((flatten)) double mcaLoop(const float* x, const float* y, int64_t n) {
  return sumLoop<false, false>(BceWithLogits{}, x, y, nullptr, nullptr, 0, n);
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#elif defined(MCA_KCAT) || defined(MCA_KCATGRAD)
#include "keras_categorical.cpp"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// keras.categoricalCrossentropy on probabilities, one long row (catLongRow): forward, or the
// gradient's first pass (u into g).
extern "C" __attribute__((flatten)) double mcaLoop(const float* p, const float* t, float* g, int64_t C) {
  double uq = 0.0;
  bool dense = false;
#if defined(MCA_KCAT)
  return catLongRow<false, false>(p, t, g, C, 0.01f, 1.0f, 0.0f, uq, dense);
#else
  return catLongRow<true, false>(p, t, g, C, 0.01f, 1.0f, 0.0f, uq, dense) + uq;
#endif
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#elif defined(MCA_FOCAL) || defined(MCA_FOCALGRAD)
#include "focal.cpp"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// keras.categoricalFocalCrossentropy on probabilities (gamma 2), one long contiguous row
// (focalProbRow): forward, or with the gradient.
extern "C" __attribute__((flatten)) double mcaLoop(const float* p, const float* t, float* g, int64_t C) {
  const FocalParams f{0.25f, 2.0f, 1.0f, 0.0f};
  bool dense = false;
#if defined(MCA_FOCAL)
  return focalProbRow<true, false, false>(p, t, C, f, g, 1.0f, 100.0f, 0.01f, dense);
#else
  return focalProbRow<true, true, false>(p, t, C, f, g, 1.0f, 100.0f, 0.01f, dense);
#endif
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#elif defined(MCA_KBCE) || defined(MCA_KBCEGRAD) || defined(MCA_KBCEHARD) || defined(MCA_KBCEHARDGRAD)
#include "binary.cpp"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// keras.binaryCrossentropy on probabilities: the engine's summing loop over KerasBce (forward), or
// its fused sum and gradient loop; HARD: the same over KerasBceHard (hard labels, withSpecial).
extern "C" __attribute__((flatten)) double mcaLoop(const float* p, const float* t, float* g, int64_t n) {
#if defined(MCA_KBCE) || defined(MCA_KBCEGRAD)
  const KerasBce op{BinarySmooth(0.0f)};
#else
  const KerasBceHard op{BinarySmooth(0.0f)};
#endif
#if defined(MCA_KBCE) || defined(MCA_KBCEHARD)
  return sumLoop<false, false>(op, p, t, nullptr, nullptr, 0, n);
#else
  return sumGradLoop<false, false>(op, p, t, nullptr, nullptr, 0.5f, g, 0, n);
#endif
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#elif defined(MCA_POISSON) || defined(MCA_KLDIV) || defined(MCA_KLDIVGRAD)
#include "probabilistic.cpp"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// torch.poissonNllLoss (log input) forward, torch.klDiv forward or with the gradient: the engine's
// summing loops (blockSum: the largest loop is the losses' pass; the sum's pass is an S loop).
extern "C" __attribute__((flatten)) double mcaLoop(const float* x, const float* y, float* g, int64_t n) {
#if defined(MCA_POISSON)
  (void)g;
  return sumLoop<false, false>(PoissonLogInput<false>{}, x, y, nullptr, nullptr, 0, n);
#elif defined(MCA_KLDIV)
  (void)g;
  return sumLoop<false, false>(KlDiv{}, x, y, nullptr, nullptr, 0, n);
#else
  return sumGradLoop<false, false>(KlDiv{}, x, y, nullptr, nullptr, 0.5f, g, 0, n);
#endif
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#elif defined(MCA_PRIM)
#include "vmath.h"
namespace fastloss {
namespace FASTLOSS_ISA_NS {
// One vmath primitive (MCA_PRIM = its name) summed in 16 float lanes, as probe.cpp's primitiveSum.
extern "C" __attribute__((flatten)) void mcaLoop(const float* __restrict x, float* __restrict lanes, int64_t n) {
  float l[16] = {};
  for (int64_t i = 0; i + 16 <= n; i += 16) {
#pragma omp simd
    for (int k = 0; k < 16; ++k) l[k] += vmath::MCA_PRIM(x[i + k]);
  }
  for (int k = 0; k < 16; ++k) lanes[k] = l[k];
}
}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
#else
#error \
    "define MCA_XENT(GRAD)(FUSED), MCA_XENTGRADSCALE, MCA_POISSON(GRAD), MCA_KLDIV(GRAD), MCA_MSLE(GRAD), MCA_PRIM, MCA_LOGCOSH(GRAD), MCA_BCELOGITS, MCA_KCAT(GRAD), MCA_FOCAL(GRAD) or MCA_KBCE(HARD)(GRAD)"
#endif
