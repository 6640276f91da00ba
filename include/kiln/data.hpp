// SPDX-License-Identifier: Apache-2.0
// kiln/data.hpp — data: loaders with seeded sharded samplers, IDX files, Fashion-MNIST.
#pragma once
#include <kiln/data/sampler.hpp>
#include <kiln/data/loader.hpp>
#include <kiln/data/idx.hpp>
#include <kiln/data/fashion_mnist.hpp>
#include <kiln/data/fashion_mnist_data_module.hpp>
