// SPDX-License-Identifier: Apache-2.0
// kiln/profiler.hpp — the profilers a Trainer takes as `Profiler<Tag>`: PassThrough (the default), Simple, Torch.
#pragma once
#include <kiln/profiler/pass_through.hpp>
#include <kiln/profiler/profiler.hpp>
#include <kiln/profiler/simple.hpp>
#include <kiln/profiler/torch.hpp>
