// WeightsFile: parses the shipped .pms files, and rejects every corruption of FORMAT.md
// section 6 with its own status. Corruptions are made by mutating a valid file in memory.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "pms/io/weights_file.hpp"

#ifndef PMS_SOURCE_DIR
#error "PMS_SOURCE_DIR (repository root) must be defined by the build"
#endif

namespace {

namespace wf = pms::weights_format;
using pms::Status;

// A 64-byte aligned, owned copy of some bytes (plus `extra` spare bytes at the end).
class AlignedBytes {
 public:
  explicit AlignedBytes(std::size_t n = 0, std::size_t extra = 0)
      : n_(n), p_(static_cast<std::byte*>(::operator new(n + extra + 1, std::align_val_t{pms::kBufferAlignment}))) {
    std::memset(p_.get(), 0, n + extra + 1);
  }
  AlignedBytes(const AlignedBytes& o) : AlignedBytes(o.n_) { std::memcpy(p_.get(), o.p_.get(), n_); }
  std::byte* data() const noexcept { return p_.get(); }
  std::size_t size() const noexcept { return n_; }
  std::span<const std::byte> span() const noexcept { return {p_.get(), n_}; }

 private:
  struct Free {
    void operator()(std::byte* p) const noexcept { ::operator delete(p, std::align_val_t{pms::kBufferAlignment}); }
  };
  std::size_t n_;
  std::unique_ptr<std::byte, Free> p_;
};

AlignedBytes read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  REQUIRE_MESSAGE(f.good(), "cannot open " << path);
  const auto n = static_cast<std::size_t>(f.tellg());
  AlignedBytes b(n);
  f.seekg(0);
  f.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
  REQUIRE(f.good());
  return b;
}

const std::string kTiny = PMS_SOURCE_DIR "/weights/pp_mobileseg_tiny_camvid.pms";
const std::string kBase = PMS_SOURCE_DIR "/weights/pp_mobileseg_base_camvid.pms";
const std::string kTinyInt8 = PMS_SOURCE_DIR "/weights/pp_mobileseg_tiny_camvid_int8.pms";
const std::string kBaseInt8 = PMS_SOURCE_DIR "/weights/pp_mobileseg_base_camvid_int8.pms";

const AlignedBytes& tiny_bytes() {
  static const AlignedBytes b = read_file(kTiny);
  return b;
}

template <class T>
T get_le(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
void put_le(std::byte* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

std::uint64_t hdr_u64(const AlignedBytes& b, std::size_t off) { return get_le<std::uint64_t>(b.data() + off); }
std::byte* entry(const AlignedBytes& b, int i) { return b.data() + wf::kHeaderSize + static_cast<std::size_t>(i) * wf::kEntrySize; }

// After a mutation, stores the checksum of the mutated bytes (the whole buffer, which is the
// whole file for the shipped files) so that the check after the checksum fires.
void fix_checksum(AlignedBytes& b) {
  put_le<std::uint64_t>(b.data() + wf::kOffChecksum, wf::file_checksum(b.span()));
}

// Parses a mutated copy; also checks the output view is left untouched on failure.
Status parse_mutated(const AlignedBytes& b) {
  pms::WeightsFile out;
  const Status s = pms::WeightsFile::parse(b.span(), out);
  if (s != Status::ok) CHECK(out.tensor_count() == 0);
  return s;
}

template <class Mutate>
Status mutated(Mutate&& m) {
  AlignedBytes b(tiny_bytes());
  m(b);
  return parse_mutated(b);
}
// The same with the checksum recomputed after the mutation: what a crafted file looks like.
template <class Mutate>
Status mutated_resealed(Mutate&& m) {
  return mutated([&](AlignedBytes& b) {
    m(b);
    fix_checksum(b);
  });
}

int find_entry(const AlignedBytes& b, const char* name) {
  pms::WeightsFile f;
  REQUIRE(pms::WeightsFile::parse(b.span(), f) == Status::ok);
  return f.index_of(name);
}

}  // namespace

TEST_CASE("fnv1a64 matches the published FNV-1a 64 test vectors") {
  static_assert(wf::fnv1a64({}) == 0xcbf29ce484222325ull);
  const char a[] = "a";
  const char foobar[] = "foobar";
  CHECK(wf::fnv1a64(std::as_bytes(std::span(a, 1))) == 0xaf63dc4c8601ec8cull);
  CHECK(wf::fnv1a64(std::as_bytes(std::span(foobar, 6))) == 0x85944171f73967e8ull);
}

TEST_CASE("shipped CamVid weights parse, with the documented header and layouts") {
  struct Case {
    std::string path;
    pms::ModelVariant variant;
    int tensors;
    std::uint64_t checksum;
    int low_h, low_w;
  };
  for (const Case& c : {Case{kTiny, pms::ModelVariant::tiny, 194, 0x83827468fb2319deull, 3, 4},
                        Case{kBase, pms::ModelVariant::base, 242, 0x2d66dcc99b39582cull, 7, 9}}) {
    CAPTURE(c.path);
    const AlignedBytes b = read_file(c.path);
    pms::WeightsFile f;
    REQUIRE(pms::WeightsFile::parse(b.span(), f) == Status::ok);
    CHECK(f.variant() == c.variant);
    CHECK(f.num_classes() == 11);
    CHECK(f.tensor_count() == c.tensors);
    CHECK(f.file_size() == b.size());
    CHECK(f.checksum() == c.checksum);
    CHECK(f.mean()[0] == 0.485f);
    CHECK(f.mean()[2] == 0.406f);
    CHECK(f.std_dev()[1] == 0.224f);
    CHECK(f.expect(c.variant, 11) == Status::ok);
    CHECK(f.expect(c.variant) == Status::ok);
    for (int i = 0; i < f.tensor_count(); ++i) {
      const pms::TensorEntry t = f.tensor(i);
      CAPTURE(t.name);
      CHECK(reinterpret_cast<std::uintptr_t>(t.data) % pms::kBufferAlignment == 0);
      std::size_t n = 1;
      for (int d = 0; d < t.rank; ++d) n *= static_cast<std::size_t>(t.dims[d]);
      CHECK(t.elements() == n);
      CHECK(f.find(t.name).has_value());
    }
    const float* p = nullptr;
    CHECK(f.get_f32("backbone.smb1.conv.weight", {9, 3, 16}, p) == Status::ok);
    CHECK(p != nullptr);
    CHECK(f.get_f32("decode_head.conv_seg.weight", {256, 16}, p) == Status::ok);
    CHECK(f.get_f32("decode_head.conv_seg.bias", {16}, p) == Status::ok);
    CHECK((p[11] == 0.0f && p[15] == 0.0f));  // zero pad lanes (K = 11 -> P = 16)
    CHECK(f.get_f32("decode_head.linear_fuse.weight", {1, 256}, p) == Status::ok);
    CHECK(f.get_f32("selftest.logits", {11, c.low_h, c.low_w}, p) == Status::ok);
    const std::uint8_t* img = nullptr;
    CHECK(f.get_u8("selftest.image", {56, 72, 3}, img) == Status::ok);
    CHECK(f.get_u8("selftest.labels", {56, 72}, img) == Status::ok);
    for (int i = 0; i < 56 * 72; ++i) REQUIRE(img[i] < 11);
  }
}

TEST_CASE("every tensor of weights/layout_*.tsv is in the shipped files with those dims") {
  for (const char* variant : {"tiny", "base"}) {
    CAPTURE(variant);
    const AlignedBytes b = read_file(std::string(PMS_SOURCE_DIR "/weights/pp_mobileseg_") + variant + "_camvid.pms");
    pms::WeightsFile f;
    REQUIRE(pms::WeightsFile::parse(b.span(), f) == Status::ok);
    std::ifstream tsv(std::string(PMS_SOURCE_DIR "/weights/layout_") + variant + ".tsv");
    REQUIRE(tsv.good());
    std::string line;
    int checked = 0;
    while (std::getline(tsv, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream row(line);
      std::string name, dtype, dims;
      std::getline(row, name, '\t');
      std::getline(row, dtype, '\t');
      std::getline(row, dims, '\t');
      if (name.rfind("selftest.", 0) == 0 || name.rfind("decode_head.conv_seg", 0) == 0) continue;  // depend on K
      std::vector<int> d;
      for (std::size_t pos = 0; pos <= dims.size();) {
        const std::size_t x = dims.find('x', pos);
        d.push_back(std::stoi(dims.substr(pos, x == std::string::npos ? std::string::npos : x - pos)));
        pos = x == std::string::npos ? dims.size() + 1 : x + 1;
      }
      const float* p = nullptr;
      CHECK_MESSAGE(f.get_f32(name, d, p) == Status::ok, name);
      ++checked;
    }
    CHECK(checked == f.tensor_count() - 4 - 2);
  }
}

TEST_CASE("expect() and get_f32() report wrong variant, class count, missing and mis-shaped tensors") {
  pms::WeightsFile f;
  REQUIRE(pms::WeightsFile::parse(tiny_bytes().span(), f) == Status::ok);
  CHECK(f.expect(pms::ModelVariant::base) == Status::wrong_variant);
  CHECK(f.expect(pms::ModelVariant::base, 11) == Status::wrong_variant);
  CHECK(f.expect(pms::ModelVariant::tiny, 150) == Status::wrong_class_count);
  CHECK(f.expect(pms::ModelVariant::tiny, 19) == Status::wrong_class_count);
  CHECK(pms::WeightsFile{}.expect(pms::ModelVariant::tiny) == Status::bad_argument);

  const float* sentinel = reinterpret_cast<const float*>(&f);
  const float* p = sentinel;
  CHECK(f.get_f32("backbone.smb1.conv.c.weight", {16, 3, 3, 3}, p) == Status::missing_tensor);  // Paddle name
  CHECK(f.get_f32("", {1}, p) == Status::missing_tensor);
  CHECK(f.get_f32("backbone.smb1.conv.weigh", {9, 3, 16}, p) == Status::missing_tensor);  // prefix only
  CHECK(f.get_f32("backbone.smb1.conv.weight", {9, 3, 15}, p) == Status::shape_mismatch);
  CHECK(f.get_f32("backbone.smb1.conv.weight", {9, 48}, p) == Status::shape_mismatch);       // same size, other rank
  CHECK(f.get_f32("backbone.smb1.conv.weight", {9, 3, 16, 1}, p) == Status::shape_mismatch);
  CHECK(f.get_f32("selftest.image", {56, 72, 3}, p) == Status::shape_mismatch);  // u8, not f32
  CHECK(p == sentinel);  // untouched on failure
  const std::uint8_t* u = nullptr;
  CHECK(f.get_u8("selftest.logits", {11, 3, 4}, u) == Status::shape_mismatch);  // f32, not u8
  CHECK(u == nullptr);
  CHECK_FALSE(f.find("no.such.tensor").has_value());
  CHECK(f.index_of("no.such.tensor") == -1);
  CHECK(f.tensor(-1).data == nullptr);
  CHECK(f.tensor(f.tensor_count()).data == nullptr);
}

TEST_CASE("buffer-level failures: alignment and truncation") {
  const AlignedBytes& good = tiny_bytes();
  pms::WeightsFile out;
  AlignedBytes shifted(good.size(), 64);
  std::memcpy(shifted.data() + 8, good.data(), good.size());
  CHECK(pms::WeightsFile::parse({shifted.data() + 8, good.size()}, out) == Status::misaligned_buffer);
  CHECK(pms::WeightsFile::parse({}, out) == Status::truncated);
  CHECK(pms::WeightsFile::parse(good.span().first(100), out) == Status::truncated);
  CHECK(pms::WeightsFile::parse(good.span().first(wf::kHeaderSize), out) == Status::truncated);
  CHECK(pms::WeightsFile::parse(good.span().first(good.size() - 1), out) == Status::truncated);
  CHECK(out.tensor_count() == 0);
  // Trailing bytes beyond file_size are allowed.
  AlignedBytes longer(good.size() + 64);
  std::memcpy(longer.data(), good.data(), good.size());
  CHECK(pms::WeightsFile::parse(longer.span(), out) == Status::ok);
  // A failed parse leaves a previously parsed view as it was.
  CHECK(pms::WeightsFile::parse(good.span().first(100), out) == Status::truncated);
  CHECK(out.tensor_count() == 194);
}

TEST_CASE("header failures") {
  CHECK(mutated([](AlignedBytes&) {}) == Status::ok);
  CHECK(mutated([](AlignedBytes& b) { b.data()[1] = std::byte{'Q'}; }) == Status::bad_magic);
  CHECK(mutated([](AlignedBytes& b) { b.data()[7] = std::byte{0}; }) == Status::bad_magic);
  CHECK(mutated_resealed([](AlignedBytes& b) { put_le<std::uint32_t>(b.data() + wf::kOffVersion, 4); }) ==
        Status::unsupported_version);
  CHECK(mutated_resealed([](AlignedBytes& b) { put_le<std::uint32_t>(b.data() + wf::kOffVersion, 1); }) ==
        Status::unsupported_version);  // a v1 file, whose checksum covered the data only
  CHECK(std::string(pms::describe(Status::unsupported_version)).find("re-convert") != std::string::npos);
  CHECK(mutated([](AlignedBytes& b) { put_le<std::uint32_t>(b.data() + wf::kOffVersion, 0); }) ==
        Status::unsupported_version);
  const auto corrupt = [](std::size_t off, auto value) {
    return mutated([&](AlignedBytes& b) { put_le(b.data() + off, value); });
  };
  CHECK(corrupt(wf::kOffHeaderSize, std::uint32_t{64}) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffVariant, std::uint32_t{2}) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffCount, std::uint32_t{0}) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffCount, std::uint32_t{193}) == Status::corrupt_header);  // table_size disagrees
  CHECK(corrupt(wf::kOffCount, std::uint32_t{0xffffffffu}) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffEntrySize, std::uint32_t{64}) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffTableOffset, std::uint64_t{192}) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffTableSize, std::uint64_t{193 * 128}) == Status::corrupt_header);
  CHECK(mutated([](AlignedBytes& b) {
          put_le(b.data() + wf::kOffDataOffset, hdr_u64(b, wf::kOffDataOffset) + 64);
        }) == Status::corrupt_header);
  CHECK(mutated([](AlignedBytes& b) { put_le(b.data() + wf::kOffDataSize, hdr_u64(b, wf::kOffDataSize) - 32); }) ==
        Status::corrupt_header);  // not a multiple of 64 (and file_size disagrees)
  CHECK(mutated([](AlignedBytes& b) { put_le(b.data() + wf::kOffFileSize, hdr_u64(b, wf::kOffFileSize) + 64); }) ==
        Status::corrupt_header);
  CHECK(mutated([](AlignedBytes& b) {  // data_offset + data_size overflows
          put_le(b.data() + wf::kOffDataSize, ~std::uint64_t{63});
        }) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffReserved + 5, std::uint8_t{1}) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffPrecision, std::uint32_t{1}) == Status::corrupt_header);  // version 2: reserved, zero
  CHECK(corrupt(wf::kOffStd + 4, 0.0f) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffStd, -0.2f) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffMean + 8, std::nanf("")) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffMean, INFINITY) == Status::corrupt_header);
  CHECK(corrupt(wf::kOffClasses, std::uint32_t{0}) == Status::wrong_class_count);
  CHECK(corrupt(wf::kOffClasses, std::uint32_t{1}) == Status::wrong_class_count);
  CHECK(corrupt(wf::kOffClasses, std::uint32_t{257}) == Status::wrong_class_count);
  // A consistent header claiming a larger file than the buffer holds.
  CHECK(mutated([](AlignedBytes& b) {
          put_le(b.data() + wf::kOffDataSize, hdr_u64(b, wf::kOffDataSize) + 64);
          put_le(b.data() + wf::kOffFileSize, hdr_u64(b, wf::kOffFileSize) + 64);
        }) == Status::truncated);
}

TEST_CASE("version 3: the precision field, i8 and i32 tensors, and expect() naming a precision mismatch") {
  // The shipped Tiny file relabelled as version 3, resealed (what convert.py writes for an
  // fp32 file in version 3 would differ only there).
  const auto v3 = [](std::uint32_t precision, auto&& more) {
    AlignedBytes b(tiny_bytes());
    put_le<std::uint32_t>(b.data() + wf::kOffVersion, wf::kVersionPrecision);
    put_le<std::uint32_t>(b.data() + wf::kOffPrecision, precision);
    more(b);
    fix_checksum(b);
    return b;
  };
  const auto nothing = [](AlignedBytes&) {};
  for (const std::uint32_t precision : {0u, 1u}) {
    CAPTURE(precision);
    const AlignedBytes b = v3(precision, nothing);
    pms::WeightsFile f;
    REQUIRE(pms::WeightsFile::parse(b.span(), f) == Status::ok);
    CHECK(f.version() == 3);
    const auto mine = static_cast<pms::WeightsPrecision>(precision);
    const auto other = precision == 0 ? pms::WeightsPrecision::int8 : pms::WeightsPrecision::fp32;
    CHECK(f.precision() == mine);
    CHECK(f.expect(pms::ModelVariant::tiny, 11, mine) == Status::ok);
    CHECK(f.expect(pms::ModelVariant::tiny, 11, other) == Status::wrong_precision);
    CHECK(f.expect(pms::ModelVariant::tiny) == (precision == 0 ? Status::ok : Status::wrong_precision));  // fp32 by default
    CHECK(f.expect(pms::ModelVariant::base, 11, other) == Status::wrong_variant);  // the variant is checked first
  }
  CHECK(std::string(pms::describe(Status::wrong_precision)).find("int8") != std::string::npos);
  CHECK(parse_mutated(v3(2, nothing)) == Status::corrupt_header);
  CHECK(parse_mutated(v3(0xffffffffu, nothing)) == Status::corrupt_header);
  CHECK(parse_mutated(v3(1, [](AlignedBytes& b) { b.data()[wf::kOffReserved] = std::byte{1}; })) == Status::corrupt_header);

  // i8 and i32 entries are taken in version 3 (dtype 5 is not a dtype), with their element size.
  const AlignedBytes original(tiny_bytes());
  const int image = find_entry(original, "selftest.image");  // u8: one byte an element, as i8
  const int stem = 0;                                         // f32: four bytes, as i32
  const AlignedBytes typed = v3(1, [&](AlignedBytes& b) {
    put_le<std::uint32_t>(entry(b, image) + wf::kEntDType, 3);
    put_le<std::uint32_t>(entry(b, stem) + wf::kEntDType, 4);
  });
  pms::WeightsFile f;
  REQUIRE(pms::WeightsFile::parse(typed.span(), f) == Status::ok);
  const pms::TensorEntry as_i8 = f.tensor(image), as_i32 = f.tensor(stem);
  CHECK((as_i8.dtype == pms::DType::i8 && as_i8.i8() != nullptr && as_i8.u8() == nullptr));
  CHECK((as_i32.dtype == pms::DType::i32 && as_i32.i32() != nullptr && as_i32.f32() == nullptr));
  const std::int8_t* q = nullptr;
  const std::int32_t* sums = nullptr;
  CHECK(f.get_i8(as_i8.name, std::span<const int>(as_i8.dims.data(), as_i8.rank), q) == Status::ok);
  CHECK(f.get_i32(as_i32.name, std::span<const int>(as_i32.dims.data(), as_i32.rank), sums) == Status::ok);
  CHECK((q == as_i8.i8() && sums == as_i32.i32()));
  CHECK(f.get_i32(as_i8.name, std::span<const int>(as_i8.dims.data(), as_i8.rank), sums) == Status::shape_mismatch);
  CHECK(parse_mutated(v3(1, [&](AlignedBytes& b) { put_le<std::uint32_t>(entry(b, stem) + wf::kEntDType, 5); })) ==
        Status::corrupt_table);
}

TEST_CASE("shipped int8 files parse as int8; broken quantized convs are bad_quantized_weights") {
  struct Case {
    std::string path;
    pms::ModelVariant variant;
    int tensors;
  };
  for (const Case& c : {Case{kTinyInt8, pms::ModelVariant::tiny, 322}, Case{kBaseInt8, pms::ModelVariant::base, 398}}) {
    CAPTURE(c.path);
    const AlignedBytes b = read_file(c.path);
    pms::WeightsFile f;
    REQUIRE(pms::WeightsFile::parse(b.span(), f) == Status::ok);
    CHECK((f.version() == 3 && f.precision() == pms::WeightsPrecision::int8 && f.tensor_count() == c.tensors));
    CHECK(f.expect(c.variant, 11, pms::WeightsPrecision::int8) == Status::ok);
    CHECK(f.expect(c.variant, 11) == Status::wrong_precision);
  }
  const AlignedBytes good = read_file(kTinyInt8);
  const int codes = find_entry(good, "decode_head.conv_seg.weight_q");  // i8 [64][16][4]: 256 -> 11 classes
  const int scales = find_entry(good, "decode_head.conv_seg.weight_scale");
  const int sums = find_entry(good, "decode_head.conv_seg.weight_sum");
  REQUIRE((codes >= 0 && scales >= 0 && sums >= 0));
  const auto data = [](AlignedBytes& b, int i) { return b.data() + get_le<std::uint64_t>(entry(b, i) + wf::kEntOffset); };
  const auto resealed = [&](auto&& m) {
    AlignedBytes b(good);
    m(b);
    fix_checksum(b);
    return parse_mutated(b);
  };
  CHECK(resealed([](AlignedBytes&) {}) == Status::ok);
  // Code -128, with the row's sum kept consistent: only the code rule refuses it.
  CHECK(resealed([&](AlignedBytes& b) {
          auto* q = reinterpret_cast<std::int8_t*>(data(b, codes));
          const int old = q[5 * 16 * 4 + 3 * 4 + 1];  // g 5, co 3, j 1
          q[5 * 16 * 4 + 3 * 4 + 1] = -128;
          auto* s = reinterpret_cast<std::int32_t*>(data(b, sums));
          s[3] += -128 - old;
        }) == Status::bad_quantized_weights);
  // A changed code without its sum, and a changed sum.
  CHECK(resealed([&](AlignedBytes& b) { data(b, codes)[7 * 16 * 4 + 10 * 4 + 2] ^= std::byte{1}; }) ==
        Status::bad_quantized_weights);
  CHECK(resealed([&](AlignedBytes& b) { reinterpret_cast<std::int32_t*>(data(b, sums))[0] += 1; }) ==
        Status::bad_quantized_weights);
  // A negative scale (finite, so the f32 check passes it), and -0 which is allowed (not < 0).
  CHECK(resealed([&](AlignedBytes& b) { put_le(data(b, scales) + 4 * 2, -0.01f); }) == Status::bad_quantized_weights);
  CHECK(resealed([&](AlignedBytes& b) { put_le(data(b, scales) + 4 * 15, -0.0f); }) == Status::ok);
  CHECK(std::string(pms::describe(Status::bad_quantized_weights)).find("int8") != std::string::npos);
}

TEST_CASE("table failures") {
  // Resealed: the checksum would refuse all of these first (next test case); the table
  // checks must refuse them on their own, as a crafted file carries a valid checksum.
  const auto mutated = [](auto&& m) { return mutated_resealed(m); };
  const auto ent = [](int i, std::size_t field, auto value) {
    return mutated_resealed([&](AlignedBytes& b) { put_le(entry(b, i) + field, value); });
  };
  // names
  CHECK(mutated([](AlignedBytes& b) { std::memset(entry(b, 3), 'a', wf::kNameField); }) == Status::corrupt_table);
  CHECK(mutated([](AlignedBytes& b) { std::memset(entry(b, 3), 0, wf::kNameField); }) == Status::corrupt_table);
  CHECK(mutated([](AlignedBytes& b) { entry(b, 3)[wf::kNameField - 1] = std::byte{'x'}; }) == Status::corrupt_table);
  CHECK(mutated([](AlignedBytes& b) { std::memcpy(entry(b, 5), entry(b, 2), wf::kNameField); }) ==
        Status::corrupt_table);  // duplicate name
  // dtype, rank, dims
  CHECK(ent(0, wf::kEntDType, std::uint32_t{0}) == Status::corrupt_table);
  CHECK(ent(0, wf::kEntDType, std::uint32_t{3}) == Status::corrupt_table);  // i8, i32: version 3 only
  CHECK(ent(0, wf::kEntDType, std::uint32_t{4}) == Status::corrupt_table);
  CHECK(ent(0, wf::kEntRank, std::uint32_t{0}) == Status::corrupt_table);
  CHECK(ent(0, wf::kEntRank, std::uint32_t{5}) == Status::corrupt_table);
  CHECK(ent(0, wf::kEntDims + 0, std::uint32_t{0}) == Status::corrupt_table);
  CHECK(ent(0, wf::kEntDims + 12, std::uint32_t{1}) == Status::corrupt_table);  // unused dim (rank 3) not 0
  CHECK(ent(0, wf::kEntDims + 4, std::uint32_t{4}) == Status::corrupt_table);   // bytes != product(dims)*4
  CHECK(ent(0, wf::kEntDims, std::uint32_t{0x80000000u}) == Status::corrupt_table);  // > INT_MAX
  CHECK(mutated([](AlignedBytes& b) {  // product of dims overflows 64 bits
          put_le<std::uint32_t>(entry(b, 0) + wf::kEntRank, 4);
          for (int d = 0; d < 4; ++d) put_le<std::uint32_t>(entry(b, 0) + wf::kEntDims + 4 * d, 0x7fffffffu);
        }) == Status::corrupt_table);
  CHECK(ent(0, wf::kEntBytes, std::uint64_t{9 * 3 * 16 * 4 + 4}) == Status::corrupt_table);
  // offsets
  CHECK(mutated([](AlignedBytes& b) {
          put_le(entry(b, 0) + wf::kEntOffset, get_le<std::uint64_t>(entry(b, 0) + wf::kEntOffset) + 4);
        }) == Status::corrupt_table);  // not a multiple of 64
  CHECK(ent(0, wf::kEntOffset, std::uint64_t{64}) == Status::corrupt_table);  // inside the table
  CHECK(mutated([](AlignedBytes& b) {  // past the data section
          const int last = static_cast<int>(get_le<std::uint32_t>(b.data() + wf::kOffCount)) - 1;
          put_le(entry(b, last) + wf::kEntOffset, hdr_u64(b, wf::kOffFileSize));
        }) == Status::corrupt_table);
  CHECK(mutated([](AlignedBytes& b) {  // ends past the data section
          const int last = static_cast<int>(get_le<std::uint32_t>(b.data() + wf::kOffCount)) - 1;
          put_le(entry(b, last) + wf::kEntOffset, hdr_u64(b, wf::kOffFileSize) - 64);
        }) == Status::corrupt_table);
  CHECK(mutated([](AlignedBytes& b) {  // offset + bytes wraps around
          put_le(entry(b, 0) + wf::kEntOffset, ~std::uint64_t{63});
        }) == Status::corrupt_table);
  CHECK(mutated([](AlignedBytes& b) {  // tensor 1 overlaps tensor 0
          put_le(entry(b, 1) + wf::kEntOffset, get_le<std::uint64_t>(entry(b, 0) + wf::kEntOffset));
        }) == Status::corrupt_table);
  CHECK(mutated([](AlignedBytes& b) {  // entries out of offset order (swapped)
          std::byte tmp[wf::kEntrySize];
          std::memcpy(tmp, entry(b, 10), wf::kEntrySize);
          std::memcpy(entry(b, 10), entry(b, 11), wf::kEntrySize);
          std::memcpy(entry(b, 11), tmp, wf::kEntrySize);
        }) == Status::corrupt_table);
}

TEST_CASE("data failures: checksum and non-finite values") {
  CHECK(mutated([](AlignedBytes& b) { b.data()[hdr_u64(b, wf::kOffDataOffset) + 100] ^= std::byte{1}; }) ==
        Status::bad_checksum);
  CHECK(mutated([](AlignedBytes& b) { b.data()[b.size() - 1] ^= std::byte{0x80}; }) == Status::bad_checksum);
  CHECK(mutated([](AlignedBytes& b) { put_le(b.data() + wf::kOffChecksum, hdr_u64(b, wf::kOffChecksum) + 1); }) ==
        Status::bad_checksum);
  // A flipped bit with a recomputed checksum is (deliberately) accepted: the checksum is
  // what detects corruption, nothing else.
  CHECK(mutated([](AlignedBytes& b) {
          b.data()[hdr_u64(b, wf::kOffDataOffset) + 1] ^= std::byte{1};
          fix_checksum(b);
        }) == Status::ok);
  for (const float bad : {std::nanf(""), INFINITY, -INFINITY}) {
    for (const char* name : {"backbone.smb1.conv.weight", "decode_head.conv_seg.bias", "selftest.label_margin"}) {
      CAPTURE(name);
      CHECK(mutated([&](AlignedBytes& b) {
              const int i = find_entry(b, name);
              REQUIRE(i >= 0);
              const auto off = get_le<std::uint64_t>(entry(b, i) + wf::kEntOffset);
              const auto bytes = get_le<std::uint64_t>(entry(b, i) + wf::kEntBytes);
              put_le(b.data() + off + bytes - 4, bad);  // last element
              fix_checksum(b);
            }) == Status::non_finite_weights);
    }
  }
  // 0xff bytes are fine in u8 tensors.
  CHECK(mutated([](AlignedBytes& b) {
          const int i = find_entry(b, "selftest.image");
          std::memset(b.data() + get_le<std::uint64_t>(entry(b, i) + wf::kEntOffset), 0xff, 16);
          fix_checksum(b);
        }) == Status::ok);
}

namespace {

// Flips every bit of bytes [begin, end) of `file` in turn and counts the flips parse() accepts.
int accepted_bit_flips(const AlignedBytes& file, std::size_t begin, std::size_t end) {
  AlignedBytes b(file);
  int accepted = 0;
  for (std::size_t i = begin; i < end; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      b.data()[i] ^= std::byte{static_cast<unsigned char>(1u << bit)};
      pms::WeightsFile out;
      if (pms::WeightsFile::parse(b.span(), out) == Status::ok) {
        ++accepted;
        MESSAGE("accepted: bit " << bit << " of byte " << i);
      }
      b.data()[i] ^= std::byte{static_cast<unsigned char>(1u << bit)};
    }
  }
  return accepted;
}

}  // namespace

// Format v2 checksums the whole file, so no damage to the header (class count, mean, std: all
// accepted by v1 when the change kept the header consistent) or to the table goes unnoticed.
// model.load() parses first, so what parse() refuses, load() refuses.
TEST_CASE("every single-bit flip of the header or the tensor table is refused") {
  SUBCASE("a small file: all of its header and table") {
    const AlignedBytes small = read_file(PMS_SOURCE_DIR "/tests/fuzz/corpus/weights_raw/base_k3_head.pms");
    pms::WeightsFile f;
    REQUIRE(pms::WeightsFile::parse(small.span(), f) == Status::ok);
    const std::size_t table_end = wf::kHeaderSize + static_cast<std::size_t>(f.tensor_count()) * wf::kEntrySize;
    CHECK(accepted_bit_flips(small, 0, table_end) == 0);
  }
  SUBCASE("the shipped Tiny file: its header") {  // 6 ms a flip (the whole file is hashed)
    CHECK(accepted_bit_flips(tiny_bytes(), 0, wf::kHeaderSize) == 0);
  }
}
