// SPDX-License-Identifier: Apache-2.0
// kiln/loops.hpp — the fit and evaluation loops and the optimization step they share.
#pragma once
#include <kiln/loops/evaluation_loop.hpp>
#include <kiln/loops/fit_loop.hpp>
#include <kiln/loops/optimization.hpp>
