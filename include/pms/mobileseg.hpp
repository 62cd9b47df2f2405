// pms/mobileseg.hpp: the one header users include.
//
// PP-MobileSeg (Tiny and Base) semantic segmentation, header-only. See README.md:
//   pms::MobileSeg<pms::Tiny> model;  model.load(bytes);  model.segment(image, workspace, labels);
// Single-threaded unless you pass an executor: pms/core/thread_pool.hpp (opt-in, so firmware
// without threads needs nothing from its toolchain's thread support).
#pragma once

#include "pms/core/executor.hpp"
#include "pms/core/image.hpp"
#include "pms/core/label_map.hpp"
#include "pms/core/precision.hpp"
#include "pms/core/status.hpp"
#include "pms/core/tensor.hpp"
#include "pms/io/weights_file.hpp"
#include "pms/model/mobileseg.hpp"
#include "pms/model/segment_options.hpp"
#include "pms/model/variants.hpp"
