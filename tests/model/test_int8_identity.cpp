// The int8 network computes the same bits on every build: SSE2, AVX2, AVX-512 (with or
// without VNNI), NEON (with or without the dot product), GCC or clang, any thread count
// (weights/FORMAT.md 7.8). Its integer parts are exact and its float parts one fixed sequence
// of IEEE operations, so the low-resolution logits and both label maps of a fixed image
// hash to one value, recorded here from an x86 build. This file is built into every model
// suite and into the int8 tests of each dot-product level (tests/meson.build), so each of
// those builds checks its bits against the same record.
//
// The record changes only when the network's arithmetic does (a kernel's operation order,
// the quantizer, the shipped int8 files): then every build changes with it, and the new
// hashes, printed by a failing run, are recorded after checking that all builds agree.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "model_test_support.hpp"
#include "noisy_gradients.hpp"
#include "pms/core/thread_pool.hpp"
#include "pms/mobileseg.hpp"

namespace {

using namespace pms;
using pms::test::AlignedBytes;

// FNV-1a over bytes: a record of bits, not a checksum against attack.
struct Fnv1a {
  std::uint64_t h = 0xcbf29ce484222325ull;
  void add(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  }
};

std::string hex(std::uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

struct Record {
  std::uint64_t logits = 0, labels_exact = 0, labels_vim = 0;
};

// The three hashes of one model on the image, with `threads` threads. Logits: the K real
// channels of every low-resolution pixel (pad lanes are not part of the contract).
template <class Model>
Record record(const Model& model, int threads) {
  constexpr int height = 97, width = 131;
  const std::vector<std::uint8_t> rgb = pms::test::noisy_gradients(height, width);
  const ImageView image{rgb.data(), height, width, width * 3, PixelFormat::rgb};
  ThreadPool pool(threads);
  AlignedBytes ws(model.workspace_size(height, width, pool.threads()));
  Record r;
  SegmentInfo info;
  REQUIRE(model.logits(image, ws.span(), pool, info) == Status::ok);
  Fnv1a logits;
  for (int y = 0; y < info.logits.height; ++y)
    for (int x = 0; x < info.logits.width; ++x) logits.add(info.logits.pixel(y, x), sizeof(float) * static_cast<std::size_t>(info.logits.channels));
  r.logits = logits.h;
  for (const Upsampling mode : {Upsampling::exact, Upsampling::vim}) {
    std::vector<std::uint8_t> labels(static_cast<std::size_t>(height) * width, 255);
    REQUIRE(model.segment(image, ws.span(), LabelMap<std::uint8_t>{labels.data(), height, width, width}, pool,
                          SegmentOptions{mode}) == Status::ok);
    Fnv1a h;
    h.add(labels.data(), labels.size());
    (mode == Upsampling::exact ? r.labels_exact : r.labels_vim) = h.h;
  }
  return r;
}

template <class V>
void check_record(const Record& expected) {
  const AlignedBytes file = pms::test::read_file(pms::test::repo_path(std::string("weights/pp_mobileseg_") + V::name + "_camvid_int8.pms"));
  REQUIRE(file.size > 0);
  MobileSeg<V, Int8> model;
  REQUIRE(model.load(file.cspan()) == Status::ok);
  for (const int threads : {1, 2}) {
    const Record r = record(model, threads);
    CAPTURE(threads);
    const std::string got = std::string(V::name) + " int8 on " + simd::isa_name() + ": logits 0x" + hex(r.logits) +
                            ", exact labels 0x" + hex(r.labels_exact) + ", VIM labels 0x" + hex(r.labels_vim);
    INFO(got);
    CHECK(r.logits == expected.logits);
    CHECK(r.labels_exact == expected.labels_exact);
    CHECK(r.labels_vim == expected.labels_vim);
  }
}

}  // namespace

TEST_CASE("int8 Tiny: the recorded bits on every ISA and thread count") {
  check_record<Tiny>({0x8ad33c970234708eull, 0x664eb66d390717c4ull, 0x664eb66d390717c4ull});
}

TEST_CASE("int8 Base: the recorded bits on every ISA and thread count") {
  check_record<Base>({0x533efe778abccb58ull, 0x4463097e75e8a58bull, 0x4463097e75e8a58bull});
}
