// SPDX-License-Identifier: Apache-2.0
// kiln/strategy.hpp — all strategies.
#pragma once
#include <kiln/strategy/environment.hpp>
#include <kiln/strategy/single_device.hpp>
#include <kiln/strategy/strategy.hpp>
