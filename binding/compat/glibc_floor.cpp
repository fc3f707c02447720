// Portable prebuilds only (FASTLOSS_PORTABLE): keeps every glibc symbol the addon imports at
// GLIBC_2.28 or older, though it is built against a newer glibc. The static libstdc++, libgcc
// and libgomp linked into the addon call these names; the definitions here are hidden, so they
// bind to them at link time instead of the newest glibc versions. Check:
//   objdump -T fastloss.node | grep -o 'GLIBC_[0-9.]*' | sort -uV
#include <dlfcn.h>  // struct dl_find_object (glibc >= 2.35 headers)
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FL_OLD "GLIBC_2.2.5"
#define FL_OLD_AFFINITY "GLIBC_2.3.4"
#define FL_JUMP(t) "jmp " t "@PLT"
#elif defined(__aarch64__)
#define FL_OLD "GLIBC_2.17"
#define FL_OLD_AFFINITY "GLIBC_2.17"
#define FL_JUMP(t) "b " t
#else
#error "glibc_floor.cpp: add the base symbol versions of this architecture"
#endif

// A hidden trampoline `name` that tail-jumps to name@ver (arguments and result untouched).
// clang-format off
#define FL_REDIRECT(name, ver)                                                          \
  __asm__(".text\n.globl " #name "\n.hidden " #name "\n.type " #name ", %function\n"  \
          #name ":\n\t" FL_JUMP("fl_old_" #name) "\n.size " #name ", .-" #name "\n"  \
          ".symver fl_old_" #name ", " #name "@" ver "\n");
// clang-format on

// Moved from libpthread/libdl into libc in 2.34 (new versions there), math in 2.29.
FL_REDIRECT(pthread_create, FL_OLD)
FL_REDIRECT(pthread_join, FL_OLD)
FL_REDIRECT(pthread_detach, FL_OLD)
FL_REDIRECT(pthread_once, FL_OLD)
FL_REDIRECT(pthread_mutex_trylock, FL_OLD)
FL_REDIRECT(pthread_key_create, FL_OLD)
FL_REDIRECT(__pthread_key_create, FL_OLD)
FL_REDIRECT(pthread_key_delete, FL_OLD)
FL_REDIRECT(pthread_getspecific, FL_OLD)
FL_REDIRECT(pthread_setspecific, FL_OLD)
FL_REDIRECT(pthread_attr_getstacksize, FL_OLD)
FL_REDIRECT(pthread_attr_setstacksize, FL_OLD)
FL_REDIRECT(pthread_setaffinity_np, FL_OLD_AFFINITY)
FL_REDIRECT(pthread_getaffinity_np, FL_OLD_AFFINITY)
FL_REDIRECT(pthread_attr_setaffinity_np, FL_OLD_AFFINITY)
FL_REDIRECT(dlopen, FL_OLD)
FL_REDIRECT(dlsym, FL_OLD)
FL_REDIRECT(dlerror, FL_OLD)
FL_REDIRECT(dlclose, FL_OLD)
FL_REDIRECT(exp, FL_OLD)
FL_REDIRECT(log, FL_OLD)
FL_REDIRECT(pow, FL_OLD)
FL_REDIRECT(exp2, FL_OLD)
FL_REDIRECT(log2, FL_OLD)

extern "C" {

// GLIBC_2.32. libstdc++ skips atomic reference counts when it is non-zero; 0 keeps them on.
char __libc_single_threaded = 0;

// GLIBC_2.36 (std::random_device). getrandom is GLIBC_2.25; /dev/urandom for kernels without it.
uint32_t arc4random(void) noexcept {
  uint32_t v = 0;
  if (getrandom(&v, sizeof v, 0) == static_cast<ssize_t>(sizeof v)) return v;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) v = 0;
    close(fd);
  }
  return v;
}

// GLIBC_2.35: the static libgcc unwinder finds a frame's unwind table with it (no fallback).
// The same answer from dl_iterate_phdr (GLIBC_2.2.5).
struct FlFind {
  uintptr_t pc;
  struct dl_find_object* result;
};

static int flFindCallback(struct dl_phdr_info* info, size_t, void* data) {
  FlFind* f = static_cast<FlFind*>(data);
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  bool hit = false;
  const ElfW(Phdr)* eh = nullptr;
  for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)* p = &info->dlpi_phdr[i];
    if (p->p_type == PT_LOAD) {
      uintptr_t s = info->dlpi_addr + p->p_vaddr, e = s + p->p_memsz;
      if (f->pc >= s && f->pc < e) hit = true;
      if (s < lo) lo = s;
      if (e > hi) hi = e;
    } else if (p->p_type == PT_GNU_EH_FRAME) {
      eh = p;
    }
  }
  if (!hit) return 0;
  f->result->dlfo_flags = 0;
  f->result->dlfo_map_start = reinterpret_cast<void*>(lo);
  f->result->dlfo_map_end = reinterpret_cast<void*>(hi);
  f->result->dlfo_link_map = nullptr;
  f->result->dlfo_eh_frame = eh ? reinterpret_cast<void*>(info->dlpi_addr + eh->p_vaddr) : nullptr;
  return 1;
}

int _dl_find_object(void* pc, struct dl_find_object* result) noexcept {
  FlFind f{reinterpret_cast<uintptr_t>(pc), result};
  return dl_iterate_phdr(flFindCallback, &f) ? 0 : -1;
}

}  // extern "C"
