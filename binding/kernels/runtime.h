// Thread budget and CPU level, shared by every ISA build of the kernels (compiled once, baseline flags).
#pragma once
#include <cstdint>

#include "isa_levels.h"

namespace fastloss {
namespace runtime {

using fastloss::Isa;

int numThreads();
// Accepts 1..maxThreads(); returns false (and changes nothing) otherwise.
bool setNumThreads(int n);
// The most threads one call may use: 4 x the CPUs this process may run on (sched_getaffinity,
// else std::thread::hardware_concurrency).
int maxThreads();
// Why the FASTLOSS_NUM_THREADS value (or the OpenMP default) was not taken as given, or null.
const char* threadsWarning();
const char* openmpRuntime();

// Threads granted to one parallel region: at most numThreads(), shared between all
// concurrent calls so that N calls on k cores keep about k threads busy.
class ThreadLease {
 public:
  // work: elements times relative cost; below the grain one thread, no OpenMP region.
  explicit ThreadLease(int64_t work);
  ~ThreadLease();
  ThreadLease(const ThreadLease&) = delete;
  ThreadLease& operator=(const ThreadLease&) = delete;
  int threads() const { return threads_; }

 private:
  int threads_;
  int extra_;
};

// Work (elements x cost) below which a call runs on its calling thread alone.
constexpr int64_t kGrainWork = 1 << 15;

// Pool workers (async calls) wait for a free core instead of oversubscribing.
void setMayWait(bool mayWait);

// Most threads leased at once since the previous call (resets the mark).
int takePeakThreads();

Isa cpuIsa();         // best level this CPU (and OS) supports
const char* isaName(Isa isa);

}  // namespace runtime
}  // namespace fastloss
