// SPDX-License-Identifier: Apache-2.0
// kiln/util.hpp — seeding and the LibTorch compatibility layer.
#pragma once
#include <kiln/util/seed.hpp>
#include <kiln/util/torch_compat.hpp>
