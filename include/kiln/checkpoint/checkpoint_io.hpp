// SPDX-License-Identifier: Apache-2.0
// kiln/checkpoint/checkpoint_io.hpp — atomic checkpoint writes, checked reads, and module state by parameter name.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <kiln/core/error.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/linkage.hpp>

namespace kiln {

/// What load_module_state found besides the tensors it loaded: names the module has and the
/// checkpoint lacks, names the checkpoint has and the module lacks, and names whose shapes
/// differ ("fc.weight: checkpoint [10, 64], module [10, 32]").
struct LoadReport {
  std::vector<std::string> missing, unexpected, shape_mismatch;
  bool clean() const { return missing.empty() && unexpected.empty() && shape_mismatch.empty(); }
  KILN_DECL std::string describe() const;
};

namespace detail {

/// Receives the bytes of a file being written, in order.
using ByteSink = std::function<void(const void* data, std::size_t n)>;

/// Writes the bytes `produce` hands to its sink to `path` so no reader ever sees a torn file: a
/// temporary file in the same folder, fsync, rename, fsync of the folder. On any failure (or an
/// exception from `produce`) the temporary file is removed, an existing file at `path` is left as
/// it was, and the Error names the file as "<what> <path>". With `trailer`, kiln's
/// CheckpointTrailer follows the bytes.
KILN_DECL void write_file_atomically(const std::filesystem::path& path, const std::function<void(const ByteSink&)>& produce,
                                     bool trailer, const char* what);

/// A kiln checkpoint archive, written atomically and followed by its trailer.
KILN_DECL void write_atomically(torch::serialize::OutputArchive& archive, const std::filesystem::path& path);

/// Opens a checkpoint; a missing, truncated, damaged or foreign file is an Error naming it,
/// raised before LibTorch reads any of it (CheckpointTrailer).
KILN_DECL void read_archive(torch::serialize::InputArchive& archive, const std::filesystem::path& path,
                            const at::Device& device = at::kCPU);

KILN_DECL std::string shape(const at::Tensor& t);

/// Every parameter and buffer of `m` under its full name ("features.0.weight").
KILN_DECL void save_module_state(torch::nn::Module& m, torch::serialize::OutputArchive& out);

/// Copies tensors into `m`'s parameters and buffers by name (keeping each one's dtype and
/// device): `keys` are the names the file holds, `read(name)` returns one. With `strict`, any
/// missing, unexpected or mis-shaped name is an Error listing them all that starts
/// "kiln: <noun> <file> does not fit the module", and nothing is copied; without, what matches
/// is copied and the rest reported (a shape mismatch is an Error too with `shapes_must_match`,
/// as in Python's load_state_dict).
KILN_DECL LoadReport load_named_tensors(torch::nn::Module& m, const std::vector<std::string>& keys,
                                        const std::function<at::Tensor(const std::string&)>& read, bool strict,
                                        const char* noun, const std::filesystem::path& file,
                                        bool shapes_must_match = false);

/// load_named_tensors from a checkpoint's archive.
KILN_DECL LoadReport load_module_state(torch::nn::Module& m, torch::serialize::InputArchive& in, bool strict,
                                       const std::filesystem::path& file);

}  // namespace detail

/// Loads the weights (parameters and buffers) of a kiln checkpoint into `m`, e.g. for
/// inference; see detail::load_module_state for `strict`. Errors name the file.
KILN_DECL LoadReport load_weights(torch::nn::Module& m, const std::filesystem::path& path, bool strict = true);

}  // namespace kiln

#if KILN_DEFINITIONS
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

namespace kiln {

KILN_DECL std::string LoadReport::describe() const {
  std::string out;
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    out += fmt::format("{}{} ({}): ", out.empty() ? "" : "; ", what, v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  };
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  list("shape mismatch", shape_mismatch);
  return out;
}

namespace detail {

/// The 20 bytes kiln appends to every checkpoint: "KILNCRC1", the CRC-32 (zlib's) of the bytes
/// before it, and their count (little-endian). PyTorch builds miniz without its CRC checks and
/// hands the archive's TorchScript text to a parser that can crash on damaged input; checking
/// this first means only the exact bytes kiln wrote ever reach LibTorch.
struct CheckpointTrailer {
  static constexpr std::size_t size = 20;
  static constexpr char magic[9] = "KILNCRC1";
  std::uint32_t crc = static_cast<std::uint32_t>(::crc32(0L, Z_NULL, 0));
  std::uint64_t length = 0;
  void add(const void* data, std::size_t n) {
    for (std::size_t done = 0; done < n;) {  // zlib takes 32-bit lengths
      const auto chunk = static_cast<uInt>(std::min<std::size_t>(n - done, 1u << 30));
      crc = static_cast<std::uint32_t>(::crc32(crc, static_cast<const Bytef*>(data) + done, chunk));
      done += chunk;
    }
    length += n;
  }
  std::array<char, size> bytes() const {
    std::array<char, size> out{};
    std::memcpy(out.data(), magic, 8);
    for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
    for (int i = 0; i < 8; ++i) out[12 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
    return out;
  }
};

KILN_DECL void write_file_atomically(const std::filesystem::path& path, const std::function<void(const ByteSink&)>& produce,
                                     bool with_trailer, const char* what) {
  std::error_code ec;
  const auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("kiln: cannot create {} folder {}: {}", what, dir.string(), ec.message()));
  const auto tmp = dir / (path.filename().string() + ".tmp");
  auto fail = [&](const std::string& why) {
    std::filesystem::remove(tmp, ec);
    throw Error(fmt::format("kiln: cannot write {} {}: {}", what, path.string(), why));
  };
  // Bytes go through our own write(2) calls: LibTorch's file writer throws from its destructor
  // when the disk is full, which ends the process (std::terminate) instead of reporting it.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(std::strerror(errno));
  int err = 0;
  auto write_all = [&](const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    for (std::size_t left = n; left > 0 && err == 0;) {
      const ::ssize_t w = ::write(fd, p, left);
      if (w < 0) {
        if (errno != EINTR) err = errno;
        continue;
      }
      p += w;
      left -= static_cast<std::size_t>(w);
    }
  };
  CheckpointTrailer trailer;
  try {
    produce([&](const void* data, std::size_t n) {
      trailer.add(data, n);
      write_all(data, n);
    });
  } catch (const std::exception& e) {
    ::close(fd);
    fail(e.what());
  }
  if (with_trailer) {
    const auto tail = trailer.bytes();
    write_all(tail.data(), tail.size());
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) fail(std::strerror(err));
  auto sync = [](const std::filesystem::path& p, int flags) {
    const int dfd = ::open(p.c_str(), flags);
    if (dfd < 0) return false;
    const bool ok = ::fsync(dfd) == 0;
    ::close(dfd);
    return ok;
  };
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("rename from " + tmp.string() + ": " + ec.message());
  sync(dir, O_RDONLY | O_DIRECTORY);  // the rename itself durable; best effort
}

KILN_DECL void write_atomically(torch::serialize::OutputArchive& archive, const std::filesystem::path& path) {
  write_file_atomically(path, [&](const ByteSink& sink) {
    archive.save_to([&](const void* data, std::size_t n) -> std::size_t {
      sink(data, n);
      return n;  // a short count would make LibTorch throw from a destructor; write errors are reported after
    });
  }, /*trailer=*/true, "checkpoint");
}

KILN_DECL void read_archive(torch::serialize::InputArchive& archive, const std::filesystem::path& path,
                            const at::Device& device) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(fmt::format("kiln: checkpoint {} does not exist", path.string()));
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw Error(fmt::format("kiln: checkpoint {} cannot be read", path.string()));
  const auto bad = [&](const std::string& why) {
    return Error(fmt::format("kiln: checkpoint {} is not a readable checkpoint: {}", path.string(), why));
  };
  constexpr auto n = CheckpointTrailer::size;
  if (bytes.size() < n || bytes.compare(bytes.size() - n, 8, CheckpointTrailer::magic) != 0)
    throw bad("it does not end with kiln's trailer (truncated, or not written by kiln's save_checkpoint)");
  CheckpointTrailer expect;
  expect.add(bytes.data(), bytes.size() - n);
  const auto want = expect.bytes();
  if (bytes.compare(bytes.size() - n + 12, 8, want.data() + 12, 8) != 0)
    throw bad(fmt::format("its trailer records another length than the {} bytes before it (truncated or spliced)", bytes.size() - n));
  if (bytes.compare(bytes.size() - n + 8, 4, want.data() + 8, 4) != 0)
    throw bad("its CRC-32 does not match its bytes (the file is damaged)");
  try {
    // Tensors land on `device`, whatever device saved them: a checkpoint written on a GPU loads
    // on a machine without one.
    archive.load_from(bytes.data(), bytes.size() - n, device);
  } catch (const std::exception& e) {
    std::string why = e.what();
    throw bad(why.substr(0, why.find('\n')));
  }
}

KILN_DECL std::string shape(const at::Tensor& t) {
  std::string out = "[";
  for (std::size_t i = 0; i < t.sizes().size(); ++i) out += (i ? ", " : "") + std::to_string(t.sizes()[i]);
  return out + "]";
}

KILN_DECL void save_module_state(torch::nn::Module& m, torch::serialize::OutputArchive& out) {
  for (const auto& p : m.named_parameters(/*recurse=*/true)) out.write(p.key(), p.value().detach());
  for (const auto& b : m.named_buffers(/*recurse=*/true)) out.write(b.key(), b.value(), /*is_buffer=*/true);
}

KILN_DECL LoadReport load_named_tensors(torch::nn::Module& m, const std::vector<std::string>& keys,
                                        const std::function<at::Tensor(const std::string&)>& read, bool strict,
                                        const char* noun, const std::filesystem::path& file,
                                        bool shapes_must_match) {
  LoadReport report;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (destination, source)
  std::set<std::string> seen;
  const std::set<std::string> present(keys.begin(), keys.end());
  auto visit = [&](const std::string& name, const at::Tensor& dst) {
    seen.insert(name);
    if (!present.count(name)) return report.missing.push_back(name);
    const at::Tensor src = read(name);
    if (src.sizes() != dst.sizes())
      return report.shape_mismatch.push_back(fmt::format("{}: {} {}, module {}", name, noun, shape(src), shape(dst)));
    copies.emplace_back(dst, src);
  };
  for (const auto& p : m.named_parameters(true)) visit(p.key(), p.value());
  for (const auto& b : m.named_buffers(true)) visit(b.key(), b.value());
  for (const auto& k : keys)
    if (!seen.count(k)) report.unexpected.push_back(k);
  const bool names_differ = !report.missing.empty() || !report.unexpected.empty();
  if ((strict && !report.clean()) || (shapes_must_match && !report.shape_mismatch.empty()))
    throw Error(fmt::format("kiln: {} {} does not fit the module: {}{}", noun, file.string(), report.describe(),
                            strict && (names_differ || !shapes_must_match)
                                ? " (load with strict=false to load what matches)" : ""));
  torch::NoGradGuard no_grad;
  for (auto& [dst, src] : copies) dst.copy_(src);
  return report;
}

KILN_DECL LoadReport load_module_state(torch::nn::Module& m, torch::serialize::InputArchive& in, bool strict,
                                       const std::filesystem::path& file) {
  return load_named_tensors(
      m, in.keys(),
      [&](const std::string& name) {
        at::Tensor t;
        in.read(name, t);
        return t;
      },
      strict, "checkpoint", file);
}

}  // namespace detail

KILN_DECL LoadReport load_weights(torch::nn::Module& m, const std::filesystem::path& path, bool strict) {
  torch::serialize::InputArchive root, weights;
  detail::read_archive(root, path);
  if (!root.try_read("module", weights))
    throw Error(fmt::format("kiln: checkpoint {} has no \"module\" (not written by kiln's save_checkpoint)", path.string()));
  return detail::load_module_state(m, weights, strict, path);
}

}  // namespace kiln
#endif  // KILN_DEFINITIONS
