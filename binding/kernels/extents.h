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
//   Dk   dims[k] (the shape must have more than k dims)
//   *    any length: data-dependent (CTC's concatenated targets); the kernel checks it against inLen
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "loss_args.h"
#include "params.h"

namespace fastloss {
namespace extents {

// The parameter slot that holds the axis of an 'A' count (keras.cosineSimilarity's `axis`).
constexpr int kAxisParam = 0;
static_assert(params::keras::cosineSimilarity::axis == kAxisParam, "the A extent reads keras.cosineSimilarity's axis");

// Largest shape an empty input may describe (product of its nonzero dims): bounds the work
// and the 'none' output of rows that hold nothing.
constexpr uint64_t kMaxEmptyExtent = uint64_t{1} << 24;
// Largest product of dims: beyond any buffer, and small enough that no count overflows int64.
constexpr uint64_t kMaxExtent = uint64_t{1} << 40;

struct Counts {
  int64_t N = 0, R = 0, L = 0, C = 0, P = 0, A = 0;
  bool hasC = false, hasA = false;
  int ndim = 0;
  int64_t dims[kMaxDims] = {};
};

// Shape problems, as messages without the function name ("opts.shape ..."); null when fine.
inline const char* shapeProblem(const double* rawDims, int ndim, const double* scalars, int64_t* dims, Counts* c) {
  uint64_t all = 1, nonzero = 1;
  for (int d = 0; d < ndim; ++d) {
    double v = rawDims[d];
    if (!(v >= 0 && v <= static_cast<double>(kMaxExtent)) || v != std::floor(v))
      return "opts.shape must hold integers from 0 to 2^40";
    dims[d] = c->dims[d] = static_cast<int64_t>(v);
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
  c->ndim = ndim;
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
  double axis = scalars[kAxisParam];
  if (ndim >= 1 && axis >= 0 && axis < ndim && axis == static_cast<double>(static_cast<int>(axis))) {
    c->hasA = true;
    c->A = productExcept(static_cast<int>(axis));
  }
  return nullptr;
}

// One slot's counts, compiled from its token: up to two alternatives, for a Float32Array (or any
// array) and for an Int32Array ("X/Y").
enum Code : uint8_t {
  kNone = 0,
  kN,
  kR,
  kL,
  kC,
  kP,
  kA,
  kInput0,                       // + k: the length of input k
  kDim0 = kInput0 + kMaxInputs,  // + k: dims[k]
  kAny = kDim0 + kMaxDims,
};

struct Slot {
  uint8_t code[2][2] = {};  // [isInt][alternative]
};

inline Slot compileToken(const char* tok, size_t len) {
  Slot slot;
  int side = 0, alt = 0;
  for (size_t i = 0; i < len; ++i) {
    uint8_t code = kNone;
    switch (tok[i]) {
      case 'N': code = kN; break;
      case 'R': code = kR; break;
      case 'L': code = kL; break;
      case 'C': code = kC; break;
      case 'P': code = kP; break;
      case 'A': code = kA; break;
      case '=':
        if (i + 1 < len && tok[i + 1] >= '0' && tok[i + 1] < '0' + kMaxInputs)
          code = static_cast<uint8_t>(kInput0 + (tok[++i] - '0'));
        break;
      case 'D':
        if (i + 1 < len && tok[i + 1] >= '0' && tok[i + 1] < '0' + kMaxDims)
          code = static_cast<uint8_t>(kDim0 + (tok[++i] - '0'));
        break;
      case '*': code = kAny; break;
      case '|': ++alt; continue;
      case '/':
        side = 1;
        alt = 0;
        continue;
      default: continue;
    }
    if (alt < 2) slot.code[side][alt] = code;
  }
  if (side == 0) {  // no typed pair: the same counts for either element type
    slot.code[1][0] = slot.code[0][0];
    slot.code[1][1] = slot.code[0][1];
  }
  return slot;
}

inline int64_t countOf(uint8_t code, const Counts& c, const int64_t* inLen) {
  switch (code) {
    case kN: return c.N;
    case kR: return c.R;
    case kL: return c.L;
    case kC: return c.hasC ? c.C : -1;
    case kP: return c.hasC ? c.P : -1;
    case kA: return c.hasA ? c.A : -1;
    case kNone:
    case kAny: return -1;
    default:
      if (code >= kDim0) return code - kDim0 < c.ndim ? c.dims[code - kDim0] : -1;
      return inLen[code - kInput0];
  }
}

// True when `real` is one of the slot's counts; *expected gets the first (-1: undefined for this shape).
inline bool holds(const Slot& slot, const Counts& c, const int64_t* inLen, bool isInt, int64_t real,
                  int64_t* expected) {
  const uint8_t* codes = slot.code[isInt ? 1 : 0];
  *expected = countOf(codes[0], c, inLen);
  if (codes[0] == kAny) return true;
  if (*expected >= 0 && real == *expected) return true;
  int64_t second = countOf(codes[1], c, inLen);
  return second >= 0 && real == second;
}

// A kernel's extents string, compiled: inputs, then the 'none' output, then the gradients.
struct Compiled {
  Slot in[kMaxInputs];
  Slot out;
  Slot grad[kMaxGrads];
  int inputs = 0, outs = 0, grads = 0;
  bool usesClassAxis = false, usesAxis = false;  // C/P, A: the kernel reads them, so they must exist
  int minDims = 0;                               // Dk: the shape must have more than k dims
};

// Whether the shape (and axis) gives every count the kernel uses.
inline bool fits(const Compiled& k, const Counts& c) {
  return (!k.usesClassAxis || c.hasC) && (!k.usesAxis || c.hasA) && c.ndim >= k.minDims;
}

inline Compiled compile(const char* spec) {
  Compiled k;
  int section = 0;
  const char* p = spec;
  while (*p) {
    if (*p == ' ') {
      ++p;
      continue;
    }
    if (*p == ':') {
      ++section;
      ++p;
      continue;
    }
    const char* start = p;
    while (*p && *p != ' ' && *p != ':') ++p;
    Slot slot = compileToken(start, static_cast<size_t>(p - start));
    for (const uint8_t* code = &slot.code[0][0]; code != &slot.code[0][0] + 4; ++code) {
      k.usesClassAxis |= *code == kC || *code == kP;
      k.usesAxis |= *code == kA;
      if (*code >= kDim0 && *code<kAny&& * code - kDim0 + 1> k.minDims) k.minDims = *code - kDim0 + 1;
    }
    if (section == 0 && k.inputs < kMaxInputs) k.in[k.inputs++] = slot;
    else if (section == 1 && k.outs < 1) {
      k.out = slot;
      ++k.outs;
    } else if (section == 2 && k.grads < kMaxGrads) k.grad[k.grads++] = slot;
  }
  return k;
}

}  // namespace extents
}  // namespace fastloss
