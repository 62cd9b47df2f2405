// Compiled once per ISA level (tests/isa_mix/meson.build passes that level's flags and
// ISA_MIX_ENTRY, the entry point's name): the Tiny model and two kernels as this level builds them.
#include "isa_mix.hpp"

#include <span>

#include "pms/mobileseg.hpp"

#ifndef ISA_MIX_ENTRY
#error "the build defines ISA_MIX_ENTRY (segment_sse2, segment_avx2 or segment_avx512)"
#endif

namespace isa_mix {

Run ISA_MIX_ENTRY(const std::byte* weights, std::size_t weight_bytes, const std::byte* int8, std::size_t int8_bytes,
                  const std::uint8_t* rgb, int height, int width, std::uint8_t* labels_exact, std::uint8_t* labels_vim,
                  std::uint8_t* labels_int8) {
  Run run;
  run.isa = pms::simd::isa_name();
  run.argmax_channels = reinterpret_cast<AnyFunction>(&pms::kernels::argmax_channels<std::uint8_t>);
  run.gather_channels = reinterpret_cast<AnyFunction>(&pms::kernels::gather_channels);

  pms::MobileSeg<pms::Tiny> model;
  if (pms::Status s = model.load({weights, weight_bytes}); s != pms::Status::ok) {
    run.status_exact = run.status_vim = static_cast<int>(s);
    return run;
  }
  const std::size_t bytes = model.workspace_size(height, width);  // any alignment works
  auto* raw = new std::byte[bytes];
  const std::span<std::byte> workspace(raw, bytes);
  const pms::ImageView image{rgb, height, width, width * 3, pms::PixelFormat::rgb};
  run.status_exact = static_cast<int>(model.segment(image, workspace, pms::LabelMap<std::uint8_t>{labels_exact, height, width, width},
                                                    pms::SegmentOptions{pms::Upsampling::exact}));
  run.status_vim = static_cast<int>(model.segment(image, workspace, pms::LabelMap<std::uint8_t>{labels_vim, height, width, width},
                                                  pms::SegmentOptions{pms::Upsampling::vim}));
  delete[] raw;

  pms::MobileSeg<pms::Tiny, pms::Int8> int8_model;
  if (pms::Status s = int8_model.load({int8, int8_bytes}); s != pms::Status::ok) {
    run.status_int8 = static_cast<int>(s);
    return run;
  }
  auto* raw8 = new std::byte[int8_model.workspace_size(height, width)];
  run.status_int8 = static_cast<int>(int8_model.segment(image, {raw8, int8_model.workspace_size(height, width)},
                                                        pms::LabelMap<std::uint8_t>{labels_int8, height, width, width},
                                                        pms::SegmentOptions{pms::Upsampling::exact}));
  delete[] raw8;
  return run;
}

}  // namespace isa_mix
