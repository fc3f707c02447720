// Every loss kernel (AVX2 build) on empty inputs with large zero-product shapes within the Node-API
// bound (at most 2^24 empty rows, nonzero product <= 2^40), buffers sized by the extents of the .def
// files, under UBSan: no signed overflow, no out-of-bounds access, no hang. Run by scripts/kernel-ubsan.sh.
#include <cstdio>
#include <cstring>
#include <vector>
#include <string>
#include "loss_args.h"
#include "params.h"
#include "table.h"
using namespace fastloss;
struct Ext { const char* name; const char* ext; };
static const Ext kExt[] = {
#include "ext.inc"
};
// Element count of one extent token for the shape (first alternative of X|Y, X/Y by int-ness).
static int64_t count(const char* tok, int len, const std::vector<int64_t>& sh, bool isInt) {
  int64_t N = 1, R = 1, L = sh.empty() ? 1 : sh.back(), C, P, A;
  for (auto d : sh) N *= d;
  for (size_t i = 0; i + 1 < sh.size(); ++i) R *= sh[i];
  C = sh.size() > 1 ? sh[1] : (sh.empty() ? 1 : sh[0]);
  P = 1; for (size_t i = 0; i < sh.size(); ++i) if ((int)i != (sh.size() > 1 ? 1 : 0)) P *= sh[i];
  A = R;
  std::string t(tok, len);
  size_t bar = t.find('|'); if (bar != std::string::npos) t = t.substr(0, bar);
  size_t sl = t.find('/'); if (sl != std::string::npos) t = isInt ? t.substr(sl + 1) : t.substr(0, sl);
  switch (t[0]) { case 'N': return N; case 'R': return R; case 'L': return L; case 'C': return C; case 'P': return P; case 'A': return A; }
  if (t[0] == 'D' && t.size() > 1 && static_cast<size_t>(t[1] - '0') < sh.size()) return sh[t[1] - '0'];
  return 0;
}
int main() {
  const KernelFn* k = isa_avx2::kernelTable();
  // Empty shapes the Node-API layer lets through: at most 2^24 "empty rows" (extents.h kMaxEmptyExtent
  // rejects [0, 2^40] and the like before any kernel runs).
  std::vector<std::vector<int64_t>> shapes = {{1 << 24, 0}, {0, 1 << 24}, {1 << 12, 1 << 12, 0},
                                              {0, 1 << 12, 1 << 12}, {4096, 0, 4096}, {0}, {1 << 24, 1, 0}};
  std::vector<float> buf(1 << 25, 0.5f), out(1 << 25), g0(1 << 25), g1(1 << 25), g2(1 << 25);
  std::vector<int32_t> ibuf(1 << 25, -1);
  int runs = 0;
  for (int id = 0; id < kKernelCount; ++id) {
    const char* name = kKernelInfo[id].name;
    if (!strncmp(name, "simd.", 5) || !strncmp(name, "libm.", 5) || !strncmp(name, "probe.", 6)) continue;
    for (auto& sh : shapes) {
      // keras.circle pairs every row (all but the last axis) with every other: N^2 work for the
      // 2^24 rows of [2^24, 1, 0] or [2^12, 2^12, 0], not an edge case.
      int64_t rows = 1;
      for (size_t d = 0; d + 1 < sh.size(); ++d) rows *= sh[d];
      if (!strcmp(name, "keras.circle") && rows > 4096) continue;
      for (int red = 0; red < 3; ++red) {
        for (int grad = 0; grad < 2; ++grad) {
          LossArgs a;
          a.flags = kWantLoss | (grad ? kWantGrad : 0);
          a.reduction = static_cast<Reduction>(red);
          a.ndim = static_cast<int>(sh.size());
          for (int d = 0; d < a.ndim; ++d) a.dims[d] = sh[d];
          const char* sig = kKernelInfo[id].signature;
          for (int s = 0; sig[s]; ++s) {
            bool isInt = sig[s] == 'i';
            a.in[s] = isInt ? static_cast<const void*>(ibuf.data()) : static_cast<const void*>(buf.data());
            a.inIsInt[s] = isInt;
            const char* e = nullptr;
            for (auto& x : kExt) if (!strcmp(x.name, name)) e = x.ext;
            const char* tk = e; for (int q = 0; q < s; ++q) tk = strchr(tk, ' ') + 1;
            a.inLen[s] = count(tk, (int)(strcspn(tk, " ")), sh, isInt);
            if (sig[s] >= 'A' && sig[s] <= 'Z') a.in[s] = nullptr;
          }
          namespace P = fastloss::params;
          if (!strcmp(name, "keras.cosineSimilarity")) a.p[P::keras::cosineSimilarity::axis] = a.ndim - 1;
          if (!strcmp(name, "torch.multiMarginLoss")) a.p[P::torch::multiMarginLoss::p] = 1;
          if (!strcmp(name, "torch.tripletMarginLoss")) {
            a.p[P::torch::tripletMarginLoss::margin] = 1;
            a.p[P::torch::tripletMarginLoss::p] = 2;
            a.p[P::torch::tripletMarginLoss::eps] = 1e-6;
          }
          if (!strcmp(name, "torch.crossEntropy")) a.p[P::torch::crossEntropy::ignoreIndex] = -100;
          if (!strcmp(name, "torch.nllLoss")) a.p[P::torch::nllLoss::ignoreIndex] = -100;
          a.out = out.data();
          a.grad[0] = g0.data(); a.grad[1] = g1.data(); a.grad[2] = g2.data();
          k[id](a);
          if (a.fault.kind != ErrorKind::None) std::printf("%s [%lld...] error reason %d at slot %d index %lld\n", name, (long long)sh[0], static_cast<int>(a.fault.reason), a.fault.slot, (long long)a.fault.index);
          ++runs;
        }
      }
    }
  }
  std::printf("%d runs\n", runs);
}
