// SPDX-License-Identifier: Apache-2.0
// kiln/callbacks.hpp — all callbacks.
#pragma once
#include <kiln/callbacks/early_stopping.hpp>
#include <kiln/callbacks/ema.hpp>
#include <kiln/callbacks/filters.hpp>
#include <kiln/callbacks/grad_accumulation_scheduler.hpp>
#include <kiln/callbacks/lambda_callback.hpp>
#include <kiln/callbacks/lr_monitor.hpp>
#include <kiln/callbacks/model_checkpoint.hpp>
#include <kiln/callbacks/model_summary.hpp>
#include <kiln/callbacks/progress_bar.hpp>
#include <kiln/callbacks/stochastic_weight_averaging.hpp>
#include <kiln/callbacks/terminate_on_nan.hpp>
#include <kiln/callbacks/timer.hpp>
#include <kiln/callbacks/weight_histograms.hpp>
