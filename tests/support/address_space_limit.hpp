// AddressSpaceLimit: lowers the process's address-space limit (RLIMIT_AS) to what it maps now
// plus `headroom` bytes, so that a test can watch the system refuse memory (a thread's stack);
// restore() or the destructor puts the old limit back. Linux only; no exceptions, so it also
// serves tests built without them. qemu-user does not enforce the limit: tests must allow
// for nothing being refused.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>

namespace pms::test {

class AddressSpaceLimit {
 public:
  explicit AddressSpaceLimit(std::size_t headroom) noexcept {
    if (getrlimit(RLIMIT_AS, &old_) != 0) return;
    long pages = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {  // first field: pages mapped
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    if (pages <= 0) return;
    rlimit tight = old_;
    tight.rlim_cur = static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + headroom;
    if (old_.rlim_cur != RLIM_INFINITY && old_.rlim_cur < tight.rlim_cur) tight.rlim_cur = old_.rlim_cur;
    active_ = setrlimit(RLIMIT_AS, &tight) == 0;
  }
  AddressSpaceLimit(const AddressSpaceLimit&) = delete;
  AddressSpaceLimit& operator=(const AddressSpaceLimit&) = delete;
  ~AddressSpaceLimit() { (void)restore(); }

  // Whether the lower limit was set (false if the limit or the mapping could not be read).
  bool active() const noexcept { return active_; }
  // Puts the old limit back; false if that failed.
  bool restore() noexcept {
    const bool ok = !active_ || setrlimit(RLIMIT_AS, &old_) == 0;
    active_ = false;
    return ok;
  }

 private:
  rlimit old_{};
  bool active_ = false;
};

}  // namespace pms::test
