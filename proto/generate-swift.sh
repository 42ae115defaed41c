#!/usr/bin/env bash
# Regenerates the swift-protobuf code for the edge-core RPC messages.
#
#   proto/generate-swift.sh           write Sources/LPACoreRPC/Generated/core_rpc.pb.swift
#   proto/generate-swift.sh --check   generate into a temporary directory and fail (exit 1)
#                                     if the committed file differs
#
# Works from any directory. Needs protoc (Debian/Ubuntu: apt-get install protobuf-compiler) and
# protoc-gen-swift of the swift-protobuf version in Package.swift (1.39.0). The plugin is taken from
# $PROTOC_GEN_SWIFT, else from PATH, else from .build-protoc/bin (git-ignored); when none exists it
# is built there from the swift-protobuf sources (a clone of the tag; takes several minutes).
# CI does not run this script: the generated code is committed.
set -euo pipefail

proto_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$proto_dir")"
out_dir="$root/Sources/LPACoreRPC/Generated"
generated="core_rpc.pb.swift"
swift_protobuf_version="1.39.0"
cache="$root/.build-protoc"

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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
    echo "generate-swift.sh: unknown argument '$1'" >&2
    usage >&2
    exit 2
    ;;
esac

if ! command -v protoc >/dev/null 2>&1; then
    echo "generate-swift.sh: protoc not found; install it with: apt-get install protobuf-compiler" >&2
    exit 2
fi

plugin="${PROTOC_GEN_SWIFT-}"
if [ -z "$plugin" ] && command -v protoc-gen-swift >/dev/null 2>&1; then
    plugin="$(command -v protoc-gen-swift)"
fi
if [ -z "$plugin" ]; then
    plugin="$cache/bin/protoc-gen-swift"
    if [ ! -x "$plugin" ]; then
        echo "generate-swift.sh: building protoc-gen-swift $swift_protobuf_version into ${cache#"$root"/} (slow, once)" >&2
        mkdir -p "$cache/bin"
        src="$cache/swift-protobuf-$swift_protobuf_version"
        if [ ! -d "$src" ]; then
            git clone --quiet --depth 1 --branch "$swift_protobuf_version" \
                https://github.com/apple/swift-protobuf "$src"
        fi
        (cd "$src" && swift build -c release --product protoc-gen-swift)
        cp "$(cd "$src" && swift build -c release --show-bin-path)/protoc-gen-swift" "$plugin"
    fi
fi
version="$("$plugin" --version 2>/dev/null | sed -n 's/.* \([0-9][0-9.]*\)$/\1/p')"
if [ "$version" != "$swift_protobuf_version" ]; then
    echo "generate-swift.sh: warning: protoc-gen-swift ${version:-of unknown version} at $plugin; the committed code comes from $swift_protobuf_version" >&2
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

(cd "$proto_dir" && protoc --plugin=protoc-gen-swift="$plugin" --proto_path=. \
    --swift_opt=Visibility=Public --swift_out="$out" core_rpc.proto)

if ! $check; then
    mkdir -p "$out_dir"
    cp "$out/$generated" "$out_dir/$generated"
    echo "generate-swift.sh: wrote ${out_dir#"$root"/}/$generated"
    exit 0
fi

if cmp -s "$out/$generated" "$out_dir/$generated"; then
    echo "generate-swift.sh: generated code is up to date with proto/core_rpc.proto"
    exit 0
fi
echo "generate-swift.sh: ${out_dir#"$root"/}/$generated differs from what protoc-gen-swift makes of proto/core_rpc.proto:" >&2
diff -u "$out_dir/$generated" "$out/$generated" | head -n 40 >&2 || true
echo "generate-swift.sh: run proto/generate-swift.sh and commit the result" >&2
exit 1
