// SPDX-License-Identifier: Apache-2.0
// kiln/optim.hpp — learning-rate schedulers (what configure_optimizers() may return is in core/optimizer_config.hpp).
#pragma once
#include <kiln/optim/lr_schedulers.hpp>
