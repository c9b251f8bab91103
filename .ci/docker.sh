#!/usr/bin/env bash
# Provision Docker for the sandbox tests: install docker.io if missing, start dockerd in
# the background if no daemon answers, wait for /var/run/docker.sock, then import the
# offline host-runtime image (no registry needed). Idempotent; called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dockerd >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

answers() { docker version >/dev/null 2>&1; }

wait_for_daemon() {
  for _ in $(seq 1 60); do
    answers && return 0
    sleep 1
  done
  return 1
}

if ! answers; then
  log=/tmp/evolve-dockerd.log
  echo "starting dockerd (log: $log)"
  nohup dockerd >"$log" 2>&1 &
  if ! wait_for_daemon; then
    # Sandboxes use network "none"; without iptables (nested VMs) the bridge is not needed.
    echo "dockerd did not come up; retrying without bridge networking" >&2
    kill "$!" 2>/dev/null || true
    sleep 2
    nohup dockerd --iptables=false --ip6tables=false --bridge=none >>"$log" 2>&1 &
    wait_for_daemon || { tail -n 30 "$log" >&2; echo "dockerd failed to start" >&2; exit 1; }
  fi
fi
test -S /var/run/docker.sock || { echo "no /var/run/docker.sock" >&2; exit 1; }

# The image is made from a tarball of mount points; the interpreter is bind-mounted.
python -c "import docker, evolve.sandbox.docker_image" 2>/dev/null || python -m pip install -q -e ".[docker]"
python -m evolve.sandbox.docker_image
