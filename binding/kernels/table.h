// Kernel tables: one per ISA build, and the names and signatures shared by all of them.
#pragma once
#include "loss_args.h"

namespace fastloss {

const KernelInfo kKernelInfo[] = {
#define FASTLOSS_KERNEL(framework, name, signature, extents, ...) \
  {#framework "." #name, signature, extents, #__VA_ARGS__},
#include "kernels.def"
#undef FASTLOSS_KERNEL
};
constexpr int kKernelCount = sizeof(kKernelInfo) / sizeof(kKernelInfo[0]);

// Each ISA build's table (table.cpp); the addon calls those of the levels it was built with.
#define FASTLOSS_ISA_LEVEL(level)  \
  namespace isa_##level {          \
    const KernelFn* kernelTable(); \
  }
#include "isa_levels.def"
#undef FASTLOSS_ISA_LEVEL

}  // namespace fastloss
