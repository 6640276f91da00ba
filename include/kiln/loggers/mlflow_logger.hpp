// SPDX-License-Identifier: Apache-2.0
// kiln/loggers/mlflow_logger.hpp — MLFlowLogger: params, metrics, tags and run status on an MLflow tracking server (target kiln::mlflow).
#pragma once
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include <kiln/callbacks/model_checkpoint.hpp>
#include <kiln/core/error.hpp>
#include <kiln/core/events.hpp>
#include <kiln/core/format.hpp>
#include <kiln/core/hparams.hpp>
#include <kiln/core/logging.hpp>
#include <kiln/core/policies.hpp>
#include <kiln/core/version.hpp>
#include <kiln/loggers/detail/http_client.hpp>
#include <kiln/loggers/detail/mlflow_sender.hpp>

namespace kiln {

/// Logs to an MLflow tracking server over its REST API (Lightning's MLFlowLogger): the module's
/// hparams as params, every logged metric with its step and time, tags (kiln's version, the git
/// commit, the command line, ModelCheckpoint's best path), and the run's end status (FINISHED,
/// FAILED on an error, KILLED on a preemption signal).
///
/// The training loop never waits on the network: log_metrics() appends to a bounded queue that a
/// background thread sends in batches. When the server stops answering, values wait and are
/// retried; at the end of each fit/validate/test the queue is flushed for at most
/// `flush_timeout`, and what could not be sent is counted and reported. Only global rank 0
/// talks to the server.
class MLFlowLogger {
 public:
  /// What happens when the server cannot be reached (or refuses) when the run starts.
  enum class OnError {
    raise,  ///< the fit fails with an error naming the server (default)
    warn,   ///< one line on stderr; training goes on without MLflow
  };
  struct Options {
    std::optional<std::string> tracking_uri;  ///< http(s)://host:port; default: $MLFLOW_TRACKING_URI
    std::string experiment_name = "lightning_logs";  ///< created when missing
    std::optional<std::string> run_name;
    std::optional<std::string> run_id;  ///< log into this existing run instead of a new one
    std::map<std::string, std::string> tags;  ///< added to the run's own
    OnError on_error = OnError::raise;
    std::size_t max_queue = 100000;  ///< values waiting to be sent; newer ones are dropped beyond it
    std::chrono::milliseconds flush_timeout{10000};
    std::chrono::milliseconds request_timeout{5000};
    std::chrono::milliseconds max_backoff{2000};  ///< longest wait between retries to a silent server
    /// Values gather this long before a request (unless 1000 wait): each request costs the server
    /// tens of milliseconds of CPU, which a local server takes from training.
    std::chrono::milliseconds send_every{1000};
  };

  MLFlowLogger() = default;
  explicit MLFlowLogger(Options o) : opt_(std::move(o)) {}
  MLFlowLogger(MLFlowLogger&&) noexcept = default;  // the Trainer stores loggers by value
  ~MLFlowLogger() {
    if (sender_) sender_->flush(opt_.flush_timeout);
  }

  /// Starts the run (global rank 0, logging enabled), once per logger; later stages log into it.
  template <class T>
  void on(const event::setup&, T& t) {
    if (!t.is_global_zero() || !t.config().logger || t.config().fast_dev_run != 0) return;
    if (started_) {
      if (sender_ && !running_) reopen();
      return;
    }
    started_ = true;
    try {
      start();
    } catch (const Error& e) {
      if (opt_.on_error == OnError::raise) throw;
      fmt::print(stderr, "{}; training goes on without MLflow (on_error = warn)\n", e.what());
    }
  }

  void log_hyperparams(const HParams& hparams) {
    if (!sender_) return;
    for (const auto& [key, value] : hparams) {
      std::string text = std::visit([]<class V>(const V& v) -> std::string {
        if constexpr (std::is_same_v<V, bool>) return v ? "True" : "False";  // as Python's str(), like Lightning's runs
        else if constexpr (std::is_same_v<V, std::string>) return v;
        else return fmt::format("{}", v);
      }, value);
      if (auto it = params_.find(key); it != params_.end() && it->second == text) continue;  // params are immutable
      params_[key] = text;
      if (text.size() > 6000) text.resize(6000);  // MLflow's limit on a param's value
      if (name_ok(key, "param")) sender_->push({detail::MlflowEntry::param, key, 0, std::move(text)});
    }
  }

  void log_metrics(const MetricMap& values, std::int64_t step) {
    if (!sender_) return;
    const std::int64_t now = now_ms();
    for (const auto& [key, value] : values)
      if (name_ok(key, "metric")) sender_->push({detail::MlflowEntry::metric, key, value, {}, step, now});
  }

  /// Nothing: values leave from the sender's thread; finalize() waits for them.
  void save() {}

  /// Flushes (at most flush_timeout), reports what was dropped, and ends the run with `status`.
  /// The Trainer calls it at the end of each fit/validate/test/predict (once per call).
  void finalize(RunStatus status) {
    if (!sender_) return;
    sender_->flush(opt_.flush_timeout);
    if (const auto dropped = sender_->dropped(); dropped > reported_dropped_) {
      fmt::print(stderr, "kiln: MLFlowLogger: {} of {} values were not recorded by run {} at {} (last failure: {})\n",
                 dropped - reported_dropped_, sender_->queued() - reported_queued_, run_id_, base_,
                 sender_->last_failure());
    }
    reported_dropped_ = sender_->dropped();
    reported_queued_ = sender_->queued();
    static constexpr std::array<const char*, 3> names{"FINISHED", "FAILED", "KILLED"};
    const auto reply = client().post_json(
        base_ + "/api/2.0/mlflow/runs/update",
        nlohmann::json{{"run_id", run_id_}, {"status", names[static_cast<int>(status)]}, {"end_time", now_ms()}}.dump());
    if (!reply.ok()) {
      const std::string kind = reply.answered() ? fmt::format("HTTP {}", reply.status) : reply.failure;
      const bool known = sender_->said(kind);  // its words were said when the sender met it
      fmt::print(stderr, "kiln: MLFlowLogger: could not end run {} at {} as {}: {}\n", run_id_, base_,
                 names[static_cast<int>(status)], known ? kind : reply.answered() ? fmt::format("{} {}", kind, reply.body) : reply.error);
    }
    running_ = false;
  }

  /// ModelCheckpoint's best path as the tag `best_model_path`, when it changed.
  template <class T>
  void on(const event::validation_end&, T& t) { tag_best_path(t); }
  template <class T>
  void on(const event::train_epoch_end&, T& t) { tag_best_path(t); }
  template <class T>
  void on(const event::teardown&, T& t) { tag_best_path(t); }

  /// The run's id ("" before it started or when the server could not be reached).
  const std::string& run_id() const { return run_id_; }
  /// Values handed to the sender so far, and those it could not deliver.
  std::int64_t queued() const { return sender_ ? sender_->queued() : 0; }
  std::int64_t dropped() const { return sender_ ? sender_->dropped() : 0; }

 private:
  template <class T>
  void tag_best_path(T& t) {
    if constexpr (detail::in_tuple<ModelCheckpoint, typename T::callbacks_type>) {
      if (!sender_) return;
      const std::string& best = t.template callback<ModelCheckpoint>().best_model_path();
      if (best.empty() || best == best_path_) return;
      best_path_ = best;
      sender_->push({detail::MlflowEntry::tag, "best_model_path", 0, best});
    }
  }

  /// MLflow's rule for names: anything else is refused by the server, and with it the whole batch.
  bool name_ok(const std::string& key, const char* what) {
    const bool ok = !key.empty() && key.size() <= 250 && key.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-. :/") == std::string::npos;
    if (!ok && refused_.insert(key).second)
      fmt::print(stderr, "kiln: MLFlowLogger: {} \"{}\" is not sent: MLflow names hold only letters, digits, _ - . space : / "
                         "(at most 250)\n", what, key);
    return ok;
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  detail::HttpClient& client() {
    if (!client_) client_ = std::make_unique<detail::HttpClient>(std::chrono::milliseconds(3000), opt_.request_timeout);
    return *client_;
  }

  /// The reply of `path` as JSON, or an Error naming the server and what it said.
  nlohmann::json call(const std::string& path, const std::optional<nlohmann::json>& body, long* status = nullptr) {
    const auto reply = body ? client().post_json(base_ + path, body->dump()) : client().get(base_ + path);
    if (status) *status = reply.status;
    if (!reply.answered())
      throw Error(fmt::format("kiln: MLFlowLogger cannot reach the tracking server {} ({})", base_, reply.error));
    if (reply.ok() || status) {
      auto parsed = nlohmann::json::parse(reply.body, nullptr, false);
      if (!parsed.is_discarded()) return parsed;
      if (reply.ok()) throw Error(fmt::format("kiln: MLFlowLogger: {}{} answered what is not JSON: {}", base_, path, reply.body.substr(0, 200)));
      return nlohmann::json::object();
    }
    throw Error(fmt::format("kiln: MLFlowLogger: the tracking server {} refused {}: HTTP {} {}", base_, path, reply.status, reply.body));
  }

  void start() {
    const char* env = std::getenv("MLFLOW_TRACKING_URI");
    std::string uri = opt_.tracking_uri.value_or(env ? env : "");
    if (uri.empty())
      throw Error("kiln: MLFlowLogger has no tracking server: set Options::tracking_uri or MLFLOW_TRACKING_URI (http://host:port)");
    if (uri.rfind("http://", 0) != 0 && uri.rfind("https://", 0) != 0)
      throw Error(fmt::format("kiln: MLFlowLogger speaks MLflow's REST API: the tracking URI must start with http:// or https:// "
                              "(got \"{}\")", uri));
    while (!uri.empty() && uri.back() == '/') uri.pop_back();
    base_ = uri;

    if (opt_.run_id) {
      long status = 0;
      auto got = call("/api/2.0/mlflow/runs/get?run_id=" + client().escape(*opt_.run_id), std::nullopt, &status);
      if (status != 200)
        throw Error(fmt::format("kiln: MLFlowLogger: run_id {} is not a run on {}: HTTP {} {}", *opt_.run_id, base_, status, got.dump()));
      run_id_ = *opt_.run_id;
      call("/api/2.0/mlflow/runs/update", nlohmann::json{{"run_id", run_id_}, {"status", "RUNNING"}});
    } else {
      const std::string experiment = experiment_id();
      nlohmann::json tags = nlohmann::json::array();
      for (const auto& [k, v] : run_tags()) tags.push_back({{"key", k}, {"value", v}});
      nlohmann::json body{{"experiment_id", experiment}, {"start_time", now_ms()}, {"tags", tags}};
      if (opt_.run_name) body["run_name"] = *opt_.run_name;
      run_id_ = call("/api/2.0/mlflow/runs/create", body).at("run").at("info").at("run_id").get<std::string>();
    }
    running_ = true;
    sender_ = std::make_unique<detail::MlflowSender>(
        base_, run_id_, detail::MlflowSender::Limits{opt_.max_queue, std::chrono::milliseconds(3000), opt_.request_timeout, opt_.max_backoff,
                                     opt_.send_every});
  }

  /// A later stage logs into the run the fit ended: it runs again until that stage ends.
  void reopen() {
    const auto reply = client().post_json(base_ + "/api/2.0/mlflow/runs/update",
                                          nlohmann::json{{"run_id", run_id_}, {"status", "RUNNING"}}.dump());
    running_ = reply.ok();
  }

  std::string experiment_id() {
    long status = 0;
    const std::string by_name = "/api/2.0/mlflow/experiments/get-by-name?experiment_name=" + client().escape(opt_.experiment_name);
    auto found = call(by_name, std::nullopt, &status);
    if (status == 200) return found.at("experiment").at("experiment_id").get<std::string>();
    if (status != 404)
      throw Error(fmt::format("kiln: MLFlowLogger: the tracking server {} refused experiment \"{}\": HTTP {} {}", base_,
                              opt_.experiment_name, status, found.dump()));
    auto made = call("/api/2.0/mlflow/experiments/create", nlohmann::json{{"name", opt_.experiment_name}}, &status);
    if (status == 200) return made.at("experiment_id").get<std::string>();
    found = call(by_name, std::nullopt, &status);  // another process made it meanwhile
    if (status == 200) return found.at("experiment").at("experiment_id").get<std::string>();
    throw Error(fmt::format("kiln: MLFlowLogger: the tracking server {} could not create experiment \"{}\": {}", base_,
                            opt_.experiment_name, made.dump()));
  }

  std::map<std::string, std::string> run_tags() const {
    std::map<std::string, std::string> tags{{"kiln.version", version}, {"mlflow.source.type", "LOCAL"}};
    std::ifstream cmdline("/proc/self/cmdline", std::ios::binary);  // arguments separated by NUL
    std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (!args.empty()) {
      tags["mlflow.source.name"] = args.substr(0, args.find('\0'));
      if (args.back() == '\0') args.pop_back();
      std::replace(args.begin(), args.end(), '\0', ' ');
      tags["kiln.command_line"] = args.substr(0, 5000);
    }
    if (const char* user = std::getenv("USER")) tags["mlflow.user"] = user;
    if (auto commit = git_commit()) tags["mlflow.source.git.commit"] = *commit;
    for (const auto& [k, v] : opt_.tags) tags[k] = v;
    return tags;
  }

  /// HEAD of the git repository around the working directory, if there is one (and git).
  static std::optional<std::string> git_commit() {
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen("git rev-parse HEAD 2>/dev/null", "r"), pclose);
    if (!p) return std::nullopt;
    char buf[64] = "";
    if (!std::fgets(buf, sizeof buf, p.get())) return std::nullopt;
    std::string s(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.size() != 40 && s.size() != 64) return std::nullopt;
    return s;
  }

  Options opt_;
  bool started_ = false, running_ = false;
  std::string base_, run_id_, best_path_;
  std::map<std::string, std::string> params_;
  std::set<std::string> refused_;
  std::int64_t reported_dropped_ = 0, reported_queued_ = 0;
  std::unique_ptr<detail::HttpClient> client_;  ///< the training thread's: start and end of the run
  std::unique_ptr<detail::MlflowSender> sender_;
};

}  // namespace kiln
