// pms/core/status.hpp: the status values every data-dependent operation returns.
// No exceptions anywhere in pms: anything that depends on data (weights, image sizes,
// workspace) answers with a Status. Configuration errors are static_asserts instead.
#pragma once

#include <cstdint>

namespace pms {

enum class [[nodiscard]] Status : std::uint8_t {
  ok = 0,
  // weights file (pms/io)
  truncated,          // buffer shorter than the header, the tensor table or a tensor it names
  bad_magic,          // not a .pms file
  unsupported_version, // a format version this reader does not know (e.g. v1): re-convert
  wrong_variant,      // the file holds Tiny weights and Base was requested (or vice versa)
  wrong_class_count,  // class count differs from the one requested, or is 0 / too large
  missing_tensor,     // a tensor the network needs is not in the table
  shape_mismatch,     // a tensor has a shape or layout the network does not expect
  bad_checksum,       // the file's bytes do not match the stored checksum
  misaligned_buffer,  // buffer not aligned to kBufferAlignment bytes
  non_finite_weights, // NaN or Inf in a tensor
  corrupt_table,      // tensor table entry out of bounds, overlapping or malformed
  self_test_failed,   // the embedded test vector does not reproduce
  // inference
  empty_image,        // width or height is 0, or null pixels
  image_too_small,    // below the variant's minimum side
  image_too_large,    // above kMaxImageSide, or sizes overflow
  bad_row_stride,     // row stride smaller than width * bytes per pixel
  workspace_too_small,
  workspace_misaligned,  // no longer returned: any workspace alignment works (kept for stable numbers)
  bad_argument,       // any other invalid argument (null pointer, bad thread count, ...)
  // weights file (pms/io), added after the inference values to keep existing numbers
  corrupt_header,     // header fields inconsistent (sizes, offsets, variant id, mean/std)
  // inference, added later
  non_finite_logits,  // a low-res logit is NaN or infinite: the labels (all in [0, K)) mean nothing
  // weights file (pms/io), added with int8 files (format version 3)
  wrong_precision,        // an int8 file for an fp32 model, or the reverse
  bad_quantized_weights,  // an int8 conv breaks FORMAT.md 7.2 (code -128, non-zero padding, weight_sum, scale < 0)
};

// A short, stable English sentence for a status; never null.
constexpr const char* describe(Status s) noexcept {
  switch (s) {
    case Status::ok: return "ok";
    case Status::truncated: return "weights buffer is truncated";
    case Status::bad_magic: return "not a pms weights file (bad magic)";
    case Status::unsupported_version: return "unsupported weights format version (re-convert the checkpoint with weights/convert.py)";
    case Status::wrong_variant: return "weights are for another model variant";
    case Status::wrong_class_count: return "weights have an unexpected class count";
    case Status::missing_tensor: return "weights lack a tensor the network needs";
    case Status::shape_mismatch: return "a weight tensor has the wrong shape";
    case Status::bad_checksum: return "weights checksum mismatch (corrupt file)";
    case Status::misaligned_buffer: return "weights buffer is not 64-byte aligned";
    case Status::non_finite_weights: return "weights contain NaN or Inf";
    case Status::corrupt_table: return "weights tensor table is corrupt";
    case Status::self_test_failed: return "weights failed their embedded self-test";
    case Status::empty_image: return "image is empty";
    case Status::image_too_small: return "image is smaller than the model's minimum size";
    case Status::image_too_large: return "image is larger than the supported maximum";
    case Status::bad_row_stride: return "image row stride is too small";
    case Status::workspace_too_small: return "workspace is too small for this image size";
    case Status::workspace_misaligned: return "workspace is not 64-byte aligned";
    case Status::bad_argument: return "invalid argument";
    case Status::corrupt_header: return "weights file header is corrupt";
    case Status::non_finite_logits: return "the network produced NaN or infinite logits (weights out of range?)";
    case Status::wrong_precision: return "weights are of another precision (an int8 file for an fp32 model, or the reverse)";
    case Status::bad_quantized_weights: return "int8 weights break the quantization rules of the format (corrupt file)";
  }
  return "unknown status";
}

}  // namespace pms
