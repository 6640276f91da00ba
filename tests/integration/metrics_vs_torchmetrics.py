# SPDX-License-Identifier: Apache-2.0
# tests/integration/metrics_vs_torchmetrics.py — replays the batches written by metrics_vs_torchmetrics_main
# through torchmetrics and compares its values with kiln's.
#
# Usage: python metrics_vs_torchmetrics.py FILE (the file's format is described in the C++ program).
# Prints one line per mismatch and per skipped case; exits 0 after "metrics vs torchmetrics: N cases agree".
import re
import sys
import warnings

import torch
import torchmetrics
import torchmetrics.aggregation as A
import torchmetrics.classification as C
import torchmetrics.regression as R

# Cases where kiln's documented definition differs from torchmetrics' and no torchmetrics option
# matches it: (data, metric, options) regexes, searched in each field, and the reason.
SKIPPED = [
    ("^binary_tied$", "", "threshold=0.4",
     "kiln predicts 1 at a score >= threshold (inputs.hpp, as scikit-learn's fixtures), torchmetrics at a score "
     "> threshold, and these scores lie exactly on 0.4"),
    ("^mc_logits$", "^(AUROC|AveragePrecision)$", "",
     "kiln ranks raw multiclass scores (only their order counts, ranking.hpp); torchmetrics softmaxes scores "
     "outside [0, 1] first, which reorders the samples within a class's column"),
    ("^mc_absent$", "^(Precision|Recall|F1Score|FBetaScore)$", "average=macro",
     "kiln's macro averages over every class, seen or not (scikit-learn with labels=range(C)); torchmetrics "
     "leaves out a class with tp + fp + fn = 0"),
    ("", "^(Precision|F1Score)$", "top_k=2",
     "with top_k torchmetrics counts one prediction per sample (the target when it is among the k best, else "
     "the best), kiln counts each of the k predictions as predicted; kiln documents top_k for Accuracy and "
     "Recall only"),
    ("", "^RunningAverage$", "",
     "Ignite's exponential moving average has no torchmetrics counterpart (torchmetrics' Running is a window mean)"),
    ("^reg_const$", "^ExplainedVariance$", "",
     "for a constant target torchmetrics' one-pass variance leaves rounding noise (~1e-16) that its exact zero "
     "test misses, giving ~-5e14; kiln treats a variance below 1e-12 of the mean squared target as zero and gives "
     "0, as scikit-learn's force_finite does"),
]

# Cases where kiln is wrong by its own documentation: listed so the test passes until they are fixed,
# printed every run, and a failure once they agree (then remove the entry).
KILN_BUGS = []

RANKING = {"AUROC", "AveragePrecision"}
STAT = {"Accuracy", "Precision", "Recall", "F1Score", "FBetaScore", "ConfusionMatrix", "StatScores"}


def read(path):
    """The batches per data set and kiln's cases, (data, metric, options, value), in file order."""
    data, cases = {}, []

    def tensor(dtype, shape, values):
        dims = [int(s) for s in shape.split(",")] if shape else []
        if dtype == "f64":
            t = torch.tensor([float(v) for v in values.split()], dtype=torch.float64)
        else:
            t = torch.tensor([int(v) for v in values.split()], dtype=torch.long)
        return t.reshape(dims)

    with open(path) as f:
        for line in f:
            rec = line.rstrip("\n").split("\t")
            if rec[0] == "input":
                _, name, batch, role, *t = rec
                batches = data.setdefault(name, [])
                if int(batch) == len(batches):
                    batches.append({})
                batches[int(batch)][role] = tensor(*t)
            elif rec[0] == "kiln":
                _, name, metric, options, *t = rec
                cases.append((name, metric, options, tensor(*t)))
            else:
                raise ValueError(f"{path}: unknown record {rec[0]!r}")
    return data, cases


def classification(metric, o):
    """The torchmetrics classification metric for kiln's `metric` with options `o`."""
    task = o["task"]
    kw = {}
    if task == "binary":
        prefix = "Binary"
    elif task == "multiclass":
        prefix = "Multiclass"
        kw["num_classes"] = int(o["num_classes"])
        if metric in STAT - {"ConfusionMatrix"}:
            kw["top_k"] = int(o["top_k"])
    else:
        prefix = "Multilabel"
        kw["num_labels"] = int(o["num_labels"])
    if task != "multiclass" and metric not in RANKING:
        kw["threshold"] = float(o["threshold"])
    if task != "binary" and metric in STAT - {"ConfusionMatrix"} | RANKING:
        kw["average"] = o.get("average", "none")
    if metric == "StatScores" and task != "binary":
        kw["average"] = "none"  # kiln's Counts gives the counts per class
    if metric in {"Precision", "Recall", "F1Score", "FBetaScore"}:
        kw["zero_division"] = 0  # kiln's safe_div: 0 where a class was never predicted (or never occurs)
    if metric == "FBetaScore":
        kw["beta"] = float(o["beta"])
    if metric == "ConfusionMatrix":
        kw["normalize"] = o["normalize"]
    if metric == "Accuracy" and o.get("subset_accuracy") == "1":
        del kw["average"]
        return C.MultilabelExactMatch(**kw)
    return getattr(C, prefix + metric)(**kw)


def build(metric, o):
    """(torchmetrics metric, feed(m, preds, target), reduce(value)) for one kiln case."""
    both = lambda m, p, t: m.update(p, t)
    values = lambda m, p, t: m.update(p)
    same = lambda v: v
    if metric in STAT | RANKING:
        return classification(metric, o), both, same
    if metric == "1-Accuracy":
        return 1 - classification("Accuracy", o), both, same
    if metric == "(Precision+Recall)/2":
        return (classification("Precision", o) + classification("Recall", o)) / 2, both, same
    # regression and aggregation states are float32 by default in torchmetrics: made float64 below.
    k = int(o.get("num_outputs", 1))
    mean_of_outputs = lambda v: v.mean()  # kiln averages outputs uniformly; torchmetrics gives one per output
    if metric == "MeanSquaredError":
        return R.MeanSquaredError(squared=True, num_outputs=k), both, mean_of_outputs
    if metric == "RootMeanSquaredError":
        return R.MeanSquaredError(squared=False, num_outputs=k), both, mean_of_outputs
    if metric == "MeanAbsoluteError":
        return R.MeanAbsoluteError(num_outputs=k), both, mean_of_outputs
    if metric == "R2Score":
        return R.R2Score(multioutput="uniform_average"), both, same
    if metric == "ExplainedVariance":
        return R.ExplainedVariance(multioutput="uniform_average"), both, same
    if metric == "Loss":  # Ignite's Loss: the batch losses' mean weighted by batch size
        mse = lambda m, p, t: m.update(torch.nn.functional.mse_loss(p, t), p.shape[0])
        return A.MeanMetric(), mse, same
    if metric == "MeanMetric":
        return A.MeanMetric(), (both if o.get("weighted") == "1" else values), same
    if metric in {"SumMetric", "MinMetric", "MaxMetric"}:
        return getattr(A, metric)(), values, same
    raise ValueError(f"no torchmetrics counterpart known for kiln's {metric}")


def tolerance(metric):
    """(rtol, atol): torchmetrics' classification values are float32 (its _safe_divide casts integer counts
    to float32, its ROC and PR curves are float32); regression and aggregation run in float64 here."""
    if metric in STAT | RANKING or metric in {"1-Accuracy", "(Precision+Recall)/2"}:
        return 1e-5, 1e-7
    return 1e-9, 1e-12


def reason(rules, name, metric, options):
    for d, m, o, why in rules:
        if re.search(d, name) and re.search(m, metric) and re.search(o, options):
            return why
    return None


def fmt(t):
    return " ".join(f"{x:.10g}" for x in t.flatten().tolist())


def main(path):
    warnings.filterwarnings("ignore", module="torchmetrics")  # e.g. float32 precision hints; values are checked
    data, cases = read(path)
    agree = failed = skipped = 0
    for name, metric, options, kiln in cases:
        o = dict(kv.split("=", 1) for kv in options.split())
        case = f"{name} {metric}({options})"
        why = reason(SKIPPED, name, metric, options)
        bug = reason(KILN_BUGS, name, metric, options)
        if why and metric == "RunningAverage":
            print(f"skipped: {case}: {why}")
            skipped += 1
            continue
        try:
            m, feed, reduce = build(metric, o)
            if metric not in STAT | RANKING:
                m.set_dtype(torch.float64)
            for b in data[name]:
                feed(m, b["preds"], b["target"])
            theirs = reduce(m.compute()).detach().to(torch.float64).flatten()
        except Exception as e:  # a case torchmetrics cannot take is a failure of this test, not a skip
            print(f"ERROR {case}: torchmetrics raised {type(e).__name__}: {e}")
            failed += 1
            continue
        ours = kiln.to(torch.float64).flatten()
        if why:
            print(f"skipped: {case}: {why} (kiln {fmt(ours)}, torchmetrics {fmt(theirs)})")
            skipped += 1
            continue
        rtol, atol = tolerance(metric)
        same = ours.shape == theirs.shape and torch.allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True)
        if bug and same:
            print(f"FIXED {case}: kiln now agrees ({fmt(ours)}); remove the case from KILN_BUGS")
            failed += 1
        elif bug:
            print(f"skipped: {case}: known kiln bug: {bug} (kiln {fmt(ours)}, torchmetrics {fmt(theirs)})")
            skipped += 1
        elif same:
            agree += 1
        else:
            print(f"MISMATCH {case}: kiln {fmt(ours)}, torchmetrics {fmt(theirs)}")
            failed += 1
    print(f"torchmetrics {torchmetrics.__version__}, torch {torch.__version__}: {len(cases)} kiln values, "
          f"{agree} agree, {failed} differ, {skipped} skipped")
    if failed:
        return 1
    print(f"metrics vs torchmetrics: {agree} cases agree")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} FILE")
    sys.exit(main(sys.argv[1]))
