// Node-API layer: converts and checks arguments, runs a kernel on this thread or on the
// libuv pool. The API contract (options, shapes, messages) lives in the TypeScript facade.
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <string>

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

// A typed array's data, checked for element type and a live buffer; null for null/undefined.
bool typedArrayData(napi_env env, napi_value v, char kind, bool optional, const char* what, int slot,
                    void** data, int64_t* length, bool* isInt = nullptr) {
  *data = nullptr;
  *length = 0;
  napi_typedarray_type type;
  size_t len = 0;
  void* raw = nullptr;
  napi_value buffer;
  size_t byteOffset;
  if (napi_get_typedarray_info(env, v, &type, &len, &raw, &buffer, &byteOffset) != napi_ok) {
    napi_valuetype vt = napi_undefined;
    napi_typeof(env, v, &vt);
    bool absent = vt == napi_null || vt == napi_undefined;
    if (absent && optional) return true;
    throwError(env, true, std::string("fastloss: ") + what + " " + std::to_string(slot) +
                              (absent ? " is required" : " must be a typed array"));
    return false;
  }
  bool ok = (kind == 'f' && type == napi_float32_array) || (kind == 'i' && type == napi_int32_array) ||
            (kind == 'x' && (type == napi_float32_array || type == napi_int32_array));
  if (!ok) {
    throwError(env, true, std::string("fastloss: ") + what + " " + std::to_string(slot) + " has the wrong element type");
    return false;
  }
  if (len == 0) {  // a detached buffer reads as empty: refuse it rather than treat it as no data
    bool detached = false;
    napi_is_detached_arraybuffer(env, buffer, &detached);
    if (detached) {
      throwError(env, true, std::string("fastloss: ") + what + " " + std::to_string(slot) + " is backed by a detached ArrayBuffer");
      return false;
    }
  }
  if (isInt) *isInt = type == napi_int32_array;
  *data = raw;  // already includes byteOffset
  *length = static_cast<int64_t>(len);
  return true;
}

// Reads one call into `a` from the bound params and run()'s arguments (argv holds kMaxArgs values).
bool parseCall(napi_env env, napi_value* argv, LossArgs& a, int* kernelId) {
  EnvData* ed = envData(env);
  if (!ed || !ed->params) {
    throwError(env, false, "fastloss: bindParams was not called");
    return false;
  }
  const double* p = ed->params;
  const int id = static_cast<int>(p[kParamKernel]);
  const int reduction = static_cast<int>(p[kParamReduction]);
  const int gradCount = static_cast<int>(p[kParamGradCount]);
  a.ndim = static_cast<int>(p[kParamNdim]);
  if (id < 0 || id >= kKernelCount || reduction < 0 || reduction > static_cast<int>(Reduction::BatchMean) ||
      gradCount < 0 || gradCount > kMaxGrads || a.ndim < 0 || a.ndim > kMaxDims) {
    throwError(env, false, "fastloss: malformed call parameters");
    return false;
  }
  *kernelId = id;
  a.flags = static_cast<int>(p[kParamFlags]);
  a.reduction = static_cast<Reduction>(reduction);
  a.gradScale = p[kParamGradScale];
  for (int d = 0; d < a.ndim; ++d) a.dims[d] = static_cast<int64_t>(p[kParamDims + d]);
  std::memcpy(a.p, p + kParamScalars, sizeof(a.p));

  const char* sig = kKernelInfo[id].signature;
  const int nIn = static_cast<int>(std::strlen(sig));
  size_t at = 0;
  void* data;
  for (int s = 0; s < nIn; ++s, ++at) {
    char c = sig[s];
    bool optional = c >= 'A' && c <= 'Z';
    char kind = optional ? static_cast<char>(c - 'A' + 'a') : c;
    if (!typedArrayData(env, argv[at], kind, optional, "input", s, &data, &a.inLen[s], &a.inIsInt[s])) return false;
    a.in[s] = data;
  }
  if (a.flags & kHasOut) {
    if (!typedArrayData(env, argv[at++], 'f', false, "out", 0, &data, &a.outLen)) return false;
    a.out = static_cast<float*>(data);
  }
  if (a.flags & kWantGrad) {
    for (int g = 0; g < gradCount; ++g, ++at) {
      if (!typedArrayData(env, argv[at], 'f', false, "grad", g, &data, &a.gradLen[g])) return false;
      a.grad[g] = static_cast<float*>(data);
    }
  }
  if (a.flags & kHasGradOut) {
    int64_t upLen;
    if (!typedArrayData(env, argv[at++], 'f', false, "gradOutput", 0, &data, &upLen)) return false;
    a.gradOut = static_cast<const float*>(data);
  }
  return true;
}

Napi::Value resultValue(const Napi::Env& env, const LossArgs& a) {
  return Napi::Number::New(env, a.result);
}

Napi::Error kernelError(const Napi::Env& env, const LossArgs& a) {
  std::string msg = a.error;
  if (a.errorKind == 2) return Napi::TypeError::New(env, msg);
  return Napi::RangeError::New(env, msg);
}

napi_value Run(napi_env env, napi_callback_info info) {
  size_t argc = kMaxArgs;
  napi_value argv[kMaxArgs];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  LossArgs a;
  int id;
  if (!parseCall(env, argv, a, &id)) return nullptr;
  runtime::setMayWait(false);
  gKernels[id](a);
  if (a.errorKind) {
    throwError(env, a.errorKind == 2, a.error);
    return nullptr;
  }
  napi_value result;
  napi_create_double(env, a.result, &result);
  return result;
}

// The same call on the libuv pool; the typed arrays stay referenced until it settles.
class LossWorker : public Napi::AsyncWorker {
 public:
  LossWorker(const Napi::CallbackInfo& info, const LossArgs& a, int id)
      : Napi::AsyncWorker(info.Env(), "fastloss"), args_(a), id_(id), deferred_(Napi::Promise::Deferred::New(info.Env())) {
    for (size_t i = 0; i < info.Length() && i < kMaxArgs; ++i)
      if (info[i].IsObject()) keep_[i] = Napi::Persistent(info[i].As<Napi::Object>());
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    runtime::setMayWait(true);
    gKernels[id_](args_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (args_.errorKind) deferred_.Reject(kernelError(env, args_).Value());
    else deferred_.Resolve(resultValue(env, args_));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  LossArgs args_;
  int id_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_[kMaxArgs];
};

Napi::Value RunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_value argv[kMaxArgs];
  napi_value undefined = env.Undefined();
  for (size_t i = 0; i < kMaxArgs; ++i) argv[i] = i < info.Length() ? static_cast<napi_value>(info[i]) : undefined;
  LossArgs a;
  int id;
  if (!parseCall(env, argv, a, &id)) return env.Undefined();
  auto* worker = new LossWorker(info, a, id);
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
  if (const char* forced = std::getenv("FASTLOSS_ISA")) {
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
  for (int i = 0; i < kKernelCount; ++i) {
    kernels.Set(kKernelInfo[i].name, i);
    signatures.Set(kKernelInfo[i].name, kKernelInfo[i].signature);
  }
  exports.Set("kernels", kernels);
  exports.Set("signatures", signatures);
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
