// SPDX-License-Identifier: Apache-2.0
// tests/unit/interop/state_dict_test.cpp — a module's state_dict in Python's order, saved and loaded in both
// formats, and Python's strict / non-strict rules for names and shapes.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "interop_fixture.hpp"

namespace {

using Catch::Matchers::Contains;
using namespace interop_fixture;

/// Every tensor of `m`'s state_dict, cloned: to compare a module before and after.
kiln::TensorDict snapshot(const torch::nn::Module& m) {
  kiln::TensorDict out;
  for (const auto& item : kiln::state_dict(m)) out.insert(item.key(), item.value().clone());
  return out;
}

/// A BnNet whose every tensor differs from a fresh one's: trained batch-norm statistics included.
BnNet trained() {
  BnNet net;
  for (int i = 0; i < 2; ++i) net->bn(net->fc1(torch::randn({8, 3})));
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.add_(1);
  return net;
}

}  // namespace

TEST_CASE("state_dict lists parameters and buffers module by module, as Python's state_dict() does", "[interop][state_dict]") {
  BnNet net;
  CHECK(kiln::state_dict(*net).keys() ==
        std::vector<std::string>{"fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                                 "bn.num_batches_tracked", "fc2.weight", "fc2.bias"});
  CHECK(torch::equal(kiln::state_dict(*net)["bn.running_var"], torch::ones({4})));
  CHECK_FALSE(kiln::state_dict(*net)["fc1.weight"].requires_grad());  // detached, as Python's
}

TEST_CASE("save_state_dict and load_state_dict round-trip a module in both formats", "[interop][state_dict]") {
  const auto source = trained();
  for (const auto& [name, format] : std::vector<std::pair<std::string, kiln::WeightsFormat>>{
           {"net.pt", kiln::WeightsFormat::by_extension},
           {"net.safetensors", kiln::WeightsFormat::by_extension},
           {"net.bin", kiln::WeightsFormat::safetensors},
           {"net.weights", kiln::WeightsFormat::torch}}) {
    INFO(name);
    const auto path = interop_file(name);
    kiln::save_state_dict(source, path, {.format = format});
    BnNet target;
    const auto report = kiln::load_state_dict(target, path, {.format = format});
    CHECK(report.clean());
    CHECK(same_tensors(kiln::state_dict(*target), snapshot(*source)));
    const bool is_safetensors = file_bytes(path).compare(8, 1, "{") == 0;
    CHECK(is_safetensors == (format == kiln::WeightsFormat::safetensors || name.ends_with(".safetensors")));
  }
}

TEST_CASE("load_state_dict keeps the module's dtypes, converting the file's", "[interop][state_dict]") {
  const auto path = interop_file("double.safetensors");
  const auto source = trained();
  auto doubles = kiln::state_dict(*source);
  for (auto& item : doubles)
    if (item.value().is_floating_point()) item.value() = item.value().to(torch::kDouble);
  kiln::save_safetensors(doubles, path);
  BnNet target;
  kiln::load_state_dict(target, path);
  CHECK(target->fc1->weight.scalar_type() == torch::kFloat);
  CHECK(torch::equal(target->fc1->weight, source->fc1->weight));
}

TEST_CASE("strict loading lists every missing and unexpected name in one error and changes nothing", "[interop][state_dict][errors]") {
  const auto path = interop_file("partial.pt");
  auto partial = kiln::state_dict(*trained());
  partial.erase("bn.running_mean");
  partial.erase("fc2.bias");
  partial.insert("head.weight", torch::zeros({1}));
  kiln::save_torch_file(partial, path);

  BnNet target;
  const auto before = snapshot(*target);
  CHECK_THROWS_WITH(kiln::load_state_dict(target, path),
                    Contains("state dict file " + path.string() + " does not fit the module") &&
                        Contains("missing keys (2): fc2.bias, bn.running_mean") &&
                        Contains("unexpected keys (1): head.weight") && Contains("strict=false"));
  CHECK(same_tensors(kiln::state_dict(*target), before));

  const auto report = kiln::load_state_dict(target, path, {.strict = false});
  CHECK(report.missing == std::vector<std::string>{"fc2.bias", "bn.running_mean"});  // parameters, then buffers
  CHECK(report.unexpected == std::vector<std::string>{"head.weight"});
  CHECK(torch::equal(target->fc1->weight, partial["fc1.weight"]));
  CHECK(torch::equal(target->bn->running_mean, before["bn.running_mean"]));
}

TEST_CASE("a shape mismatch is an error even without strict, as in Python, and changes nothing", "[interop][state_dict][errors]") {
  const auto path = interop_file("wide.safetensors");
  kiln::save_state_dict(BnNet(5), path);
  BnNet target;
  const auto before = snapshot(*target);
  for (const bool strict : {true, false}) {
    CHECK_THROWS_WITH(kiln::load_state_dict(target, path, {.strict = strict}),
                      Contains("safetensors file " + path.string() + " does not fit the module") &&
                          Contains("fc1.weight: safetensors file [5, 3], module [4, 3]") &&
                          !Contains("bn.num_batches_tracked") && Contains("fc2.weight: safetensors file [2, 5], module [2, 4]"));
    CHECK(same_tensors(kiln::state_dict(*target), before));
  }
}
