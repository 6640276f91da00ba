// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks.hpp — all callbacks.
#pragma once
#include <kiln/callbacks/filters.hpp>
#include <kiln/callbacks/model_checkpoint.hpp>
#include <kiln/callbacks/progress_bar.hpp>
