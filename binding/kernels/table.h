// Kernel tables: one per ISA build, and the names and signatures shared by all of them.
#pragma once
#include "loss_args.h"

namespace fastloss {

const KernelInfo kKernelInfo[] = {
#define FASTLOSS_KERNEL(framework, name, signature, extents, ...) {#framework "." #name, signature, extents, #__VA_ARGS__},
#include "kernels.def"
#undef FASTLOSS_KERNEL
};
constexpr int kKernelCount = sizeof(kKernelInfo) / sizeof(kKernelInfo[0]);

const KernelFn* kernelsBaseline();
const KernelFn* kernelsAvx2();
const KernelFn* kernelsAvx512();

}  // namespace fastloss
