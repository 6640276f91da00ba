# SPDX-License-Identifier: Apache-2.0
# tests/integration/mlflow_server.py — MLFlowLogger against a real MLflow tracking server, read back with MLflow's client.
#
# Usage: python mlflow_server.py PROBE DIR (the Python of the LibTorch 2.x environment, which has mlflow).
# Starts `mlflow server` on 127.0.0.1 on a free port with a SQLite store in DIR, runs
# kiln_mlflow_probe (mlflow_probe_main.cpp) in eight cases, reads each run back with
# mlflow.MlflowClient and compares it with the probe's metrics.csv; stops the server at the end.
# Exits 0 after "mlflow server: N checks pass".
import csv
import math
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

probe, work = sys.argv[1], Path(sys.argv[2]).resolve()
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
checks = 0


def check(ok, what):
    global checks
    if not ok:
        sys.exit(f"mlflow server: FAILED: {what}")
    checks += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
uri = f"http://127.0.0.1:{port}"
dead_uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
mlflow_bin = Path(sys.executable).parent / "mlflow"

# server.sh start|stop: the probe calls it too, to take the server away mid-run and bring it back.
server = work / "server.sh"
server.write_text(f"""#!/usr/bin/env bash
set -u
case "$1" in
start)
  setsid "{mlflow_bin}" server --host 127.0.0.1 --port {port} --workers 1 \\
      --backend-store-uri "sqlite:///{work}/mlflow.db" --artifacts-destination "{work}/artifacts" \\
      >> "{work}/server.log" 2>&1 < /dev/null &
  pid=$!
  echo $pid > "{work}/server.pid"
  for i in $(seq 1 600); do
    "{sys.executable}" -c "import urllib.request; urllib.request.urlopen('{uri}/health', timeout=1)" 2>/dev/null && exit 0
    kill -0 $pid 2>/dev/null || {{ echo "mlflow server exited; see {work}/server.log" >&2; exit 1; }}
    sleep 0.2
  done
  echo "mlflow server did not answer within 120 s" >&2; exit 1;;
stop)
  pid=$(cat "{work}/server.pid" 2>/dev/null) || exit 0
  kill -TERM -- "-$pid" 2>/dev/null
  for i in $(seq 1 100); do
    [[ -e /proc/$pid ]] && ! grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null || exit 0
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null; sleep 0.5; exit 0;;
esac
""")
server.chmod(0o755)
(work / "delete_runs.py").write_text(f"""from mlflow import MlflowClient
c = MlflowClient("{uri}")
for r in c.search_runs([c.get_experiment_by_name("deleted").experiment_id]):
    c.delete_run(r.info.run_id)
""")


def run_probe(case, experiment, *args, target=uri):
    out = subprocess.run([probe, str(work / case), target, experiment, *args], capture_output=True, text=True,
                         timeout=300)
    (work / case).mkdir(exist_ok=True)
    (work / case / "stderr.txt").write_text(out.stderr)  # for a reader of a failure
    fields = {}
    for word in out.stdout.split():
        if "=" in word:
            k, v = word.split("=", 1)
            fields[k] = v
    return out.returncode, fields, out.stderr


def csv_metrics(case):
    """{key: sorted [(step, value)]} from the probe's metrics.csv (what kiln logged)."""
    rows = {}
    with open(work / case / "lightning_logs" / "version_0" / "metrics.csv") as f:
        for row in csv.DictReader(f):
            for k, v in row.items():
                if k != "step" and v != "":
                    rows.setdefault(k, []).append((int(row["step"]), float(v)))
    return {k: sorted(v, key=key_of) for k, v in rows.items()}


def key_of(sv):
    return (sv[0], math.inf if math.isnan(sv[1]) else sv[1])


def server_metrics(client, run_id, keys):
    return {k: sorted(((m.step, m.value) for m in client.get_metric_history(run_id, k)), key=key_of) for k in keys}


def distinct(points):
    # MLflow stores one of two identical points (key, step, value) logged in the same millisecond,
    # as the epoch of a training and a validation row at one step.
    return sorted({(s, "nan" if math.isnan(v) else v) for s, v in points}, key=str)


def same(a, b):
    return distinct(a) == distinct(b)


def mlflow_lines(stderr):
    return [line for line in stderr.splitlines() if "MLFlowLogger" in line]


subprocess.run([str(server), "start"], check=True)
client = MlflowClient(uri)
try:
    # 1. A fit and a validate: params, every metric's history, status, tags.
    rc, out, err = run_probe("ok", "kiln probe", "--bad-name")
    check(rc == 0, f"the probe exits 0 (got {rc}): {err}")
    check(mlflow_lines(err) == ['kiln: MLFlowLogger: metric "train/acc@1" is not sent: MLflow names hold only letters, '
                                'digits, _ - . space : / (at most 250)'],
          f"one line about the name MLflow refuses, nothing else: {mlflow_lines(err)}")
    run = client.get_run(out["run_id"])
    check(client.get_experiment(run.info.experiment_id).name == "kiln probe", "the run is in the named experiment")
    check(run.info.status == "FINISHED", f"status FINISHED (got {run.info.status})")
    check(run.data.params == {"lr": "0.05", "batch_size": "4", "optimizer": "sgd", "nesterov": "False"},
          f"params are the module's hparams (got {run.data.params})")
    expected = csv_metrics("ok")
    check(len(expected.pop("train/acc@1")) == 24, "metrics.csv has the refused name at every step")
    check(set(expected) == {"train/loss", "train/nan", "val/loss", "epoch"}, f"metrics.csv's columns: {set(expected)}")
    check(len(expected["train/loss"]) == 24 and any(math.isnan(v) for _, v in expected["train/nan"]),
          "24 steps of train/loss and a NaN in train/nan")
    got = server_metrics(client, out["run_id"], expected)
    for k in expected:
        check(same(got[k], expected[k]), f"{k}: the server's history equals metrics.csv\n{got[k]}\n{expected[k]}")
    check(set(run.data.metrics) == set(expected), f"no other metric on the server: {set(run.data.metrics)}")
    tags = run.data.tags
    check(tags.get("kiln.version", "") != "" and tags.get("probe") == "yes", f"kiln's version and the option's tag: {tags}")
    check(probe in tags.get("kiln.command_line", "") and "kiln probe" in tags["kiln.command_line"],
          f"the command line: {tags.get('kiln.command_line')}")
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        check(tags.get("mlflow.source.git.commit") == head.stdout.strip(), f"the git commit: {tags}")
    check(tags.get("best_model_path") == out["best"] and out["best"].endswith(".pt"),
          f"best_model_path {tags.get('best_model_path')} is ModelCheckpoint's {out['best']}")
    check(out["dropped"] == "0", "nothing dropped")

    # 2-3. No server at start: fail fast, or one line and train on.
    rc, out, err = run_probe("raise", "unreachable", target=dead_uri)
    check(rc == 3 and f"MLFlowLogger cannot reach the tracking server {dead_uri}" in err,
          f"on_error=raise: the fit fails naming the server (rc {rc}): {err}")
    rc, out, err = run_probe("warn", "unreachable", "--warn", target=dead_uri)
    lines = mlflow_lines(err)
    check(rc == 0 and len(lines) == 1 and "training goes on without MLflow" in lines[0] and dead_uri in lines[0],
          f"on_error=warn: one line and training finishes (rc {rc}): {err}")
    check(len(csv_metrics("warn")["train/loss"]) == 24, "on_error=warn: the other logger has every step")

    # 4. The server goes away after step 6 and comes back at step 14: nothing is lost.
    rc, out, err = run_probe("outage", "outage", "--at", "6", f"{server} stop", "--at", "14", f"{server} start")
    lines = mlflow_lines(err)
    check(rc == 0 and out["dropped"] == "0", f"the outage costs nothing (rc {rc}, dropped {out.get('dropped')}): {err}")
    check(len([x for x in lines if "retrying" in x]) == 1 and len([x for x in lines if "answers again" in x]) == 1,
          f"one line when the server goes, one when it is back: {lines}")
    expected = csv_metrics("outage")
    got = server_metrics(client, out["run_id"], expected)
    for k in expected:
        check(same(got[k], expected[k]), f"outage: {k}'s history is complete\n{got[k]}\n{expected[k]}")
    check(client.get_run(out["run_id"]).info.status == "FINISHED", "outage: FINISHED")

    # 5. The server goes away for good at step 6: training finishes, the loss is counted and said.
    rc, out, err = run_probe("gone", "gone", "--top-k", "0", "--flush-ms", "1500", "--at", "6", f"{server} stop")
    check(rc == 0, f"gone: training finishes (rc {rc}): {err}")
    dropped = int(out["dropped"])
    reports = [tuple(map(int, m)) for m in re.findall(r"(\d+) of (\d+) values were not recorded", err)]
    check(dropped > 0 and len(reports) == 2 and sum(r[0] for r in reports) == dropped and
          sum(r[1] for r in reports) == int(out["queued"]),
          f"gone: the fit and the validate each report what they dropped ({dropped} in all): {err}")
    subprocess.run([str(server), "start"], check=True)
    expected = csv_metrics("gone")
    run = client.get_run(out["run_id"])
    got = server_metrics(client, out["run_id"], expected)
    delivered = sum(len(v) for v in got.values()) + len(run.data.params)
    logged = sum(len(v) for v in expected.values()) + 4
    check(int(out["queued"]) == logged and delivered + dropped == logged,
          f"gone: {delivered} recorded + {dropped} dropped = {logged} logged (queued {out['queued']})")
    check(all(set(distinct(got[k])) <= set(distinct(expected[k])) for k in expected), "gone: what was recorded was logged")

    # 6. The run is deleted at step 6: every later batch is refused; the server's answer is said once.
    rc, out, err = run_probe("deleted", "deleted", "--at", "6", f"{sys.executable} {work / 'delete_runs.py'}")
    refused = [x for x in mlflow_lines(err) if "HTTP 4" in x and "dropped" in x]
    check(rc == 0 and len(refused) == 1 and "deleted" in refused[0],
          f"deleted: training finishes and the refusal is said once (rc {rc}): {err}")
    check(int(out["dropped"]) > 0 and "values were not recorded" in err, f"deleted: the count is reported: {err}")

    # 7. An error in training_step: FAILED, with what was logged before it.
    rc, out, err = run_probe("failed", "failed", "--fail-at", "10")
    runs = client.search_runs([client.get_experiment_by_name("failed").experiment_id])
    check(rc == 5 and len(runs) == 1 and runs[0].info.status == "FAILED", f"failed: status FAILED (rc {rc}): {err}")
    got = server_metrics(client, runs[0].info.run_id, ["train/loss"])
    check(same(got["train/loss"], csv_metrics("failed")["train/loss"]) and len(got["train/loss"]) == 9,
          "failed: steps 1-9 recorded")

    # 8. SIGTERM during step 10: kiln checkpoints and exits 75; the run is KILLED with all 10 steps.
    rc, out, err = run_probe("killed", "killed", "--preempt-at", "10")
    runs = client.search_runs([client.get_experiment_by_name("killed").experiment_id])
    check(rc == 75 and len(runs) == 1 and runs[0].info.status == "KILLED", f"killed: status KILLED (rc {rc}): {err}")
    got = server_metrics(client, runs[0].info.run_id, ["train/loss"])
    check(same(got["train/loss"], csv_metrics("killed")["train/loss"]) and len(got["train/loss"]) == 10,
          "killed: steps 1-10 recorded")
finally:
    subprocess.run([str(server), "stop"])
print(f"mlflow server: {checks} checks pass")
