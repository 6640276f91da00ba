// SPDX-License-Identifier: Apache-2.0
// kiln/util.hpp — seeding, threads, the host allocator and the LibTorch compatibility layer.
#pragma once
#include <kiln/util/host_allocator.hpp>
#include <kiln/util/seed.hpp>
#include <kiln/util/threads.hpp>
#include <kiln/util/torch_compat.hpp>
