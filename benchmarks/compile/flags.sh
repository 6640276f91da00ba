# SPDX-License-Identifier: Apache-2.0
# benchmarks/compile/flags.sh — sourced by measure.sh and ab.sh: the compiler and its flags.
# The flags CMake gives benchmarks/tests/examples in a Release build (build-*/…/flags.make),
# without -include cmake_pch.hxx. Callers add -I for kiln's include folder, then extra_flags
# (EXTRA_FLAGS split on blanks).
# shellcheck shell=bash
# shellcheck disable=SC2034  # used by the scripts that source this
cxx=${CXX:-g++}
flags=(-O3 -DNDEBUG -std=gnu++20 -D_GLIBCXX_USE_CXX11_ABI=1
       -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
       -DBOOST_ALL_NO_LIB -DGFLAGS_IS_A_DLL=0 -DGLOG_CUSTOM_PREFIX_SUPPORT
       -DUSE_C10D_GLOO -DUSE_DISTRIBUTED -DUSE_RPC -DUSE_TENSORPIPE
       -isystem /usr/include/torch/csrc/api/include)
read -ra extra_flags <<< "${EXTRA_FLAGS:-}"
