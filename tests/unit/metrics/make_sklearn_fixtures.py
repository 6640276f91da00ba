#!/usr/bin/python3
"""Writes sklearn_fixtures.hpp: fixed random inputs and the values scikit-learn computes for them.

kiln's metric tests compare against these numbers. Regenerate (Debian: python3-sklearn) with
    /usr/bin/python3 tests/unit/metrics/make_sklearn_fixtures.py > tests/unit/metrics/sklearn_fixtures.hpp
Labels are always given explicitly (labels=range(C)) and zero_division=0, as kiln counts every class.
"""
import numpy as np
import sklearn
from sklearn import metrics as M
from sklearn.preprocessing import label_binarize

rng = np.random.RandomState(20261124)
arrays, expected = {}, {}


def arr(name, a):
    arrays[name] = np.asarray(a)


def exp(name, v):
    expected[name] = np.atleast_1d(np.asarray(v, dtype=np.float64)).ravel()


# binary: scores in [0, 1], labels by threshold 0.5
N = 200
s = rng.rand(N)
t = rng.randint(0, 2, N)
p = (s >= 0.5).astype(int)
arr("binary_scores", s); arr("binary_target", t)
exp("binary.accuracy", M.accuracy_score(t, p))
exp("binary.precision", M.precision_score(t, p, zero_division=0))
exp("binary.recall", M.recall_score(t, p, zero_division=0))
exp("binary.f1", M.f1_score(t, p, zero_division=0))
exp("binary.f2", M.fbeta_score(t, p, beta=2, zero_division=0))
exp("binary.confusion", M.confusion_matrix(t, p, labels=[0, 1]))
exp("binary.auroc", M.roc_auc_score(t, s))
exp("binary.ap", M.average_precision_score(t, s))
# ties: scores on a coarse grid
st = np.round(s * 5) / 5
arr("binary_tied_scores", st)
exp("binary_tied.auroc", M.roc_auc_score(t, st))
exp("binary_tied.ap", M.average_precision_score(t, st))
# all scores equal
exp("binary_equal.auroc", M.roc_auc_score(t, np.full(N, 0.3)))
exp("binary_equal.ap", M.average_precision_score(t, np.full(N, 0.3)))

# multiclass: C = 5, softmax probabilities
N, C = 300, 5
logits = rng.randn(N, C)
prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
t = rng.randint(0, C, N)
p = prob.argmax(1)
L = list(range(C))
arr("mc_probs", prob); arr("mc_target", t)
exp("mc.accuracy", M.accuracy_score(t, p))
exp("mc.accuracy_macro", M.balanced_accuracy_score(t, p))
exp("mc.top2", M.top_k_accuracy_score(t, prob, k=2, labels=L))
for avg in ["micro", "macro", "weighted", None]:
    k = avg or "none"
    exp(f"mc.precision_{k}", M.precision_score(t, p, labels=L, average=avg, zero_division=0))
    exp(f"mc.recall_{k}", M.recall_score(t, p, labels=L, average=avg, zero_division=0))
    exp(f"mc.f1_{k}", M.f1_score(t, p, labels=L, average=avg, zero_division=0))
exp("mc.f05_macro", M.fbeta_score(t, p, beta=0.5, labels=L, average="macro", zero_division=0))
exp("mc.confusion", M.confusion_matrix(t, p, labels=L))
for norm in ["true", "pred", "all"]:
    exp(f"mc.confusion_{norm}", M.confusion_matrix(t, p, labels=L, normalize=norm))
exp("mc.auroc_macro", M.roc_auc_score(t, prob, multi_class="ovr", average="macro", labels=L))
exp("mc.auroc_weighted", M.roc_auc_score(t, prob, multi_class="ovr", average="weighted", labels=L))
onehot = label_binarize(t, classes=L)
exp("mc.ap_macro", M.average_precision_score(onehot, prob, average="macro"))
exp("mc.ap_weighted", M.average_precision_score(onehot, prob, average="weighted"))
# a class never predicted: labels predicted from 0..3 only
p4 = prob[:, :4].argmax(1)
arr("mc_never4_preds", p4)
exp("mc_never4.precision_macro", M.precision_score(t, p4, labels=L, average="macro", zero_division=0))
exp("mc_never4.f1_macro", M.f1_score(t, p4, labels=L, average="macro", zero_division=0))
exp("mc_never4.precision_none", M.precision_score(t, p4, labels=L, average=None, zero_division=0))

# multilabel: 4 labels
N, K = 100, 4
s = rng.rand(N, K)
t = rng.randint(0, 2, (N, K))
p = (s >= 0.5).astype(int)
arr("ml_scores", s); arr("ml_target", t)
exp("ml.subset_accuracy", M.accuracy_score(t, p))
exp("ml.label_accuracy", 1 - M.hamming_loss(t, p))
for avg in ["micro", "macro", "weighted"]:
    exp(f"ml.precision_{avg}", M.precision_score(t, p, average=avg, zero_division=0))
    exp(f"ml.recall_{avg}", M.recall_score(t, p, average=avg, zero_division=0))
    exp(f"ml.f1_{avg}", M.f1_score(t, p, average=avg, zero_division=0))
exp("ml.confusion", M.multilabel_confusion_matrix(t, p))
exp("ml.auroc_macro", M.roc_auc_score(t, s, average="macro"))
exp("ml.auroc_micro", M.roc_auc_score(t, s, average="micro"))
exp("ml.ap_macro", M.average_precision_score(t, s, average="macro"))
exp("ml.ap_micro", M.average_precision_score(t, s, average="micro"))

# regression: one output and three
N = 150
y = rng.randn(N) * 3 + 1
yhat = y + rng.randn(N) * 0.8 + 0.3
arr("reg_preds", yhat); arr("reg_target", y)
exp("reg.mse", M.mean_squared_error(y, yhat))
exp("reg.rmse", M.mean_squared_error(y, yhat, squared=False))
exp("reg.mae", M.mean_absolute_error(y, yhat))
exp("reg.r2", M.r2_score(y, yhat))
exp("reg.ev", M.explained_variance_score(y, yhat))
Y = rng.randn(N, 3) * [1, 2, 5]
Yhat = Y + rng.randn(N, 3)
arr("reg3_preds", Yhat); arr("reg3_target", Y)
exp("reg3.mse", M.mean_squared_error(Y, Yhat))
exp("reg3.rmse", M.mean_squared_error(Y, Yhat, squared=False))
exp("reg3.mae", M.mean_absolute_error(Y, Yhat))
exp("reg3.r2", M.r2_score(Y, Yhat))
exp("reg3.ev", M.explained_variance_score(Y, Yhat))
# a constant target: scikit-learn's force_finite gives 0 unless the fit is perfect (1)
exp("reg_const.r2", M.r2_score(np.full(10, 2.0), np.linspace(1, 3, 10)))
exp("reg_const.r2_perfect", M.r2_score(np.full(10, 2.0), np.full(10, 2.0)))
exp("reg_const.ev", M.explained_variance_score(np.full(10, 2.0), np.linspace(1, 3, 10)))


def cxx(v):
    return repr(float(v)) if v.dtype.kind == "f" else str(int(v))


print("// Generated by make_sklearn_fixtures.py with scikit-learn " + sklearn.__version__ + "; do not edit.")
print("#pragma once\n#include <map>\n#include <string>\n#include <vector>\n\nnamespace sklearn_fixtures {")
for name, a in arrays.items():
    kind = "double" if a.dtype.kind == "f" else "long"
    print(f"// shape {list(a.shape)}")
    print(f"inline const std::vector<{kind}> {name} = {{" + ", ".join(cxx(x) for x in a.ravel()) + "};")
print("inline const std::map<std::string, std::vector<double>> expected = {")
for name, v in expected.items():
    print(f'    {{"{name}", {{' + ", ".join(repr(float(x)) for x in v) + "}},")
print("};\n}  // namespace sklearn_fixtures")
