// SPDX-License-Identifier: Apache-2.0
// kiln/loggers.hpp — all loggers.
#pragma once
#include <kiln/loggers/csv_logger.hpp>
#include <kiln/loggers/tensorboard_logger.hpp>
