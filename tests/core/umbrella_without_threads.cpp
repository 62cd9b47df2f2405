// A program that includes only <pms/mobileseg.hpp>, built with -fno-exceptions -fno-rtti, as
// single-threaded firmware is: it must compile without the thread pool (no <thread>, <mutex>
// or <condition_variable>) and size a static workspace at compile time.
#include "pms/mobileseg.hpp"

#if defined(_GLIBCXX_THREAD) || defined(_GLIBCXX_MUTEX) || defined(_GLIBCXX_CONDITION_VARIABLE) || \
    defined(PMS_THREAD_POOL_PTHREADS)
#error "pms/mobileseg.hpp pulled in threading headers; the thread pool must stay opt-in"
#endif
#if defined(__cpp_exceptions) || defined(__GXX_RTTI)
#error "this check must be built with -fno-exceptions -fno-rtti"
#endif

namespace {
constexpr std::size_t kWorkspace = pms::MobileSeg<pms::Tiny>::workspace_size({360, 480, 11});
static_assert(kWorkspace > 0, "The workspace of a fixed size is a constant expression.");
std::byte workspace[kWorkspace];  // any alignment: the library aligns inside
}  // namespace

int main() {
  pms::MobileSeg<pms::Tiny> model;
  std::uint8_t pixel[3] = {0, 0, 0};
  std::uint8_t label = 0;
  // Not loaded: the call must answer with a status, touching nothing.
  const pms::Status s = model.segment(pms::ImageView{pixel, 1, 1, 3, pms::PixelFormat::rgb}, workspace,
                                      pms::LabelMap<std::uint8_t>{&label, 1, 1, 1});
  return s == pms::Status::bad_argument ? 0 : 1;
}
