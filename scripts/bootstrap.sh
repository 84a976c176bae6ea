#!/usr/bin/env bash
# Installs what a fresh machine lacks for NeoSC, then the workspace's dependencies.
#   bootstrap.sh            pnpm + dependencies (enough to start the portal)
#   bootstrap.sh --browser  also Chromium for the browser tests (Debian package; needs root)
# Both install the Debian packages of the local workspace driver when run as root on Debian,
# and otherwise name the missing ones (the portal then shows those workspaces as unavailable).
# Idempotent: on a machine that has everything it only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pnpm >/dev/null 2>&1; then
  echo "bootstrap: installing pnpm 10 (corepack cannot fetch signed metadata here)"
  npm install --global pnpm@10 >/dev/null
fi

if [ "${1:-}" = "--browser" ] && [ -z "${NEOSC_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Chromium from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "bootstrap: Chromium is missing: run 'sudo apt-get install chromium' or set NEOSC_CHROMIUM" >&2
    exit 1
  fi
fi

# Programs the test suites and benchmarks run (only with --browser): the command, its Debian
# package, and what it is for. Without one of them a suite cannot pass, so a missing one stops here.
# A fourth argument is a command that must succeed as well, for a program whose name a stand-in can
# take (a workplace may put a small convert on PATH that is not ImageMagick).
test_tool() {
  if command -v "$1" >/dev/null 2>&1 && { [ -z "${4:-}" ] || sh -c "$4" >/dev/null 2>&1; }; then return 0; fi
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing $2 from Debian's packages ($3)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  else
    echo "bootstrap: $1 is missing ($3): run 'sudo apt-get install $2'" >&2
    exit 1
  fi
}
if [ "${1:-}" = "--browser" ]; then
  test_tool python3 python3 "the REST API's client test is a Python script"
  test_tool xdotool xdotool "the gateway's watch test reads the pointer inside a test desktop"
  test_tool /usr/sbin/sshd openssh-server "the ssh-host terminal tests run a real sshd"
  test_tool convert imagemagick "bench:gateway's recording rows draw a noise desktop" \
    "convert -version | grep -q '^Version: ImageMagick'"
fi

# openssl makes the certificates of the test Kubernetes control plane (deploy/control-plane).
if [ "${1:-}" = "--browser" ] && ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing openssl from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  else
    echo "bootstrap: openssl is missing (the Kubernetes tests will be skipped): run 'sudo apt-get install openssl'" >&2
  fi
fi

# The local workspace driver (packages/provisioner/src/local.ts): TigerVNC's Xvnc, bubblewrap,
# openbox, the programs the default catalogue runs, and slirp4netns (Firefox's outbound network). Missing packages do not stop the portal.
desktop_packages="tigervnc-standalone-server tigervnc-tools bubblewrap openbox xterm firefox-esr pcmanfm x11-utils slirp4netns"
if command -v dpkg-query >/dev/null 2>&1; then
  missing_desktop=""
  for package in $desktop_packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing_desktop="$missing_desktop $package"
  done
  if [ -n "$missing_desktop" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "bootstrap: installing the local workspace driver's packages:$missing_desktop"
      # shellcheck disable=SC2086 # one word per package
      if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing_desktop >/dev/null); then
        echo "bootstrap: could not install$missing_desktop: desktop workspaces will be unavailable" >&2
      fi
    else
      echo "bootstrap: desktop workspaces need:$missing_desktop (run 'sudo apt-get install$missing_desktop')" >&2
    fi
  fi
else
  echo "bootstrap: not a Debian system: the local workspace driver needs Xvnc (TigerVNC), bwrap (bubblewrap), openbox, xterm, pcmanfm and firefox-esr; the portal lists what is missing" >&2
fi

# PostgreSQL 15 for FerretDB's PostgreSQL backend, the embedded default (see the README's
# "Database engine"; without it the launcher falls back to SQLite and says so), run by the launcher as the system account neosc-db (PostgreSQL refuses
# root), one cluster per data folder on a unix socket there. Debian's own "main" cluster is not
# created: nothing here uses it.
if command -v dpkg-query >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  if ! dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "install ok installed"; then
    echo "bootstrap: installing postgresql-15 from Debian's packages"
    mkdir -p /etc/postgresql-common/createcluster.d
    [ -e /etc/postgresql-common/createcluster.d/neosc.conf ] ||
      echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/neosc.conf
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null); then
      echo "bootstrap: could not install postgresql-15: the embedded database will run on SQLite instead (slower as history grows)" >&2
    fi
  fi
  if ! getent passwd neosc-db >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --comment "NeoSC embedded database" neosc-db
  fi
elif ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && ! command -v postgres >/dev/null 2>&1; then
  echo "bootstrap: PostgreSQL is missing, so the embedded database will run on SQLite (slower as history grows): run 'sudo apt-get install postgresql-15' for the default" >&2
fi

pnpm install --frozen-lockfile --reporter=silent
