// SPDX-License-Identifier: Apache-2.0
// tests/static/concepts.cpp — the concept matrix: a passing model and one type per missing requirement.
#include <torch/torch.h>

#include <kiln/strategy/ddp.hpp>
#include <kiln/kiln.hpp>

namespace {
using Batch = std::pair<torch::Tensor, torch::Tensor>;
using Opt = std::unique_ptr<torch::optim::SGD>;

struct Good : torch::nn::Module {
  torch::Tensor training_step(const Batch&, kiln::StepContext&) { return {}; }
  Opt configure_optimizers() { return nullptr; }
};
struct NotAModule {
  torch::Tensor training_step(const Batch&, kiln::StepContext&) { return {}; }
  Opt configure_optimizers() { return nullptr; }
};
struct NoTrainingStep : torch::nn::Module {
  Opt configure_optimizers() { return nullptr; }
};
struct NoConfigureOptimizers : torch::nn::Module {
  torch::Tensor training_step(const Batch&, kiln::StepContext&) { return {}; }
};
struct WrongLossType : torch::nn::Module {
  double training_step(const Batch&, kiln::StepContext&) { return 0; }
  Opt configure_optimizers() { return nullptr; }
};
struct WrongOptimizers : torch::nn::Module {
  torch::Tensor training_step(const Batch&, kiln::StepContext&) { return {}; }
  int configure_optimizers() { return 0; }
};
struct Manual : torch::nn::Module {
  static constexpr bool automatic_optimization = false;
  void training_step(const Batch&, kiln::StepContext&) {}
  std::vector<kiln::OptimizerConfig> configure_optimizers() { return {}; }
};
struct WithSteps : Good {
  void validation_step(const Batch&, kiln::StepContext&) {}
  void test_step(const Batch&, kiln::StepContext&) {}
  torch::Tensor predict_step(const Batch&, kiln::StepContext&) { return {}; }
};

static_assert(kiln::TrainingModule<Good, const Batch>);
static_assert(kiln::TrainingModule<Manual, const Batch>);
static_assert(!kiln::TrainingModule<NotAModule, const Batch>);
static_assert(!kiln::TrainingModule<NoTrainingStep, const Batch>);
static_assert(!kiln::TrainingModule<NoConfigureOptimizers, const Batch>);
static_assert(!kiln::TrainingModule<WrongLossType, const Batch>);
static_assert(!kiln::TrainingModule<WrongOptimizers, const Batch>);
static_assert(!kiln::TrainingModule<Good, const int>);  // batch type the step does not take

static_assert(kiln::HasValidationStep<WithSteps, const Batch> && !kiln::HasValidationStep<Good, const Batch>);
static_assert(kiln::HasTestStep<WithSteps, const Batch> && !kiln::HasTestStep<Good, const Batch>);
static_assert(kiln::HasPredictStep<WithSteps, const Batch> && !kiln::HasPredictStep<Good, const Batch>);

static_assert(kiln::DataSource<std::vector<Batch>>);
static_assert(kiln::DataSource<const std::vector<Batch>&>);
static_assert(kiln::DataSource<std::unique_ptr<std::vector<Batch>>>);
static_assert(!kiln::DataSource<int>);
static_assert(!kiln::DataSource<Batch>);

static_assert(kiln::Logger<kiln::CsvLogger>);
static_assert(!kiln::Logger<kiln::ProgressBar>);
static_assert(kiln::Callback<kiln::ProgressBar>);
static_assert(kiln::Callback<kiln::Every<kiln::ProgressBar>>);

static_assert(kiln::detail::is_policy<kiln::Precision<kiln::FP32>>);
static_assert(kiln::detail::is_policy<kiln::Callbacks<>>);
static_assert(!kiln::detail::is_policy<kiln::FP32>);
static_assert(!kiln::detail::is_policy<int>);

// Every strategy is a distributed one: a single device is a world of one.
static_assert(kiln::DistributedStrategy<kiln::StrategyImpl<kiln::SingleDevice>>);
static_assert(kiln::DistributedStrategy<kiln::StrategyImpl<kiln::DDP>>);
struct PlacementOnly {  // a StrategyPolicy without gradient sync and collectives
  void setup(const kiln::TrainerConfig&) {}
  c10::Device device() const { return c10::kCPU; }
  void setup_module(torch::nn::Module&) {}
  template <class B, class F>
  decltype(auto) with_batch_on_device(B& b, F&& f) { return f(b); }
  int rank() const { return 0; }
  int local_rank() const { return 0; }
  int world_size() const { return 1; }
  bool is_global_zero() const { return true; }
  void barrier() {}
};
static_assert(kiln::StrategyPolicy<PlacementOnly> && !kiln::DistributedStrategy<PlacementOnly>);
static_assert(!kiln::StrategyPolicy<kiln::CsvLogger>);

static_assert(kiln::PrecisionPolicy<kiln::PrecisionImpl<kiln::FP32>>);
static_assert(kiln::PrecisionPolicy<kiln::PrecisionImpl<kiln::FP64>>);
static_assert(kiln::PrecisionPolicy<kiln::PrecisionImpl<kiln::BF16Mixed>>);
static_assert(kiln::PrecisionPolicy<kiln::PrecisionImpl<kiln::FP16Mixed>>);
static_assert(kiln::PrecisionPolicy<kiln::PrecisionImpl<kiln::BF16True>>);
static_assert(kiln::PrecisionPolicy<kiln::PrecisionImpl<kiln::FP16True>>);
static_assert(!kiln::PrecisionPolicy<kiln::StrategyImpl<kiln::SingleDevice>>);

static_assert(kiln::Logger<kiln::TensorBoardLogger>);
static_assert(!kiln::Logger<kiln::EarlyStopping>);
}  // namespace
