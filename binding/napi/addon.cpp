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

// run(kernelId, flags, reduction, params, out, grad0, grad1, grad2, gradOut, in0..in5)
enum ArgIndex { kId = 0, kFlags, kReduction, kParams, kOut, kGrad0, kGradOut = kGrad0 + kMaxGrads, kIn0 };

// A typed array's data, checked for element type and a live buffer; null for null/undefined.
bool typedArrayData(const Napi::Env& env, const Napi::Value& v, char kind, bool optional,
                    const char* what, int slot, void** data, int64_t* length) {
  *data = nullptr;
  *length = 0;
  if (v.IsNull() || v.IsUndefined()) {
    if (optional) return true;
    Napi::TypeError::New(env, std::string("fastloss: ") + what + " " + std::to_string(slot) + " is required")
        .ThrowAsJavaScriptException();
    return false;
  }
  if (!v.IsTypedArray()) {
    Napi::TypeError::New(env, std::string("fastloss: ") + what + " " + std::to_string(slot) + " must be a typed array")
        .ThrowAsJavaScriptException();
    return false;
  }
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  napi_typedarray_type type = ta.TypedArrayType();
  bool ok = (kind == 'f' && type == napi_float32_array) || (kind == 'i' && type == napi_int32_array) ||
            (kind == 'x' && (type == napi_float32_array || type == napi_int32_array));
  if (!ok) {
    Napi::TypeError::New(env, std::string("fastloss: ") + what + " " + std::to_string(slot) + " has the wrong element type")
        .ThrowAsJavaScriptException();
    return false;
  }
  napi_value buffer;
  size_t byteOffset = 0, len = 0;
  void* raw = nullptr;
  napi_typedarray_type t;
  napi_get_typedarray_info(env, ta, &t, &len, &raw, &buffer, &byteOffset);
  bool detached = false;
  napi_is_detached_arraybuffer(env, buffer, &detached);
  if (detached) {
    Napi::TypeError::New(env, std::string("fastloss: ") + what + " " + std::to_string(slot) + " is backed by a detached ArrayBuffer")
        .ThrowAsJavaScriptException();
    return false;
  }
  *data = raw;  // napi already adds byteOffset
  *length = static_cast<int64_t>(len);
  return true;
}

bool parseCall(const Napi::CallbackInfo& info, LossArgs& a, int* kernelId) {
  Napi::Env env = info.Env();
  int id = info[kId].As<Napi::Number>().Int32Value();
  if (id < 0 || id >= kKernelCount) {
    Napi::RangeError::New(env, "fastloss: unknown kernel id").ThrowAsJavaScriptException();
    return false;
  }
  *kernelId = id;
  a.flags = info[kFlags].As<Napi::Number>().Int32Value();
  a.reduction = static_cast<Reduction>(info[kReduction].As<Napi::Number>().Int32Value());

  Napi::Value pv = info[kParams];
  if (!pv.IsTypedArray() || pv.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "fastloss: params must be a Float64Array").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Float64Array params = pv.As<Napi::Float64Array>();
  if (params.ElementLength() < static_cast<size_t>(kParamCount)) {
    Napi::RangeError::New(env, "fastloss: params too short").ThrowAsJavaScriptException();
    return false;
  }
  const double* p = params.Data();
  a.gradScale = p[kParamGradScale];
  a.ndim = static_cast<int>(p[kParamNdim]);
  if (a.ndim < 0 || a.ndim > kMaxDims) {
    Napi::RangeError::New(env, "fastloss: too many dimensions").ThrowAsJavaScriptException();
    return false;
  }
  for (int d = 0; d < a.ndim; ++d) a.dims[d] = static_cast<int64_t>(p[kParamDims + d]);
  std::memcpy(a.p, p + kParamScalars, sizeof(a.p));

  const char* sig = kKernelInfo[id].signature;
  const int nIn = static_cast<int>(std::strlen(sig));
  for (int s = 0; s < nIn; ++s) {
    char c = sig[s];
    bool optional = c >= 'A' && c <= 'Z';
    char kind = optional ? static_cast<char>(c - 'A' + 'a') : c;
    void* data;
    if (!typedArrayData(env, info[kIn0 + s], kind, optional, "input", s, &data, &a.inLen[s])) return false;
    a.in[s] = data;
  }
  void* data;
  if (!typedArrayData(env, info[kOut], 'f', true, "out", 0, &data, &a.outLen)) return false;
  a.out = static_cast<float*>(data);
  for (int g = 0; g < kMaxGrads; ++g) {
    if (!typedArrayData(env, info[kGrad0 + g], 'f', true, "grad", g, &data, &a.gradLen[g])) return false;
    a.grad[g] = static_cast<float*>(data);
  }
  int64_t upLen;
  if (!typedArrayData(env, info[kGradOut], 'f', true, "gradOutput", 0, &data, &upLen)) return false;
  a.gradOut = static_cast<const float*>(data);
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

Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LossArgs a;
  int id;
  if (!parseCall(info, a, &id)) return env.Undefined();
  runtime::setMayWait(false);
  gKernels[id](a);
  if (a.errorKind) {
    kernelError(env, a).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return resultValue(env, a);
}

// The same call on the libuv pool; the typed arrays stay referenced until it settles.
class LossWorker : public Napi::AsyncWorker {
 public:
  LossWorker(const Napi::CallbackInfo& info, const LossArgs& a, int id)
      : Napi::AsyncWorker(info.Env(), "fastloss"), args_(a), id_(id), deferred_(Napi::Promise::Deferred::New(info.Env())) {
    for (size_t i = kOut; i < info.Length() && i < kKeepMax; ++i)
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
  static constexpr size_t kKeepMax = kIn0 + kMaxInputs;
  LossArgs args_;
  int id_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference keep_[kKeepMax];
};

Napi::Value RunAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  LossArgs a;
  int id;
  if (!parseCall(info, a, &id)) return env.Undefined();
  auto* worker = new LossWorker(info, a, id);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  runtime::setNumThreads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
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
  Napi::Object kernels = Napi::Object::New(env);
  for (int i = 0; i < kKernelCount; ++i) kernels.Set(kKernelInfo[i].name, i);
  exports.Set("kernels", kernels);
  exports.Set("paramCount", static_cast<double>(kParamCount));
  exports.Set("maxDims", static_cast<double>(kMaxDims));
  exports.Set("run", Napi::Function::New(env, Run, "run"));
  exports.Set("runAsync", Napi::Function::New(env, RunAsync, "runAsync"));
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
