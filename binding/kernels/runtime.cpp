// Thread budget, OpenMP settings and CPU level detection (built once, baseline flags).
#include "runtime.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastloss {
namespace runtime {
namespace {

int defaultThreads() {
  if (const char* env = std::getenv("FASTLOSS_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

struct Budget {
  std::mutex mutex;
  std::condition_variable freed;
  int total = defaultThreads();
  int inUse = 0;
  int peak = 0;  // most threads leased at once since the last reset
};

Budget& budget() {
  static Budget b;
  return b;
}

thread_local bool tlsMayWait = false;

}  // namespace

int numThreads() {
  Budget& b = budget();
  std::lock_guard<std::mutex> lock(b.mutex);
  return b.total;
}

void setNumThreads(int n) {
  Budget& b = budget();
  std::lock_guard<std::mutex> lock(b.mutex);
  b.total = std::max(1, n);
  b.freed.notify_all();
}

void setMayWait(bool mayWait) { tlsMayWait = mayWait; }

const char* openmpRuntime() {
#if defined(_OPENMP) && defined(__GNUC__) && !defined(__clang__)
  return "libgomp";
#elif defined(_OPENMP)
  return "openmp";
#else
  return "none";
#endif
}

ThreadLease::ThreadLease(int64_t work) : threads_(1), extra_(0) {
  if (work < kGrainWork) return;  // small: the calling thread alone, no lease taken
  int64_t wanted64 = (work + kGrainWork - 1) / kGrainWork;
  Budget& b = budget();
  std::unique_lock<std::mutex> lock(b.mutex);
  int wanted = static_cast<int>(std::min<int64_t>(wanted64, b.total));
  // Pool workers wait for a free core; the JS thread never blocks and runs on itself.
  if (tlsMayWait) b.freed.wait(lock, [&] { return b.inUse < b.total; });
  int granted = std::max(0, std::min(wanted, b.total - b.inUse));
  b.inUse += granted;
  if (b.inUse > b.peak) b.peak = b.inUse;
  extra_ = granted;
  threads_ = std::max(1, granted);
}

ThreadLease::~ThreadLease() {
  if (extra_ == 0) return;
  Budget& b = budget();
  std::lock_guard<std::mutex> lock(b.mutex);
  b.inUse -= extra_;
  b.freed.notify_all();
}

int takePeakThreads() {
  Budget& b = budget();
  std::lock_guard<std::mutex> lock(b.mutex);
  int peak = b.peak;
  b.peak = b.inUse;
  return peak;
}

Isa cpuIsa() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return Isa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))
    return Isa::Avx2;
#endif
  return Isa::Baseline;
}

const char* isaName(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "baseline";
  }
}

}  // namespace runtime
}  // namespace fastloss
