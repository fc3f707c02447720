// Each kernel source is compiled once per ISA level; FASTLOSS_ISA_NS names that build's
// namespace (isa_baseline, isa_avx2, isa_avx512) so the builds never share a symbol.
#pragma once
#ifndef FASTLOSS_ISA_NS
#define FASTLOSS_ISA_NS isa_baseline
#endif
