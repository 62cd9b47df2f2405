// fuzz_weights_resealed: libFuzzer harness that reaches the tensor table and inference. A
// random file almost never carries a valid checksum, so this harness edits a real network
// (the shipped CamVid weights) as the input says and then reseals it: it stores the checksum
// of the edited file as weights/FORMAT.md section 2 defines it, before loading it as Tiny and
// as Base and checking what load() accepts (inference_check.hpp). The checksum, not the
// loader's other checks, is what this bypasses: crafted files carry valid checksums too.
//
// Input layout (little-endian; a record cut short by the end of the input is dropped):
//   u8        base file: bit 0 clear = weights/pp_mobileseg_tiny_camvid.pms, set = ..._base_...
//   records   op u8, index u16, offset u32, length u8, payload[length]; op (mod 5):
//     0 header        write payload at header byte (offset mod 128)
//     1 table         write payload at table byte (offset mod table size)
//     2 tensor bytes  write payload into tensor (index mod count) at (offset mod its size)
//     3 tensor fill   every f32 of tensor (index mod count) := payload's first 4 bytes
//     4 tensor scale  every f32 of tensor (index mod count) *= payload's first 4 bytes
// Writes stop at the end of the file; tensors are located in the unedited file's table.
// Seeds: corpus/weights_resealed (tests/fuzz/make_corpus.py writes them).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include <pms/core/page_buffer.hpp>
#include <pms/mobileseg.hpp>

#include "inference_check.hpp"

#ifndef PMS_SOURCE_DIR
#error "PMS_SOURCE_DIR (repository root) must be defined by the build"
#endif

namespace {

namespace wf = pms::weights_format;

// A shipped file and where its tensors lie (byte offsets from the file start).
struct BaseFile {
  struct Tensor {
    std::size_t offset, bytes;
    bool f32;
  };
  std::vector<std::byte> bytes;
  std::vector<Tensor> tensors;
};

BaseFile read_base(const char* path) {
  BaseFile f;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    std::fprintf(stderr, "fuzz_weights_resealed: cannot open %s\n", path);
    std::exit(1);
  }
  f.bytes.resize(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(f.bytes.data()), static_cast<std::streamsize>(f.bytes.size()));
  pms::PageBuffer aligned(f.bytes.size());  // the loader wants 64-byte alignment
  std::memcpy(aligned.data(), f.bytes.data(), f.bytes.size());
  pms::WeightsFile parsed;
  if (!in || pms::WeightsFile::parse({aligned.data(), f.bytes.size()}, parsed) != pms::Status::ok) {
    std::fprintf(stderr, "fuzz_weights_resealed: %s does not load\n", path);
    std::exit(1);
  }
  for (int i = 0; i < parsed.tensor_count(); ++i) {
    const pms::TensorEntry t = parsed.tensor(i);
    f.tensors.push_back({static_cast<std::size_t>(static_cast<const std::byte*>(t.data) - aligned.data()), t.bytes,
                         t.dtype == pms::DType::f32});
  }
  return f;
}

const BaseFile& base_file(bool base) {
  static const BaseFile tiny = read_base(PMS_SOURCE_DIR "/weights/pp_mobileseg_tiny_camvid.pms");
  static const BaseFile big = read_base(PMS_SOURCE_DIR "/weights/pp_mobileseg_base_camvid.pms");
  return base ? big : tiny;
}

void write_clipped(std::span<std::byte> file, std::size_t at, const std::uint8_t* payload, std::size_t n) {
  for (std::size_t i = 0; i < n && at + i < file.size(); ++i) file[at + i] = static_cast<std::byte>(payload[i]);
}

void edit_f32(std::span<std::byte> file, const BaseFile::Tensor& t, bool scale, float value) {
  for (std::size_t i = t.offset; i + 4 <= t.offset + t.bytes; i += 4) {
    float v;
    std::memcpy(&v, &file[i], 4);
    v = scale ? v * value : value;
    std::memcpy(&file[i], &v, 4);
  }
}

// Applies the input's records (layout above) to `file`, a copy of `base`.
void apply_records(std::span<std::byte> file, const BaseFile& base, const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kRecordHead = 8;  // op, index, offset, length
  const std::size_t table_size = base.tensors.size() * wf::kEntrySize;
  for (std::size_t pos = 0; pos + kRecordHead <= size;) {
    const std::uint8_t op = data[pos] % 5;
    std::uint16_t index;
    std::uint32_t offset;
    std::memcpy(&index, data + pos + 1, 2);
    std::memcpy(&offset, data + pos + 3, 4);
    const std::size_t n = data[pos + 7];
    if (pos + kRecordHead + n > size) return;
    const std::uint8_t* payload = data + pos + kRecordHead;
    pos += kRecordHead + n;
    const BaseFile::Tensor& t = base.tensors[index % base.tensors.size()];
    float value = 0;
    if (n >= 4) std::memcpy(&value, payload, 4);
    switch (op) {
      case 0: write_clipped(file, offset % wf::kHeaderSize, payload, n); break;
      case 1: write_clipped(file, wf::kHeaderSize + offset % table_size, payload, n); break;
      case 2: write_clipped(file, t.offset + offset % t.bytes, payload, n); break;
      default:
        if (t.f32 && n >= 4) edit_f32(file, t, op == 4, value);
        break;
    }
  }
}

// Stores the checksum of `file` as weights/FORMAT.md defines it, over [0, file_size) when the
// (possibly edited) file_size field lies inside the buffer, else over the whole buffer.
void reseal(std::span<std::byte> file) {
  std::uint64_t file_size = wf::load_le<std::uint64_t>(file.data() + wf::kOffFileSize);
  if (file_size < wf::kHeaderSize || file_size > file.size()) file_size = file.size();
  const std::uint64_t sum = wf::file_checksum(file.first(static_cast<std::size_t>(file_size)));
  std::memcpy(file.data() + wf::kOffChecksum, &sum, sizeof sum);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool big = (data[0] & 1) != 0;
  const BaseFile& base = base_file(big);
  static pms::PageBuffer tiny_copy, base_copy;  // reused: the files are 6 and 24 MB
  pms::PageBuffer& copy = big ? base_copy : tiny_copy;
  if (!copy.allocated()) copy = pms::PageBuffer(base.bytes.size());
  if (!copy.allocated()) return 0;
  std::memcpy(copy.data(), base.bytes.data(), base.bytes.size());
  const std::span<std::byte> file(copy.data(), base.bytes.size());
  apply_records(file, base, data + 1, size - 1);
  reseal(file);
  pms_fuzz::check_accepted_file<pms::Tiny>(file);
  pms_fuzz::check_accepted_file<pms::Base>(file);
  return 0;
}
