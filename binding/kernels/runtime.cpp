// Thread budget, the helper pool that runs parallel regions, and CPU level detection (built
// once, baseline flags).
#include "runtime.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>
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

// Never destroyed: a call still running on a libuv thread at exit must find it intact.
Budget& budget() {
  static Budget* b = new Budget;
  return *b;
}

// The calling thread's next calls (setCall): one thread-local record, one TLS access per call.
struct CallSettings {
  int threads = 0;
  bool mayWait = false;
  const OutputBytes* outputs = nullptr;  // not yet faulted in
  int outputCount = 0;
};
thread_local CallSettings tlsCall;

// ---- The helper pool ----
// A region lives in one of kSlots slots (more concurrent regions than that run serially). Its
// claim word holds (ticket << 32 | next chunk); a claim is a compare-and-swap that succeeds only
// for the region's own ticket, so a helper woken for a region that has already ended claims
// nothing and touches nothing of the caller's. A claimed chunk keeps its region (and the caller's
// task and ctx) alive: the caller returns only once `finished` reaches the region's chunk count.
// That count is read from `bound`, (ticket << 32 | chunks), never alone: a helper late for a
// region that has just ended could otherwise read the next region's larger count while the claim
// word still holds the old ticket, claim the old region's one-past-the-end chunk, run it with the
// next region's task, and count it into the next region's `finished` (which then passed its count:
// its caller waited forever; seen once in bench --busy --hogs 0, AMD EPYC).
constexpr int kSlots = 64;
constexpr int64_t kMaxRegionChunks = int64_t{1} << 31;  // the claim word's chunk field

struct Slot {
  std::atomic<uint64_t> claim{0};
  std::atomic<uint64_t> bound{0};
  std::atomic<int64_t> finished{0};
  std::atomic<bool> busy{false};
  ChunkTask task = nullptr;  // written before the ticket is published, read after a claim
  void* ctx = nullptr;
  uint32_t ticket = 0;             // the owner's only
  std::atomic<int> callerCpu{-1};  // where the region's caller started it (-1: unknown)
  std::mutex doneMutex;
  std::condition_variable done;
};

struct WakeRequest {
  int slot;
  uint32_t ticket;
};

struct Pool {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<WakeRequest> requests;
  int started = 0;   // helper threads
  int idle = 0;      // of them, waiting for a request
  int spinning = 0;  // of those, polling `pending` (they need no wake-up)
  // requests is not empty (written under mutex): what an idle helper polls before it sleeps.
  std::atomic<bool> pending{false};
  Slot slots[kSlots];
};

Pool* newPool();

// Never destroyed: helpers block on it until the process ends (the addon is never unloaded,
// -z nodelete), whichever thread or worker started them.
Pool& pool() {
  static Pool* p = newPool();
  return *p;
}

#if defined(__linux__)
// fork() copies no helper thread: the child starts its own pool. Regions the parent had running
// keep their slots busy in the child (its calls use the other slots, or run serially).
void lockForFork() {
  budget().mutex.lock();
  pool().mutex.lock();
}
void unlockAfterFork() {
  pool().mutex.unlock();
  budget().mutex.unlock();
}
void resetInChild() {
  Pool& p = pool();
  p.requests.clear();
  p.pending.store(false, std::memory_order_relaxed);
  p.started = 0;
  p.idle = 0;
  p.spinning = 0;
  for (Slot& s : p.slots) {  // a parent thread may have held one of these at the fork
    if (s.busy.load()) continue;
    new (&s.doneMutex) std::mutex;
    new (&s.done) std::condition_variable;
  }
  budget().inUse = 0;
  unlockAfterFork();
}
#endif

Pool* newPool() {
  auto* p = new Pool;
#if defined(__linux__)
  budget();  // built before the handlers can lock it
  pthread_atfork(lockForFork, unlockAfterFork, resetInChild);
#endif
  return p;
}

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls done() for up to kSpin; true once it holds.
constexpr auto kSpin = std::chrono::microseconds(50);
template <class Done>
bool spinUntil(const Done& done) {
  const auto end = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int k = 0; k < 64; ++k) {
      if (done()) return true;
      cpuRelax();
    }
    if (std::chrono::steady_clock::now() > end) return done();
  }
}

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The CPU the calling thread runs on, -1 where unknown.
int currentCpu() {
#if defined(__linux__)
  return sched_getcpu();
#else
  return -1;
#endif
}

// Claims and runs chunks of the slot's region `ticket` until none is left; returns how many it ran.
// With `fastestNs`, the fastest of its first few chunks (timing every chunk would cost ~5 % on the
// cheapest losses).
constexpr int64_t kTimedChunks = 4;
int64_t workOn(Slot& s, uint32_t ticket, int64_t* fastestNs = nullptr) {
  for (int64_t ran = 0;; ++ran) {
    uint64_t word = s.claim.load(std::memory_order_acquire);
    int64_t chunk;
    int64_t chunks;
    for (;;) {
      if (static_cast<uint32_t>(word >> 32) != ticket) return ran;
      const uint64_t bound = s.bound.load(std::memory_order_acquire);
      if (static_cast<uint32_t>(bound >> 32) != ticket) return ran;  // a later region's count
      chunks = static_cast<int64_t>(bound & 0xffffffffu);
      chunk = static_cast<int64_t>(word & 0xffffffffu);
      if (chunk >= chunks) return ran;
      if (s.claim.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    if (fastestNs && ran < kTimedChunks) {
      const int64_t t0 = nowNs();
      s.task(s.ctx, chunk);
      const int64_t dt = nowNs() - t0;
      if (ran == 0 || dt < *fastestNs) *fastestNs = dt;
    } else {
      s.task(s.ctx, chunk);
    }
    if (s.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == chunks) {
      { std::lock_guard<std::mutex> lock(s.doneMutex); }  // the owner is either not waiting yet or woken
      s.done.notify_all();
    }
  }
}

std::atomic<int64_t> gHelperChunks{0};

void helperMain() {
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.mutex);
  bool mayPoll = true;
  for (;;) {
    ++p.idle;
    // Poll for the next request for kSpin before sleeping: back-to-back calls find their helper
    // awake (a sleeping one takes a futex wake and, on a VM, an idle vCPU's wake-up: tens of us
    // of a 10^5-element region), as OpenMP's spinning threads do. Not on the CPU of the last
    // region's caller (a busy machine put both there): polling would keep the caller from its
    // next call for the whole kSpin (20 us regions took 40-60 us, AMD EPYC VM).
    if (p.requests.empty() && mayPoll) {
      ++p.spinning;
      lock.unlock();
      spinUntil([&] { return p.pending.load(std::memory_order_acquire); });
      lock.lock();
      --p.spinning;
    }
    p.wake.wait(lock, [&] { return !p.requests.empty(); });
    --p.idle;
    const WakeRequest r = p.requests.front();
    p.requests.pop_front();
    p.pending.store(!p.requests.empty(), std::memory_order_release);
    lock.unlock();
    Slot& s = p.slots[r.slot];
    gHelperChunks.fetch_add(workOn(s, r.ticket), std::memory_order_relaxed);
    const int callerCpu = s.callerCpu.load(std::memory_order_relaxed);
    mayPoll = callerCpu < 0 || callerCpu != currentCpu();
    lock.lock();
  }
}

// Asks `count` helpers to join the slot's region, starting helpers while fewer are idle than asked
// (at most maxThreads() - 1 in all). A helper that cannot be started only means fewer threads, and
// so does a pool lock held elsewhere (by a helper the OS may have just descheduled): the caller
// never waits for it. Returns whether it started a helper thread.
bool wakeHelpers(int slot, uint32_t ticket, int count) {
  Pool& p = pool();
  bool startedOne = false;
  int toWake = 0;
  {
    std::unique_lock<std::mutex> lock(p.mutex, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    for (int k = 0; k < count; ++k) p.requests.push_back({slot, ticket});
    p.pending.store(true, std::memory_order_release);
    // Polling helpers take requests without a wake-up; the others sleep on `wake`. A notify with
    // a sleeper costs the caller a futex wake (4-7 us before its own first chunk, AMD EPYC VM).
    toWake = std::min(count, static_cast<int>(p.requests.size()) - p.spinning);
    int missing = static_cast<int>(p.requests.size()) - p.idle;
    for (; missing > 0 && p.started < maxThreads() - 1; --missing) {
      try {
        std::thread(helperMain).detach();
      } catch (const std::system_error&) { break; }
      ++p.started;
      startedOne = true;
    }
  }
  if (toWake == 1) p.wake.notify_one();
  else if (toWake > 1) p.wake.notify_all();
  return startedOne;
}

// Drops the requests of a finished region no helper has taken yet (when the lock is free: a
// request left behind only wakes a helper that finds its region over).
void withdrawRequests(int slot, uint32_t ticket) {
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.mutex, std::try_to_lock);
  if (!lock.owns_lock()) return;
  auto& q = p.requests;
  q.erase(
      std::remove_if(q.begin(), q.end(), [&](const WakeRequest& r) { return r.slot == slot && r.ticket == ticket; }),
      q.end());
  p.pending.store(!q.empty(), std::memory_order_release);
}

// ---- Contention backoff ----
// Threads stay on while they save time. Each threaded region credits a bank with what it saved, E - D:
// E = chunks x the caller's fastest chunk (the region on one thread), D = the region's duration; the bank
// forgets at the rate of threaded time, a factor 1 - D / kBankTau per region (it remembers ~10 ms of
// regions). A helper descheduled in the middle of a chunk (another process on its core: one time slice,
// 1-5 ms) makes D far exceed E; when the bank goes below zero, regions run on the caller alone for a
// backoff period, then threads are tried again with the bank at kCredit. A fall below zero within kRecurNs
// or 4 backoffs of the previous one (the machine is still busy) doubles the period, up to kMaxBackoff; one
// after a long quiet time starts again from kMinBackoff. On a machine that stays busy, one credit's worth of
// regions per kMaxBackoff runs threaded. (Two processes sharing the cores in turn, each threaded while the
// other backs off, fall tens of ms apart after long backoffs: the 4-backoff window keeps them escalated.)
// Why a bank, not a count of slow regions: a quiet VM has slow regions of its own (the host takes a vCPU
// away; AMD EPYC VM, back-to-back 10^6-element logCosh: 30 a second, 1 % of regions, most 0.2-0.5 ms,
// some 1-4 ms). Each counted as a stall, they doubled the backoff to 2 s within a second and held it there:
// a process calling continuously ran at its 1-thread rate (590 us against 340 us a call).
constexpr int64_t kMinBackoffNs = 2'000'000;      // 2 ms
constexpr int64_t kMaxBackoffNs = 2'000'000'000;  // 2 s
constexpr int64_t kRecurNs = 80'000'000;          // 80 ms
constexpr int64_t kBankTauNs = 10'000'000;        // 10 ms of threaded regions
constexpr int64_t kCreditNs = 1'000'000;          // 1 ms
std::atomic<int64_t> gSerialUntilNs{0};
std::atomic<int64_t> gBackoffNs{0};
std::atomic<int64_t> gBankNs{kCreditNs};
std::atomic<int64_t> gLastBackoffNs{0};
std::atomic<int64_t> gStalls{0};
std::atomic<bool> gBackoffEnabled{true};

bool inBackoff() {
  if (!gBackoffEnabled.load(std::memory_order_relaxed)) return false;
  const int64_t until = gSerialUntilNs.load(std::memory_order_relaxed);
  return until != 0 && nowNs() < until;
}

void startBackoff(int64_t endNs) {
  int64_t backoff = gBackoffNs.load(std::memory_order_relaxed);
  const int64_t sinceLast = endNs - gLastBackoffNs.load(std::memory_order_relaxed);
  const bool recurring = backoff > 0 && sinceLast < std::max(kRecurNs, 4 * backoff);
  backoff = recurring ? std::min(kMaxBackoffNs, 2 * backoff) : kMinBackoffNs;
  gBackoffNs.store(backoff, std::memory_order_relaxed);
  gLastBackoffNs.store(endNs, std::memory_order_relaxed);
  gSerialUntilNs.store(endNs + backoff, std::memory_order_relaxed);
  gBankNs.store(kCreditNs, std::memory_order_relaxed);
  gStalls.fetch_add(1, std::memory_order_relaxed);
}

// One threaded region of duration d whose one-thread estimate is e (ns), ended at endNs.
void creditRegion(int64_t d, int64_t e, int64_t endNs) {
  const double keep = d >= kBankTauNs ? 0.0 : 1.0 - static_cast<double>(d) / static_cast<double>(kBankTauNs);
  int64_t bank = gBankNs.load(std::memory_order_relaxed);
  int64_t next;
  do {
    next = static_cast<int64_t>(static_cast<double>(bank) * keep) + (e - d);
  } while (!gBankNs.compare_exchange_weak(bank, next, std::memory_order_relaxed));
  if (next < 0) startBackoff(endNs);
}

// Faults in the pages of an output of at least kFaultInBytes whose middle page is not yet in
// memory (runtime.h: setCall).
void faultInNewPages(void* data, int64_t bytes) {
#if defined(__linux__)
  if (bytes < kFaultInBytes) return;
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t end = begin + static_cast<uintptr_t>(bytes);
  unsigned char resident = 0;
  const uintptr_t middle = (begin + static_cast<uintptr_t>(bytes) / 2) & ~(page - 1);
  if (mincore(reinterpret_cast<void*>(middle), page, &resident) != 0 || (resident & 1)) return;
  // Float32 outputs: every address touched is 4-byte aligned and inside [begin, end).
  for (uintptr_t at = begin; at + sizeof(uint32_t) <= end; at = (at | (page - 1)) + 1)
    __atomic_fetch_or(reinterpret_cast<uint32_t*>(at), 0u, __ATOMIC_RELAXED);
#else
  (void)data;
  (void)bytes;
#endif
}

// One region of at most kMaxRegionChunks chunks, starting at chunk `first` of the caller's task.
struct Window {
  ChunkTask task;
  void* ctx;
  int64_t first;
};

void windowTask(void* w, int64_t chunk) {
  auto* win = static_cast<Window*>(w);
  win->task(win->ctx, win->first + chunk);
}

void runRegion(int64_t chunks, int threads, ChunkTask task, void* ctx) {
  Pool& p = pool();
  int slot = 0;
  while (slot < kSlots && p.slots[slot].busy.exchange(true, std::memory_order_acquire)) ++slot;
  if (slot == kSlots) {  // every slot in use: this region runs on the caller alone
    for (int64_t c = 0; c < chunks; ++c) task(ctx, c);
    return;
  }
  Slot& s = p.slots[slot];
  s.task = task;
  s.ctx = ctx;
  s.finished.store(0, std::memory_order_relaxed);
  const uint32_t ticket = ++s.ticket == 0 ? ++s.ticket : s.ticket;  // 0 never names a region
  s.bound.store(static_cast<uint64_t>(ticket) << 32 | static_cast<uint64_t>(chunks), std::memory_order_release);
  s.callerCpu.store(currentCpu(), std::memory_order_relaxed);
  s.claim.store(static_cast<uint64_t>(ticket) << 32, std::memory_order_release);
  for (CallSettings& call = tlsCall; call.outputCount > 0; --call.outputCount, ++call.outputs)
    faultInNewPages(call.outputs->data, call.outputs->bytes);
  const int64_t startNs = nowNs();
  const bool startedThread = wakeHelpers(slot, ticket, static_cast<int>(std::min<int64_t>(threads - 1, chunks - 1)));
  int64_t fastestNs = 0;
  const int64_t ran = workOn(s, ticket, &fastestNs);
  // Every chunk is claimed now: wait for those still running elsewhere. Spin briefly (a chunk
  // takes microseconds), then sleep until the last one is done. Never sched_yield: on a busy
  // machine that hands this core to another process for a whole time slice.
  if (!spinUntil([&] { return s.finished.load(std::memory_order_acquire) == chunks; })) {
    std::unique_lock<std::mutex> lock(s.doneMutex);
    s.done.wait(lock, [&] { return s.finished.load(std::memory_order_acquire) == chunks; });
  }
  const int64_t endNs = nowNs();
  // Not when this region started a helper thread: creating it and its first wake-up can outlast a
  // 10^5-element region, and counting that put the first parallel call of a process into a backoff.
  if (ran > 0 && !startedThread) creditRegion(endNs - startNs, chunks * fastestNs, endNs);
  withdrawRequests(slot, ticket);
  s.busy.store(false, std::memory_order_release);
}

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

void setCall(int threads, bool mayWait, const OutputBytes* outputs, int outputCount) {
  tlsCall = CallSettings{threads, mayWait, outputs, outputCount};
}

void endCall() { tlsCall.outputCount = 0; }

void runChunks(int64_t chunks, int threads, ChunkTask task, void* ctx) {
  if (chunks <= 0) return;
  if (threads <= 1 || chunks == 1) {
    for (int64_t c = 0; c < chunks; ++c) task(ctx, c);
    return;
  }
  if (chunks <= kMaxRegionChunks) return runRegion(chunks, threads, task, ctx);
  for (int64_t first = 0; first < chunks; first += kMaxRegionChunks) {
    Window w{task, ctx, first};
    runRegion(std::min(kMaxRegionChunks, chunks - first), threads, windowTask, &w);
  }
}

void setContentionBackoff(bool enabled) {
  gBackoffEnabled.store(enabled, std::memory_order_relaxed);
  gSerialUntilNs.store(0, std::memory_order_relaxed);
  gBackoffNs.store(0, std::memory_order_relaxed);
  gBankNs.store(kCreditNs, std::memory_order_relaxed);
  gLastBackoffNs.store(0, std::memory_order_relaxed);
}

int64_t poolHelperChunks() { return gHelperChunks.load(std::memory_order_relaxed); }

int64_t poolStalls() { return gStalls.load(std::memory_order_relaxed); }

int poolThreads() {
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  return p.started;
}

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
  // The calling thread alone, no lease taken: small work, one thread asked, or a contention backoff.
  if (work < kGrainWork || tlsCall.threads == 1 || inBackoff()) return;
  int64_t wanted64 = (work + kGrainWork - 1) / kGrainWork;
  Budget& b = budget();
  std::unique_lock<std::mutex> lock(b.mutex);
  // b.total and tlsCall.threads are at most maxThreads() (setNumThreads, the default and the
  // call's parameter check all enforce it). A call asking for more than the default may use
  // that many cores of the budget.
  const int limit = std::min(std::max(b.total, tlsCall.threads), maxThreads());
  const int asked = tlsCall.threads > 0 ? tlsCall.threads : b.total;
  int wanted = static_cast<int>(std::min<int64_t>(wanted64, std::min(asked, maxThreads())));
  // Pool workers wait for a free core; the JS thread never blocks and runs on itself.
  if (tlsCall.mayWait) b.freed.wait(lock, [&] { return b.inUse < limit; });
  int granted = std::max(0, std::min(wanted, limit - b.inUse));
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
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return Isa::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
      __builtin_cpu_supports("bmi2"))
    return Isa::avx2;
#endif
  return Isa::baseline;
}

const char* isaName(Isa isa) { return kIsaNames[static_cast<int>(isa)]; }

}  // namespace runtime
}  // namespace fastloss
