// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/tensorboard_logger.hpp — TensorBoardLogger: scalars, hparams, histograms, text (images: tensorboard_images.hpp) in an events file.
#pragma once
#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include <unistd.h>  // gethostname, getpid: the events file's name

#include <ATen/ATen.h>

#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/loggers/detail/crc32c.hpp>
#include <kiln/loggers/detail/protobuf_writer.hpp>
#include <kiln/loggers/detail/version_dir.hpp>

namespace kiln {

/// Writes logged metrics as TensorBoard scalars and hyper-parameters for its HPARAMS tab
/// (Lightning's TensorBoardLogger), and on request histograms, text and images (kiln::log_image,
/// kiln/loggers/tensorboard_images.hpp), without TensorFlow: one
/// `events.out.tfevents.<seconds>.<host>.<pid>.<n>` file of TFRecord-framed `Event` protos.
/// Each log_metrics() call (one per log interval, log_every_n_steps) is written and flushed at
/// once, as CsvLogger's rows, so a run that dies loses no logged step; hparams are written with
/// the next metrics or by save().
class TensorBoardLogger {
 public:
  struct Options {
    std::optional<std::filesystem::path> save_dir;  ///< default: the Trainer's default_root_dir
    std::string name = "lightning_logs";
    std::optional<std::int64_t> version;  ///< default: one more than the highest existing
  };
  TensorBoardLogger() = default;
  explicit TensorBoardLogger(Options o) : opt_(std::move(o)) {}
  TensorBoardLogger(TensorBoardLogger&&) noexcept = default;  // the Trainer stores loggers by value
  ~TensorBoardLogger() {
    try { save(); } catch (...) {}  // a destructor must not throw; save() reports errors to callers
  }

  /// Takes the Trainer's default_root_dir and chooses the version now, before any logger creates
  /// a folder, so loggers sharing <save_dir>/<name> (CsvLogger does the same) agree on N.
  template <class T>
  void on(const event::setup&, T& t) {
    if (!opt_.save_dir) opt_.save_dir = t.config().default_root_dir;
    log_dir();
  }

  /// One Event at `step` whose Summary holds a `simple_value` per metric, tagged with its name;
  /// written to the file before returning.
  void log_metrics(const MetricMap& values, std::int64_t step) {
    detail::ProtobufWriter summary;
    for (auto& [tag, value] : values)  // Summary.value = 1 {tag = 1, simple_value = 2}
      summary.message(1, detail::ProtobufWriter().bytes(1, tag).fixed32(2, static_cast<float>(value)));
    add_event(step, summary);
    save();
  }

  /// A histogram of `values` (any shape and real dtype, on any device) at `step`, for the
  /// HISTOGRAMS and DISTRIBUTIONS tabs: `bins` equal-width buckets from the least to the greatest
  /// value, counted as numpy.histogram counts them; NaN and infinities are left out. Written at once.
  void log_histogram(std::string_view tag, const at::Tensor& values, std::int64_t step, std::int64_t bins = 30) {
    if (bins < 1) throw Error(fmt::format("kiln: TensorBoardLogger::log_histogram(\"{}\"): bins must be >= 1 (got {})", tag, bins));
    auto v = values.detach().flatten().to(at::kDouble);
    v = v.masked_select(at::isfinite(v)).cpu();
    // HistogramProto {min = 1, max = 2, num = 3, sum = 4, sum_squares = 5, bucket_limit = 6, bucket = 7}
    // (tensorboard/compat/proto/summary.proto); bucket i holds values up to bucket_limit[i].
    detail::ProtobufWriter histo;
    std::string limits, counts;
    auto put = [](std::string& out, double d) {
      const auto bits = std::bit_cast<std::uint64_t>(d);
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
    };
    const std::int64_t n = v.numel();
    double lo = 0, hi = 0;
    if (n > 0) {
      lo = v.min().item<double>();
      hi = v.max().item<double>();
      const auto c = (lo == hi ? at::full({1}, static_cast<double>(n), at::kDouble) : at::histc(v, bins, lo, hi)).contiguous();
      const auto count = c.accessor<double, 1>();  // v is on the CPU, so is c: read in place
      const double width = (hi - lo) / static_cast<double>(c.numel());
      for (std::int64_t i = 0; i < c.numel(); ++i) {
        put(limits, i + 1 == c.numel() ? hi : lo + width * static_cast<double>(i + 1));
        put(counts, count[i]);
      }
    }
    histo.fixed64(1, lo).fixed64(2, hi).fixed64(3, static_cast<double>(n));
    histo.fixed64(4, n ? v.sum().item<double>() : 0.0).fixed64(5, n ? v.square().sum().item<double>() : 0.0);
    if (n > 0) histo.bytes(6, limits).bytes(7, counts);  // packed repeated doubles
    add_event(step, detail::ProtobufWriter().message(1, detail::ProtobufWriter().bytes(1, tag).message(5, histo)));
    save();
  }

  /// `text` (Markdown) at `step`, for the TEXT tab. Written at once.
  void log_text(std::string_view tag, std::string_view text, std::int64_t step) {
    // Summary.Value {tag = 1, tensor = 8, metadata = 9}: a scalar string TensorProto {dtype = 1
    // (DT_STRING = 7), tensor_shape = 2 (empty: a scalar), string_val = 8} for the "text" plugin.
    const auto tensor = detail::ProtobufWriter().varint(1, 7).bytes(2, "").bytes(8, text);
    const auto metadata = detail::ProtobufWriter().message(1, detail::ProtobufWriter().bytes(1, "text"));
    add_event(step, detail::ProtobufWriter().message(1, detail::ProtobufWriter().bytes(1, tag).message(8, tensor).message(9, metadata)));
    save();
  }

  /// An image already encoded (PNG) of `height` x `width` pixels with `channels` 1 (grey),
  /// 3 (RGB) or 4 (RGBA), for the IMAGES tab; kiln::log_image encodes a tensor. Written at once.
  void log_encoded_image(std::string_view tag, std::string_view encoded, std::int64_t height, std::int64_t width,
                         int channels, std::int64_t step) {
    // Summary.Value {tag = 1, image = 4}; Summary.Image {height = 1, width = 2, colorspace = 3,
    // encoded_image_string = 4}.
    const auto image = detail::ProtobufWriter()
                           .varint(1, static_cast<std::uint64_t>(height))
                           .varint(2, static_cast<std::uint64_t>(width))
                           .varint(3, static_cast<std::uint64_t>(channels))
                           .bytes(4, encoded);
    add_event(step, detail::ProtobufWriter().message(1, detail::ProtobufWriter().bytes(1, tag).message(4, image)));
    save();
  }

  /// The hparams plugin's session records (start with the values, end), so the HPARAMS tab lists
  /// this run with `hparams`; the same values twice are written once. No Experiment record:
  /// without one TensorBoard builds the experiment itself, taking every scalar tag as a metric
  /// column, while a written one would fix the columns forever (Lightning writes a dummy
  /// hp_metric for this reason).
  void log_hyperparams(const HParams& hparams) {
    if (logged_hparams_ == hparams) return;
    logged_hparams_ = hparams;
    // tensorboard/plugins/hparams/plugin_data.proto: SessionStartInfo
    // {map<string, google.protobuf.Value> hparams = 1, start_time_secs = 5}; SessionEndInfo
    // {status = 1}, STATUS_SUCCESS = 1. google/protobuf/struct.proto: Value {number_value = 2,
    // string_value = 3, bool_value = 4}.
    detail::ProtobufWriter start;
    for (auto& [name, value] : hparams) {
      detail::ProtobufWriter v;
      std::visit([&]<class V>(const V& x) {
        if constexpr (std::is_same_v<V, bool>) v.varint(4, x);
        else if constexpr (std::is_same_v<V, std::string>) v.bytes(3, x);
        else v.fixed64(2, static_cast<double>(x));  // TensorBoard has no integer type
      }, value);
      start.message(1, detail::ProtobufWriter().bytes(1, name).message(2, v));
    }
    start.fixed64(5, wall_time());
    add_hparams_event("_hparams_/session_start_info", 3, start);
    add_hparams_event("_hparams_/session_end_info", 4, detail::ProtobufWriter().varint(1, 1));
  }

  /// Writes the buffered records to the events file (creating it on the first call) and flushes.
  void save() {
    if (pending_.empty()) return;
    const auto dir = log_dir();
    if (!file_) {
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec) throw Error(fmt::format("kiln: TensorBoardLogger cannot create {}: {}", dir.string(), ec.message()));
      path_ = dir / file_name(static_cast<std::int64_t>(*started_));
      file_.reset(std::fopen(path_.c_str(), "wb"));
      if (!file_) throw Error(fmt::format("kiln: TensorBoardLogger cannot write {}", path_.string()));
    }
    const bool ok = std::fwrite(pending_.data(), 1, pending_.size(), file_.get()) == pending_.size() &&
                    std::fflush(file_.get()) == 0;
    pending_.clear();  // even on failure: writing it again after a partial write would corrupt the framing
    if (!ok) throw Error(fmt::format("kiln: TensorBoardLogger failed writing {}", path_.string()));
  }

  template <class T>
  void on(const event::exception&, T&) {
    try { save(); } catch (...) {}  // keep what was logged; the original error propagates
  }

  /// <save_dir>/<name>/version_<N>; the version is chosen on first use.
  std::filesystem::path log_dir() { return detail::versioned_log_dir(opt_.save_dir, opt_.name, opt_.version); }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  static double wall_time() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  static std::string file_name(std::int64_t seconds) {
    static std::atomic<std::int64_t> counter{0};  // two loggers started in one second get two files
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    return fmt::format("events.out.tfevents.{}.{}.{}.{}", seconds, host, static_cast<long>(getpid()), counter++);
  }

  // Event {wall_time = 1, step = 2, file_version = 3, summary = 5}: tensorboard/compat/proto/event.proto.
  void add_event(std::int64_t step, const detail::ProtobufWriter& summary) {
    const double now = wall_time();
    if (!started_) {  // TensorBoard identifies an events file by this first record
      started_ = now;
      append_record(detail::ProtobufWriter().fixed64(1, now).bytes(3, "brain.Event:2").str());
    }
    append_record(detail::ProtobufWriter().fixed64(1, now).varint(2, static_cast<std::uint64_t>(step)).message(5, summary).str());
  }

  // Summary.Value {tag = 1, metadata = 9}; SummaryMetadata.plugin_data = 1 {plugin_name = 1,
  // content = 2} (tensorboard/compat/proto/summary.proto). content is an HParamsPluginData whose
  // `oneof data` is session_start_info = 3 or session_end_info = 4 here; its version
  // (field 1) is 0, so proto3 leaves it out. No tensor value: TensorBoard adds an empty one.
  void add_hparams_event(std::string_view tag, std::uint32_t data_field, const detail::ProtobufWriter& data) {
    const auto content = detail::ProtobufWriter().message(data_field, data);
    const auto plugin = detail::ProtobufWriter().bytes(1, "hparams").bytes(2, content.str());
    const auto value = detail::ProtobufWriter().bytes(1, tag).message(9, detail::ProtobufWriter().message(1, plugin));
    add_event(0, detail::ProtobufWriter().message(1, value));
  }

  // TFRecord: uint64 length, masked CRC-32C of those 8 bytes, the data, masked CRC-32C of the data;
  // integers little-endian.
  void append_record(std::string_view data) {
    auto put_le = [&](std::uint64_t v, int n) {
      for (int i = 0; i < n; ++i) pending_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    };
    put_le(data.size(), 8);
    put_le(detail::masked_crc32c(std::string_view(pending_).substr(pending_.size() - 8)), 4);
    pending_.append(data);
    put_le(detail::masked_crc32c(data), 4);
  }

  Options opt_;
  std::string pending_;             ///< framed records not yet written
  std::optional<double> started_;   ///< wall time of the first record; names the file
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::optional<HParams> logged_hparams_;
};

}  // namespace kiln
