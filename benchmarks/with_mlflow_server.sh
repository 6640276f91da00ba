#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# benchmarks/with_mlflow_server.sh — runs a command next to an MLflow tracking server of its own.
# Usage: benchmarks/with_mlflow_server.sh PYTHON COMMAND [ARGS...]
# PYTHON is the LibTorch 2.x environment's (scripts/torch2-venv), which has mlflow. Starts
# `mlflow server` on 127.0.0.1 on a free port with a SQLite store in a temporary folder, runs
# COMMAND with MLFLOW_TRACKING_URI set to it (MLFlowLogger's default), stops the server, and
# exits with COMMAND's status.
set -euo pipefail
python=$1; shift
work=$(mktemp -d)
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid "$(dirname "$python")/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
  --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/artifacts" > "$work/server.log" 2>&1 < /dev/null &
server=$!
child=""
trap '[[ -n $child ]] && kill -TERM $child 2>/dev/null; kill -TERM -- -$server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 143' TERM  # the server and the command go with this script when it is stopped
trap 'exit 130' INT
for _ in $(seq 1 600); do
  "$python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null && break
  kill -0 $server 2>/dev/null || { echo "with_mlflow_server.sh: mlflow server exited:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
# In the background and waited for: a trap runs at once during `wait`, not after a foreground command.
MLFLOW_TRACKING_URI="http://127.0.0.1:$port" "$@" &
child=$!
status=0
wait $child || status=$?
child=""
exit $status
