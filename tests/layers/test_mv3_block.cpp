// MV3Block's two schedules (layers/mv3_block.hpp) give the same bits: the row-streamed one
// (expanded rows in a per-thread ring) against the whole-tensor one, for blocks with and
// without squeeze-excite, stride 1 and 2, with and without residual, at sizes on both sides
// of the switch-over (kStreamMinBytes of expanded tensor), on 1-3 threads. And forward()
// switches where streamed() says.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "model_test_support.hpp"
#include "pms/core/thread_pool.hpp"
#include "pms/layers/mv3_block.hpp"

namespace {

using namespace pms;
using pms::test::Buffer;

// Random weights of a block's packed layouts (pad lanes zero), owned by the test.
template <MV3BlockSpec S>
struct RandomBlock {
  Buffer expand_w{static_cast<std::size_t>(S.in) * padded_channels(S.expand)}, expand_b{padded_channels(S.expand)};
  Buffer dw_w{static_cast<std::size_t>(S.kernel * S.kernel) * padded_channels(S.expand)}, dw_b{padded_channels(S.expand)};
  Buffer se1_w{static_cast<std::size_t>(S.expand) * padded_channels(S.se_channels())}, se1_b{padded_channels(S.se_channels())};
  Buffer se2_w{static_cast<std::size_t>(S.se_channels()) * padded_channels(S.expand)}, se2_b{padded_channels(S.expand)};
  Buffer lin_w{static_cast<std::size_t>(S.expand) * padded_channels(S.out)}, lin_b{padded_channels(S.out)};
  layers::MV3Block<S> block;

  explicit RandomBlock(std::mt19937_64& g) {
    fill(g, expand_w, S.expand, 0.3f), fill(g, expand_b, S.expand, 0.1f);
    fill(g, dw_w, S.expand, 0.3f), fill(g, dw_b, S.expand, 0.1f);
    fill(g, se1_w, S.se_channels(), 0.2f), fill(g, se1_b, S.se_channels(), 0.1f);
    fill(g, se2_w, S.expand, 0.2f), fill(g, se2_b, S.expand, 0.1f);
    fill(g, lin_w, S.out, 0.2f), fill(g, lin_b, S.out, 0.1f);
    block.expand = {expand_w.data(), expand_b.data(), S.in, S.expand};
    block.depthwise = {dw_w.data(), dw_b.data(), S.expand};
    block.se = {se1_w.data(), se1_b.data(), se2_w.data(), se2_b.data(), S.expand, S.se_channels()};
    block.linear = {lin_w.data(), lin_b.data(), S.expand, S.out};
  }
  // Rows of `width` real values then zero pad lanes.
  static void fill(std::mt19937_64& g, const Buffer& b, int width, float scale) {
    const std::size_t row = padded_channels(width);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = i % row < static_cast<std::size_t>(width) ? pms::test::uniform(g, -scale, scale) : 0.0f;
  }
};

enum class Schedule { whole, streamed };

// The block's output for `in` under one schedule, on `threads` threads.
template <MV3BlockSpec S>
std::vector<float> run(const layers::MV3Block<S>& block, ConstTensorView in, Schedule schedule, int threads) {
  const int oh = conv_out_extent(in.height, S.stride), ow = conv_out_extent(in.width, S.stride);
  ThreadPool pool(threads);
  auto forward = [&](auto& ctx, TensorView out) {
    if (schedule == Schedule::whole)
      block.forward_whole(ctx, in, out);
    else
      block.forward_streamed(ctx, in, out);
  };
  Arena measuring;
  MeasureOnly measure{pool.threads()};
  RunContext<MeasureOnly> mctx{measuring, measure, false};
  forward(mctx, TensorView{nullptr, oh, ow, S.out, padded_channels(S.out)});
  pms::test::AlignedBytes ws(measuring.peak());
  Arena arena(ws.data.get(), ws.size);
  RunContext<ThreadPool> ctx{arena, pool, true};
  pms::test::OwnedTensor out(oh, ow, S.out);
  forward(ctx, out.view);
  std::vector<float> values(out.view.size());
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x)
      for (int c = 0; c < S.out; ++c) values[(static_cast<std::size_t>(y) * ow + x) * S.out + c] = out.view.pixel(y, x)[c];
  return values;
}

// Heights whose expanded tensor is just below and just above kStreamMinBytes at `width`.
template <MV3BlockSpec S>
std::vector<int> heights_around_switch(int width) {
  const std::size_t row_bytes = tensor_floats(1, width, S.expand) * sizeof(float);
  const int at = static_cast<int>((layers::MV3Block<S>::kStreamMinBytes + row_bytes - 1) / row_bytes);
  return {at - 1, at, at + 3};
}

template <MV3BlockSpec S>
void check_block() {
  auto g = pms::test::rng(801 + S.expand + S.stride);
  RandomBlock<S> b(g);
  const int width = 37;  // odd, so pixel tails and stride-2 edges are exercised
  for (const int height : heights_around_switch<S>(width)) {
    const pms::test::OwnedTensor in = pms::test::random_tensor(g, height, width, S.in);
    CAPTURE(height);
    CHECK(layers::MV3Block<S>::streamed(height, width, 1) == (tensor_floats(height, width, S.expand) * sizeof(float) >= layers::MV3Block<S>::kStreamMinBytes));
    const std::vector<float> whole = run(b.block, in.view, Schedule::whole, 1);
    for (const int threads : {1, 2, 3}) {
      CAPTURE(threads);
      const std::vector<float> streamed = run(b.block, in.view, Schedule::streamed, threads);
      CHECK(std::memcmp(streamed.data(), whole.data(), whole.size() * sizeof(float)) == 0);
      CHECK(run(b.block, in.view, Schedule::whole, threads) == whole);
    }
  }
}

}  // namespace

TEST_CASE("MV3Block: the row-streamed schedule gives the whole-tensor schedule's bits") {
  check_block<MV3BlockSpec{16, 3, 64, 24, false, BlockActivation::relu, 1}>();    // no SE, stride 1, no residual
  check_block<MV3BlockSpec{24, 3, 72, 24, false, BlockActivation::relu, 1}>();    // no SE, residual
  check_block<MV3BlockSpec{16, 3, 64, 32, false, BlockActivation::relu, 2}>();    // no SE, stride 2
  check_block<MV3BlockSpec{32, 5, 96, 32, true, BlockActivation::hswish, 1}>();   // SE, 5x5, residual
  check_block<MV3BlockSpec{24, 5, 96, 32, true, BlockActivation::hswish, 2}>();   // SE, stride 2
}
