// examples/common/labelled_set.hpp: a data set of images and label maps in two folders, paired
// by file stem, read pair by pair, and its confusion matrix: what evaluate (pms) and bench/peers/ort_evaluate
// (ONNX Runtime) score. Not part of the library.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "common/image_io.hpp"
#include "common/palette.hpp"

namespace pms_examples {

namespace labelled_set_detail {

namespace fs = std::filesystem;

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline bool is_image_name(const fs::path& p) {
  static const char* const kExt[] = {".png", ".jpg", ".jpeg", ".ppm", ".pgm", ".pnm"};
  const std::string e = lower(p.extension().string());
  return std::any_of(std::begin(kExt), std::end(kExt), [&](const char* k) { return e == k; });
}

// Regular image files of a folder by stem (hidden files skipped). Two files with one stem
// are ambiguous unless one of them is a PNG, which then wins (label maps are PNGs).
template <class Fail>
std::map<std::string, fs::path> image_files(const std::string& dir, const char* what, Fail&& fail) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(std::string(what) + " folder " + dir + " does not exist or is not a folder");
  std::map<std::string, fs::path> out;
  fs::directory_iterator it(dir, ec);
  if (ec) fail("cannot list " + dir + ": " + ec.message());
  for (const fs::directory_entry& e : it) {
    const fs::path& p = e.path();
    if (p.filename().string().starts_with(".") || !is_image_name(p) || !e.is_regular_file(ec)) continue;
    const std::string stem = p.stem().string();
    auto [slot, inserted] = out.emplace(stem, p);
    if (inserted) continue;
    const bool old_png = lower(slot->second.extension().string()) == ".png";
    const bool new_png = lower(p.extension().string()) == ".png";
    if (old_png == new_png)
      fail(std::string(what) + " folder has two files with the stem '" + stem + "': " + slot->second.filename().string() +
           " and " + p.filename().string());
    if (new_png) slot->second = p;
  }
  return out;
}

}  // namespace labelled_set_detail

// (image, label map) paths: every image of `images` (sorted by name, at most `limit` if > 0)
// with the file of the same stem in `labels`. `fail(message)` must not return.
template <class Fail>
std::vector<std::pair<std::filesystem::path, std::filesystem::path>> labelled_images(const std::string& images, const std::string& labels,
                                                                                     int limit, Fail&& fail) {
  const auto image_paths = labelled_set_detail::image_files(images, "image", fail);
  const auto label_paths = labelled_set_detail::image_files(labels, "label", fail);
  std::vector<std::pair<std::filesystem::path, std::filesystem::path>> pairs;
  for (const auto& [stem, path] : image_paths) {
    const auto l = label_paths.find(stem);
    if (l == label_paths.end()) fail(path.string() + ": no label map with the stem '" + stem + "' in " + labels);
    pairs.emplace_back(path, l->second);
    if (limit > 0 && static_cast<int>(pairs.size()) == limit) break;
  }
  if (pairs.empty()) fail("no images (.png, .jpg, .jpeg, .ppm, .pgm, .pnm) in " + images);
  return pairs;
}

// Reads one pair of labelled_images: the image as 8-bit RGB, its label map as 8-bit class ids,
// which must have the image's size. Returns "" or the error, one line that names the file.
inline std::string load_labelled_pair(const std::filesystem::path& image_path, const std::filesystem::path& label_path, RgbImage& photo,
                                      GrayImage& truth) {
  std::string error;
  if (!load_rgb(image_path.string(), photo, error) || !load_gray8(label_path.string(), truth, error)) return error;
  if (truth.width != photo.width || truth.height != photo.height)
    return label_path.string() + ": label map is " + std::to_string(truth.width) + "x" + std::to_string(truth.height) + ", its image " +
           image_path.filename().string() + " is " + std::to_string(photo.width) + "x" + std::to_string(photo.height);
  return {};
}

// One confusion matrix over a whole set, counts[truth][prediction], K x K. IoU_c = TP / (TP +
// FP + FN) (0 for a class that never occurs nor is predicted), mIoU = mean over all K classes,
// pixel accuracy = correct / counted pixels; pixels whose truth is `ignore` are not counted.
class ConfusionMatrix {
 public:
  ConfusionMatrix(int classes, int ignore)
      : k_(classes), ignore_(ignore), counts_(static_cast<std::size_t>(classes) * classes, 0) {}

  // Adds one image's pixels (row-major, `width` per row, `pixels` in all). Returns "" or the
  // error: a truth label neither a class nor ignored, or a prediction outside [0, K) (checked,
  // so nothing is written past the matrix).
  template <class Label>
  std::string add(const std::uint8_t* truth, const Label* predicted, std::size_t pixels, int width, const std::string& label_path,
                  const std::string& image_path) {
    for (std::size_t p = 0; p < pixels; ++p) {
      const int t = truth[p];
      if (t == ignore_) {
        ++ignored_;
        continue;
      }
      if (t >= k_)
        return label_path + ": label " + std::to_string(t) + " at (x " + std::to_string(p % width) + ", y " + std::to_string(p / width) +
               ") is neither one of the " + std::to_string(k_) + " classes nor the ignored label " + std::to_string(ignore_) +
               "; pass --ignore " + std::to_string(t) + " if it marks pixels to skip";
      const auto c = static_cast<long long>(predicted[p]);
      if (c < 0 || c >= k_)
        return image_path + ": predicted label " + std::to_string(c) + ", outside the " + std::to_string(k_) + " classes";
      ++counts_[static_cast<std::size_t>(t) * k_ + static_cast<std::size_t>(c)];
    }
    return {};
  }

  std::uint64_t ignored() const { return ignored_; }

  // Prints the per-class table (IoU, accuracy = recall = TP / (TP + FN), pixels of the class),
  // "mIoU X" and "pixel accuracy X"; returns the mIoU in %.
  double print() const {
    std::uint64_t correct = 0, counted = 0;
    double miou = 0;
    std::printf("%-3s %-18s %7s %7s %12s\n", "id", "class", "IoU %", "acc %", "pixels");
    for (int c = 0; c < k_; ++c) {
      std::uint64_t tp = counts_[static_cast<std::size_t>(c) * k_ + c], row = 0, col = 0;
      for (int j = 0; j < k_; ++j) {
        row += counts_[static_cast<std::size_t>(c) * k_ + j];
        col += counts_[static_cast<std::size_t>(j) * k_ + c];
      }
      const std::uint64_t uni = row + col - tp;
      const double iou = uni > 0 ? static_cast<double>(tp) / static_cast<double>(uni) : 0.0;
      const double recall = row > 0 ? static_cast<double>(tp) / static_cast<double>(row) : 0.0;
      std::printf("%3d %-18s %7.2f %7.2f %12llu\n", c, class_name(k_, c).c_str(), 100 * iou, 100 * recall, static_cast<unsigned long long>(row));
      miou += iou;
      correct += tp;
      counted += row;
    }
    miou = 100 * miou / k_;
    std::printf("mIoU %.2f\n", miou);
    std::printf("pixel accuracy %.2f\n", counted > 0 ? 100.0 * static_cast<double>(correct) / static_cast<double>(counted) : 0.0);
    return miou;
  }

 private:
  int k_, ignore_;
  std::vector<std::uint64_t> counts_;
  std::uint64_t ignored_ = 0;
};

}  // namespace pms_examples
