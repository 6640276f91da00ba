// SPDX-License-Identifier: Apache-2.0
// kiln/precision.hpp — all precision policies.
#pragma once
#include <kiln/precision/fp32.hpp>
#include <kiln/precision/precision.hpp>
