// SPDX-License-Identifier: Apache-2.0
// tests/integration/interop_probe_main.cpp — weights across C++ and Python, with interop_python.py between
// its two runs:
//   interop_probe write DIR   a seeded Net (linear, batch norm, linear) trained three steps in train mode,
//                             saved as DIR/cpp.pt and DIR/cpp.safetensors; its eval output on a fixed
//                             input in DIR/cpp_out.txt; a dict of every dtype and a strided view as
//                             DIR/cpp_misc.pt and DIR/cpp_misc.safetensors.
//   interop_python.py DIR     loads those with torch.load and safetensors, checks them, and writes the
//                             transformed weights (2w + 1; num_batches_tracked + 5) from Python.
//   interop_probe read DIR    loads Python's files into a fresh Net and checks every tensor exactly.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include <torch/torch.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <kiln/interop.hpp>

#include "../unit/interop/interop_fixture.hpp"

namespace {

using Net = interop_fixture::BnNet;

int checks = 0;
void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "interop probe: FAILED: %s\n", what.c_str());
    std::exit(1);
  }
  ++checks;
}

kiln::TensorDict misc() { return interop_fixture::every_dtype(); }

/// Equal names (in any order: safetensors files list them by offset), dtypes, shapes and values.
void same(const kiln::TensorDict& got, const kiln::TensorDict& want, const std::string& file) {
  auto names = [](const kiln::TensorDict& d) {
    auto k = d.keys();
    std::sort(k.begin(), k.end());
    return k;
  };
  check(names(got) == names(want), fmt::format("{}: keys {} (expected {})", file, fmt::join(got.keys(), ","),
                                               fmt::join(want.keys(), ",")));
  for (const auto& w : want) {
    const auto& g = got[w.key()];
    check(g.scalar_type() == w.value().scalar_type(), fmt::format("{}: {} has dtype {}", file, w.key(), c10::toString(g.scalar_type())));
    check(g.sizes() == w.value().sizes(), fmt::format("{}: {} has shape {}", file, w.key(), kiln::detail::shape(g)));
    check(torch::equal(g, w.value()), fmt::format("{}: {} differs", file, w.key()));
  }
}

/// What interop_python.py makes of each tensor.
torch::Tensor transformed(const std::string& name, const torch::Tensor& t) {
  return name.ends_with("num_batches_tracked") ? t + 5 : t * 2 + 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: interop_probe write|read DIR\n");
    return 2;
  }
  const std::string mode = argv[1];
  const std::filesystem::path dir = argv[2];
  try {
    if (mode == "write") {
      torch::manual_seed(7);
      Net net;
      for (int i = 0; i < 3; ++i) net(torch::randn({8, 3}));  // train mode: running stats move, 3 batches tracked
      kiln::save_state_dict(net, dir / "cpp.pt");
      kiln::save_state_dict(net, dir / "cpp.safetensors");
      net->eval();
      const auto y = net(torch::linspace(-1, 1, 15).reshape({5, 3})).flatten();
      std::ofstream out(dir / "cpp_out.txt");
      for (int64_t i = 0; i < y.numel(); ++i) out << fmt::format("{:.9g}\n", y[i].item<float>());
      kiln::save_torch_file(misc(), dir / "cpp_misc.pt");
      kiln::save_safetensors(misc(), dir / "cpp_misc.safetensors", {{"written_by", "kiln"}});
      // Read back here too, so a failure in C++ alone is told apart from one in Python.
      same(kiln::load_torch_file(dir / "cpp_misc.pt"), misc(), "cpp_misc.pt");
      same(kiln::load_safetensors(dir / "cpp_misc.safetensors"), misc(), "cpp_misc.safetensors");
      std::printf("interop probe: wrote %s (%d checks)\n", dir.c_str(), checks);
      return 0;
    }
    const auto original = kiln::load_safetensors(dir / "cpp.safetensors");
    for (const char* file : {"py.pt", "py.safetensors"}) {
      Net net;
      const auto report = kiln::load_state_dict(net, dir / file);
      check(report.clean(), fmt::format("{}: {}", file, report.describe()));
      const auto loaded = kiln::state_dict(*net);
      check(loaded.keys() == original.keys(), fmt::format("{}: keys {}", file, fmt::join(loaded.keys(), ",")));
      for (const auto& o : original)
        check(torch::equal(loaded[o.key()], transformed(o.key(), o.value())), fmt::format("{}: {}", file, o.key()));
    }
    same(kiln::load_torch_file(dir / "py_misc.pt"), misc(), "py_misc.pt");
    same(kiln::load_safetensors(dir / "py_misc.safetensors"), misc(), "py_misc.safetensors");
    // A Python file that does not fit: one error that lists every mismatch.
    Net wider(5);
    try {
      kiln::load_state_dict(wider, dir / "py.pt");
      check(false, "py.pt loaded into a wider Net");
    } catch (const kiln::Error& e) {
      const std::string what = e.what();
      check(what.find("fc1.weight: state dict file [4, 3], module [5, 3]") != std::string::npos &&
                what.find("bn.running_var: state dict file [4], module [5]") != std::string::npos,
            "py.pt into a wider Net: " + what);
    }
    std::printf("interop: C++ and Python read each other's files (%d checks)\n", checks);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "interop probe: %s\n", e.what());
    return 1;
  }
}
