#!/bin/sh
# Checks for Node.js >= 20 and npm; on Debian, installs them when missing
# and the Debian release ships a new enough nodejs.
set -e
need=20
have=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$have" -ge "$need" ] && command -v npm >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  cand=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ {print $2}' | cut -d. -f1 | sed 's/^[0-9]*://')
  if [ -n "$cand" ] && [ "$cand" -ge "$need" ] 2>/dev/null; then
    echo "installing Node.js $cand from Debian" >&2
    apt-get install -y nodejs npm >&2
    exit 0
  fi
fi
echo "p4cast needs Node.js >= $need with npm (found: ${have:-none})." >&2
echo "Install it from your distribution (Debian 13: apt-get install nodejs npm) or nodejs.org, then re-run." >&2
exit 1
