#!/usr/bin/env bash
# Builds and runs ServerLPA's coverage-guided fuzz targets (libFuzzer, AddressSanitizer; the C agent also UBSan).
#
#   Fuzz/run.sh [SECONDS] [TARGET...]   build, then run each target for SECONDS (default 60) from its committed
#                                       corpus, one at a time; print executions, coverage and the outcome per target
#   Fuzz/run.sh build                   build only (Fuzz/.build; the first build is a full sanitized build)
#   Fuzz/run.sh seed [TARGET...]        rebuild each target's seed corpus from the valid objects it makes with the
#                                       product's encoders, minimised with -merge=1 into Fuzz/Corpus/TARGET
#   Fuzz/run.sh regress [TARGET...]     run each target once over its corpus and Fuzz/Regressions/TARGET
#   Fuzz/run.sh list                    the targets
#
# A run fails (exit 1) on any crash, leak, timeout or out-of-memory, and when a target's coverage is below its floor
# (cov_floor below); the build fails when a Swift module lacks the sanitizers' instrumentation. The input that caused
# a failure is kept in Fuzz/.build/artifacts/TARGET/. New inputs found while running go to a scratch copy of the corpus, not to
# Fuzz/Corpus. Environment: FUZZ_JOBS_LOG=FILE appends each target's libFuzzer output to FILE;
# FUZZ_EXTRA_ARGS adds libFuzzer flags (e.g. "-runs=10000000").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build="$here/.build"
targets=(FuzzTerminalFrame FuzzRPC FuzzRSP FuzzOperatorJSON FuzzHTTPResponse FuzzCSVImport FuzzYAML FuzzX509 FuzzTLSRecord
    FuzzTLSDifferential FuzzCAgent)
# The least coverage (libFuzzer's cov, edges) each target must report: about 60 % of what it reaches from its committed
# corpus alone when the build is instrumented, while a Swift target whose modules lack the coverage counters reports
# only the edges of its C modules (tens to about 1,300). A run below its floor fails: it would have fuzzed blind.
declare -A cov_floor=([FuzzTerminalFrame]=1200 [FuzzRPC]=1250 [FuzzRSP]=800 [FuzzOperatorJSON]=170 [FuzzHTTPResponse]=3300
    [FuzzCSVImport]=900 [FuzzYAML]=3000 [FuzzX509]=480 [FuzzTLSRecord]=1050 [FuzzTLSDifferential]=1650 [FuzzCAgent]=150)
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

swift_bin() { echo "$build/debug/$1"; }
binary() { if [[ $1 == FuzzCAgent ]]; then echo "$build/cagent/FuzzCAgent"; else swift_bin "$1"; fi; }

build_all() {
    echo "== building the fuzz targets (Swift: -sanitize=fuzzer,address on every module)"
    [[ -f "$here/Package.resolved" || ! -f "$root/Package.resolved" ]] || cp "$root/Package.resolved" "$here/Package.resolved"
    # SwiftPM hands swiftc one -sanitize= option per sanitizer, in an order that changes with each run (a hash-seeded
    # set), and swiftc's compile jobs honour only the last -sanitize= option: each build got either ASan or the
    # coverage instrumentation, by chance. The combined option comes last and instruments every Swift module with
    # both; --sanitize still instruments the C modules and links the runtimes. Deterministic hashing keeps SwiftPM's
    # command lines the same from one run to the next, so that a rebuild is incremental instead of complete.
    SWIFT_DETERMINISTIC_HASHING=1 swift build --package-path "$here" -c debug --sanitize=fuzzer --sanitize=address \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
    check_instrumented
    echo "== building FuzzCAgent (clang -fsanitize=fuzzer,address,undefined)"
    local clang cflags libs
    clang=$(dirname "$(command -v swift)")/clang
    [[ -x "$clang" ]] || clang=clang
    cflags=$(pkg-config --cflags libprotobuf-c 2>/dev/null || true)
    libs=$(pkg-config --libs libprotobuf-c 2>/dev/null || echo -lprotobuf-c)
    mkdir -p "$build/cagent"
    local agent="$root/Sources/CLPAAgent"
    # shellcheck disable=SC2086
    "$clang" -g -O1 -std=c99 -Wall -Wextra -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -I"$agent/include" -isystem "$root/Sources/CTerminalProto/include" $cflags \
        "$here/CAgent/fuzz_agent.c" "$agent/lpa_frame.c" "$agent/lpa_apdu.c" "$agent/lpa_backoff.c" \
        "$agent/lpa_clock_posix.c" "$agent/lpa_agent.c" "$root/Sources/CTerminalProto/terminal.pb-c.c" $libs \
        -o "$build/cagent/FuzzCAgent" 2> >(grep -v "Cannot export local symbol" >&2)
}

# Every Swift module of the fuzz build (product modules and dependencies included) must carry ASan's checks and, if it
# has any code, the coverage counters libFuzzer is guided by: a module without them would be fuzzed unchecked or blind.
# The compiler gives each instrumented object a constructor per sanitizer (asan.module_ctor,
# sancov.module_ctor_8bit_counters).
check_instrumented() {
    local missing
    missing=$(
        find "$build/debug/" -maxdepth 2 -path '*.build/*' -name '*.swift.o' -print0 | xargs -0 nm -A --defined-only 2>/dev/null |
            awk '
                !match($0, /:[0-9a-f]+ [A-Za-z] /) { next }
                { n = split(substr($0, 1, RSTART - 1), part, "/"); m = part[n - 1]; sub(/\.build$/, "", m)
                  modules[m] = 1; symbol = $NF; type = $(NF - 1) }
                symbol == "asan.module_ctor" { asan[m] = 1 }
                symbol ~ /^sancov\.module_ctor/ { cov[m] = 1 }
                type ~ /^[Tt]$/ && symbol !~ /module_ctor/ { code[m] = 1 }
                END { for (m in modules) if (!(m in asan) || ((m in code) && !(m in cov)))
                          printf "%s:%s%s\n", m, (m in asan) ? "" : " no ASan", ((m in code) && !(m in cov)) ? " no coverage" : "" }' |
            sort
    )
    if [[ -n $missing ]]; then
        echo "Swift modules built without the sanitizers' instrumentation:" >&2
        echo "$missing" >&2
        exit 1
    fi
    echo "instrumented: every Swift module of the fuzz build has ASan's checks and coverage counters"
}

check_built() {
    for t in "$@"; do
        [[ -x $(binary "$t") ]] || { echo "$t is not built: run Fuzz/run.sh build" >&2; exit 2; }
    done
}

seed() {
    check_built "$@"
    for t in "$@"; do
        local raw="$build/seeds/$t" corpus="$here/Corpus/$t"
        rm -rf "$raw" && mkdir -p "$raw" "$corpus"
        FUZZ_WRITE_SEEDS="$raw" "$(binary "$t")" >/dev/null 2>&1 || { echo "$t: writing seeds failed" >&2; exit 1; }
        local merged="$build/seeds/$t.merged"
        rm -rf "$merged" "$build/seeds/$t."{crash,leak,timeout}-* && mkdir -p "$merged"
        "$(binary "$t")" -merge=1 -artifact_prefix="$build/seeds/$t." "$merged" "$corpus" "$raw" >"$build/seeds/$t.merge.log" 2>&1
        # A seed is a valid object: one that fails is a finding, not something to drop.
        if ls "$build/seeds/$t."crash-* "$build/seeds/$t."leak-* "$build/seeds/$t."timeout-* >/dev/null 2>&1; then
            echo "$t: a seed fails (see $build/seeds/$t.merge.log)" >&2
            exit 1
        fi
        rm -rf "$corpus" && mv "$merged" "$corpus"
        echo "$t: $(ls "$corpus" | wc -l) seeds in Fuzz/Corpus/$t"
    done
}

regress() {
    check_built "$@"
    local failed=0
    for t in "$@"; do
        local inputs=("$here/Corpus/$t")
        [[ -d "$here/Regressions/$t" ]] && inputs+=("$here/Regressions/$t")
        local files
        files=$(find "${inputs[@]}" -type f | sort)
        if [[ -z $files ]]; then echo "$t: no inputs"; continue; fi
        # shellcheck disable=SC2086
        if "$(binary "$t")" -runs=1 $files >"$build/$t.regress.log" 2>&1; then
            echo "$t: $(wc -l <<<"$files") inputs, all pass"
        else
            echo "$t: FAILED (see $build/$t.regress.log)"; tail -n 30 "$build/$t.regress.log"; failed=1
        fi
    done
    return $failed
}

run() {
    local seconds=$1; shift
    check_built "$@"
    local failed=0
    printf '%-20s %12s %10s %8s %6s  %s\n' target executions exec/s cov ft outcome
    for t in "$@"; do
        local scratch="$build/corpus/$t" artifacts="$build/artifacts/$t/" log="$build/$t.log"
        rm -rf "$scratch" && mkdir -p "$scratch" "$artifacts"
        [[ -d "$here/Corpus/$t" ]] && cp "$here/Corpus/$t"/* "$scratch"/ 2>/dev/null || true
        local status=0
        # shellcheck disable=SC2086
        "$(binary "$t")" "$scratch" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
            -print_final_stats=1 -artifact_prefix="$artifacts" ${FUZZ_EXTRA_ARGS:-} >"$log" 2>&1 || status=$?
        [[ -n ${FUZZ_JOBS_LOG:-} ]] && { echo "=== $t"; cat "$log"; } >>"$FUZZ_JOBS_LOG"
        local runs speed cov ft outcome
        runs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | tail -n 1 | grep -oE "[0-9]+$" || echo "?")
        speed=$(grep -oE "stat::average_exec_per_sec: *[0-9]+" "$log" | tail -n 1 | grep -oE "[0-9]+$" || echo "?")
        cov=$(grep -oE "cov: [0-9]+" "$log" | tail -n 1 | grep -oE "[0-9]+" || echo "?")
        ft=$(grep -oE "ft: [0-9]+" "$log" | tail -n 1 | grep -oE "[0-9]+" || echo "?")
        # libFuzzer prints no cov at all when no input reached an instrumented edge.
        local reached=0
        [[ $cov =~ ^[0-9]+$ ]] && reached=$cov
        if ((status == 0 && reached < ${cov_floor[$t]:-0})); then
            outcome="FAILED: coverage $cov is below this target's floor of ${cov_floor[$t]} (uninstrumented build?)"
            status=1
            failed=1
        elif ((status == 0)); then
            outcome=ok
        else
            outcome="FAILED (exit $status): $(grep -m1 -E "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|SUMMARY|Fatal error|runtime error" "$log" || echo "see $log")"
            failed=1
        fi
        printf '%-20s %12s %10s %8s %6s  %s\n' "$t" "$runs" "$speed" "$cov" "$ft" "$outcome"
        if ((status != 0)); then
            grep -E "Test unit written to" "$log" || true
            tail -n 40 "$log"
        fi
    done
    return $failed
}

command=${1:-}
case "$command" in
    build) build_all ;;
    list) printf '%s\n' "${targets[@]}" ;;
    seed) shift; seed "${@:-${targets[@]}}" ;;
    regress) shift; regress "${@:-${targets[@]}}" ;;
    ""|[0-9]*)
        seconds=${command:-60}
        [[ $# -gt 0 ]] && shift
        build_all
        run "$seconds" "${@:-${targets[@]}}"
        ;;
    run) shift; seconds=${1:-60}; [[ $# -gt 0 ]] && shift; run "$seconds" "${@:-${targets[@]}}" ;;
    *) echo "usage: Fuzz/run.sh [SECONDS] [TARGET...] | build | seed | regress | run SECONDS | list" >&2; exit 2 ;;
esac
