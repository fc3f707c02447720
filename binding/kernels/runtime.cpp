// Thread budget, OpenMP settings and CPU level detection (built once, baseline flags).
#include "runtime.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#if defined(__linux__)
#include <sched.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastloss {
namespace runtime {
namespace {

// CPUs this process may run on: its affinity mask (taskset, cgroup cpusets), else the
// hardware's count, at least 1.
int availableCpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

// Why FASTLOSS_NUM_THREADS (or the OpenMP default) was not used as given; empty when it was.
std::string& warningText() {
  static std::string w;
  return w;
}

// The whole string a decimal integer (digits only), in [1, max]; anything else is rejected.
bool parseThreads(const char* s, int max, int* out) {
  if (!s || !*s) return false;
  long long v = 0;
  for (const char* c = s; *c; ++c) {
    if (*c < '0' || *c > '9') return false;
    v = v * 10 + (*c - '0');
    if (v > max) return false;  // also stops before any overflow
  }
  if (v < 1) return false;
  *out = static_cast<int>(v);
  return true;
}

int defaultThreads() {
  const int max = maxThreads();
  if (const char* env = std::getenv("FASTLOSS_NUM_THREADS")) {
    int n;
    if (parseThreads(env, max, &n)) return n;
    warningText() = std::string("fastloss: ignoring FASTLOSS_NUM_THREADS='") + std::string(env).substr(0, 40) +
                    "': it must be an integer from 1 to " + std::to_string(max) +
                    " (4 x the CPUs this process may use)";
  }
#ifdef _OPENMP
  int n = omp_get_max_threads();  // OMP_NUM_THREADS, else the CPUs of the affinity mask
#else
  int n = 1;
#endif
  if (n > max) {
    if (warningText().empty())
      warningText() = "fastloss: the OpenMP default of " + std::to_string(n) + " threads (OMP_NUM_THREADS) is above " +
                      std::to_string(max) + " (4 x the CPUs this process may use); using " + std::to_string(max);
    n = max;
  }
  return n < 1 ? 1 : n;
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

int maxThreads() {
  static const int max = 4 * availableCpus();
  return max;
}

const char* threadsWarning() {
  budget();  // the default (and its warning) is settled when the budget is first built
  return warningText().empty() ? nullptr : warningText().c_str();
}

int numThreads() {
  Budget& b = budget();
  std::lock_guard<std::mutex> lock(b.mutex);
  return b.total;
}

bool setNumThreads(int n) {
  if (n < 1 || n > maxThreads()) return false;
  Budget& b = budget();
  std::lock_guard<std::mutex> lock(b.mutex);
  b.total = n;
  b.freed.notify_all();
  return true;
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
  // b.total is at most maxThreads() (setNumThreads and the default both enforce it).
  int wanted = static_cast<int>(std::min<int64_t>(wanted64, std::min(b.total, maxThreads())));
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
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))
    return Isa::avx2;
#endif
  return Isa::baseline;
}

const char* isaName(Isa isa) { return kIsaNames[static_cast<int>(isa)]; }

}  // namespace runtime
}  // namespace fastloss
