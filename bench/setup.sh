#!/usr/bin/env bash
# System packages `make bench` needs beyond the virtualenv: Debian's nginx, the load balancer of the
# scale-out stage. Idempotent; without root (or sudo) it only warns, and bench/run.py then skips the
# scale-out stage with a note. PostgreSQL and Redis must already answer on 127.0.0.1 (as for CI).
set -euo pipefail

if command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]]; then
  exit 0
fi
sudo=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "bench/setup.sh: nginx is missing and we are not root: the scale-out stage will be skipped" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "bench/setup.sh: installing nginx (Debian package)"
# bench/run.py starts its own nginx with its own configuration on a free loopback port; the
# package's system service is not used.
if ! "${sudo[@]}" apt-get install -y -q nginx </dev/null; then
  "${sudo[@]}" apt-get update -q </dev/null
  "${sudo[@]}" apt-get install -y -q nginx </dev/null || echo "bench/setup.sh: could not install nginx: scale-out skipped" >&2
fi
