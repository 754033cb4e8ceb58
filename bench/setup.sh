#!/bin/bash
# bench/setup.sh - one-time (idempotent) setup of the side-by-side benchmark lab, as root.
#   - installs postfix (brings smtp-sink and smtp-source) and swaks from Debian's packages
#   - installs smtp-server@3.21.6 into $BENCHLAB (default /tmp/benchlab) for the bare floor
#   - links the lab's smtpserver.mjs into $BENCHLAB (servers.sh runs it from there)
#   - builds the private Postfix instance on 127.0.0.1:2525 (../shared/bench/setup_postfix.sh)
# The lab scripts are used in place from ../shared/bench (override with BENCH_LAB_DIR); nothing is
# copied into this project. Re-running is safe.
# Usage: sudo bench/setup.sh [--force-apt]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=${BENCH_LAB_DIR:-$ROOT/../shared/bench}
LAB=$(cd "$LAB" && pwd)
export BENCHLAB=${BENCHLAB:-/tmp/benchlab}
SMTP_SERVER_VERSION=3.21.6
FORCE_APT=0
[ "${1:-}" = "--force-apt" ] && FORCE_APT=1

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/setup.sh must run as root (apt-get install, Postfix instance owned by postfix)" >&2
  exit 1
fi
for f in setup_postfix.sh servers.sh smtpload.mjs smtpserver.mjs fsynctest.mjs; do
  [ -e "$LAB/$f" ] || { echo "missing $LAB/$f (set BENCH_LAB_DIR)" >&2; exit 1; }
done

# 1) Debian packages
if [ "$FORCE_APT" = 1 ] || ! command -v postfix >/dev/null || ! command -v swaks >/dev/null \
   || [ ! -x /usr/sbin/smtp-source ] || [ ! -x /usr/sbin/smtp-sink ]; then
  apt-get update
  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
  echo "postfix postfix/mailname string benchlab.localdomain" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix swaks
else
  echo "postfix, swaks, smtp-source, smtp-sink already installed (use --force-apt to reinstall)"
fi
if ! command -v taskset >/dev/null; then
  echo "note: taskset not found (util-linux); runs will not be pinned to CPUs"
fi

# 2) bare smtp-server floor under $BENCHLAB
mkdir -p "$BENCHLAB"
[ -f "$BENCHLAB/package.json" ] || echo '{ "name": "benchlab", "private": true }' > "$BENCHLAB/package.json"
have=$(node -p "try{require('$BENCHLAB/node_modules/smtp-server/package.json').version}catch(e){''}")
if [ "$have" != "$SMTP_SERVER_VERSION" ]; then
  (cd "$BENCHLAB" && npm install --no-audit --no-fund --save-exact "smtp-server@$SMTP_SERVER_VERSION")
else
  echo "smtp-server $have already installed in $BENCHLAB"
fi
# servers.sh starts "$BENCHLAB/smtpserver.mjs": link it to the lab's copy (not a copy)
ln -sfn "$LAB/smtpserver.mjs" "$BENCHLAB/smtpserver.mjs"

# 3) private Postfix instance on 127.0.0.1:2525 (config, queue, logs under $BENCHLAB/postfix)
"$LAB/setup_postfix.sh"

echo "bench setup done: lab=$LAB BENCHLAB=$BENCHLAB; run: npm run bench"
