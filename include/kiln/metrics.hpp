// SPDX-License-Identifier: Apache-2.0
// kiln/metrics.hpp — all metrics: classification, regression, aggregation, arithmetic, collections.
#pragma once
#include <kiln/metrics/aggregation.hpp>
#include <kiln/metrics/arithmetic.hpp>
#include <kiln/metrics/classification/accuracy.hpp>
#include <kiln/metrics/classification/confusion_matrix.hpp>
#include <kiln/metrics/classification/precision_recall.hpp>
#include <kiln/metrics/classification/ranking.hpp>
#include <kiln/metrics/collection.hpp>
#include <kiln/metrics/functional.hpp>
#include <kiln/metrics/metric.hpp>
#include <kiln/metrics/regression.hpp>
