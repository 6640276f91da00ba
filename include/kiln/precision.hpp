// SPDX-License-Identifier: Apache-2.0
// kiln/precision.hpp — all precision policies.
#pragma once
#include <kiln/precision/fp32.hpp>
#include <kiln/precision/fp64.hpp>
#include <kiln/precision/grad_scaler.hpp>
#include <kiln/precision/mixed.hpp>
#include <kiln/precision/precision.hpp>
#include <kiln/precision/true_half.hpp>
