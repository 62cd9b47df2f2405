// pms/mobileseg.hpp: the one header users include.
//
// PP-MobileSeg (Tiny and Base) semantic segmentation, header-only. See README.md:
//   pms::MobileSeg<pms::Tiny> model;  model.load(bytes);  model.segment(image, workspace, labels);
#pragma once

#include "pms/core/image.hpp"
#include "pms/core/parallel.hpp"
#include "pms/core/status.hpp"
#include "pms/core/tensor.hpp"
#include "pms/io/weights_file.hpp"
#include "pms/model/mobileseg.hpp"
#include "pms/model/variants.hpp"
