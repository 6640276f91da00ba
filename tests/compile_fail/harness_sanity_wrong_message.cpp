// SPDX-License-Identifier: Apache-2.0
// tests/compile_fail/harness_sanity_wrong_message.cpp — fails, but not with the expected text: the harness must notice.
// kiln-expect-error: kiln: the module has no configure_optimizers\(\)\.
// The program is missing_training_step's: its mistake fails with KILN_ERR_NO_TRAINING_STEP.
#include "missing_training_step.cpp"
