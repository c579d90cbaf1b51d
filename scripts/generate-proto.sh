#!/bin/sh
# Regenerates src/proto/gen from proto/ with protoc (Debian: protobuf-compiler)
# and protoc-gen-es (npm). The output is committed, so builds need neither.
set -eu
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "generate: protoc not found (Debian: apt-get install protobuf-compiler)" >&2; exit 1; }
rm -rf src/proto/gen
mkdir -p src/proto/gen
files=$(cd proto && find . -name '*.proto' | sed 's#^\./##' | sort)
# shellcheck disable=SC2086
protoc --plugin=protoc-gen-es=node_modules/.bin/protoc-gen-es --es_out=src/proto/gen --es_opt=target=ts,import_extension=js -I proto $files
echo "generated src/proto/gen from: $files"
