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

// Threads granted to one parallel region: at most the call's thread count (setCall, else
// numThreads()), shared between all concurrent calls so that N calls on k cores keep about k
// threads busy.
class ThreadLease {
 public:
  // work: elements times relative cost; below the grain one thread, no parallel region.
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
// Waking a sleeping helper costs microseconds: below this (64k elements of a cheap loss, about
// 5 us on one AVX-512 thread) it costs more than it saves.
constexpr int64_t kGrainWork = 1 << 16;

// One parallel region: task(ctx, k) for every chunk k in [0, chunks), each exactly once, on the
// calling thread and up to threads - 1 helpers of a persistent pool. Chunks are claimed one at a
// time from a shared counter; the caller claims too, so a helper that starts late finds nothing
// left, and the caller waits only for chunks already claimed (in progress), never for a helper
// the OS has not scheduled yet. Returns once every chunk is done.
using ChunkTask = void (*)(void* ctx, int64_t chunk);
void runChunks(int64_t chunks, int threads, ChunkTask task, void* ctx);

// An output buffer of a call, in bytes.
struct OutputBytes {
  void* data;
  int64_t bytes;
};
constexpr int64_t kFaultInBytes = int64_t{1} << 18;

// The call this thread makes next: its thread count (the per-call `threads` option; 0:
// numThreads(); a call may take more than numThreads() this way, never more than maxThreads()),
// whether it waits for a free core instead of oversubscribing (pool workers: async calls), and
// its outputs (kept alive by the caller until endCall()). The call's first region that wakes
// helpers first faults in, on the calling thread, the pages of each output of at least
// kFaultInBytes that is new (its middle page not yet in memory, as after a fresh allocation):
// an atomic OR with 0 per page, which keeps the content. Why: first-touch faults taken by two
// threads at once cost 3-4x the same faults on one (AMD EPYC VM, 4 MiB), so a parallel region
// writing a new 10^6-element 'none' output ran slower than one thread. Calls on one thread take
// their faults as they write, as before.
void setCall(int threads, bool mayWait, const OutputBytes* outputs = nullptr, int outputCount = 0);
// The call's end: its outputs are forgotten.
void endCall();

// Pool helper threads started so far (they are started on demand and never stop).
int poolThreads();
// Regions so far whose caller waited for a descheduled helper; each starts a backoff during which
// calls run on their calling thread alone (a busy machine).
int64_t poolStalls();
// Testing hook: with false, stalls start no backoff (every region above the grain uses threads).
void setContentionBackoff(bool enabled);
// Chunks run by pool helpers so far (the rest ran on their calling threads).
int64_t poolHelperChunks();

// Most threads leased at once since the previous call (resets the mark).
int takePeakThreads();

Isa cpuIsa();  // best level this CPU (and OS) supports
const char* isaName(Isa isa);

}  // namespace runtime
}  // namespace fastloss
