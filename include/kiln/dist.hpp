// SPDX-License-Identifier: Apache-2.0
// kiln/dist.hpp — kiln::dist: collectives and the process group (strategy/collectives.hpp, strategy/process_group.hpp).
// Not in kiln.hpp: c10d's headers add ~2.5 s to every translation unit that includes them.
#pragma once
#include <kiln/strategy/collectives.hpp>
#include <kiln/strategy/process_group.hpp>
