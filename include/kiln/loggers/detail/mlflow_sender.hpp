// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/detail/mlflow_sender.hpp — a bounded queue of metrics, params and tags that a background thread sends to an MLflow run.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include <kiln/core/format.hpp>
#include <kiln/loggers/detail/http_client.hpp>

namespace kiln::detail {

/// One value for an MLflow run: a metric (with step and time), a param or a tag.
struct MlflowEntry {
  enum Kind { metric, param, tag } kind;
  std::string key;
  double value = 0;        ///< metric
  std::string text;        ///< param or tag
  std::int64_t step = 0;   ///< metric
  std::int64_t time_ms = 0;
};

/// The JSON MLflow's REST API takes for a double: protobuf's JSON names for the values JSON has none for.
inline nlohmann::json mlflow_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

/// Sends entries to `<base>/api/2.0/mlflow/runs/log-batch` from a thread of its own, so the
/// training loop only takes a lock and appends. Batches keep MLflow's per-request limits (1000
/// metrics, 100 params, 100 tags, 1000 entries). An unanswered request or a 5xx/429 answer
/// keeps the batch and retries it with back-off (the server may come back); any other answer
/// that is not 2xx drops the batch. Each distinct failure is said once on stderr, and an outage
/// (no answer, 5xx, 429 until the server answers again) by its first failure only.
class MlflowSender {
 public:
  struct Limits {
    std::size_t max_queue;
    std::chrono::milliseconds connect_timeout, request_timeout, max_backoff;
    std::chrono::milliseconds send_every;  ///< at most one request per interval, unless a full batch waits
  };

  MlflowSender(std::string base, std::string run_id, Limits limits)
      : base_(std::move(base)), run_id_(std::move(run_id)), limits_(limits), thread_([this] { run(); }) {}
  MlflowSender(const MlflowSender&) = delete;
  MlflowSender& operator=(const MlflowSender&) = delete;
  ~MlflowSender() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  /// Appends `e`; when the queue is full `e` is dropped and counted instead.
  void push(MlflowEntry e) {
    {
      std::lock_guard lock(mutex_);
      ++queued_;
      if (queue_.size() >= limits_.max_queue) {
        ++dropped_;
        if (!full_said_) {
          full_said_ = true;
          say(fmt::format("kiln: MLFlowLogger: {} values wait for {} (max_queue); newer ones are dropped until it drains",
                          queue_.size(), base_));
        }
        return;
      }
      queue_.push_back(std::move(e));
    }
    wake_.notify_one();
  }

  /// Waits until everything queued was sent or dropped, or `timeout` passed; what is still
  /// queued then is dropped and counted. True when nothing was left.
  bool flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    next_send_ = clock::time_point{};  // now rather than after the interval or back-off
    flushing_ = true;                  // and each batch after it at once while the server answers
    wake_.notify_all();
    const bool drained = idle_.wait_for(lock, timeout, [&] { return queue_.empty() && in_flight_ == 0; });
    flushing_ = false;
    if (!drained) {  // what a request still carries is counted by its answer
      dropped_ += static_cast<std::int64_t>(queue_.size() - in_flight_);
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(in_flight_), queue_.end());
    }
    return drained;
  }

  std::int64_t queued() const { std::lock_guard lock(mutex_); return queued_; }
  std::int64_t dropped() const { std::lock_guard lock(mutex_); return dropped_; }
  /// The kind of the last failure ("HTTP 400", "Couldn't connect to server"; "" when none): the
  /// report at the end names it, its words were said when it happened.
  std::string last_failure() const { std::lock_guard lock(mutex_); return last_failure_; }
  /// Whether a failure of this kind was said on stderr already.
  bool said(const std::string& kind) const { std::lock_guard lock(mutex_); return said_.count(kind) != 0; }
  const std::string& base() const { return base_; }

 private:
  static void say(const std::string& line) { fmt::print(stderr, "{}\n", line); }

  void run() {
    HttpClient http(limits_.connect_timeout, limits_.request_timeout);
    auto backoff = std::chrono::milliseconds(100);
    std::unique_lock lock(mutex_);
    for (;;) {
      if (queue_.empty()) {
        if (stop_) return;
        wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        continue;
      }
      // Each request costs the server tens of milliseconds of CPU whatever it holds (~60 ms for
      // runs/log-batch on MLflow 3.17 with SQLite), so values gather for send_every (or until a
      // batch is full) and back-off stretches that after a failure; flush() cuts either short.
      const auto ready = [&] {
        return stop_ || clock::now() >= next_send_ || (!down_ && (flushing_ || queue_.size() >= kBatch));
      };
      if (!ready()) {
        wake_.wait_until(lock, next_send_, ready);
        continue;
      }
      const std::size_t n = batch_size();
      const std::string body = batch_json(n);
      in_flight_ = n;
      lock.unlock();
      const HttpReply reply = http.post_json(base_ + "/api/2.0/mlflow/runs/log-batch", body);
      lock.lock();
      in_flight_ = 0;
      const bool retry = !reply.answered() || reply.status >= 500 || reply.status == 429;
      if (reply.ok() || !retry) {
        if (!reply.ok()) {
          dropped_ += n;
          failed(fmt::format("HTTP {}", reply.status), fmt::format("HTTP {} {}", reply.status, reply.body),
                 "; those values are dropped");
        } else if (down_) {
          down_ = false;
          say(fmt::format("kiln: MLFlowLogger: {} answers again; sending what waited", base_));
        }
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        backoff = std::chrono::milliseconds(100);
        next_send_ = clock::now() + limits_.send_every;
      } else {
        // One line per outage: a restarting server may refuse connections, then time out, then answer.
        const std::string kind = reply.answered() ? fmt::format("HTTP {}", reply.status) : reply.failure;
        if (std::exchange(down_, true)) last_failure_ = kind;
        else failed(kind, reply.answered() ? fmt::format("HTTP {} {}", reply.status, reply.body) : reply.error,
                    "; keeping the values and retrying");
        if (stop_) {  // shutting down without a flush: nothing will retry
          dropped_ += queue_.size();
          queue_.clear();
        }
        next_send_ = clock::now() + backoff;
        backoff = std::min(backoff * 2, limits_.max_backoff);
      }
      if (queue_.empty()) idle_.notify_all();
    }
  }

  /// Said once per kind of failure (`kind`: an HTTP status or libcurl's name for it): a server
  /// that refuses every step is one line, not one per step.
  void failed(const std::string& kind, const std::string& what, const char* consequence) {
    last_failure_ = kind;
    if (said_.insert(kind).second) say(fmt::format("kiln: MLFlowLogger: {} failed: {}{}", base_, what, consequence));
  }

  /// How many entries from the front make one request within MLflow's limits.
  std::size_t batch_size() const {
    std::size_t metrics = 0, params = 0, tags = 0, n = 0;
    for (const auto& e : queue_) {
      auto& count = e.kind == MlflowEntry::metric ? metrics : e.kind == MlflowEntry::param ? params : tags;
      if (n == kBatch || count == (e.kind == MlflowEntry::metric ? 1000u : 100u)) break;
      ++count;
      ++n;
    }
    return n;
  }

  std::string batch_json(std::size_t n) const {
    nlohmann::json metrics = nlohmann::json::array(), params = nlohmann::json::array(), tags = nlohmann::json::array();
    for (std::size_t i = 0; i < n; ++i) {
      const auto& e = queue_[i];
      if (e.kind == MlflowEntry::metric)
        metrics.push_back({{"key", e.key}, {"value", mlflow_number(e.value)}, {"timestamp", e.time_ms}, {"step", e.step}});
      else
        (e.kind == MlflowEntry::param ? params : tags).push_back({{"key", e.key}, {"value", e.text}});
    }
    return nlohmann::json{{"run_id", run_id_}, {"metrics", metrics}, {"params", params}, {"tags", tags}}.dump();
  }

  using clock = std::chrono::steady_clock;
  const std::string base_, run_id_;
  const Limits limits_;
  mutable std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<MlflowEntry> queue_;
  static constexpr std::size_t kBatch = 1000;  ///< MLflow's most entries in one runs/log-batch
  clock::time_point next_send_{};
  std::size_t in_flight_ = 0;  ///< entries at the queue's front that a request carries now
  bool stop_ = false, flushing_ = false, down_ = false, full_said_ = false;
  std::int64_t queued_ = 0, dropped_ = 0;
  std::string last_failure_;
  std::set<std::string> said_;
  std::thread thread_;  ///< last: starts once everything above exists
};

}  // namespace kiln::detail
