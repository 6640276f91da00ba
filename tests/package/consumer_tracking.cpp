// SPDX-License-Identifier: Apache-2.0
// tests/package/consumer_tracking.cpp — an installed kiln's kiln::mlflow and kiln::images: both headers, a PNG, no server needed.
#include <cstdio>
#include <string>

#include <torch/torch.h>

#include <kiln/loggers/mlflow_logger.hpp>
#include <kiln/loggers/tensorboard_images.hpp>

int main() {
  kiln::MLFlowLogger logger({.tracking_uri = "http://127.0.0.1:1"});  // never started: no fit
  const std::string png = kiln::encode_png(torch::zeros({3, 2, 2}));
  const bool ok = logger.run_id().empty() && png.size() > 8 && png.compare(1, 3, "PNG") == 0;
  std::printf("consumer_tracking: %s\n", ok ? "MLFlowLogger made, PNG encoded" : "failed");
  return ok ? 0 : 1;
}
