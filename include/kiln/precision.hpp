// SPDX-License-Identifier: Apache-2.0
// kiln/precision.hpp — all precision policies.
#pragma once
#include <kiln/precision/bf16_mixed.hpp>
#include <kiln/precision/bf16_true.hpp>
#include <kiln/precision/fp16_mixed.hpp>
#include <kiln/precision/fp16_true.hpp>
#include <kiln/precision/fp32.hpp>
#include <kiln/precision/fp64.hpp>
#include <kiln/precision/grad_scaler.hpp>
#include <kiln/precision/precision.hpp>
