#!/usr/bin/env bash
# Install what the Slurm tests need (tests/slurm_cluster.py starts a private
# single-node cluster from these binaries): slurmctld, slurmd, the client
# commands and munge. Idempotent and quiet: does nothing and exits 0 when every
# binary is already there. Needs root (apt-get) only when something is missing.
#
# The packages' maintainer scripts would start system-wide munge and slurm
# services; the tests start their own daemons, so service starts are denied
# during the install (policy-rc.d, only when the machine has none).
set -euo pipefail

need=()
command -v slurmctld >/dev/null 2>&1 || need+=(slurmctld)
command -v slurmd    >/dev/null 2>&1 || need+=(slurmd)
command -v sbatch    >/dev/null 2>&1 || need+=(slurm-client)
command -v munged    >/dev/null 2>&1 || need+=(munge)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install_slurm.sh: missing ${need[*]} and not root: install them with apt-get (Debian) or skip the Slurm tests" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_slurm.sh: missing ${need[*]} and no apt-get on this machine" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && rm -f "$policy"; return 0; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# Only the lists are refreshed when the packages are not known yet.
if ! apt-cache show "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
echo "install_slurm.sh: installed ${need[*]} ($(slurmctld -V 2>/dev/null))"
