#!/bin/sh
# Builds the AF_PACKET addon (build/Release/afpacket.node) with the node-gyp
# that ships with npm, against the headers of the running Node.js (no
# downloads). Needs a C compiler, make and python3. Linux only.
set -eu
cd "$(dirname "$0")"
case "$(uname -s)" in Linux) ;; *) echo "native/afpacket: AF_PACKET exists on Linux only; nothing to build" >&2; exit 0 ;; esac
NODE=${NODE:-node}
GYP=${NODE_GYP:-$(npm root -g 2>/dev/null)/npm/node_modules/node-gyp/bin/node-gyp.js}
if [ ! -f "$GYP" ]; then
  echo "native/afpacket: node-gyp not found at $GYP (set NODE_GYP=/path/to/node-gyp.js)" >&2
  exit 1
fi
# Node's own headers: <prefix>/include/node next to the node binary (Debian: /usr).
NODEDIR=${NODEDIR:-$(dirname "$(dirname "$(command -v "$NODE")")")}
[ -f "$NODEDIR/include/node/node_api.h" ] || NODEDIR=/usr
if [ ! -f "$NODEDIR/include/node/node_api.h" ]; then
  echo "native/afpacket: Node.js headers (include/node/node_api.h) not found under $NODEDIR; install Node's headers (Debian: libnode-dev) or set NODEDIR" >&2
  exit 1
fi
"$NODE" "$GYP" rebuild --nodedir="$NODEDIR" --loglevel=warn
echo "native/afpacket: built $(pwd)/build/Release/afpacket.node"
