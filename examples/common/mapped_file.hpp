// examples/common/mapped_file.hpp: a read-only memory mapping of a whole file (POSIX), so
// weights are used in place: pms parses the mapped bytes and keeps pointers into them.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <span>
#include <string>

namespace pms_examples {

class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) munmap(data_, size_);
  }

  // Maps `path`; on failure returns false with a one-line `error`.
  bool open(const std::string& path, std::string& error) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) {
      error = "cannot open " + path;
      return false;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
      ::close(fd);
      error = path + ": not a regular, non-empty file";
      return false;
    }
    void* p = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) {
      error = "cannot map " + path;
      return false;
    }
    data_ = p;
    size_ = static_cast<std::size_t>(st.st_size);
    return true;
  }

  // Page-aligned, so the 64-byte alignment pms needs holds.
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace pms_examples
