#!/usr/bin/env bash
# Debian packages the tests and benchmarks use: GDAL's ogr2ogr (a real OAPIF client), Chromium
# (browser tests), wrk (API benchmark), curl (the dataset page's download recipe), PostgreSQL's
# server binaries and redis-server (the tests start throwaway servers of their own on free ports).
# Installs only what is missing; needs root for that.
set -euo pipefail
need=()
command -v ogr2ogr >/dev/null 2>&1 || need+=(gdal-bin)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v initdb >/dev/null 2>&1 || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
  || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing system packages: ${need[*]} (run as root, or: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
