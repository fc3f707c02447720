// One axis of a logical shape seen as [outer, axis, inner]: the layout of losses reduced over
// one axis (a class axis, or the reduced axes of keras.dice merged into one by the facade).
#pragma once
#include <cmath>
#include <cstdint>

#include "engine.h"

namespace fastloss {
namespace FASTLOSS_ISA_NS {

struct AxisView {
  int64_t outer = 1, size = 1, inner = 1;
  int64_t losses() const { return mulSat(outer, inner); }
};

// The axis in p[axisSlot], checked as a double before it indexes dims; false (after an
// AxisOutOfRange fault) when it is not an axis of the shape.
inline bool axisViewOf(LossArgs& a, int axisSlot, AxisView& v) {
  const double axisParam = a.p[axisSlot];
  if (a.ndim < 1 || !(axisParam >= 0.0 && axisParam < static_cast<double>(a.ndim)) ||
      axisParam != std::floor(axisParam)) {
    fail(a, ErrorReason::AxisOutOfRange, parameter(axisSlot), axisParam, a.ndim);
    return false;
  }
  const int axis = static_cast<int>(axisParam);
  v.outer = dimsProduct(a, 0, axis);
  v.size = a.dims[axis];
  v.inner = dimsProduct(a, axis + 1, a.ndim);
  return true;
}

}  // namespace FASTLOSS_ISA_NS
}  // namespace fastloss
