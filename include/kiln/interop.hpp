// SPDX-License-Identifier: Apache-2.0
// kiln/interop.hpp — weights across C++ and Python: torch.save files and safetensors. Link kiln::interop (it adds nlohmann-json).
#pragma once
#include <kiln/interop/safetensors.hpp>
#include <kiln/interop/state_dict.hpp>
#include <kiln/interop/torch_file.hpp>
