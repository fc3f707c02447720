// Node-API layer: converts and checks arguments, runs a kernel on this thread or on the
// libuv pool. The API contract (options, shapes, messages) lives in the TypeScript facade.
#include <napi.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "../kernels/extents.h"
#include "../kernels/runtime.h"
#include "../kernels/table.h"

namespace fastloss {
namespace {

using runtime::Isa;

Isa gIsa = Isa::Baseline;
const KernelFn* gKernels = nullptr;

const KernelFn* tableFor(Isa isa) {
  switch (isa) {
#if defined(FASTLOSS_HAVE_AVX512)
    case Isa::Avx512: return kernelsAvx512();
#endif
#if defined(FASTLOSS_HAVE_AVX2)
    case Isa::Avx2: return kernelsAvx2();
#endif
    default: return kernelsBaseline();
  }
}

bool parseIsa(const std::string& name, Isa* isa) {
  if (name == "baseline") *isa = Isa::Baseline;
  else if (name == "avx2") *isa = Isa::Avx2;
  else if (name == "avx512") *isa = Isa::Avx512;
  else return false;
  return true;
}

Isa builtIsa(Isa wanted) {
#if !defined(FASTLOSS_HAVE_AVX512)
  if (wanted == Isa::Avx512) wanted = Isa::Avx2;
#endif
#if !defined(FASTLOSS_HAVE_AVX2)
  if (wanted == Isa::Avx2) wanted = Isa::Baseline;
#endif
  return wanted;
}

// Never above what the CPU has, nor above what this binary was built with.
void selectIsa(Isa wanted) {
  Isa cpu = runtime::cpuIsa();
  if (static_cast<int>(wanted) > static_cast<int>(cpu)) wanted = cpu;
  gIsa = builtIsa(wanted);
  gKernels = tableFor(gIsa);
}

// run(arrays...) reads the call from the bound params (kernel, flags, reduction, shape, scalars);
// its arguments are the kernel's inputs in slot order, then `out` (kHasOut), the gradients
// (kWantGrad, params[kParamGradCount] of them) and `gradOutput` (kHasGradOut).
constexpr size_t kMaxArgs = kMaxInputs + 1 + kMaxGrads + 1;
constexpr int kKnownFlags = kWantLoss | kWantGrad | kHasOut | kHasGradOut | kFreshOutputs;

// Per Node environment (main thread, each worker_thread): the params Float64Array shared with
// the facade, bound once by bindParams().
struct EnvData {
  napi_ref paramsRef = nullptr;
  const double* params = nullptr;
};

void deleteEnvData(napi_env env, void* data, void*) {
  auto* d = static_cast<EnvData*>(data);
  if (d->paramsRef) napi_delete_reference(env, d->paramsRef);
  delete d;
}

EnvData* envData(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<EnvData*>(data);
}

void throwError(napi_env env, bool type, const std::string& msg) {
  if (type) napi_throw_type_error(env, nullptr, msg.c_str());
  else napi_throw_range_error(env, nullptr, msg.c_str());
}

// Each kernel's extents, compiled once (extents.h).
const extents::Compiled* kernelExtents() {
  static const extents::Compiled* table = [] {
    auto* t = new extents::Compiled[kKernelCount];
    for (int i = 0; i < kKernelCount; ++i) t[i] = extents::compile(kKernelInfo[i].extents);
    return t;
  }();
  return table;
}

// One array argument as the engine holds it: the real data, element count and backing store kind.
struct ArrayArg {
  napi_value value = nullptr;  // null when absent
  void* data = nullptr;
  int64_t length = 0;
  bool isInt = false;
  bool shared = false;  // backed by a SharedArrayBuffer: never detached, never shrunk
};

// Where a slot's array sits in run()'s arguments, and how messages name it.
struct SlotName {
  const char* what;
  int index;
};

std::string slotLabel(SlotName n) {
  if (!std::strcmp(n.what, "out")) return "opts.out";
  return std::string(n.what) + " " + std::to_string(n.index);
}

// A typed array's data, checked for element type and a live buffer. `absentOk`: null/undefined
// gives an absent arg.
// `async`: also find out whether the memory is shared (sync calls only need that for empty arrays).
bool typedArrayArg(napi_env env, const char* fn, napi_value v, char kind, bool absentOk, SlotName name, bool async,
                   ArrayArg* arg) {
  *arg = ArrayArg();
  napi_typedarray_type type;
  size_t len = 0;
  void* raw = nullptr;
  napi_value buffer;
  size_t byteOffset;
  if (!v || napi_get_typedarray_info(env, v, &type, &len, &raw, &buffer, &byteOffset) != napi_ok) {
    napi_valuetype vt = napi_undefined;
    if (v) napi_typeof(env, v, &vt);
    bool absent = vt == napi_null || vt == napi_undefined;
    if (absent && absentOk) return true;
    throwError(env, true, std::string(fn) + ": " + slotLabel(name) + (absent ? " is required" : " must be a typed array"));
    return false;
  }
  bool ok = (kind == 'f' && type == napi_float32_array) || (kind == 'i' && type == napi_int32_array) ||
            (kind == 'x' && (type == napi_float32_array || type == napi_int32_array));
  if (!ok) {
    throwError(env, true, std::string(fn) + ": " + slotLabel(name) + " has the wrong element type");
    return false;
  }
  bool isArrayBuffer = true;
  if (async || len == 0) napi_is_arraybuffer(env, buffer, &isArrayBuffer);  // false for a SharedArrayBuffer
  if (len == 0 && isArrayBuffer) {  // a detached buffer reads as empty: refuse it rather than treat it as no data
    bool detached = false;
    napi_is_detached_arraybuffer(env, buffer, &detached);
    if (detached) {
      throwError(env, true, std::string(fn) + ": " + slotLabel(name) + " is backed by a detached ArrayBuffer");
      return false;
    }
  }
  arg->value = v;
  arg->data = raw;  // already includes byteOffset
  arg->length = static_cast<int64_t>(len);
  arg->isInt = type == napi_int32_array;
  arg->shared = !isArrayBuffer;
  return true;
}

// One parsed call: the kernel's record plus the arrays it came from.
struct Call {
  int id = 0;
  LossArgs a;
  ArrayArg in[kMaxInputs];
  ArrayArg out;
  ArrayArg grad[kMaxGrads];
  ArrayArg gradOut;
  int64_t outLength = 0;  // what the extents say 'out' (and gradOutput) hold
  int64_t gradLength[kMaxGrads] = {};
  int gradCount = 0;
};

std::string shapeText(const LossArgs& a) {
  std::string s = "[";
  for (int d = 0; d < a.ndim; ++d) s += (d ? ", " : "") + std::to_string(a.dims[d]);
  return s + "]";
}

bool lengthError(napi_env env, const Call& c, SlotName name, int64_t real, int64_t expected) {
  std::string msg = std::string(kKernelInfo[c.id].name) + ": " + slotLabel(name) + " has length " + std::to_string(real);
  msg += expected >= 0 ? "; shape " + shapeText(c.a) + " needs " + std::to_string(expected)
                       : "; shape " + shapeText(c.a) + " does not fit this loss";
  throwError(env, false, msg);
  return false;
}

bool byteRangesOverlap(const ArrayArg& x, const ArrayArg& y) {
  if (!x.data || !y.data || x.length == 0 || y.length == 0) return false;
  auto xb = reinterpret_cast<uintptr_t>(x.data), yb = reinterpret_cast<uintptr_t>(y.data);
  return xb < yb + static_cast<uintptr_t>(y.length) * 4 && yb < xb + static_cast<uintptr_t>(x.length) * 4;
}

// Outputs may overlap neither an input nor each other, however the views were made (two
// SharedArrayBuffer objects over the same memory included): checked on the real addresses.
bool checkOutputsApart(napi_env env, const Call& c, int gradCount) {
  const ArrayArg* outs[1 + kMaxGrads];
  int slots[1 + kMaxGrads];  // 0 'out', 1 + g gradient g
  int n = 0;
  if (c.out.data) { outs[n] = &c.out; slots[n++] = 0; }
  for (int g = 0; g < gradCount; ++g) { outs[n] = &c.grad[g]; slots[n++] = 1 + g; }
  for (int k = 0; k < n; ++k) {
    // what it overlaps: input s (s), gradOutput (kMaxInputs), output j (kMaxInputs + 1 + slot of j)
    int other = -1;
    for (int s = 0; s < kMaxInputs && other < 0; ++s)
      if (byteRangesOverlap(*outs[k], c.in[s])) other = s;
    if (other < 0 && byteRangesOverlap(*outs[k], c.gradOut)) other = kMaxInputs;
    for (int j = 0; j < k && other < 0; ++j)
      if (byteRangesOverlap(*outs[k], *outs[j])) other = kMaxInputs + 1 + slots[j];
    if (other < 0) continue;
    // The facade names both from outputSlot and overlapSlot; this message is for direct callers.
    std::string msg = std::string(kKernelInfo[c.id].name) + ": output " + std::to_string(slots[k]) +
                      " overlaps " + (other < kMaxInputs ? "input " + std::to_string(other)
                                      : other == kMaxInputs ? std::string("gradOutput") : "another output") +
                      " in memory; pass a separate buffer";
    Napi::Error error = Napi::RangeError::New(env, msg);
    error.Set("code", Napi::String::New(env, "ERR_FASTLOSS_OVERLAP"));
    error.Set("outputSlot", Napi::Number::New(env, slots[k]));
    error.Set("overlapSlot", Napi::Number::New(env, other));
    error.ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// Reads one call from the bound params and run()'s arguments (argv holds kMaxArgs values), and
// checks every length against the shape and every output against the inputs.
bool parseCall(napi_env env, napi_value* argv, bool async, Call& c) {
  EnvData* ed = envData(env);
  if (!ed || !ed->params) {
    throwError(env, false, "fastloss: bindParams was not called");
    return false;
  }
  double p[kParamCount];
  std::memcpy(p, ed->params, sizeof(p));  // one read: nothing below sees the buffer change
  LossArgs& a = c.a;
  const double idRaw = p[kParamKernel], flagsRaw = p[kParamFlags], reductionRaw = p[kParamReduction];
  const double gradCountRaw = p[kParamGradCount], ndimRaw = p[kParamNdim];
  auto isIntIn = [](double v, double lo, double hi) { return v >= lo && v <= hi && v == static_cast<double>(static_cast<int>(v)); };
  if (!isIntIn(idRaw, 0, kKernelCount - 1) || !isIntIn(flagsRaw, 1, kKnownFlags) ||
      !isIntIn(reductionRaw, 0, static_cast<int>(Reduction::BatchMean)) || !isIntIn(gradCountRaw, 0, kMaxGrads) ||
      !isIntIn(ndimRaw, 0, kMaxDims)) {
    throwError(env, false, "fastloss: malformed call parameters");
    return false;
  }
  c.id = static_cast<int>(idRaw);
  const char* fn = kKernelInfo[c.id].name;
  a.flags = static_cast<int>(flagsRaw);
  a.reduction = static_cast<Reduction>(static_cast<int>(reductionRaw));
  a.gradScale = p[kParamGradScale];
  a.ndim = static_cast<int>(ndimRaw);
  std::memcpy(a.p, p + kParamScalars, sizeof(a.p));
  extents::Counts counts;
  if (const char* problem = extents::shapeProblem(p + kParamDims, a.ndim, a.p, a.dims, &counts)) {
    throwError(env, false, std::string(fn) + ": " + problem);
    return false;
  }
  const bool none = a.reduction == Reduction::None;
  const bool hasOut = a.flags & kHasOut, hasGradOut = a.flags & kHasGradOut;
  const int gradCount = c.gradCount = a.wantGrad() ? static_cast<int>(gradCountRaw) : 0;
  const extents::Compiled& ext = kernelExtents()[c.id];
  if (!extents::fits(ext, counts)) {
    throwError(env, false, std::string(fn) + ": opts.shape " + shapeText(a) +
                               (ext.usesAxis ? " has no axis " + std::to_string(a.p[extents::kAxisParam]) : " has no class axis"));
    return false;
  }
  if (hasOut != (none && a.wantLoss()) || (hasGradOut && !(none && a.wantGrad())) ||
      (a.wantGrad() && gradCount != ext.grads)) {
    throwError(env, false, std::string(fn) + ": malformed call flags");
    return false;
  }

  const char* sig = kKernelInfo[c.id].signature;
  const int nIn = static_cast<int>(std::strlen(sig));
  size_t at = 0;
  int64_t expected;
  for (int s = 0; s < nIn; ++s, ++at) {
    char ch = sig[s];
    bool optional = ch >= 'A' && ch <= 'Z';
    char kind = optional ? static_cast<char>(ch - 'A' + 'a') : ch;
    ArrayArg& in = c.in[s];
    if (!typedArrayArg(env, fn, argv[at], kind, optional, {"input", s}, async, &in)) return false;
    a.in[s] = in.data;
    a.inLen[s] = in.length;
    a.inIsInt[s] = in.isInt;
    if (in.value && s < ext.inputs && !extents::holds(ext.in[s], counts, a.inLen, in.isInt, in.length, &expected))
      return lengthError(env, c, {"input", s}, in.length, expected);
  }
  if (ext.outs) extents::holds(ext.out, counts, a.inLen, false, -1, &c.outLength);
  if (c.outLength < 0) c.outLength = 0;
  if (hasOut) {
    if (!typedArrayArg(env, fn, argv[at++], 'f', false, {"out", 0}, async, &c.out)) return false;
    if (c.out.length != c.outLength) return lengthError(env, c, {"out", 0}, c.out.length, c.outLength);
    a.out = static_cast<float*>(c.out.data);
    a.outLen = c.outLength;
  }
  for (int g = 0; g < gradCount; ++g, ++at) {
    extents::holds(ext.grad[g], counts, a.inLen, false, -1, &c.gradLength[g]);
    if (c.gradLength[g] < 0) c.gradLength[g] = 0;
    if (!typedArrayArg(env, fn, argv[at], 'f', false, {"grad", g}, async, &c.grad[g])) return false;
    if (c.grad[g].length != c.gradLength[g])
      return lengthError(env, c, {"grad", g}, c.grad[g].length, c.gradLength[g]);
    a.grad[g] = static_cast<float*>(c.grad[g].data);
    a.gradLen[g] = c.gradLength[g];
  }
  if (hasGradOut) {
    if (!typedArrayArg(env, fn, argv[at++], 'f', false, {"gradOutput", 0}, async, &c.gradOut)) return false;
    if (c.gradOut.length != c.outLength) return lengthError(env, c, {"gradOutput", 0}, c.gradOut.length, c.outLength);
    a.gradOut = static_cast<const float*>(c.gradOut.data);
  }
  return checkOutputsApart(env, c, gradCount);
}

// A kernel's error as a RangeError/TypeError carrying its data (loss_args.h KernelError): the
// facade names the argument and writes the message; this one is for direct callers.
const char* reasonName(ErrorReason r) {
  switch (r) {
#define FASTLOSS_ERROR_REASON_NAME(name) \
  case ErrorReason::name:                \
    return #name;
    FASTLOSS_ERROR_REASONS(FASTLOSS_ERROR_REASON_NAME)
#undef FASTLOSS_ERROR_REASON_NAME
    default:
      return "None";
  }
}

Napi::Value kernelError(Napi::Env env, int id, const KernelError& e) {
  std::string msg = std::string(kKernelInfo[id].name) + ": " + reasonName(e.reason);
  if (e.slot >= 0) msg += " in input " + std::to_string(e.slot);
  if (e.param >= 0) {  // by its name in the kernel's parameter list "a, b, c"
    std::string list = std::string(kKernelInfo[id].params) + ",";
    size_t at = 0;
    for (int k = 0; k < e.param && at < list.size(); ++k) at = list.find(',', at) + 1;
    std::string name = at < list.size() ? list.substr(at, list.find(',', at) - at) : std::to_string(e.param);
    name.erase(0, name.find_first_not_of(' '));
    msg += " (parameter " + name + ")";
  }
  if (e.index >= 0) msg += " at element " + std::to_string(e.index);
  char value[64];
  std::snprintf(value, sizeof(value), ": value %g, bounds %g, %g", e.value, e.bound[0], e.bound[1]);
  msg += value;
  Napi::Error error = e.kind == ErrorKind::Type ? static_cast<Napi::Error>(Napi::TypeError::New(env, msg))
                                                : static_cast<Napi::Error>(Napi::RangeError::New(env, msg));
  error.Set("code", Napi::String::New(env, "ERR_FASTLOSS_KERNEL"));
  error.Set("reason", Napi::String::New(env, reasonName(e.reason)));
  error.Set("slot", Napi::Number::New(env, e.slot));
  error.Set("param", Napi::Number::New(env, e.param));
  error.Set("index", Napi::Number::New(env, static_cast<double>(e.index)));
  error.Set("value", Napi::Number::New(env, e.value));
  Napi::Array bound = Napi::Array::New(env, 2);
  bound.Set(0u, Napi::Number::New(env, e.bound[0]));
  bound.Set(1u, Napi::Number::New(env, e.bound[1]));
  error.Set("bound", bound);
  return error.Value();
}

napi_value Run(napi_env env, napi_callback_info info) {
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  for (size_t i = argc; i < kMaxArgs; ++i) argv[i] = nullptr;
  Call c;
  if (!parseCall(env, argv, false, c)) return nullptr;
  runtime::setMayWait(false);
  gKernels[c.id](c.a);
  if (c.a.error.kind != ErrorKind::None) {
    napi_throw(env, kernelError(Napi::Env(env), c.id, c.a.error));
    return nullptr;
  }
  napi_value result;
  napi_create_double(env, c.a.result, &result);
  return result;
}

// Memory the async call owns: copies of inputs backed by a plain ArrayBuffer (JS may detach,
// transfer or shrink it while the call runs), and the results for caller outputs of that kind.
// Large ones are 2 MiB aligned and asked for huge pages: first-touch page faults on 4 KiB pages
// cost several times the copy itself (40 MB: about 40 ms against 6 ms).
struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

struct OwnedBuffer {
  std::unique_ptr<float, FreeDeleter> data;
  int64_t length = 0;
};

float* allocateFloats(int64_t length) {
  const size_t bytes = static_cast<size_t>(length) * sizeof(float);
  constexpr size_t kHuge = size_t{2} << 20;
  if (bytes < 2 * kHuge) return static_cast<float*>(std::malloc(bytes));
  const size_t rounded = (bytes + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
  return static_cast<float*>(p);
}

// The same call on the libuv pool. Arrays over a SharedArrayBuffer (which cannot be detached or
// shrunk) and fresh outputs are used in place; every other array is copied in, or, for outputs,
// written back on the JS thread once the kernel is done, if it is still attached and unchanged.
class LossWorker : public Napi::AsyncWorker {
 public:
  LossWorker(napi_env env, const Call& c) : Napi::AsyncWorker(Napi::Env(env), "fastloss"), call_(c),
                                            deferred_(Napi::Promise::Deferred::New(Napi::Env(env))) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  // Copies what must be copied and allocates absent outputs; false after throwing.
  bool Prepare(napi_env env) {
    LossArgs& a = call_.a;
    for (int s = 0; s < kMaxInputs; ++s) {
      ArrayArg& in = call_.in[s];
      if (!in.value) continue;
      if (in.shared) Keep(in.value);
      else if (!CopyIn(env, in, &a.in[s])) return false;
    }
    if (call_.gradOut.value) {
      const void* copy = call_.gradOut.data;
      if (!call_.gradOut.shared && !CopyIn(env, call_.gradOut, &copy)) return false;
      if (call_.gradOut.shared) Keep(call_.gradOut.value);
      a.gradOut = static_cast<const float*>(copy);
    }
    if (a.flags & kHasOut && !Output(env, call_.out, call_.outLength, 0, &a.out)) return false;
    for (int g = 0; g < call_.gradCount; ++g)
      if (!Output(env, call_.grad[g], call_.gradLength[g], 1 + g, &a.grad[g])) return false;
    return true;
  }

 protected:
  void Execute() override {
    runtime::setMayWait(true);
    gKernels[call_.id](call_.a);
  }

  void OnOK() override {
    Napi::Env env = Env();
    const LossArgs& a = call_.a;
    if (a.error.kind != ErrorKind::None) {
      deferred_.Reject(kernelError(env, call_.id, a.error));
      return;
    }
    // Write results back into caller arrays that were not used in place: only if they still
    // hold the same memory and length; otherwise reject, writing nothing.
    for (auto& w : writeBack_) {
      napi_typedarray_type type;
      size_t len = 0;
      void* raw = nullptr;
      napi_value value = w.ref.Value(), buffer;
      size_t offset;
      if (napi_get_typedarray_info(env, value, &type, &len, &raw, &buffer, &offset) != napi_ok ||
          static_cast<int64_t>(len) != w.copy.length || raw != w.original) {
        Napi::Error error = Napi::TypeError::New(env, std::string(kKernelInfo[call_.id].name) + ": " + w.label +
                                                          " was detached, transferred or resized during the async call");
        error.Set("outputSlot", Napi::Number::New(env, w.slot));  // the facade names it
        error.Set("code", Napi::String::New(env, "ERR_FASTLOSS_DETACHED"));
        deferred_.Reject(error.Value());
        return;
      }
    }
    for (auto& w : writeBack_)
      if (w.copy.length) std::memcpy(w.original, w.copy.data.get(), static_cast<size_t>(w.copy.length) * sizeof(float));
    deferred_.Resolve(Napi::Number::New(env, a.result));
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  struct WriteBack {
    Napi::Reference<Napi::Value> ref;
    void* original;
    OwnedBuffer copy;
    std::string label;
    int slot;  // 0 'out', 1 + g gradient g
  };

  void Keep(napi_value v) { keep_.push_back(Napi::Persistent(Napi::Value(Env(), v))); }

  bool Allocate(napi_env env, int64_t length, OwnedBuffer* b) {
    b->length = length;
    if (length == 0) return true;
    b->data.reset(allocateFloats(length));
    if (!b->data) {
      throwError(env, false, std::string(kKernelInfo[call_.id].name) + ": out of memory for an async copy of " +
                                 std::to_string(length) + " elements");
      return false;
    }
    return true;
  }

  bool CopyIn(napi_env env, const ArrayArg& in, const void** data) {
    if (in.length == 0) return true;  // nothing to read: keep the (unused) pointer
    OwnedBuffer b;
    if (!Allocate(env, in.length, &b)) return false;
    if (in.length) std::memcpy(b.data.get(), in.data, static_cast<size_t>(in.length) * 4);
    *data = b.data.get();
    copies_.push_back(std::move(b));
    return true;
  }

  // An output used in place when it is shared or fresh (allocated by the facade for this call,
  // unreachable by user code until the promise settles); otherwise written back in OnOK.
  bool Output(napi_env env, const ArrayArg& given, int64_t length, int slot, float** data) {
    if (given.shared || (call_.a.flags & (kFreshOut << slot))) {
      Keep(given.value);
      *data = static_cast<float*>(given.data);
      return true;
    }
    WriteBack w{Napi::Persistent(Napi::Value(env, given.value)), given.data, OwnedBuffer(),
                slot == 0 ? std::string("opts.out") : "gradient " + std::to_string(slot - 1), slot};
    if (!Allocate(env, length, &w.copy)) return false;
    *data = w.copy.data.get();
    writeBack_.push_back(std::move(w));
    return true;
  }

  Call call_;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> keep_;
  std::vector<OwnedBuffer> copies_;
  std::vector<WriteBack> writeBack_;
};

Napi::Value RunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_value argv[kMaxArgs];
  for (size_t i = 0; i < kMaxArgs; ++i) argv[i] = i < info.Length() ? static_cast<napi_value>(info[i]) : nullptr;
  Call c;
  if (!parseCall(env, argv, true, c)) return env.Undefined();
  auto* worker = new LossWorker(env, c);
  if (!worker->Prepare(env)) {
    delete worker;
    return env.Undefined();
  }
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// bindParams(Float64Array): the facade's params buffer, read by every later call.
Napi::Value BindParams(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::Float64Array>().ElementLength() < static_cast<size_t>(kParamCount)) {
    Napi::TypeError::New(env, "fastloss: bindParams takes a Float64Array of paramCount values").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  EnvData* ed = envData(env);
  if (ed->paramsRef) napi_delete_reference(env, ed->paramsRef);
  napi_create_reference(env, info[0], 1, &ed->paramsRef);
  ed->params = info[0].As<Napi::Float64Array>().Data();
  return env.Undefined();
}

// setNumThreads(n): an integer from 1 to maxThreads (the facade checks first, with the same rule).
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int max = runtime::maxThreads();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setNumThreads: n must be an integer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const double v = info[0].As<Napi::Number>().DoubleValue();
  if (!(v >= 1 && v <= max) || v != static_cast<double>(static_cast<int>(v)) ||
      !runtime::setNumThreads(static_cast<int>(v))) {
    Napi::RangeError::New(env, "setNumThreads: n must be an integer from 1 to " + std::to_string(max))
        .ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), runtime::numThreads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", runtime::isaName(gIsa));
  o.Set("cpuIsa", runtime::isaName(runtime::cpuIsa()));
  Napi::Array built = Napi::Array::New(env);
  uint32_t k = 0;
  built.Set(k++, "baseline");
#if defined(FASTLOSS_HAVE_AVX2)
  built.Set(k++, "avx2");
#endif
#if defined(FASTLOSS_HAVE_AVX512)
  built.Set(k++, "avx512");
#endif
  o.Set("builtIsa", built);
  o.Set("threads", runtime::numThreads());
  o.Set("maxThreads", runtime::maxThreads());
  const char* warning = runtime::threadsWarning();
  o.Set("threadsWarning", warning ? Napi::Value(Napi::String::New(env, warning)) : env.Null());
  o.Set("openmp", runtime::openmpRuntime());
  return o;
}

// Testing hook: the most threads that parallel regions held at once since the last call.
Napi::Value TakePeakThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), runtime::takePeakThreads());
}

// Testing hook: select an ISA level (clamped to the CPU and the build); returns the one in use.
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Isa isa;
  if (!info[0].IsString() || !parseIsa(info[0].As<Napi::String>().Utf8Value(), &isa)) {
    Napi::TypeError::New(info.Env(), "fastloss: setIsa: level must be 'baseline', 'avx2' or 'avx512'")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  selectIsa(isa);
  return Napi::String::New(info.Env(), runtime::isaName(gIsa));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Isa wanted = Isa::Avx512;
  const char* forced = std::getenv("FASTLOSS_ISA");
  if (forced && *forced) {  // empty means unset
    if (!parseIsa(forced, &wanted)) {
      Napi::Error::New(env, std::string("fastloss: FASTLOSS_ISA must be baseline, avx2 or avx512, not '") + forced + "'")
          .ThrowAsJavaScriptException();
      return exports;
    }
  }
  selectIsa(wanted);
  napi_set_instance_data(env, new EnvData(), deleteEnvData, nullptr);
  Napi::Object kernels = Napi::Object::New(env);
  Napi::Object signatures = Napi::Object::New(env);
  Napi::Object extentsByKernel = Napi::Object::New(env);
  Napi::Object paramsByKernel = Napi::Object::New(env);
  for (int i = 0; i < kKernelCount; ++i) {
    kernels.Set(kKernelInfo[i].name, i);
    signatures.Set(kKernelInfo[i].name, kKernelInfo[i].signature);
    extentsByKernel.Set(kKernelInfo[i].name, kKernelInfo[i].extents);
    Napi::Array names = Napi::Array::New(env);  // "a, b, c" -> ['a', 'b', 'c']
    std::string list = kKernelInfo[i].params;
    uint32_t k = 0;
    for (size_t at = 0; at < list.size();) {
      size_t end = list.find(',', at);
      if (end == std::string::npos) end = list.size();
      std::string name = list.substr(at, end - at);
      name.erase(0, name.find_first_not_of(' '));
      if (!name.empty()) names.Set(k++, name);
      at = end + 1;
    }
    paramsByKernel.Set(kKernelInfo[i].name, names);
  }
  exports.Set("kernels", kernels);
  exports.Set("signatures", signatures);
  exports.Set("extents", extentsByKernel);
  exports.Set("params", paramsByKernel);
  // The wire constants of the call protocol (loss_args.h), so the facade copies none of them.
  Napi::Object flags = Napi::Object::New(env);
  flags.Set("wantLoss", static_cast<double>(kWantLoss));
  flags.Set("wantGrad", static_cast<double>(kWantGrad));
  flags.Set("hasOut", static_cast<double>(kHasOut));
  flags.Set("hasGradOut", static_cast<double>(kHasGradOut));
  flags.Set("freshOut", static_cast<double>(kFreshOut));
  exports.Set("flags", flags);
  Napi::Object reductions = Napi::Object::New(env);
  reductions.Set("none", Napi::Number::New(env, static_cast<int>(Reduction::None)));
  reductions.Set("mean", Napi::Number::New(env, static_cast<int>(Reduction::Mean)));
  reductions.Set("sum", Napi::Number::New(env, static_cast<int>(Reduction::Sum)));
  reductions.Set("batchmean", Napi::Number::New(env, static_cast<int>(Reduction::BatchMean)));
  exports.Set("reductions", reductions);
  exports.Set("maxArgs", static_cast<double>(kMaxArgs));
  exports.Set("maxInputs", static_cast<double>(kMaxInputs));
  exports.Set("maxParams", static_cast<double>(kMaxParams));
  exports.Set("paramCount", static_cast<double>(kParamCount));
  exports.Set("maxDims", static_cast<double>(kMaxDims));
  Napi::Object slots = Napi::Object::New(env);
  slots.Set("kernel", static_cast<double>(kParamKernel));
  slots.Set("flags", static_cast<double>(kParamFlags));
  slots.Set("reduction", static_cast<double>(kParamReduction));
  slots.Set("gradScale", static_cast<double>(kParamGradScale));
  slots.Set("gradCount", static_cast<double>(kParamGradCount));
  slots.Set("ndim", static_cast<double>(kParamNdim));
  slots.Set("dims", static_cast<double>(kParamDims));
  slots.Set("scalars", static_cast<double>(kParamScalars));
  exports.Set("paramSlots", slots);
  napi_value run;
  napi_create_function(env, "run", NAPI_AUTO_LENGTH, Run, nullptr, &run);
  exports.Set("run", run);
  exports.Set("runAsync", Napi::Function::New(env, RunAsync, "runAsync"));
  exports.Set("bindParams", Napi::Function::New(env, BindParams, "bindParams"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("takePeakThreads", Napi::Function::New(env, TakePeakThreads, "takePeakThreads"));
  return exports;
}

}  // namespace
}  // namespace fastloss

static Napi::Object InitFastloss(Napi::Env env, Napi::Object exports) { return fastloss::Init(env, exports); }

NODE_API_MODULE(fastloss, InitFastloss)
