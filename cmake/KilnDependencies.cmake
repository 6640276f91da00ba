# Finds kiln's dependencies; the same calls run in kiln-config.cmake for consumers.
include_guard(GLOBAL)
find_package(Torch REQUIRED)
find_package(Boost REQUIRED)        # header-only use: Boost.Hana
find_package(range-v3 REQUIRED)
find_package(fmt REQUIRED)
