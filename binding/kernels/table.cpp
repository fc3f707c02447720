// The kernel table of one ISA build, in kernels.def order.
#include "table.h"
#include "isa.h"
#include "loss_args.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {

#define FASTLOSS_KERNEL(framework, name, signature, extents, ...) \
  namespace framework {                                           \
  void name(LossArgs&);                                           \
  }
#include "kernels.def"
#undef FASTLOSS_KERNEL

const KernelFn kKernels[] = {
#define FASTLOSS_KERNEL(framework, name, signature, extents, ...) &framework::name,
#include "kernels.def"
#undef FASTLOSS_KERNEL
};

const KernelFn* kernelTable() { return kKernels; }

}  // namespace FASTLOSS_ISA_NS

}  // namespace fastloss
