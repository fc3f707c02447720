// Each kernel's scalar parameters by name, from the last fields of its FASTLOSS_KERNEL entry:
// params::torch::poissonNllLoss::eps is the slot of `eps` in LossArgs::p. The facade resolves the
// same names (exported by the addon) once at load, so both sides agree by construction.
#pragma once

namespace fastloss {
namespace params {

#define FASTLOSS_KERNEL(framework, name, signature, extents, ...) \
  namespace framework {                                           \
  struct name {                                                   \
    enum : int { __VA_ARGS__ };                                   \
  };                                                              \
  }
#include "kernels.def"
#undef FASTLOSS_KERNEL

}  // namespace params
}  // namespace fastloss
