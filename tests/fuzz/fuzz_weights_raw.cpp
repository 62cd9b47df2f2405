// fuzz_weights_raw: libFuzzer harness for the weights loader on raw bytes. The input is a
// whole .pms file; it is copied to a 64-byte-aligned buffer (as the loader requires) and
// loaded as Tiny and as Base. Most inputs are refused (checksum); what is accepted goes
// through inference_check.hpp. Seeds: corpus/weights_raw (tests/fuzz/make_corpus.py).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <pms/core/page_buffer.hpp>
#include <pms/mobileseg.hpp>

#include "inference_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pms::PageBuffer file(size == 0 ? 1 : size);
  if (!file.allocated()) return 0;
  if (size > 0) std::memcpy(file.data(), data, size);
  const std::span<const std::byte> bytes(file.data(), size);
  pms::WeightsFile parsed;
  (void)pms::WeightsFile::parse(bytes, parsed);
  pms_fuzz::check_accepted_file<pms::Tiny>(bytes);
  pms_fuzz::check_accepted_file<pms::Base>(bytes);
  return 0;
}
