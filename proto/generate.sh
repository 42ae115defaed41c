#!/usr/bin/env bash
# Regenerates the protobuf-c code for the terminal protocol.
#
#   proto/generate.sh           write Sources/CTerminalProto/terminal.pb-c.c
#                               and Sources/CTerminalProto/include/terminal.pb-c.h
#   proto/generate.sh --check   generate into a temporary directory and fail (exit 1)
#                               if the committed files differ; CI runs this
#
# Works from any directory. Needs protoc-c (Debian/Ubuntu: apt-get install protobuf-c-compiler).
# The committed files were made by protoc-c 1.4.1; another version writes different code and
# --check then reports it.
set -euo pipefail

proto_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$proto_dir")"
source_file="$root/Sources/CTerminalProto/terminal.pb-c.c"
header_file="$root/Sources/CTerminalProto/include/terminal.pb-c.h"
expected_version="1.4.1"

usage() {
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

check=false
case "${1-}" in
"") ;;
--check) check=true ;;
-h | --help)
    usage
    exit 0
    ;;
*)
    echo "generate.sh: unknown argument '$1'" >&2
    usage >&2
    exit 2
    ;;
esac

if ! command -v protoc-c >/dev/null 2>&1; then
    echo "generate.sh: protoc-c not found; install it with: apt-get install protobuf-c-compiler" >&2
    exit 2
fi
version="$(protoc-c --version 2>/dev/null | sed -n 's/^protobuf-c \([0-9.]*\).*/\1/p')"
if [ "$version" != "$expected_version" ]; then
    echo "generate.sh: warning: protoc-c ${version:-of unknown version} found; the committed code comes from $expected_version" >&2
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Run from proto/ with a relative file name: the generated code names its source "terminal.proto"
# and includes "terminal.pb-c.h" without a directory, which the include/ layout resolves.
(cd "$proto_dir" && protoc-c --proto_path=. --c_out="$out" terminal.proto)

if ! $check; then
    cp "$out/terminal.pb-c.c" "$source_file"
    cp "$out/terminal.pb-c.h" "$header_file"
    echo "generate.sh: wrote ${source_file#"$root"/} and ${header_file#"$root"/}"
    exit 0
fi

stale=()
cmp -s "$out/terminal.pb-c.c" "$source_file" || stale+=("$source_file")
cmp -s "$out/terminal.pb-c.h" "$header_file" || stale+=("$header_file")
if [ ${#stale[@]} -eq 0 ]; then
    echo "generate.sh: generated code is up to date with proto/terminal.proto"
    exit 0
fi
for file in "${stale[@]}"; do
    echo "generate.sh: ${file#"$root"/} differs from what protoc-c $version makes of proto/terminal.proto:" >&2
    diff -u "$file" "$out/$(basename "$file")" | head -n 40 >&2 || true
done
echo "generate.sh: run proto/generate.sh and commit the result" >&2
exit 1
