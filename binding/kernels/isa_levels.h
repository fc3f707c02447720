// The ISA levels of isa_levels.def as an enum (lowest first) and their names.
#pragma once

namespace fastloss {

enum class Isa : int {
#define FASTLOSS_ISA_LEVEL(name) name,
#include "isa_levels.def"
#undef FASTLOSS_ISA_LEVEL
};

constexpr const char* kIsaNames[] = {
#define FASTLOSS_ISA_LEVEL(name) #name,
#include "isa_levels.def"
#undef FASTLOSS_ISA_LEVEL
};
constexpr int kIsaCount = sizeof(kIsaNames) / sizeof(kIsaNames[0]);

}  // namespace fastloss
