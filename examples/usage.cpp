// The README's usage snippet, compiled so it cannot rot. Segments a synthetic image with the
// shipped Tiny weights: usage WEIGHTS.pms
#include <pms/mobileseg.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <new>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return std::fprintf(stderr, "usage: usage WEIGHTS.pms\n"), 2;
  std::ifstream file(argv[1], std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(file)), {});
  // pms reads the weights in place; they must stay alive and 64-byte aligned.
  auto* bytes = new (std::align_val_t{64}) std::byte[raw.size()];
  std::copy_n(reinterpret_cast<const std::byte*>(raw.data()), raw.size(), bytes);
  const int height = 360, width = 480;
  std::vector<std::uint8_t> rgb(height * width * 3, 128);  // your image: 8-bit RGB, rows packed

  // --8<-- [start:usage]
  pms::MobileSeg<pms::Tiny> model;  // or pms::Base
  if (pms::Status s = model.load({bytes, raw.size()}); s != pms::Status::ok)
    return std::fprintf(stderr, "weights: %s\n", pms::describe(s)), 1;

  std::vector<std::byte> workspace(model.workspace_size(height, width));  // any alignment

  std::vector<std::uint8_t> labels(height * width);  // one class id per pixel
  pms::ImageView image{rgb.data(), height, width, width * 3, pms::PixelFormat::rgb};
  pms::Status s = model.segment(image, workspace, pms::LabelMap<std::uint8_t>{labels.data(), height, width, width});
  // --8<-- [end:usage]

  std::printf("%s: label of the centre pixel %d\n", pms::describe(s), labels[height / 2 * width + width / 2]);
  ::operator delete[](bytes, std::align_val_t{64});
  return s == pms::Status::ok ? 0 : 1;
}
