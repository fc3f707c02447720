// What a kernel reads and writes, as element counts derived from the logical shape: the fourth
// field of each FASTLOSS_KERNEL entry. The Node-API layer checks every buffer against these before
// a kernel runs, so a kernel may size its loops from dims alone. Plain C++, no Node headers.
//
// Grammar: "<inputs> : <out> : <gradients>", one token per slot, separated by spaces.
//   N  every element (product of dims)        R  rows: product of dims[:-1] (1 for 0-D and 1-D)
//   L  last dim (1 for 0-D)                   C  torch class axis: dims[1] if ndim > 1, else dims[0]
//   P  torch positions: dims without C        A  dims without axis p[0] (keras.cosineSimilarity)
//   X|Y  either count                         X/Y  X for a Float32Array, Y for an Int32Array
//   =k   the length of input k (already checked)
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "loss_args.h"

namespace fastloss {
namespace extents {

// Largest shape an empty input may describe (product of its nonzero dims): bounds the work
// and the 'none' output of rows that hold nothing.
constexpr uint64_t kMaxEmptyExtent = uint64_t{1} << 24;
// Largest product of dims: beyond any buffer, and small enough that no count overflows int64.
constexpr uint64_t kMaxExtent = uint64_t{1} << 40;

struct Counts {
  int64_t N = 0, R = 0, L = 0, C = 0, P = 0, A = 0;
  bool hasC = false, hasA = false;
};

// Shape problems, as messages without the function name ("opts.shape ..."); null when fine.
inline const char* shapeProblem(const double* rawDims, int ndim, const double* scalars, int64_t* dims, Counts* c) {
  uint64_t all = 1, nonzero = 1;
  for (int d = 0; d < ndim; ++d) {
    double v = rawDims[d];
    if (!(v >= 0 && v <= static_cast<double>(kMaxExtent)) || v != std::floor(v))
      return "opts.shape must hold integers from 0 to 2^40";
    dims[d] = static_cast<int64_t>(v);
    uint64_t u = static_cast<uint64_t>(dims[d]);
    if (u == 0) {
      all = 0;
      continue;
    }
    if (nonzero > kMaxExtent / u) return "opts.shape holds more than 2^40 elements";
    nonzero *= u;
  }
  if (all == 0 && nonzero > kMaxEmptyExtent)
    return "opts.shape has a zero dimension, and its other dimensions describe more than 2^24 empty rows";
  c->N = all == 0 ? 0 : static_cast<int64_t>(nonzero);
  auto productExcept = [&](int skip) {
    int64_t p = 1;
    for (int d = 0; d < ndim; ++d)
      if (d != skip) p *= dims[d];  // bounded by nonzero <= 2^40, or 0
    return p;
  };
  c->R = ndim >= 1 ? productExcept(ndim - 1) : 1;
  c->L = ndim >= 1 ? dims[ndim - 1] : 1;
  if (ndim >= 1) {
    int classAxis = ndim > 1 ? 1 : 0;
    c->hasC = true;
    c->C = dims[classAxis];
    c->P = productExcept(classAxis);
  }
  double axis = scalars[0];
  if (ndim >= 1 && axis >= 0 && axis < ndim && axis == static_cast<double>(static_cast<int>(axis))) {
    c->hasA = true;
    c->A = productExcept(static_cast<int>(axis));
  }
  return nullptr;
}

// One slot's token ("N", "N|R", "N/P", "=2") against a real length. `isInt`: the array's element type.
// Returns false when the token does not hold; *expected gets the count it wanted (-1: undefined here).
inline bool tokenHolds(const char* tok, size_t len, const Counts& c, const int64_t* inLen, bool isInt,
                       int64_t real, int64_t* expected) {
  *expected = -1;
  const char* slash = static_cast<const char*>(std::memchr(tok, '/', len));
  if (slash) {  // typed pair: left for Float32Array, right for Int32Array
    if (isInt) {
      len -= static_cast<size_t>(slash + 1 - tok);
      tok = slash + 1;
    } else {
      len = static_cast<size_t>(slash - tok);
    }
  }
  bool any = false;
  for (size_t i = 0; i < len; ++i) {
    char t = tok[i];
    if (t == '|') continue;
    int64_t want = -1;
    switch (t) {
      case 'N': want = c.N; break;
      case 'R': want = c.R; break;
      case 'L': want = c.L; break;
      case 'C': want = c.hasC ? c.C : -1; break;
      case 'P': want = c.hasC ? c.P : -1; break;
      case 'A': want = c.hasA ? c.A : -1; break;
      case '=':
        if (i + 1 < len) want = inLen[tok[++i] - '0'];
        break;
      default: break;
    }
    if (!any) *expected = want;  // the first alternative names the count in messages
    any = true;
    if (want >= 0 && real == want) return true;
  }
  return false;
}

// The tokens of one section ("inputs", "out", "gradients") of an extents string, in order.
struct Section {
  const char* tok[kMaxInputs] = {};
  size_t len[kMaxInputs] = {};
  int count = 0;
};

inline void splitSections(const char* spec, Section* inputs, Section* out, Section* grads) {
  Section* sections[3] = {inputs, out, grads};
  int s = 0;
  const char* p = spec;
  while (*p && s < 3) {
    while (*p == ' ') ++p;
    if (*p == ':') {
      ++s;
      ++p;
      continue;
    }
    if (!*p) break;
    const char* start = p;
    while (*p && *p != ' ' && *p != ':') ++p;
    Section* sec = sections[s];
    if (sec->count < kMaxInputs) {
      sec->tok[sec->count] = start;
      sec->len[sec->count] = static_cast<size_t>(p - start);
      ++sec->count;
    }
  }
}

}  // namespace extents
}  // namespace fastloss
