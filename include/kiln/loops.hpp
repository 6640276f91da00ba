// SPDX-License-Identifier: Apache-2.0
// kiln/loops.hpp — fit, evaluation and optimization loops, LR schedulers.
#pragma once
#include <kiln/loops/evaluation_loop.hpp>
#include <kiln/loops/fit_loop.hpp>
#include <kiln/loops/lr_schedulers.hpp>
#include <kiln/loops/optimization.hpp>
