// SPDX-License-Identifier: Apache-2.0
// kiln/tuner.hpp — Lightning's Tuner: lr_find and scale_batch_size. Not in kiln/kiln.hpp: a program that trains does not need it.
#pragma once
#include <kiln/tuner/batch_size_scaler.hpp>
#include <kiln/tuner/lr_finder.hpp>
