// The interface between main.cpp (built without ISA flags) and segment_one_isa.cpp, which is
// built once per ISA level into the same program. Only plain types cross it: a standard
// library template instantiated in both (std::vector, ...) would be one symbol, and the
// linker could hand the SSE2 side a copy compiled for AVX-512.
#pragma once

#include <cstddef>
#include <cstdint>

namespace isa_mix {

using AnyFunction = void (*)();

// What one ISA level's translation unit reports.
struct Run {
  const char* isa = nullptr;             // pms::simd::isa_name() as that unit was compiled
  int status_exact = -1, status_vim = -1;  // pms::Status of segment() in each upsampling mode
  int status_int8 = -1;                    // the same for the int8 model (exact mode)
  // Addresses of pms inline functions as that unit sees them: distinct per ISA level only if
  // pms's ISA-dependent code lives in distinct (inline) namespaces; otherwise the linker
  // keeps one copy of each and every unit runs it, whatever it was compiled for.
  // (Functions whose parameter types do not name the ISA, which would tell them apart anyway.)
  AnyFunction argmax_channels = nullptr;   // pms::kernels::argmax_channels<std::uint8_t>
  AnyFunction gather_channels = nullptr;   // pms::kernels::gather_channels
};

// Loads `weights` (Tiny, 64-byte aligned) and segments the packed RGB image into
// `labels_exact` and `labels_vim` (height x width each, packed) with the model compiled for
// one ISA level; then the same image with MobileSeg<Tiny, Int8> and `int8` (the int8 Tiny
// file) into `labels_int8`. The ISA levels this program holds:
Run segment_sse2(const std::byte* weights, std::size_t weight_bytes, const std::byte* int8, std::size_t int8_bytes,
                 const std::uint8_t* rgb, int height, int width, std::uint8_t* labels_exact, std::uint8_t* labels_vim,
                 std::uint8_t* labels_int8);
Run segment_avx2(const std::byte* weights, std::size_t weight_bytes, const std::byte* int8, std::size_t int8_bytes,
                 const std::uint8_t* rgb, int height, int width, std::uint8_t* labels_exact, std::uint8_t* labels_vim,
                 std::uint8_t* labels_int8);
Run segment_avx512(const std::byte* weights, std::size_t weight_bytes, const std::byte* int8, std::size_t int8_bytes,
                   const std::uint8_t* rgb, int height, int width, std::uint8_t* labels_exact, std::uint8_t* labels_vim,
                   std::uint8_t* labels_int8);

}  // namespace isa_mix
