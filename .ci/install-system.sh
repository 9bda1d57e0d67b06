#!/usr/bin/env bash
# Install the Debian packages the real-tool tests need, only when a binary is missing (idempotent, fast when done).
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus >/dev/null || need+=(prometheus)
# Alertmanager/amtool: Debian 12's 0.25 is too old for the rendered config; .ci/install-alertmanager.sh puts
# 0.28 into .tools instead (called by `make tools`).
command -v node >/dev/null || need+=(nodejs npm)
command -v curl >/dev/null || need+=(curl)  # tests/tools/test_artifact_fetch.py runs the fetch script
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)  # tests/tools/test_gate_nginx.py runs the gate
[ ${#need[@]} -eq 0 ] && exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing: ${need[*]} - install these Debian packages (apt-get install --no-install-recommends ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the services on install; the tests run their own instances on free ports.
for svc in prometheus prometheus-node-exporter nginx; do
  (command -v systemctl >/dev/null && systemctl stop "$svc") >/dev/null 2>&1 || true
  pkill -x "$svc" >/dev/null 2>&1 || true
done
