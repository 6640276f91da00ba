// SPDX-License-Identifier: Apache-2.0
// kiln/metrics.hpp — all metrics: classification, regression, aggregation, arithmetic, collections.
// Not in kiln.hpp (metrics and c10d cost ~2.5 s per translation unit): include it where metrics are used.
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
