// SPDX-License-Identifier: Apache-2.0
// kiln/src.hpp — include in exactly one translation unit to compile kiln's non-template functions there (KILN_SEPARATE_COMPILATION).
#pragma once
#if defined(KILN_LINKAGE_SEEN) && !defined(KILN_SOURCE)
#error "kiln: include <kiln/src.hpp> before any other kiln header in its translation unit."
#endif
#ifndef KILN_SEPARATE_COMPILATION
#define KILN_SEPARATE_COMPILATION 1
#endif
#define KILN_SOURCE 1
#include <kiln/kiln.hpp>
#include <kiln/data.hpp>
#include <kiln/dist.hpp>
#include <kiln/metrics.hpp>
