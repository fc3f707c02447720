// The one call record every kernel reads and writes. Plain data, no Node headers.
#pragma once
#include <cstdint>

namespace fastloss {

enum class Reduction : int { None = 0, Mean = 1, Sum = 2, BatchMean = 3 };

// flags: what to compute, and which optional arrays follow the inputs in run()'s arguments.
// kFreshOut << slot (slot 0 'out', 1 + g gradient g): the facade allocated that output for this
// call and no user code can reach it before the call settles, so an async call writes it in place.
enum Flags : int {
  kWantLoss = 1,
  kWantGrad = 2,
  kHasOut = 4,
  kHasGradOut = 8,
  kFreshOut = 16,
  kFreshOutputs = kFreshOut * 15,  // all four output slots
  kReportParts = 256,              // a reduced call reports total, divisor and items (reportParts in engine.h)
};

constexpr int kMaxInputs = 6;
constexpr int kMaxGrads = 3;
constexpr int kMaxDims = 8;
constexpr int kMaxParams = 22;

// Layout of the Float64Array `params` the facade fills for every call (bound once at load).
enum ParamSlot : int {
  kParamKernel = 0,                            // kernel id
  kParamFlags = 1,                             // Flags
  kParamReduction = 2,                         // Reduction
  kParamGradScale = 3,                         // upstream gradient when it is a scalar
  kParamGradCount = 4,                         // gradient arrays passed (with kWantGrad)
  kParamNdim = 5,                              // number of dims of the logical shape
  kParamDims = 6,                              // kMaxDims dims
  kParamScalars = kParamDims + kMaxDims,       // loss-specific scalars
  kParamThreads = kParamScalars + kMaxParams,  // the call's thread count; 0: the default
  kParamCount = kParamThreads + 1
};

// Why a kernel refused a call: the data of the error, not its message. The facade, which knows
// the argument and option names, writes the message (kernelErrorMessage in src/core/define.ts);
// the addon exports the names below as `reason`. bound[] holds what the check compared against.
#define FASTLOSS_ERROR_REASONS(X)                                                                                    \
  X(OutsideUnitInterval)      /* in[slot][index] = value is not in [0, 1] */                                         \
  X(Negative)                 /* in[slot][index] = value is < 0 */                                                   \
  X(LengthMismatch)           /* in[slot] has length value; bound[0] or bound[1] expected */                         \
  X(ClassOutOfRange)          /* in[slot][index] = value not in [0, bound[0]) (nor param's value bound[1]) */        \
  X(ClassOrPadOutOfRange)     /* in[slot][index] = value not in [0, bound[0]) nor -1 */                              \
  X(ClassIsBlankOrOutOfRange) /* in[slot][index] = value not in [0, bound[0]) or the blank bound[1] */               \
  X(LabelOrBlankOutOfRange)   /* in[slot][index] = value not in [1, bound[0]) nor 0 (the blank) */                   \
  X(LabelAfterBlank)          /* in[slot][index] = value follows a 0 (the blank) in its row */                       \
  X(NotPlusMinusOne)          /* in[slot][index] = value is not 1 or -1 */                                           \
  X(ChangedDuringCall)        /* in[slot][index] left [0, bound[0]) after the checks (shared memory) */              \
  X(UnsupportedValue)         /* p[param] = value; bound[0] or bound[1] supported */                                 \
  X(IndexParamOutOfRange)     /* p[param] = value is no integer in [0, bound[0]) (dimension bound[1]) */             \
  X(AxisOutOfRange)           /* p[param] = value is no axis of bound[0] dimensions */                               \
  X(WrongRank)                /* the shape has value dimensions; bound[0] expected */                                \
  X(EmptyBlankDim)            /* dimension bound[1] is 0: no class 0 for the blank */                                \
  X(LengthOutsideDim)         /* in[slot][index] = value not in [0, bound[0]], dimension bound[1] */                 \
  X(LengthAboveWidth) /* in[slot][index] = value > bound[0], the padded width of targets of length bound[1] (their   \
                         lengths sum to bound[2]) */                                                                 \
  X(LengthNotSumNorMultiple) /* in[slot] has length value: neither bound[0], the sum of in[bound[2]], nor a multiple \
                                of N = bound[1] */                                                                   \
  X(LengthNotMultiple)       /* in[slot] has length value, no multiple of N = bound[0] (rows [N, S]) */              \
  X(OutOfMemory)             /* no scratch for bound[0] rows of bound[1] values */

enum class ErrorReason : int {
  None = 0,
#define FASTLOSS_ERROR_REASON_ENUM(name) name,
  FASTLOSS_ERROR_REASONS(FASTLOSS_ERROR_REASON_ENUM)
#undef FASTLOSS_ERROR_REASON_ENUM
};

enum class ErrorKind : int { None = 0, Range = 1, Type = 2 };  // RangeError, TypeError

struct KernelError {
  ErrorKind kind = ErrorKind::None;
  ErrorReason reason = ErrorReason::None;
  int slot = -1;         // the input at fault, or -1
  int param = -1;        // the parameter at fault (or named by the reason), or -1
  int64_t index = -1;    // the element of that input, or -1
  double value = 0.0;    // the offending value (an element, a parameter, a length)
  double bound[3] = {};  // what the check compared against
};

struct LossArgs {
  int flags = 0;
  Reduction reduction = Reduction::Mean;
  // Inputs in the kernel's slot order (float or int32, as the kernel's signature says).
  const void* in[kMaxInputs] = {};
  int64_t inLen[kMaxInputs] = {};
  bool inIsInt[kMaxInputs] = {};  // the real element type of each input (Int32Array), whatever params say
  // Outputs: per-element loss for reduction 'none'; gradients by differentiable input.
  float* out = nullptr;
  int64_t outLen = 0;
  float* grad[kMaxGrads] = {};
  int64_t gradLen[kMaxGrads] = {};
  // Upstream gradient: an array of the output's length, or the scalar gradScale.
  const float* gradOut = nullptr;
  double gradScale = 1.0;
  int ndim = 0;
  int64_t dims[kMaxDims] = {};
  double p[kMaxParams] = {};
  int threads = 0;  // at most this many threads (1..maxThreads); 0: the default
  // Results.
  double result = 0.0;
  // With kReportParts (streaming accumulators): what 'mean' / 'batchmean' divides by, and the items.
  double divisor = 0.0;
  double items = 0.0;
  KernelError fault;  // fault.kind != None: the call failed (fail() in engine.h), as data

  const float* f(int slot) const { return static_cast<const float*>(in[slot]); }
  const int32_t* i32(int slot) const { return static_cast<const int32_t*>(in[slot]); }
  bool wantLoss() const { return flags & kWantLoss; }
  bool wantGrad() const { return flags & kWantGrad; }
};

using KernelFn = void (*)(LossArgs&);

// Signature letters, one per input slot: f Float32Array, i Int32Array, x either;
// upper case = optional (may be null).
// extents: the element count of every slot, from the shape (extents.h); params: the names of
// LossArgs::p's slots, "a, b, c" (params.h).
struct KernelInfo {
  const char* name;
  const char* signature;
  const char* extents;
  const char* params;
};

}  // namespace fastloss
