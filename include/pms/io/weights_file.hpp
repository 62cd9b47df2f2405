// pms/io/weights_file.hpp: a checked, zero-copy view of a .pms weights file (version 2: fp32,
// version 3: fp32 or int8).
//
// The caller owns the bytes (a file read into an aligned buffer, an mmap, or a static array
// aligned to kBufferAlignment); WeightsFile only points into them, so the bytes must outlive
// it. parse() validates everything once (header, table, bounds, alignment, checksum, finite
// values); afterwards tensors are handed out as typed pointers straight into the buffer. The
// tensors are already BN-folded and packed in the layouts the kernels read (weights/FORMAT.md,
// which is normative for every constant below). No exceptions, no heap, ISA-independent.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string_view>

#include "pms/core/precision.hpp"
#include "pms/core/status.hpp"
#include "pms/core/tensor.hpp"

namespace pms {

static_assert(std::endian::native == std::endian::little,
              "pms weights files are little-endian and read in place: big-endian hosts are not supported");

enum class ModelVariant : std::uint32_t { tiny = 0, base = 1 };
enum class DType : std::uint32_t { f32 = 1, u8 = 2, i8 = 3, i32 = 4 };  // i8, i32: version 3 only

constexpr std::size_t dtype_size(DType t) noexcept { return t == DType::f32 || t == DType::i32 ? 4 : 1; }

// One tensor of a parsed file. dims[rank..4) are 0.
struct TensorEntry {
  std::string_view name;
  DType dtype = DType::f32;
  int rank = 0;
  std::array<int, 4> dims{};
  const void* data = nullptr;  // 64-byte aligned, inside the caller's buffer
  std::size_t bytes = 0;

  std::size_t elements() const noexcept { return bytes / dtype_size(dtype); }
  const float* f32() const noexcept { return dtype == DType::f32 ? static_cast<const float*>(data) : nullptr; }
  const std::uint8_t* u8() const noexcept {
    return dtype == DType::u8 ? static_cast<const std::uint8_t*>(data) : nullptr;
  }
  const std::int8_t* i8() const noexcept { return dtype == DType::i8 ? static_cast<const std::int8_t*>(data) : nullptr; }
  const std::int32_t* i32() const noexcept {
    return dtype == DType::i32 ? static_cast<const std::int32_t*>(data) : nullptr;
  }
};

namespace weights_format {  // FORMAT.md sections 2 and 3

inline constexpr std::array<std::uint8_t, 8> kMagic{0x89, 'P', 'M', 'S', '\r', '\n', 0x1a, '\n'};
// 1: checksum over the data section only (refused); 2: fp32; 3: the precision field, i8/i32 tensors.
inline constexpr std::uint32_t kVersionFp32 = 2, kVersionPrecision = 3;
inline constexpr std::size_t kHeaderSize = 128;
inline constexpr std::size_t kEntrySize = 128;
inline constexpr std::size_t kNameField = 88;  // names of 1..87 bytes + NUL padding
inline constexpr std::size_t kAlign = 64;
inline constexpr int kMinClasses = 2;
inline constexpr int kMaxClasses = 256;       // self-test labels are u8
inline constexpr std::uint32_t kMaxTensors = 4096;  // bounds the duplicate-name scan (real files: < 250)

// Header field offsets.
inline constexpr std::size_t kOffVersion = 8, kOffHeaderSize = 12, kOffVariant = 16, kOffClasses = 20,
                             kOffMean = 24, kOffStd = 36, kOffCount = 48, kOffEntrySize = 52,
                             kOffTableOffset = 56, kOffTableSize = 64, kOffDataOffset = 72, kOffDataSize = 80,
                             kOffChecksum = 88, kOffFileSize = 96, kOffPrecision = 104, kOffReserved = 108;
// Table entry field offsets.
inline constexpr std::size_t kEntDType = 88, kEntRank = 92, kEntDims = 96, kEntOffset = 112, kEntBytes = 120;

inline constexpr std::uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
inline constexpr std::uint64_t kFnvPrime = 0x100000001b3ull;

// FNV-1a 64, one byte at a time; `h` continues an earlier call's result.
constexpr std::uint64_t fnv1a64(std::span<const std::byte> bytes, std::uint64_t h = kFnvOffsetBasis) noexcept {
  for (std::byte b : bytes) {
    h ^= static_cast<std::uint8_t>(b);
    h *= kFnvPrime;
  }
  return h;
}

// The header's checksum field (FORMAT.md section 2): FNV-1a 64 over the whole file, bytes
// [0, file_size) = `file`, with the 8 bytes of the checksum field itself taken as zero. It
// covers header, tensor table, padding and data. `file` must hold at least a header.
constexpr std::uint64_t file_checksum(std::span<const std::byte> file) noexcept {
  constexpr std::array<std::byte, 8> kZeroField{};
  std::uint64_t h = fnv1a64(file.first(kOffChecksum));
  h = fnv1a64(kZeroField, h);
  return fnv1a64(file.subspan(kOffChecksum + kZeroField.size()), h);
}

template <class T>
inline T load_le(const std::byte* p) noexcept {  // host is little-endian (static_assert above)
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

inline bool is_finite_bits(std::uint32_t bits) noexcept { return (bits & 0x7f800000u) != 0x7f800000u; }

}  // namespace weights_format

class WeightsFile {
 public:
  WeightsFile() = default;  // empty: tensor_count() == 0

  // Validates `bytes` as a .pms v2 file and on success makes `out` a view of it; on failure
  // `out` is left unchanged. The steps, in order (FORMAT.md section 6; the first failure is
  // returned):
  //   1. check_buffer     alignment and room for a header         misaligned_buffer, truncated
  //   2. check_identity   magic and version (2 or 3)               bad_magic, unsupported_version
  //   3. read_header      field consistency, class count, size    corrupt_header, wrong_class_count, truncated
  //   4. check_checksum   FNV-1a 64 of the whole file             bad_checksum
  //   5. check_table      every entry well-formed and in bounds   corrupt_table
  //   6. check_finite     no NaN/Inf in an f32 tensor             non_finite_weights
  //   7. check_quantized  int8 convs as FORMAT.md 7.2 defines     bad_quantized_weights
  // The checksum comes before the table so that a damaged table is reported as damage; the
  // table checks still run, since a crafted file can carry a valid checksum.
  [[nodiscard]] static Status parse(std::span<const std::byte> bytes, WeightsFile& out) noexcept {
    WeightsFile f;
    Status s = check_buffer(bytes);
    if (s == Status::ok) s = check_identity(bytes);
    if (s == Status::ok) s = f.read_header(bytes);
    if (s == Status::ok) s = check_checksum(bytes.first(f.size_));
    if (s == Status::ok) s = f.check_table();
    if (s == Status::ok) s = f.check_finite();
    if (s == Status::ok) s = f.check_quantized();
    if (s == Status::ok) out = f;
    return s;
  }

  // wrong_variant / wrong_precision / wrong_class_count unless the file holds this variant
  // at this precision and, when num_classes > 0, exactly that many classes.
  [[nodiscard]] Status expect(ModelVariant v, int num_classes = 0,
                              WeightsPrecision precision = WeightsPrecision::fp32) const noexcept {
    if (count_ == 0) return Status::bad_argument;  // not parsed
    if (v != variant_) return Status::wrong_variant;
    if (precision != precision_) return Status::wrong_precision;
    if (num_classes > 0 && num_classes != num_classes_) return Status::wrong_class_count;
    return Status::ok;
  }

  // Index of the tensor with this name, or -1. Linear scan over the in-buffer table.
  int index_of(std::string_view name) const noexcept {
    for (int i = 0; i < count_; ++i) {
      if (name_at(i) == name) return i;
    }
    return -1;
  }
  std::optional<TensorEntry> find(std::string_view name) const noexcept {
    const int i = index_of(name);
    if (i < 0) return std::nullopt;
    return tensor(i);
  }

  // The f32 (or u8) tensor `name` with exactly these dims (outermost first); `out` is set
  // only on success. missing_tensor if absent; shape_mismatch on another dtype, rank or dims.
  [[nodiscard]] Status get_f32(std::string_view name, std::span<const int> dims, const float*& out) const noexcept {
    const void* p = nullptr;
    const Status s = get(name, DType::f32, dims, p);
    if (s == Status::ok) out = static_cast<const float*>(p);
    return s;
  }
  template <std::size_t N>
  [[nodiscard]] Status get_f32(std::string_view name, const int (&dims)[N], const float*& out) const noexcept {
    return get_f32(name, std::span<const int>(dims, N), out);
  }
  [[nodiscard]] Status get_u8(std::string_view name, std::span<const int> dims, const std::uint8_t*& out) const noexcept {
    const void* p = nullptr;
    const Status s = get(name, DType::u8, dims, p);
    if (s == Status::ok) out = static_cast<const std::uint8_t*>(p);
    return s;
  }
  template <std::size_t N>
  [[nodiscard]] Status get_u8(std::string_view name, const int (&dims)[N], const std::uint8_t*& out) const noexcept {
    return get_u8(name, std::span<const int>(dims, N), out);
  }
  [[nodiscard]] Status get_i8(std::string_view name, std::span<const int> dims, const std::int8_t*& out) const noexcept {
    const void* p = nullptr;
    const Status s = get(name, DType::i8, dims, p);
    if (s == Status::ok) out = static_cast<const std::int8_t*>(p);
    return s;
  }
  [[nodiscard]] Status get_i32(std::string_view name, std::span<const int> dims, const std::int32_t*& out) const noexcept {
    const void* p = nullptr;
    const Status s = get(name, DType::i32, dims, p);
    if (s == Status::ok) out = static_cast<const std::int32_t*>(p);
    return s;
  }

  ModelVariant variant() const noexcept { return variant_; }
  WeightsPrecision precision() const noexcept { return precision_; }
  std::uint32_t version() const noexcept { return version_; }
  int num_classes() const noexcept { return num_classes_; }
  std::array<float, 3> mean() const noexcept { return mean_; }     // RGB, x = (p/255 - mean)/std
  std::array<float, 3> std_dev() const noexcept { return std_; }
  int tensor_count() const noexcept { return count_; }
  std::size_t file_size() const noexcept { return size_; }
  std::uint64_t checksum() const noexcept {
    return count_ ? weights_format::load_le<std::uint64_t>(base_ + weights_format::kOffChecksum) : 0;
  }

  // Entry i, 0 <= i < tensor_count() (a default entry otherwise).
  TensorEntry tensor(int i) const noexcept {
    namespace wf = weights_format;
    TensorEntry t;
    if (i < 0 || i >= count_) return t;
    const std::byte* e = entry(i);
    t.name = name_at(i);
    t.dtype = static_cast<DType>(wf::load_le<std::uint32_t>(e + wf::kEntDType));
    t.rank = static_cast<int>(wf::load_le<std::uint32_t>(e + wf::kEntRank));
    for (int d = 0; d < 4; ++d) t.dims[d] = static_cast<int>(wf::load_le<std::uint32_t>(e + wf::kEntDims + 4 * d));
    t.data = base_ + wf::load_le<std::uint64_t>(e + wf::kEntOffset);
    t.bytes = static_cast<std::size_t>(wf::load_le<std::uint64_t>(e + wf::kEntBytes));
    return t;
  }

 private:
  // ---- parse() steps -----------------------------------------------------------------------

  // 1. The buffer is 64-byte aligned and holds at least a header.
  static Status check_buffer(std::span<const std::byte> bytes) noexcept {
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % kBufferAlignment != 0) return Status::misaligned_buffer;
    if (bytes.size() < weights_format::kHeaderSize) return Status::truncated;
    return Status::ok;
  }

  // 2. A .pms file of a version this reader knows.
  static Status check_identity(std::span<const std::byte> bytes) noexcept {
    namespace wf = weights_format;
    if (std::memcmp(bytes.data(), wf::kMagic.data(), wf::kMagic.size()) != 0) return Status::bad_magic;
    const auto version = wf::load_le<std::uint32_t>(bytes.data() + wf::kOffVersion);
    if (version != wf::kVersionFp32 && version != wf::kVersionPrecision) return Status::unsupported_version;
    return Status::ok;
  }

  // 3. Header fields consistent with each other and with the buffer; on success fills this
  // view's members, which the later steps read (parse() copies the view out only when every
  // step passed).
  Status read_header(std::span<const std::byte> bytes) noexcept {
    namespace wf = weights_format;
    using wf::load_le;
    const std::byte* b = bytes.data();
    const auto header_size = load_le<std::uint32_t>(b + wf::kOffHeaderSize);
    const auto variant = load_le<std::uint32_t>(b + wf::kOffVariant);
    const auto classes = load_le<std::uint32_t>(b + wf::kOffClasses);
    const auto count = load_le<std::uint32_t>(b + wf::kOffCount);
    const auto entry_size = load_le<std::uint32_t>(b + wf::kOffEntrySize);
    const auto table_offset = load_le<std::uint64_t>(b + wf::kOffTableOffset);
    const auto table_size = load_le<std::uint64_t>(b + wf::kOffTableSize);
    const auto data_offset = load_le<std::uint64_t>(b + wf::kOffDataOffset);
    const auto data_size = load_le<std::uint64_t>(b + wf::kOffDataSize);
    const auto file_size = load_le<std::uint64_t>(b + wf::kOffFileSize);
    const auto version = load_le<std::uint32_t>(b + wf::kOffVersion);
    // Version 2 has no precision field: its 4 bytes are reserved (zero), which reads as fp32.
    const auto precision = load_le<std::uint32_t>(b + wf::kOffPrecision);
    std::array<float, 3> mean{}, std_dev{};
    for (int c = 0; c < 3; ++c) {
      mean[c] = load_le<float>(b + wf::kOffMean + 4 * c);
      std_dev[c] = load_le<float>(b + wf::kOffStd + 4 * c);
    }
    // count is bounded first, so none of the products below overflow.
    bool ok = header_size == wf::kHeaderSize && entry_size == wf::kEntrySize && table_offset == wf::kHeaderSize &&
              variant <= 1 && count >= 1 && count <= wf::kMaxTensors &&
              table_size == std::uint64_t{count} * wf::kEntrySize &&
              data_offset == round_up(table_offset + table_size) && data_size % wf::kAlign == 0 &&
              data_size <= std::numeric_limits<std::uint64_t>::max() - data_offset &&
              file_size == data_offset + data_size &&
              (version == wf::kVersionPrecision ? precision <= 1 : precision == 0);
    for (std::size_t i = wf::kOffReserved; i < wf::kHeaderSize; ++i) ok = ok && b[i] == std::byte{0};
    for (int c = 0; c < 3; ++c) ok = ok && std::isfinite(mean[c]) && std::isfinite(std_dev[c]) && std_dev[c] > 0.0f;
    if (!ok) return Status::corrupt_header;
    if (classes < static_cast<std::uint32_t>(wf::kMinClasses) || classes > static_cast<std::uint32_t>(wf::kMaxClasses))
      return Status::wrong_class_count;
    if (file_size > bytes.size()) return Status::truncated;

    base_ = b;
    table_ = b + table_offset;
    size_ = static_cast<std::size_t>(file_size);
    data_offset_ = data_offset;
    data_size_ = data_size;
    variant_ = static_cast<ModelVariant>(variant);
    version_ = version;
    precision_ = static_cast<WeightsPrecision>(precision);
    num_classes_ = static_cast<int>(classes);
    mean_ = mean;
    std_ = std_dev;
    count_ = static_cast<int>(count);
    return Status::ok;
  }

  // 4. The stored checksum is the FNV-1a 64 of the whole file (`file`: bytes [0, file_size))
  // with its own 8 bytes read as zero.
  static Status check_checksum(std::span<const std::byte> file) noexcept {
    namespace wf = weights_format;
    return wf::file_checksum(file) == wf::load_le<std::uint64_t>(file.data() + wf::kOffChecksum) ? Status::ok
                                                                                                   : Status::bad_checksum;
  }

  // 5. Entries well-formed, inside the data section, in increasing offset order, disjoint,
  // with unique names.
  Status check_table() const noexcept {
    namespace wf = weights_format;
    using wf::load_le;
    const std::uint64_t data_end = data_offset_ + data_size_;
    std::uint64_t prev_end = data_offset_;
    for (int i = 0; i < count_; ++i) {
      const std::byte* e = entry(i);
      if (!name_field_ok(e)) return Status::corrupt_table;
      const auto dtype = load_le<std::uint32_t>(e + wf::kEntDType);
      const auto rank = load_le<std::uint32_t>(e + wf::kEntRank);
      const auto offset = load_le<std::uint64_t>(e + wf::kEntOffset);
      const auto nbytes = load_le<std::uint64_t>(e + wf::kEntBytes);
      const std::uint32_t max_dtype = static_cast<std::uint32_t>(version_ == wf::kVersionPrecision ? DType::i32 : DType::u8);
      if (dtype < static_cast<std::uint32_t>(DType::f32) || dtype > max_dtype) return Status::corrupt_table;
      if (rank < 1 || rank > 4) return Status::corrupt_table;
      std::uint64_t elems = 1;
      for (std::uint32_t d = 0; d < 4; ++d) {
        const auto dim = load_le<std::uint32_t>(e + wf::kEntDims + 4 * d);
        if (d >= rank) {
          if (dim != 0) return Status::corrupt_table;
          continue;
        }
        if (dim == 0 || dim > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) return Status::corrupt_table;
        if (elems > data_size_ / dim) return Status::corrupt_table;  // product exceeds any valid size
        elems *= dim;
      }
      const std::uint64_t esize = dtype_size(static_cast<DType>(dtype));
      if (elems > data_size_ / esize || nbytes != elems * esize) return Status::corrupt_table;
      if (offset % wf::kAlign != 0 || offset < prev_end || offset > data_end || nbytes > data_end - offset)
        return Status::corrupt_table;
      prev_end = offset + nbytes;
      for (int j = 0; j < i; ++j) {
        if (name_at(j) == name_at(i)) return Status::corrupt_table;
      }
    }
    return Status::ok;
  }

  // 6. Every f32 value finite (the kernels' arithmetic assumes it).
  Status check_finite() const noexcept {
    for (int i = 0; i < count_; ++i) {
      const TensorEntry t = tensor(i);
      if (t.dtype != DType::f32) continue;
      const auto* p = static_cast<const std::byte*>(t.data);
      for (std::size_t k = 0; k < t.elements(); ++k) {
        if (!weights_format::is_finite_bits(weights_format::load_le<std::uint32_t>(p + 4 * k)))
          return Status::non_finite_weights;
      }
    }
    return Status::ok;
  }

  // 7. Every int8 conv NAME (an i8 tensor NAME.weight_q [G][P][4] with NAME.weight_sum i32 [P]
  // and NAME.weight_scale f32 [P] beside it): no code -128 (the kernels' exact-integer bound
  // assumes |q| <= 127), no negative scale, and weight_sum[co] the sum of row co's codes (the
  // unsigned-activation correction of VPDPBUSD uses it). Tensors of other shapes are left to
  // the layers' lookups, which refuse them as shape_mismatch.
  Status check_quantized() const noexcept {
    constexpr std::string_view kCodes = ".weight_q";
    for (int i = 0; i < count_; ++i) {
      const TensorEntry q = tensor(i);
      if (q.dtype != DType::i8 || q.rank != 3 || q.dims[2] != 4 || !q.name.ends_with(kCodes)) continue;
      const std::string_view stem = q.name.substr(0, q.name.size() - kCodes.size());
      const std::optional<TensorEntry> sum = find_suffixed(stem, ".weight_sum");
      const std::optional<TensorEntry> scale = find_suffixed(stem, ".weight_scale");
      const int groups = q.dims[0], lanes = q.dims[1];
      const std::int8_t* codes = q.i8();
      for (std::size_t k = 0; k < q.elements(); ++k)
        if (codes[k] == -128) return Status::bad_quantized_weights;
      if (scale && scale->dtype == DType::f32 && scale->rank == 1 && scale->dims[0] == lanes)
        for (int co = 0; co < lanes; ++co)
          if (!(scale->f32()[co] >= 0.0f)) return Status::bad_quantized_weights;
      if (sum && sum->dtype == DType::i32 && sum->rank == 1 && sum->dims[0] == lanes)
        for (int co = 0; co < lanes; ++co) {
          std::int64_t row = 0;
          for (int g = 0; g < groups; ++g)
            for (int j = 0; j < 4; ++j) row += codes[(static_cast<std::size_t>(g) * lanes + co) * 4 + j];
          if (row != sum->i32()[co]) return Status::bad_quantized_weights;
        }
    }
    return Status::ok;
  }

  // ---- helpers -----------------------------------------------------------------------------
  static constexpr std::uint64_t round_up(std::uint64_t n) noexcept {
    return (n + weights_format::kAlign - 1) / weights_format::kAlign * weights_format::kAlign;
  }
  // NUL-terminated within the field, non-empty, NUL-padded.
  static bool name_field_ok(const std::byte* e) noexcept {
    std::size_t n = 0;
    while (n < weights_format::kNameField && e[n] != std::byte{0}) ++n;
    if (n == 0 || n == weights_format::kNameField) return false;
    for (std::size_t k = n; k < weights_format::kNameField; ++k) {
      if (e[k] != std::byte{0}) return false;
    }
    return true;
  }
  // The tensor named stem + suffix, if any (no heap: names fit the 88-byte field).
  std::optional<TensorEntry> find_suffixed(std::string_view stem, std::string_view suffix) const noexcept {
    char name[weights_format::kNameField];
    if (stem.size() + suffix.size() >= sizeof name) return std::nullopt;
    std::memcpy(name, stem.data(), stem.size());
    std::memcpy(name + stem.size(), suffix.data(), suffix.size());
    return find(std::string_view(name, stem.size() + suffix.size()));
  }
  const std::byte* entry(int i) const noexcept { return table_ + static_cast<std::size_t>(i) * weights_format::kEntrySize; }
  std::string_view name_at(int i) const noexcept {
    const char* s = reinterpret_cast<const char*>(entry(i));
    std::size_t n = 0;
    while (n < weights_format::kNameField && s[n] != '\0') ++n;
    return {s, n};
  }
  Status get(std::string_view name, DType dtype, std::span<const int> dims, const void*& out) const noexcept {
    const int i = index_of(name);
    if (i < 0) return Status::missing_tensor;
    const TensorEntry t = tensor(i);
    if (t.dtype != dtype || static_cast<std::size_t>(t.rank) != dims.size()) return Status::shape_mismatch;
    for (std::size_t d = 0; d < dims.size(); ++d) {
      if (t.dims[d] != dims[d]) return Status::shape_mismatch;
    }
    out = t.data;
    return Status::ok;
  }

  const std::byte* base_ = nullptr;
  const std::byte* table_ = nullptr;
  std::size_t size_ = 0;
  std::uint64_t data_offset_ = 0;
  std::uint64_t data_size_ = 0;
  ModelVariant variant_ = ModelVariant::tiny;
  WeightsPrecision precision_ = WeightsPrecision::fp32;
  std::uint32_t version_ = 0;
  int num_classes_ = 0;
  int count_ = 0;
  std::array<float, 3> mean_{};
  std::array<float, 3> std_{};
};

}  // namespace pms
