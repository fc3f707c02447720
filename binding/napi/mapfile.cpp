// Read-only file mappings for the file readers (src/io/npy.ts): mapFile(fd, offset, length[, window])
// returns [an ArrayBuffer over the mapped pages, the offset's byte skew in it]; given the buffer of an earlier
// call, it maps the new bytes into the same address range (one ArrayBuffer per pass: a fresh external buffer
// per window made V8 run a full GC every few hundred MB). unmapFile(buffer) detaches it and drops the file's
// pages; the range is unmapped when the backing store is released. mapCheck(buffer, fd) says whether a read hit
// pages the file no longer backs, else the file's size. Nothing loss-specific. Linux only: elsewhere mapFile returns
// null and the readers use pread.
//
// A file truncated while mapped makes a read of its lost pages raise SIGBUS. Our handler (installed with the
// first mapping, chained to the previous one for addresses not ours) maps anonymous zero pages from the faulting
// page to the mapping's end, marks the mapping faulted and returns: the read sees zeros, the reader checks
// mapCheck (the flag, else the file's size) after each chunk and reports the truncation.
#include <napi.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#if defined(__linux__)
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace fastloss {

namespace {

bool argInt(const Napi::CallbackInfo& info, size_t i, const char* name, double lo, double hi, double* out) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsNumber()) {
    Napi::TypeError::New(env, std::string("mapFile: ") + name + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= lo && v <= hi) || v != static_cast<double>(static_cast<int64_t>(v))) {
    Napi::RangeError::New(env, std::string("mapFile: ") + name + " must be an integer in [" +
                                   std::to_string(static_cast<int64_t>(lo)) + ", " +
                                   std::to_string(static_cast<int64_t>(hi)) + "]")
        .ThrowAsJavaScriptException();
    return false;
  }
  *out = v;
  return true;
}

#if defined(__linux__)

// Live mappings, read by the signal handler without locks. A registration claims a slot (busy), writes
// base and len, then makes state odd (live); state counts up, so the handler accepts a slot only if its
// state is odd and unchanged around its reads of base and len.
struct Slot {
  std::atomic<uint64_t> state{0};
  std::atomic<uintptr_t> base{0};
  std::atomic<size_t> len{0};
  std::atomic<uint32_t> faulted{0};
  std::atomic<uint32_t> busy{0};  // claimed by a registration in progress
};
constexpr int kSlots = 256;
Slot gSlots[kSlots];
size_t gPage = 4096;
struct sigaction gPrevious;
std::atomic<int> gInstalled{0};  // 0 no, 1 installing, 2 yes, 3 failed

void onSigbus(int sig, siginfo_t* si, void* uc) {
  const int savedErrno = errno;            // mmap may set it under the interrupted code
  if (si != nullptr && si->si_code > 0) {  // a fault, not kill()
    const uintptr_t a = reinterpret_cast<uintptr_t>(si->si_addr);
    for (Slot& s : gSlots) {
      const uint64_t st = s.state.load(std::memory_order_acquire);
      if ((st & 1) == 0) continue;
      const uintptr_t base = s.base.load(std::memory_order_relaxed);
      const size_t len = s.len.load(std::memory_order_relaxed);
      if (s.state.load(std::memory_order_acquire) != st || a < base || a - base >= len) continue;
      const uintptr_t page = a & ~(static_cast<uintptr_t>(gPage) - 1);
      // Zero pages from here to the end: one signal per truncation, not one per page.
      void* r = mmap(reinterpret_cast<void*>(page), base + len - page, PROT_READ,
                     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (r != MAP_FAILED) {
        s.faulted.store(1, std::memory_order_release);
        errno = savedErrno;
        return;
      }
      break;
    }
  }
  // Not ours: the previous disposition.
  if ((gPrevious.sa_flags & SA_SIGINFO) && gPrevious.sa_sigaction != nullptr) {
    gPrevious.sa_sigaction(sig, si, uc);
  } else if (gPrevious.sa_handler == SIG_IGN) {
    return;
  } else if (gPrevious.sa_handler != SIG_DFL && gPrevious.sa_handler != nullptr) {
    gPrevious.sa_handler(sig);
  } else {
    // Default action: restore it and raise again (delivered when the handler returns, as without us).
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    raise(sig);
  }
}

bool installHandler() {
  int s = gInstalled.load(std::memory_order_acquire);
  if (s == 2) return true;
  if (s == 3) return false;
  int expected = 0;
  if (gInstalled.compare_exchange_strong(expected, 1)) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0) gPage = static_cast<size_t>(ps);
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = onSigbus;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    const bool ok = sigaction(SIGBUS, &sa, &gPrevious) == 0;
    gInstalled.store(ok ? 2 : 3, std::memory_order_release);
    return ok;
  }
  while ((s = gInstalled.load(std::memory_order_acquire)) == 1) {}
  return s == 2;
}

// 1 + the highest slot ever registered: what inMappedFile scans (usually a few slots, 0 without files).
std::atomic<int> gSlotsSeen{0};

int registerMapping(uintptr_t base, size_t len) {
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = gSlots[i];
    uint32_t idle = 0;
    if (!s.busy.compare_exchange_strong(idle, 1, std::memory_order_acquire)) continue;
    s.base.store(base, std::memory_order_relaxed);
    s.len.store(len, std::memory_order_relaxed);
    s.faulted.store(0, std::memory_order_relaxed);
    s.state.fetch_add(1, std::memory_order_release);  // even -> odd: live
    for (int seen = gSlotsSeen.load(std::memory_order_relaxed);
         seen <= i && !gSlotsSeen.compare_exchange_weak(seen, i + 1, std::memory_order_release);) {}
    return i;
  }
  return -1;
}

void unregisterMapping(int i) {
  Slot& s = gSlots[i];
  s.state.fetch_add(1, std::memory_order_release);  // odd -> even: free
  s.busy.store(0, std::memory_order_release);
}

int findMapping(const void* data) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(data);
  if (a == 0) return -1;
  for (int i = 0; i < kSlots; ++i) {
    const Slot& s = gSlots[i];
    if ((s.state.load(std::memory_order_acquire) & 1) && s.base.load(std::memory_order_relaxed) == a) return i;
  }
  return -1;
}

struct Mapping {
  int slot;
  void* base;
  size_t len;
};

void finalizeMapping(Napi::Env, void*, Mapping* m) {
  unregisterMapping(m->slot);
  munmap(m->base, m->len);
  delete m;
}

// Windows start at file offsets aligned to 2 MiB, at addresses aligned the same way, so the kernel can map
// the page cache's large folios with one PMD entry each (few faults).
constexpr uint64_t kAlign = 2u << 20;

bool zeroPages(void* at, size_t len) {
  return mmap(at, len, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED;
}

// Maps file bytes from `aligned` into the window [base, base + len): file pages for `fileLen` bytes,
// zero pages after them. The range stays mapped throughout (MAP_FIXED replaces atomically).
bool mapInto(void* base, size_t len, int fd, uint64_t aligned, size_t fileLen) {
  const size_t n = (fileLen + gPage - 1) & ~(gPage - 1);
  if (mmap(base, n, PROT_READ, MAP_FIXED | MAP_SHARED, fd, static_cast<off_t>(aligned)) == MAP_FAILED) {
    zeroPages(base, len);
    return false;
  }
  return n >= len || zeroPages(static_cast<char*>(base) + n, len - n);
}

// mapFile(fd, offset, length[, window]) -> [ArrayBuffer, skew] | null: file bytes [offset, offset + length)
// at byte skew of the buffer. With `window` (a buffer of an earlier mapFile, attached and large enough), the
// bytes replace that window's in place and it is returned: views of it then see the new bytes. null: not
// mappable here (the caller reads instead).
Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double fd, offset, length;
  if (!argInt(info, 0, "fd", 0, 2147483647.0, &fd) || !argInt(info, 1, "offset", 0, 9007199254740991.0, &offset) ||
      !argInt(info, 2, "length", 1, 9007199254740991.0, &length))
    return env.Undefined();
  if (offset + length > 9007199254740991.0 || length > static_cast<double>(SIZE_MAX / 4)) {
    Napi::RangeError::New(env, "mapFile: offset + length is too large").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!installHandler()) return env.Null();
  const uint64_t off = static_cast<uint64_t>(offset);
  const uint64_t aligned = off & ~(kAlign - 1);
  const size_t skew = static_cast<size_t>(off - aligned);
  const size_t fileLen = static_cast<size_t>(length) + skew;
  const bool reuse = info.Length() > 3 && !info[3].IsUndefined();
  if (reuse) {
    if (!info[3].IsArrayBuffer()) {
      Napi::TypeError::New(env, "mapFile: window must be an ArrayBuffer from mapFile").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::ArrayBuffer ab = info[3].As<Napi::ArrayBuffer>();
    if (ab.IsDetached()) return env.Null();
    const int i = findMapping(ab.Data());
    if (i < 0) {
      Napi::TypeError::New(env, "mapFile: window must be an ArrayBuffer from mapFile").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (fileLen > ab.ByteLength()) {
      Napi::RangeError::New(env, "mapFile: length does not fit the window").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    gSlots[i].faulted.store(0, std::memory_order_release);
    if (!mapInto(ab.Data(), ab.ByteLength(), static_cast<int>(fd), aligned, fileLen)) return env.Null();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, ab);
    out.Set(1u, Napi::Number::New(env, static_cast<double>(skew)));
    return out;
  }
  // A new window: room for the length at any skew, at a 2 MiB-aligned address (reserve more, trim).
  const size_t len = ((static_cast<size_t>(length) + gPage - 1) & ~(gPage - 1)) + kAlign;
  void* raw = mmap(nullptr, len + kAlign, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return env.Null();
  const uintptr_t r = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t b = (r + kAlign - 1) & ~static_cast<uintptr_t>(kAlign - 1);
  if (b > r) munmap(raw, b - r);
  if (r + len + kAlign > b + len) munmap(reinterpret_cast<void*>(b + len), r + len + kAlign - (b + len));
  void* p = reinterpret_cast<void*>(b);
  if (!mapInto(p, len, static_cast<int>(fd), aligned, fileLen)) {
    munmap(p, len);
    return env.Null();
  }
  const int slot = registerMapping(b, len);
  if (slot < 0) {
    munmap(p, len);
    return env.Null();
  }
  auto* m = new Mapping{slot, p, len};
  Napi::ArrayBuffer ab;
  try {
    ab = Napi::ArrayBuffer::New(env, p, len, finalizeMapping, m);
  } catch (...) {
    finalizeMapping(env, nullptr, m);
    throw;
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, ab);
  out.Set(1u, Napi::Number::New(env, static_cast<double>(skew)));
  return out;
}

int mappingOf(const Napi::CallbackInfo& info, const char* fn, bool* detached) {
  *detached = false;
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    Napi::TypeError::New(info.Env(), std::string(fn) + ": buffer must be an ArrayBuffer from mapFile")
        .ThrowAsJavaScriptException();
    return -1;
  }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  if (ab.IsDetached()) {
    *detached = true;
    return -1;
  }
  const int i = findMapping(ab.Data());
  if (i < 0)
    Napi::TypeError::New(info.Env(), std::string(fn) + ": buffer must be an ArrayBuffer from mapFile")
        .ThrowAsJavaScriptException();
  return i;
}

// unmapFile(buffer[, keep]) -> whether it was still attached. Replaces its pages with zero pages, so the
// file's pages are released now, and detaches it (its views become empty; the address range goes with the
// finalizer) unless keep: then it stays a window for a later mapFile (the readers' pool: a new external
// buffer per pass made V8 collect garbage every pass), its views reading zeros until then.
Napi::Value UnmapFile(const Napi::CallbackInfo& info) {
  bool detached;
  const int i = mappingOf(info, "unmapFile", &detached);
  if (i < 0) return detached ? Napi::Boolean::New(info.Env(), false) : info.Env().Undefined();
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsBoolean()) {
    Napi::TypeError::New(info.Env(), "unmapFile: keep must be a boolean").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  const bool keep = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  void* base = ab.Data();
  const size_t len = ab.ByteLength();
  if (!keep) ab.Detach();
  zeroPages(base, len);
  gSlots[i].faulted.store(0, std::memory_order_release);
  return Napi::Boolean::New(info.Env(), true);
}

// mapCheck(buffer, fd) -> -1 if a read of the buffer's current window hit pages the file no longer backs
// (they read as zeros), else fd's file size in bytes (-2: unknown; ask fs.fstat). One call per chunk: cheaper
// than fs.fstatSync.
Napi::Value MapCheck(const Napi::CallbackInfo& info) {
  bool detached;
  const int i = mappingOf(info, "mapCheck", &detached);
  if (i < 0) {
    if (detached)
      Napi::TypeError::New(info.Env(), "mapCheck: buffer is detached (ask before unmapFile)")
          .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  if (gSlots[i].faulted.load(std::memory_order_acquire) != 0) return Napi::Number::New(info.Env(), -1);
  if (info.Length() < 2 || !info[1].IsNumber()) {
    Napi::TypeError::New(info.Env(), "mapCheck: fd must be a number").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  const double fd = info[1].As<Napi::Number>().DoubleValue();
  if (!(fd >= 0 && fd <= 2147483647.0) || fd != static_cast<double>(static_cast<int>(fd))) {
    Napi::RangeError::New(info.Env(), "mapCheck: fd must be an integer in [0, 2147483647]")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
#if defined(SYS_statx) && defined(STATX_SIZE)
  // statx through syscall(): no glibc symbol newer than the prebuilds' floor (fstat is GLIBC_2.33).
  struct statx st;
  if (syscall(SYS_statx, static_cast<int>(fd), "", AT_EMPTY_PATH, STATX_SIZE, &st) == 0 && (st.stx_mask & STATX_SIZE))
    return Napi::Number::New(info.Env(), static_cast<double>(st.stx_size));
#endif
  return Napi::Number::New(info.Env(), -2);
}

// mappedCount() -> live mappings (tests: none left after a pass).
Napi::Value MappedCount(const Napi::CallbackInfo& info) {
  int n = 0;
  for (const Slot& s : gSlots) n += (s.state.load(std::memory_order_acquire) & 1) ? 1 : 0;
  return Napi::Number::New(info.Env(), n);
}

#else

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  double v;
  if (!argInt(info, 0, "fd", 0, 2147483647.0, &v) || !argInt(info, 1, "offset", 0, 9007199254740991.0, &v) ||
      !argInt(info, 2, "length", 1, 9007199254740991.0, &v))
    return info.Env().Undefined();
  return info.Env().Null();
}
Napi::Value UnmapFile(const Napi::CallbackInfo& info) {
  Napi::TypeError::New(info.Env(), "unmapFile: buffer must be an ArrayBuffer from mapFile")
      .ThrowAsJavaScriptException();
  return info.Env().Undefined();
}
Napi::Value MapCheck(const Napi::CallbackInfo& info) {
  Napi::TypeError::New(info.Env(), "mapCheck: buffer must be an ArrayBuffer from mapFile").ThrowAsJavaScriptException();
  return info.Env().Undefined();
}
Napi::Value MappedCount(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), 0); }

#endif

}  // namespace

bool inMappedFile(const void* data, size_t bytes) {
#if defined(__linux__)
  const uintptr_t a = reinterpret_cast<uintptr_t>(data);
  const int seen = gSlotsSeen.load(std::memory_order_acquire);
  if (a == 0 || bytes == 0) return false;
  for (int i = 0; i < seen; ++i) {
    const Slot& s = gSlots[i];
    if (!(s.state.load(std::memory_order_acquire) & 1)) continue;
    const uintptr_t base = s.base.load(std::memory_order_relaxed);
    if (a < base + s.len.load(std::memory_order_relaxed) && base < a + bytes) return true;
  }
#else
  (void)data;
  (void)bytes;
#endif
  return false;
}

void registerMapFile(Napi::Env env, Napi::Object exports) {
  exports.Set("mapFile", Napi::Function::New(env, MapFile, "mapFile"));
  exports.Set("unmapFile", Napi::Function::New(env, UnmapFile, "unmapFile"));
  exports.Set("mapCheck", Napi::Function::New(env, MapCheck, "mapCheck"));
  exports.Set("mappedCount", Napi::Function::New(env, MappedCount, "mappedCount"));
}

}  // namespace fastloss
