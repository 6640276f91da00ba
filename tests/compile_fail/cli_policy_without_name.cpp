// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/cli_policy_without_name.cpp — a precision of one's own offered to LightningCLI without a command-line name.
// kiln-expect-error: kiln: a precision or strategy listed in Precisions<\.\.\.> or Strategies<\.\.\.> has no name for the command line
#include <kiln/cli.hpp>
#include <kiln/precision/fp32.hpp>

#include "net.hpp"

struct PlainFloat {  // a tag whose implementation is FP32's
#ifndef KILN_MISTAKE
  static constexpr std::string_view cli_name = "plain";
#endif
};
template <>
class kiln::PrecisionImpl<PlainFloat> : public kiln::PrecisionImpl<kiln::FP32> {};

struct NetData {
  std::vector<Batch> train_dataloader() { return {}; }
};

int main(int argc, char** argv) {
  return kiln::cli::LightningCLI<Net, NetData, kiln::cli::Precisions<kiln::FP32, PlainFloat>>::main(argc, argv);
}
