// SPDX-License-Identifier: Apache-2.0
// kiln/util/preemption.hpp — SIGTERM/SIGUSR1 during fit: a flag the training loop reads between optimizer steps.
#pragma once
#include <csignal>

namespace kiln {

/// The exit status of a process that fit() ended because of SIGTERM or SIGUSR1 (SLURM's
/// warning before it kills a job), after it wrote its checkpoint: EX_TEMPFAIL of sysexits.h,
/// "a temporary failure; retrying may succeed". A job script that sees it resumes with
/// `fit(..., {.ckpt_path = "last"})` (or the path fit printed).
inline constexpr int preempted_exit_code = 75;

namespace detail {

/// The signal received (0: none). The handler only stores to it: async-signal-safe.
inline volatile std::sig_atomic_t preemption_signal = 0;

extern "C" inline void kiln_preemption_handler(int sig) { preemption_signal = sig; }

/// Installs the flag-setting handler for SIGTERM and SIGUSR1 for its lifetime and puts back
/// the previous handlers afterwards. A signal that arrived but was not acted on (fit ended
/// first) is raised again then, so it takes its usual course.
class PreemptionHandler {
 public:
  explicit PreemptionHandler(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    preemption_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = kiln_preemption_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // a read() in a loader continues rather than failing with EINTR
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGUSR1, &sa, &old_usr1_);
  }
  PreemptionHandler(const PreemptionHandler&) = delete;
  PreemptionHandler& operator=(const PreemptionHandler&) = delete;
  ~PreemptionHandler() {
    if (!enabled_) return;
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGUSR1, &old_usr1_, nullptr);
    if (const int sig = preemption_signal; sig != 0 && !handled_) {
      preemption_signal = 0;
      std::raise(sig);
    }
    preemption_signal = 0;
  }
  /// The signal to act on now (0: none).
  int pending() const { return enabled_ ? preemption_signal : 0; }
  /// Another rank got `sig` (DDP): act on it here too, so all ranks stop at the same step.
  void adopt(int sig) {
    if (enabled_ && preemption_signal == 0) preemption_signal = sig;
  }
  /// fit() acted on the signal: it is not raised again.
  void handled() { handled_ = true; }

 private:
  bool enabled_;
  bool handled_ = false;
  struct sigaction old_term_ {}, old_usr1_ {};
};

}  // namespace detail
}  // namespace kiln
