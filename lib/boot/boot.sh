#!/usr/bin/env bash
# graviton-llm instance boot: build (or fetch from the cache) llama.cpp for
# this Graviton generation, fetch and verify the model, and serve it with
# llama-server behind an API key. Then tell CloudFormation (aws mode) or the
# caller (local mode) whether the instance is serving.
#
# Usage: boot.sh ENV_FILE
#
# ENV_FILE is read as data, never sourced: KEY=value lines whose keys and
# meanings are defined in runtime/boot/contract.ts. Re-running on a booted
# machine is safe: the installed build and verified model are reused, the
# server is restarted with the current settings.
#
# The functions can be loaded into a test shell (`source boot.sh`) without
# running anything; only a direct execution boots.
set -Eeuo pipefail
shopt -s inherit_errexit

# Bump when anything that changes the cached tarball but is not in the CMake
# defines below changes (its layout, the staging steps).
readonly BUILD_OPTIONS_VERSION=1

# Keys of runtime/boot/contract.ts, in that order. A test checks both lists
# against the TypeScript contract.
readonly REQUIRED_KEYS=(
  GLLM_MODE GLLM_INSTANCE_TYPE GLLM_GENERATION GLLM_CPU_PART GLLM_ARM_ARCH
  GLLM_LLAMA_CPP_REPOSITORY GLLM_LLAMA_CPP_REF GLLM_LLAMA_CPP_COMMIT GLLM_CACHE_URI GLLM_MODEL_SOURCE
  GLLM_MODEL_SHA256 GLLM_MODEL_SIZE_BYTES GLLM_MODEL_FILE GLLM_QUANTIZE_TO
  GLLM_HF_TOKEN_PARAMETER GLLM_API_KEY_PARAMETER GLLM_PORT GLLM_PARALLEL_SLOTS
  GLLM_CONTEXT_PER_SLOT GLLM_PROMPT_CACHE_MIB GLLM_HEALTH_TIMEOUT_SECONDS GLLM_BOOT_DEADLINE_SECONDS GLLM_STACK_NAME
  GLLM_SIGNAL_RESOURCE GLLM_REGION GLLM_BOOT_LOG_GROUP GLLM_SERVER_LOG_GROUP
  GLLM_AGENT_CONFIG_PARAMETER GLLM_PROMETHEUS_CONFIG_PARAMETER
  GLLM_AUTOSCALING_GROUP GLLM_LIFECYCLE_HOOK GLLM_METRIC_NAMESPACE
  GLLM_BOOT_FAILURE_METRIC
)
# Accepted in local mode only: each one redirects something that aws mode must
# take from the instance itself (paths, the key, the CPU description).
readonly LOCAL_KEYS=(GLLM_WORK_DIR GLLM_LLAMA_CPP_SOURCE_DIR GLLM_API_KEY_FILE GLLM_CPUINFO_PATH)
readonly SAFE_VALUE_RE='^[A-Za-z0-9_.,:/+@%=?&~-]*$'

readonly UNIT_NAME=graviton-llm.service
readonly LOG_ROTATE_UNIT=graviton-llm-log-rotate
# llama-server's log and its one previous copy stay under this size each.
readonly SERVER_LOG_MAX_BYTES=$((100 * 1024 * 1024))
readonly SERVICE_USER=llama
# A name the dynamic loader could look up as a shared library, and that dnf or
# apt-get could not read as an option, a path or a pattern.
# SONAME_PATTERN in runtime/boot/build/libraries.ts (test/runtime/boot/build/libraries.bash.test.ts
# holds the two equal).
readonly SONAME_RE='^[A-Za-z0-9_][A-Za-z0-9_+-]*([.][A-Za-z0-9_+-]+)*[.]so([.][0-9]+)*$'
readonly DOWNLOAD_ATTEMPTS=4
# A boot downloads at most this many versions of one cache object, of
# different contents, looking for one that passes its checks (see
# cache_first_good).
# CACHE_VERSIONS_TRIED in runtime/boot/cache/versions.ts.
readonly CACHE_VERSIONS_TRIED=4
# S3 takes at most 5 GiB in one PUT; a larger object goes up in parts.
readonly S3_PUT_MAX_BYTES=$((5 * 1024 * 1024 * 1024))
# Tries of each call that decides an instance's fate (see retry).
readonly RETRY_ATTEMPTS=6
# After a failure or success, reporting it may run this long past the boot
# deadline; the stack sets the deadline at least this far below the hook's
# timeout, so the report lands before the hook expires.
readonly REPORT_GRACE_SECONDS=60
# A command run by retry exits with this to say its failure is AWS's final
# answer, which no retry would change.
readonly NO_RETRY=75
# Bounds of one AWS CLI request (see aws_cli).
readonly AWS_CONNECT_TIMEOUT_SECONDS=10
readonly AWS_READ_TIMEOUT_SECONDS=30
# How long llama-server keeps an idle connection open for its next request.
# The load balancer reuses its connections to a target for up to its idle
# timeout (at most 4000 s, an ALB limit): a target that closes first races the
# load balancer's next request on that connection, which the client sees as a
# 502. cpp-httplib's default is 5 s and llama-server has no flag for it, so it
# is compiled in (CPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND), above any ALB setting.
# SERVER_KEEPALIVE_SECONDS in runtime/boot/build/defines.ts (a test keeps them equal).
readonly SERVER_KEEPALIVE_SECONDS=4060
# The /proc/cpuinfo flags ggml's portable x86 build (GGML_NATIVE=OFF) compiles
# for: -msse4.2 -mavx -mavx2 -mfma -mf16c -mbmi2. X86_BASELINE_CPU_FLAGS in
# runtime/boot/build/defines.ts (a test keeps them equal).
readonly X86_BASELINE_FLAGS=(sse4_2 avx avx2 fma f16c bmi2)
# The boot result (see write_boot_result): its file in STATE_DIR, and the
# schema version of runtime/boot/result.ts, which defines it.
readonly BOOT_RESULT_FILE_NAME=boot-result.json
readonly BOOT_RESULT_SCHEMA_VERSION=1

declare -A CFG=()
LOG_FILE=""
EARLY_LOG=()
CURRENT_STEP="init"
FAIL_REASON=""
BOOT_STARTED_MS=""
RETRY_UNTIL_MS=""
PARTIAL_FILES=()
LOCK_ARGS=()
# Set by cache_first_good for the object it looked up: its versions ("ID ETAG
# SIZE", oldest first), the note of the version taken, and how a replacement
# of the object may be written (see cache_put).
CACHE_VERSIONS=()
CACHE_TAKEN=""
CACHE_NEXT_WRITE=if-absent
# The SHA-256 the cache version last read was written with, where recorded.
CACHE_READ_SHA256=""
# Whether this AWS CLI can write only if absent: yes, no, or empty until asked.
CONDITIONAL_PUT=""
# Set by cache_first_good: the version it took ("ID POSITION COUNT", oldest
# first), and every version it discarded in this boot ("WHAT<tab>JSON").
CACHE_TAKEN_VERSION=""
CACHE_DISCARDED=()
# What the boot result says, gathered as the boot goes (see boot_result_json).
# RESULT_STARTED_MS is set by main only: a shell that sources this file to
# test its functions writes no result.
RESULT_STARTED_MS=""
RESULT_DEADLINE_MS=""
PHASE_OPEN=""
PHASE_STARTED_MS=""
RESULT_PHASES=()
RESULT_FAILED_PHASE=""
RESULT_BUILD_KEY=""
RESULT_BUILD_FROM=""
RESULT_BUILD_VERSION=""
RESULT_MODEL=0
RESULT_MODEL_SOURCE=""
RESULT_MODEL_QUANTIZED=""
RESULT_CACHE_WRITES=()
# "HOOK RESULT OUTCOME AT_MS" per lifecycle action, "STATUS OUTCOME" of the signal.
RESULT_HOOKS=()
RESULT_SIGNAL=""
RESULT_METRIC=""

# ---------------------------------------------------------------- logging ---

log() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) [${CURRENT_STEP}] $*"
  # fd 3 is the script's original stdout, so a log call inside $(...) still
  # reaches the console instead of the captured value.
  printf '%s\n' "$line" >&3
  if [[ -n $LOG_FILE ]]; then
    printf '%s\n' "$line" >>"$LOG_FILE"
  else
    EARLY_LOG+=("$line")
  fi
}

# Stops the boot; the EXIT trap turns the reason into the failure signal.
fail() {
  FAIL_REASON="$*"
  log "ERROR: $*"
  exit 1
}

now_ms() { date +%s%3N; }

seconds_since() {
  local start=$1 end
  end=$(now_ms)
  printf '%d.%03d' $(((end - start) / 1000)) $(((end - start) % 1000))
}

# Runs one boot step (a phase of the boot result) with a timestamped start
# and end line carrying its duration.
step() {
  local name=$1
  shift
  phase_begin "$name"
  log "start"
  if (($(seconds_left) == 0)); then
    fail "boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s passed before step ${name}"
  fi
  "$@"
  phase_end ok
  log "done in $(seconds_since "$PHASE_STARTED_MS") s"
}

# ------------------------------------------------------------ boot result ---

# Every boot that gets as far as reading its arguments ends by writing its
# result (boot-result.json): the phases with their times and outcomes, where
# the build and the model came from, what it wrote to the cache, why it
# failed, and what it reported. runtime/boot/result.ts defines it, and the
# tests parse every result they make with that schema. The log stays for
# people; a program reads this.

# Opens phase $1 (a name of BOOT_PHASES in runtime/boot/result.ts); the log's
# lines carry its name.
phase_begin() {
  CURRENT_STEP=$1
  PHASE_OPEN=$1
  PHASE_STARTED_MS=$(now_ms)
}

# Closes the open phase with outcome $1: ok or failed.
phase_end() {
  [[ -n $PHASE_OPEN ]] || return 0
  RESULT_PHASES+=("{\"name\":$(json_string "$PHASE_OPEN"),\"startedAtMs\":${PHASE_STARTED_MS},\"endedAtMs\":$(now_ms),\"outcome\":\"$1\"}")
  PHASE_OPEN=""
}

# Prints $1 as a JSON string. It works on bytes (the C locale): the two
# characters JSON reserves are escaped, control characters become \uXXXX, and
# bytes that are not UTF-8 (a tool's output quoted in a reason can hold any)
# are dropped by iconv, or where there is none every non-ASCII byte becomes
# ?, so that the file is always JSON in UTF-8. Nothing else is needed on the
# instance: no jq.
json_string() {
  local LC_ALL=C s=$1 c
  if [[ $s == *[$'\x80'-$'\xff']* ]]; then
    if command -v iconv >/dev/null 2>&1; then
      # The x keeps the trailing newlines that $(...) would strip.
      s=$({ printf '%s' "$s" | iconv -c -f UTF-8 -t UTF-8 2>/dev/null || true; }; printf x)
      s=${s%x}
    else
      s=${s//[$'\x80'-$'\xff']/?}
    fi
  fi
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  while [[ $s =~ [[:cntrl:]] ]]; do
    c=${BASH_REMATCH[0]}
    s=${s//"$c"/$(printf '\\u%04x' "'$c")}
  done
  printf '"%s"' "$s"
}

# Its arguments, comma-separated: the elements of a JSON array.
json_join() {
  local IFS=,
  printf '%s' "$*"
}

# Notes a write of cache object $1 with outcome $2 (written, kept-existing,
# skipped or failed).
note_cache_write() {
  RESULT_CACHE_WRITES+=("{\"object\":$(json_string "$1"),\"outcome\":\"$2\"}")
}

# The boot result as one line of JSON, from what the boot noted as it went.
boot_result_json() {
  local mode=null deadline=null failure=null build=null model=null report=null
  local version=null discarded=() entry id position count hooks=() hook result outcome at status
  case ${CFG[GLLM_MODE]:-} in aws | local) mode="\"${CFG[GLLM_MODE]}\"" ;; esac
  [[ -z $RESULT_DEADLINE_MS ]] || deadline=$RESULT_DEADLINE_MS
  if [[ -n $RESULT_FAILED_PHASE ]]; then
    failure="{\"phase\":$(json_string "$RESULT_FAILED_PHASE"),\"reason\":$(json_string "$FAIL_REASON")}"
  fi
  if [[ -n $RESULT_BUILD_FROM ]]; then
    if [[ -n $RESULT_BUILD_VERSION ]]; then
      read -r id position count <<<"$RESULT_BUILD_VERSION"
      version="{\"id\":$(json_string "$id"),\"position\":${position},\"of\":${count}}"
    fi
    for entry in "${CACHE_DISCARDED[@]}"; do
      [[ ${entry%%$'\t'*} == build ]] && discarded+=("${entry#*$'\t'}")
    done
    build="{\"key\":$(json_string "$RESULT_BUILD_KEY"),\"from\":\"${RESULT_BUILD_FROM}\",\"cacheVersion\":${version},\"discarded\":[$(json_join "${discarded[@]}")]}"
  fi
  if ((RESULT_MODEL)); then
    model="{\"source\":$(json_or_null "$RESULT_MODEL_SOURCE"),\"quantized\":$(json_or_null "$RESULT_MODEL_QUANTIZED")}"
  fi
  if [[ -n $RESULT_SIGNAL ]]; then
    for entry in "${RESULT_HOOKS[@]}"; do
      read -r hook result outcome at <<<"$entry"
      hooks+=("{\"hook\":$(json_string "$hook"),\"result\":\"${result}\",\"outcome\":\"${outcome}\",\"atMs\":${at}}")
    done
    read -r status outcome <<<"$RESULT_SIGNAL"
    report="{\"lifecycleActions\":[$(json_join "${hooks[@]}")],\"signal\":{\"status\":\"${status}\",\"outcome\":\"${outcome}\"},\"failureMetric\":$(json_or_null "$RESULT_METRIC")}"
  fi
  printf '{"schemaVersion":%d,"mode":%s,"startedAtMs":%s,"endedAtMs":%s,"deadlineAtMs":%s,"phases":[%s],"failure":%s,"build":%s,"model":%s,"cacheWrites":[%s],"report":%s}\n' \
    "$BOOT_RESULT_SCHEMA_VERSION" "$mode" "$RESULT_STARTED_MS" "$(now_ms)" "$deadline" "$(json_join "${RESULT_PHASES[@]}")" \
    "$failure" "$build" "$model" "$(json_join "${RESULT_CACHE_WRITES[@]}")" "$report"
}

# $1 as a JSON string, or null when empty.
json_or_null() {
  if [[ -n $1 ]]; then json_string "$1"; else printf null; fi
}

# Where this boot's result goes: boot-result.json in the state directory
# (set_layout). A configuration that failed before the layout was set, but
# named it (aws mode, or local mode's absolute work directory), still gets
# one there: the layout is worked out in a subshell, so that the rest of it
# (the pid file, which the failure path acts on) stays unset. One that named
# no mode gets none: its last output line says why it failed. The process
# environment's GLLM_TEST_BOOT_RESULT_FILE sends it elsewhere: the tests of
# the aws mode's configuration checks, which must not write to this host's
# /var/lib. The stack's user data never sets it.
boot_result_file() {
  if [[ -n ${GLLM_TEST_BOOT_RESULT_FILE:-} ]]; then
    printf '%s\n' "$GLLM_TEST_BOOT_RESULT_FILE"
  elif [[ -n ${STATE_DIR:-} ]]; then
    printf '%s\n' "$STATE_DIR/$BOOT_RESULT_FILE_NAME"
  elif [[ ${CFG[GLLM_MODE]:-} == aws || (${CFG[GLLM_MODE]:-} == local && ${CFG[GLLM_WORK_DIR]:-} == /*) ]]; then
    (
      set_layout
      printf '%s\n' "$STATE_DIR/$BOOT_RESULT_FILE_NAME"
    )
  fi
}

# Writes the boot result through a temporary name, so a reader finds the
# whole of it or none. Readable by root only on an instance (umask 077): a
# failure reason can quote the model's source URL, which may carry a
# presigned signature, and the server's log, like the boot log (0640, root's
# group). Best effort: a result that cannot be written fails no boot.
write_boot_result() {
  [[ -n $RESULT_STARTED_MS ]] || return 0
  local file tmp
  file=$(boot_result_file)
  [[ -n $file ]] || return 0
  tmp="$file.tmp.$$"
  # The directory keeps its usual mode: the service user reaches the models below STATE_DIR.
  if mkdir -p -- "$(dirname -- "$file")" && (umask 077 && boot_result_json >"$tmp") && mv -f -- "$tmp" "$file"; then
    return 0
  fi
  rm -f -- "$tmp"
  log "WARNING: could not write the boot result ${file}"
}

# ---------------------------------------------------------- time and retry ---

# The boot has one deadline (BOOT_STARTED_MS + GLLM_BOOT_DEADLINE_SECONDS):
# every step, wait and retry stops at it, so the boot reports its own failure
# before the launch lifecycle hook times out (which would abandon the instance
# without a word). See deadline_origin_ms for where it counts from.
seconds_left() {
  [[ -n $BOOT_STARTED_MS ]] || { echo "${CFG[GLLM_BOOT_DEADLINE_SECONDS]:-3600}"; return; }
  local left=$(((BOOT_STARTED_MS + 10#${CFG[GLLM_BOOT_DEADLINE_SECONDS]} * 1000 - $(now_ms)) / 1000))
  ((left > 0)) || left=0
  echo "$left"
}

# When the deadline counts from, in ms since the epoch. On an instance, the
# hook's timer starts at launch, before anything of the instance runs: the
# earliest instant the instance can see is its init's start (the kernel's boot
# time plus PID 1's start, which in a container is the container's init), and
# the stack leaves LAUNCH_TO_INIT_ALLOWANCE_SECONDS (lib/constructs/
# inference-fleet.ts) for what comes before it. The user data's own work (the
# boot script's download and its retries) is counted too. A boot that starts a
# whole deadline after init (a re-run by hand on a serving machine) has no
# launch waiting on it and counts from its own start. Local mode: its start.
deadline_origin_ms() {
  local now btime="" rest ticks hz init_ms fields=()
  now=$(now_ms)
  if [[ ${CFG[GLLM_MODE]} != aws ]]; then
    echo "$now"
    return
  fi
  btime=$(awk '$1 == "btime" { print $2 }' /proc/stat 2>/dev/null) || btime=""
  rest=$(cat /proc/1/stat 2>/dev/null) || rest=""
  # Field 22 of /proc/PID/stat is the start in clock ticks since boot; field 2
  # (the command's name, in parentheses) may hold spaces, so count from its end.
  rest=${rest##*) }
  read -r -a fields <<<"$rest"
  ticks=${fields[19]:-}
  hz=$(getconf CLK_TCK 2>/dev/null) || hz=""
  if [[ $btime =~ ^[0-9]+$ && $ticks =~ ^[0-9]+$ && $hz =~ ^[1-9][0-9]*$ ]]; then
    init_ms=$((btime * 1000 + ticks * 1000 / hz))
    if ((init_ms <= now && now - init_ms < 10#${CFG[GLLM_BOOT_DEADLINE_SECONDS]} * 1000)); then
      echo "$init_ms"
      return
    fi
  fi
  echo "$now"
}

# The instant nothing may run past, in ms since the epoch: the boot deadline,
# or while the boot reports its result, the end of the report's grace.
time_limit_ms() {
  if [[ -n $RETRY_UNTIL_MS ]]; then
    echo "$RETRY_UNTIL_MS"
  else
    echo $((${BOOT_STARTED_MS:-$(now_ms)} + 10#${CFG[GLLM_BOOT_DEADLINE_SECONDS]:-3600} * 1000))
  fi
}

# Runs a long command with the time the boot has left (time_limit_ms); exit
# 124 when it runs out. Every step that can take long goes through this: the
# package installs, the downloads and uploads, git, CMake, the compile,
# llama-quantize and the model's SHA-256.
within_deadline() {
  local left
  left=$((($(time_limit_ms) - $(now_ms)) / 1000))
  ((left > 0)) || return 124
  timeout --kill-after=10 "$left" "$@"
}

# The AWS CLI, bounded: each call ends by the time limit, connects within
# AWS_CONNECT_TIMEOUT_SECONDS and gives up on a silent connection after
# AWS_READ_TIMEOUT_SECONDS (the CLI's own defaults, 60 s each, let one stalled
# attempt run for minutes). The CLI retries a throttled or failed request once
# (main sets AWS_MAX_ATTEMPTS); the boot's retry does the rest, under the deadline.
aws_cli() {
  within_deadline aws --cli-connect-timeout "$AWS_CONNECT_TIMEOUT_SECONDS" --cli-read-timeout "$AWS_READ_TIMEOUT_SECONDS" "$@"
}

# The SHA-256 of file $1, within the time limit (a model is gigabytes).
sha256_of() {
  local out
  out=$(within_deadline sha256sum -- "$1") || return
  printf '%s\n' "${out%% *}"
}

# Delay before retry N (1-based): 1, 2, 4, 8 ... s capped at 20, each between
# half and all of that ("equal jitter"), so instances launched together do
# not retry in step against a throttled API.
retry_delay_ms() {
  local base=$((1000 << ($1 - 1)))
  ((base > 20000)) && base=20000
  echo $((base / 2 + (RANDOM * 32768 + RANDOM) % (base / 2 + 1)))
}

# retry WHAT CMD...: runs CMD up to RETRY_ATTEMPTS times with retry_delay_ms
# between tries, never sleeping past RETRY_UNTIL_MS (the boot deadline, or
# the reporting grace after it), nor after CMD exits NO_RETRY. Returns CMD's
# last exit status. For calls
# whose failure would decide the instance's fate on a transient error: S3,
# SSM, git, the lifecycle action and the signal.
retry() {
  local what=$1 attempt=1 rc delay stop_at
  shift
  stop_at=$(time_limit_ms)
  while :; do
    rc=0
    "$@" || rc=$?
    ((rc == 0)) && return 0
    ((rc != NO_RETRY)) || return "$rc"
    ((attempt < RETRY_ATTEMPTS)) || break
    delay=$(retry_delay_ms "$attempt")
    if (($(now_ms) + delay >= stop_at)); then
      log "${what} failed (exit ${rc}); no time left for another try"
      return "$rc"
    fi
    log "${what} failed (exit ${rc}); try $((attempt + 1))/${RETRY_ATTEMPTS} in $((delay / 1000)).$(printf '%03d' $((delay % 1000))) s"
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    attempt=$((attempt + 1))
  done
  log "${what} failed (exit ${rc}) ${RETRY_ATTEMPTS} times"
  return "$rc"
}

open_log() {
  LOG_FILE=$1
  mkdir -p "$(dirname "$LOG_FILE")"
  touch "$LOG_FILE"
  chmod 0640 "$LOG_FILE"
  if ((${#EARLY_LOG[@]})); then
    printf '%s\n' "${EARLY_LOG[@]}" >>"$LOG_FILE"
    EARLY_LOG=()
  fi
}

# ------------------------------------------------------- environment file ---

in_list() {
  local needle=$1 item
  shift
  for item in "$@"; do [[ $item == "$needle" ]] && return 0; done
  return 1
}

# Written as lib/ renders them: no leading zero (bash arithmetic would read 010
# as octal), at most 15 digits (exact in bash and in JavaScript alike).
is_uint() { [[ $1 =~ ^[1-9][0-9]{0,14}$ ]]; }

# Reads KEY=value lines into CFG. Blank lines and # comments are skipped; any
# other line must be an allowed key with a value of inert characters.
# parseBootEnvironment in runtime/boot/contract.ts reads the same files
# (test/runtime/boot/contract.bash.test.ts runs both), so change both together.
parse_env() {
  local file=$1 line key value n=0
  [[ -f $file && -r $file ]] || fail "environment file ${file} is not a readable file"
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    [[ -z $line || $line == \#* ]] && continue
    [[ $line =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] || fail "environment file line ${n} is not KEY=value"
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    if ! in_list "$key" "${REQUIRED_KEYS[@]}" && ! in_list "$key" "${LOCAL_KEYS[@]}"; then
      fail "environment file: unknown key ${key} (line ${n})"
    fi
    [[ -v CFG[$key] ]] && fail "environment file: ${key} is set twice"
    [[ $value =~ $SAFE_VALUE_RE ]] || fail "environment file: ${key} has characters outside [A-Za-z0-9_.,:/+@%=?&~-]"
    CFG[$key]=$value
  done <"$file"
  for key in "${REQUIRED_KEYS[@]}"; do
    [[ -v CFG[$key] ]] || fail "environment file: required key ${key} is missing"
  done
  validate_env
}

require_match() {
  local key=$1 re=$2 what=$3
  [[ ${CFG[$key]} =~ $re ]] || fail "environment file: ${key} must be ${what}"
}

validate_env() {
  local key
  case ${CFG[GLLM_MODE]} in
    aws)
      for key in "${LOCAL_KEYS[@]}"; do
        [[ -v CFG[$key] ]] && fail "environment file: ${key} is accepted in local mode only"
      done
      require_match GLLM_CACHE_URI '^s3://[a-z0-9.-]+(/[A-Za-z0-9_.=/-]*)?$' 'an s3:// URI'
      require_match GLLM_MODEL_SOURCE '^(https|s3)://' 'an https:// or s3:// URL'
      require_match GLLM_LLAMA_CPP_REPOSITORY '^https://' 'an https:// URL'
      require_match GLLM_LLAMA_CPP_COMMIT '^[0-9a-f]{40}$' 'the 40-character commit the ref names'
      require_match GLLM_API_KEY_PARAMETER '^[A-Za-z0-9_./-]+$' 'an SSM parameter name'
      require_match GLLM_STACK_NAME '^[A-Za-z][A-Za-z0-9-]*$' 'a stack name'
      require_match GLLM_SIGNAL_RESOURCE '^[A-Za-z0-9]+$' 'a logical id'
      require_match GLLM_REGION '^[a-z0-9-]+$' 'a region'
      # llama-server runs without capabilities, so it cannot bind below 1024.
      ((10#${CFG[GLLM_PORT]:-0} >= 1024)) || fail "environment file: GLLM_PORT must be 1024 or more"
      ;;
    local)
      [[ -v CFG[GLLM_WORK_DIR] ]] || fail "environment file: GLLM_WORK_DIR is required in local mode"
      require_match GLLM_WORK_DIR '^/' 'an absolute path'
      require_match GLLM_CACHE_URI '^/' 'an absolute directory path in local mode'
      # Plain http is for a model server on the developer's own machine or LAN.
      require_match GLLM_MODEL_SOURCE '^https?://' 'an http:// or https:// URL in local mode'
      require_match GLLM_LLAMA_CPP_COMMIT '^([0-9a-f]{40})?$' 'empty or a 40-character commit'
      [[ -v CFG[GLLM_API_KEY_FILE] ]] || fail "environment file: GLLM_API_KEY_FILE is required in local mode"
      ;;
    *) fail "environment file: GLLM_MODE must be aws or local" ;;
  esac
  for key in GLLM_PORT GLLM_PARALLEL_SLOTS GLLM_CONTEXT_PER_SLOT GLLM_HEALTH_TIMEOUT_SECONDS GLLM_BOOT_DEADLINE_SECONDS GLLM_MODEL_SIZE_BYTES GLLM_GENERATION; do
    is_uint "${CFG[$key]}" || fail "environment file: ${key} must be a positive integer (no leading zero, at most 15 digits)"
  done
  ((10#${CFG[GLLM_PORT]} <= 65535)) || fail "environment file: GLLM_PORT must be at most 65535"
  # 0 is a choice here: it turns the prompt cache off (an instance with nothing to spare).
  require_match GLLM_PROMPT_CACHE_MIB '^(0|[1-9][0-9]{0,6})$' 'a whole number of MiB from 0 to 9999999'
  require_match GLLM_MODEL_SHA256 '^[0-9a-f]{64}$' '64 lowercase hex digits'
  require_match GLLM_CPU_PART '^0x[0-9a-f]+$' 'a CPU part like 0xd40'
  require_match GLLM_ARM_ARCH '^armv[0-9][A-Za-z0-9.+-]*$' 'an -march value like armv8.4-a+sve'
  # A leading dash would turn these into options of git, curl or llama-server.
  require_match GLLM_LLAMA_CPP_REF '^[A-Za-z0-9][A-Za-z0-9._/-]*$' 'a tag, branch or commit'
  require_match GLLM_MODEL_FILE '^[A-Za-z0-9][A-Za-z0-9._-]*\.gguf$' 'a plain file name ending in .gguf'
  require_match GLLM_QUANTIZE_TO '^([A-Z0-9][A-Z0-9_]*)?$' 'empty or a llama-quantize type like Q4_K_M'
  require_match GLLM_HF_TOKEN_PARAMETER '^([A-Za-z0-9_./-]+)?$' 'empty or an SSM parameter name'
  require_match GLLM_AGENT_CONFIG_PARAMETER '^([A-Za-z0-9_./-]+)?$' 'empty or an SSM parameter name'
  require_match GLLM_PROMETHEUS_CONFIG_PARAMETER '^([A-Za-z0-9_./-]+)?$' 'empty or an SSM parameter name'
  require_match GLLM_LIFECYCLE_HOOK '^([A-Za-z0-9_/-]+(,[A-Za-z0-9_/-]+)*)?$' 'empty or comma-separated lifecycle hook names'
}

# --------------------------------------------------------------- layout ---

# Where everything lives: fixed system paths on an instance, one work
# directory on a developer machine (no root needed).
set_layout() {
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then
    INSTALL_ROOT=/opt/graviton-llm/llama.cpp
    STATE_DIR=/var/lib/graviton-llm
    MODEL_DIR=/var/lib/graviton-llm/models
    LOG_DIR=/var/log/graviton-llm
    SECRET_DIR=/etc/graviton-llm
  else
    local work=${CFG[GLLM_WORK_DIR]}
    INSTALL_ROOT=$work/llama.cpp
    STATE_DIR=$work/state
    MODEL_DIR=$work/models
    LOG_DIR=$work/logs
    SECRET_DIR=$work/secrets
  fi
  BUILD_WORK=$STATE_DIR/build-work
  API_KEY_FILE=$SECRET_DIR/api-key
  PID_FILE=$STATE_DIR/llama-server.pid
  SERVER_LOG=$LOG_DIR/server.log
}

# ------------------------------------------------------------ failure path ---

on_err() {
  local rc=$1 line=$2 cmd=$3
  [[ -z $FAIL_REASON ]] && FAIL_REASON="step ${CURRENT_STEP}: '${cmd}' exited ${rc} (line ${line})"
}

# Any exit other than a completed boot leaves nothing served and reports why.
on_exit() {
  local rc=$?
  # Reporting is best effort from here: a configuration that failed to
  # parse may lack keys, and may have failed before the log was opened.
  set +eEu
  trap - ERR EXIT
  [[ -n $LOG_FILE ]] || LOG_FILE=/dev/null
  local f
  for f in "${PARTIAL_FILES[@]}"; do rm -f -- "$f"; done
  if ((rc == 0)) && [[ -z $FAIL_REASON ]]; then
    write_boot_result
    exit 0
  fi
  [[ -z $FAIL_REASON ]] && FAIL_REASON="step ${CURRENT_STEP} exited ${rc}"
  FAIL_REASON=${FAIL_REASON//$'\n'/ }
  # The phase that failed; outside one (which main never is), the step last named.
  [[ -n $PHASE_OPEN ]] || phase_begin "$CURRENT_STEP"
  RESULT_FAILED_PHASE=$PHASE_OPEN
  phase_end failed
  CURRENT_STEP=failure
  log "boot failed: ${FAIL_REASON}"
  if [[ -v CFG[GLLM_MODE] ]] && declare -p PID_FILE >/dev/null 2>&1; then
    stop_server
  fi
  if [[ ${CFG[GLLM_MODE]:-} == aws ]]; then
    report_phase FAILURE "$FAIL_REASON"
  fi
  write_boot_result
  printf 'GLLM_BOOT_RESULT=FAILURE reason=%s\n' "$FAIL_REASON" >&3
  exit 1
}

# ------------------------------------------------------------ dependencies ---

os_field() {
  local field=$1 line
  [[ -r /etc/os-release ]] || { echo unknown; return; }
  while IFS= read -r line; do
    if [[ $line == "${field}="* ]]; then
      line=${line#*=}
      line=${line//\"/}
      printf '%s\n' "$line"
      return
    fi
  done </etc/os-release
  echo unknown
}

missing_tools() {
  local tool out=()
  for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || out+=("$tool"); done
  printf '%s\n' "${out[@]}"
}

# The dependencies come in two sets. What every boot runs (unpacking, the
# download, the lock, the AWS CLI, systemd) is checked, and installed if
# missing, at the start. What only a compile needs (the compiler, CMake, git,
# make) is installed by ensure_build, on a cache miss only: a scale-out
# instance that finds its build in the cache installs no compiler.
install_dependencies() {
  local needed=(tar gzip curl sha256sum flock setsid) optional=() missing
  [[ ${CFG[GLLM_MODE]} == aws ]] && needed+=(aws systemctl useradd setpriv)
  missing=$(missing_tools "${needed[@]}")
  if [[ ${CFG[GLLM_MODE]} == aws ]] && command -v dnf >/dev/null 2>&1; then
    # Nice to have: cfn-signal needs no IAM permission, the agent ships logs.
    [[ -x /opt/aws/bin/cfn-signal ]] || optional+=(aws-cfn-bootstrap)
    [[ -x /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl ]] || optional+=(amazon-cloudwatch-agent)
  fi
  if [[ -z $missing ]] && ((${#optional[@]} == 0)); then
    log "run-time tools already present; nothing to install"
    return
  fi
  if [[ -n $missing ]]; then
    ((EUID == 0)) || fail "missing tools: ${missing//$'\n'/ } (local mode installs nothing without root: install them and re-run)"
    if command -v dnf >/dev/null 2>&1; then
      log "installing run-time tools with dnf: ${missing//$'\n'/ }"
      within_deadline dnf install -y --setopt=install_weak_deps=False tar gzip util-linux shadow-utils >>"$LOG_DIR/dnf.log" 2>&1 ||
        fail "dnf install failed; see ${LOG_DIR}/dnf.log"
    elif command -v apt-get >/dev/null 2>&1; then
      log "installing run-time tools with apt-get: ${missing//$'\n'/ }"
      { within_deadline apt-get update && within_deadline env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        tar gzip curl ca-certificates coreutils util-linux; } >>"$LOG_DIR/apt.log" 2>&1 ||
        fail "apt-get install failed; see ${LOG_DIR}/apt.log"
    else
      fail "no dnf or apt-get to install: ${missing//$'\n'/ }"
    fi
    missing=$(missing_tools "${needed[@]}")
    [[ -z $missing ]] || fail "still missing after install: ${missing//$'\n'/ }"
  fi
  # One at a time: dnf refuses a whole list for one package the repositories lack.
  local package
  for package in "${optional[@]}"; do
    within_deadline dnf install -y "$package" >>"$LOG_DIR/dnf.log" 2>&1 || log "optional package ${package} not installed; continuing"
  done
}

# What a compile needs, installed only when ensure_build compiles.
install_build_tools() {
  local needed=(cmake git make) missing compiler_ok=1
  missing=$(missing_tools "${needed[@]}")
  pick_compiler || compiler_ok=0
  # Graviton4/5 flags (armv9-a) need GCC 12 or later; AL2023's default GCC is 11.
  if [[ $(os_field ID) == amzn ]] && ! command -v gcc14-g++ >/dev/null 2>&1; then
    compiler_ok=0
  fi
  if [[ -z $missing ]] && ((compiler_ok)); then
    log "build tools already present; nothing to install"
    return
  fi
  if ((EUID != 0)); then
    fail "missing build tools: ${missing//$'\n'/ }$( ((compiler_ok)) || echo ' C/C++ compiler') (local mode installs nothing without root: install them and re-run)"
  fi
  if command -v dnf >/dev/null 2>&1; then
    log "installing build tools with dnf"
    within_deadline dnf install -y --setopt=install_weak_deps=False gcc14 gcc14-c++ cmake git make >>"$LOG_DIR/dnf.log" 2>&1 ||
      fail "dnf install of the build tools failed; see ${LOG_DIR}/dnf.log"
    # ccache speeds a rebuild; not every repository has it.
    within_deadline dnf install -y ccache >>"$LOG_DIR/dnf.log" 2>&1 || log "optional package ccache not installed; continuing"
  elif command -v apt-get >/dev/null 2>&1; then
    log "installing build tools with apt-get"
    { within_deadline apt-get update && within_deadline env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake git make; } >>"$LOG_DIR/apt.log" 2>&1 ||
      fail "apt-get install of the build tools failed; see ${LOG_DIR}/apt.log"
  else
    fail "no dnf or apt-get to install the build tools: ${missing//$'\n'/ }"
  fi
  missing=$(missing_tools "${needed[@]}")
  [[ -z $missing ]] || fail "still missing after install: ${missing//$'\n'/ }"
  pick_compiler || fail "no C/C++ compiler after install"
}

# The compiler a build on this machine gets, named without running it (a
# cache hit has no compiler to ask): the one the boot installs, from the
# repositories of this exact OS release. Amazon Linux 2023 locks its
# repositories to the image's release version (deterministic upgrades), so
# one release means one gcc14; the AMI is pinned by the stack.
toolchain_identity() {
  case $(os_field ID) in
    amzn) printf 'gcc14 from amzn release %s\n' "$(amzn_release)" ;;
    debian) printf 'default g++ from debian %s\n' "$(cat /etc/debian_version 2>/dev/null || os_field VERSION_ID)" ;;
    *) printf 'default compiler from %s %s\n' "$(os_field ID)" "$(os_field VERSION_ID)" ;;
  esac
}

amzn_release() {
  local v=""
  [[ -r /etc/dnf/vars/releasever ]] && v=$(tr -d '[:space:]' </etc/dnf/vars/releasever)
  [[ -n $v ]] || v=$(rpm -q --qf '%{VERSION}' system-release 2>/dev/null) || v=""
  [[ -n $v ]] || v=$(os_field VERSION_ID)
  printf '%s\n' "$v"
}

# GCC 14 where the distribution offers it next to an older default (AL2023),
# otherwise the system compiler.
pick_compiler() {
  if command -v gcc14-gcc >/dev/null 2>&1 && command -v gcc14-g++ >/dev/null 2>&1; then
    CC_BIN=gcc14-gcc CXX_BIN=gcc14-g++
  elif command -v gcc >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1; then
    CC_BIN=gcc CXX_BIN=g++
  elif command -v cc >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1; then
    CC_BIN=cc CXX_BIN=c++
  else
    return 1
  fi
}

# --------------------------------------------------------------------- CPU ---

cpuinfo_path() {
  if [[ ${CFG[GLLM_MODE]} == local && -n ${CFG[GLLM_CPUINFO_PATH]:-} ]]; then
    printf '%s\n' "${CFG[GLLM_CPUINFO_PATH]}"
  else
    echo /proc/cpuinfo
  fi
}

# The distinct `CPU part` values of every core, lowercased.
cpu_parts() {
  local file=$1 line parts=()
  while IFS= read -r line; do
    if [[ $line =~ ^CPU[[:space:]]part[[:space:]]*:[[:space:]]*(0x[0-9a-fA-F]+) ]]; then
      parts+=("${BASH_REMATCH[1],,}")
    fi
  done <"$file"
  ((${#parts[@]})) && printf '%s\n' "${parts[@]}" | sort -u
  return 0
}

# A build for one generation dies with SIGILL on an older one, so the CPU must
# be exactly the one the configuration (and the cache key) names.
check_cpu_part() {
  local file parts expected=${CFG[GLLM_CPU_PART]}
  file=$(cpuinfo_path)
  [[ -r $file ]] || fail "cannot read ${file}"
  parts=$(cpu_parts "$file")
  [[ -n $parts ]] || fail "no 'CPU part' line in ${file}: not an Arm CPU, cannot check it is ${CFG[GLLM_INSTANCE_TYPE]} (Graviton${CFG[GLLM_GENERATION]}, CPU part ${expected})"
  if [[ $parts != "$expected" ]]; then
    fail "CPU mismatch: ${CFG[GLLM_INSTANCE_TYPE]} is configured as Graviton${CFG[GLLM_GENERATION]} (CPU part ${expected}) but ${file} reports CPU part ${parts//$'\n'/,}; a build for -march=${CFG[GLLM_ARM_ARCH]} could die with SIGILL here"
  fi
  log "CPU part ${expected} matches Graviton${CFG[GLLM_GENERATION]}"
}

# x86_64 (local mode only) builds with ggml's portable x86 baseline.
check_x86_baseline() {
  local file flag line=""
  file=$(cpuinfo_path)
  line=$(grep -m1 '^flags' "$file" || true)
  for flag in "${X86_BASELINE_FLAGS[@]}"; do
    [[ " ${line#*:} " == *" ${flag} "* ]] || fail "this x86_64 CPU lacks ${flag}, which ggml's portable x86 build (GGML_NATIVE=OFF) uses"
  done
  log "x86_64 with SSE4.2/AVX/AVX2/FMA/F16C/BMI2: building ggml's portable x86 baseline, no Arm flags"
}

check_cpu() {
  MACHINE=$(uname -m)
  case $MACHINE in
    aarch64) check_cpu_part ;;
    x86_64)
      if [[ ${CFG[GLLM_MODE]} == aws ]]; then
        # The instance-in-a-box test harness (test/support/instance-box) runs
        # the aws path in an x86_64 container, where systemd's sandboxing works
        # natively. It sets this in the boot's process environment; the
        # environment file cannot (it sets CFG only), and the stack's user
        # data never does (a test checks the synthesized template).
        [[ ${GLLM_TEST_BOX_ALLOW_X86:-} == 1 ]] || fail "aws mode runs on Graviton (aarch64) only, not ${MACHINE}"
        log "WARNING: x86_64 in aws mode, allowed by GLLM_TEST_BOX_ALLOW_X86=1 (the instance-in-a-box test harness)"
      fi
      check_x86_baseline
      ;;
    *) fail "unsupported machine ${MACHINE}" ;;
  esac
}

# ------------------------------------------------------------------ cache ---

# The cache holds builds/<key>.tar.gz, models/<sha256>.gguf (the source
# models) and quantized/ (models quantized on an instance): an S3 prefix on
# instances, a directory locally. Reads and writes go through a temporary
# name, so a reader never sees half an object.
#
# cache_get reads an object's current version: for the source models, which
# are checked against the SHA-256 in the template whichever version is read.
cache_get() {
  local rel=$1 dest=$2 tmp="$2.cache-get.$$"
  PARTIAL_FILES+=("$tmp")
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then
    if ! retry "cache read of ${rel}" s3_read "${CFG[GLLM_CACHE_URI]}/${rel}" "$tmp"; then
      log "cache read of ${rel} failed; treating it as a miss"
      return 1
    fi
    [[ -f $tmp ]] || return 1
  else
    [[ -f ${CFG[GLLM_CACHE_URI]}/${rel} ]] || return 1
    cp -- "${CFG[GLLM_CACHE_URI]}/${rel}" "$tmp"
  fi
  mv -f -- "$tmp" "$dest"
}

# Copies S3 object $1 to file $2. A missing object is an answer, not a
# failure: then $2 is absent and the status 0, so retry does not retry it.
s3_read() {
  local err
  if err=$(aws_cli s3 cp --only-show-errors --region "${CFG[GLLM_REGION]}" "$1" "$2" 2>&1); then
    return 0
  fi
  rm -f -- "$2"
  [[ $err == *"404"* || $err == *"Not Found"* || $err == *"NoSuchKey"* ]] && return 0
  printf '%s\n' "$err" >>"$LOG_FILE"
  return 1
}

# cache_first_good WHAT REL DEST INSTEAD CHECK [ARGS...]: puts in file DEST
# the oldest version of cache object REL that passes `CHECK DEST ARGS...`
# (which prints what is wrong and fails), and succeeds; else fails, having
# logged why and that the boot goes on INSTEAD (compiling, quantizing). WHAT
# (build, model) begins the log lines.
#
# This is for what an instance runs or serves unchecked by the template: the
# builds, and the models quantized on an instance. On instances such an
# object is used only as first written. The bucket keeps every version of
# these objects (versioning, and no expiry of old versions under builds/ and
# quantized/) and the instances may add versions but delete none; the
# versions are tried oldest first. A version written later, by a boot that
# found the object bad or by anyone holding an instance's credentials, is
# never used while the version first written passes its checks.
#
# Nothing the fleet writes marks a version bad: whoever holds an instance's
# credentials could then mark the first version bad and have a later one of
# theirs taken. So every boot tries the versions afresh, and the cost is
# bounded instead: a version of the same contents (ETag and size) as one
# discarded in this boot is skipped, and at most CACHE_VERSIONS_TRIED are
# downloaded, after which the boot works without the cache and adds no
# version (one after those would never be tried).
# firstGoodStep in runtime/boot/cache/versions.ts takes the same choice, log
# lines included, with note_rewrites' (rewriteNote), s3_versions' and
# cache_versions' (test/runtime/boot/cache/versions.bash.test.ts runs both).
cache_first_good() {
  local what=$1 rel=$2 dest=$3 instead=$4 check=$5 n i id etag size note problem tried=0 discarded=()
  shift 5
  CACHE_TAKEN=""
  CACHE_TAKEN_VERSION=""
  CACHE_NEXT_WRITE=if-absent
  if ! cache_versions "$rel"; then
    log "cache listing of ${rel} failed; treating it as a miss; ${instead}"
    return 1
  fi
  n=${#CACHE_VERSIONS[@]}
  if ((n == 0)); then
    log "${what}: cache miss ${rel}; ${instead}"
    return 1
  fi
  note_rewrites "$rel"
  for ((i = 0; i < n; i++)); do
    read -r id etag size <<<"${CACHE_VERSIONS[i]}"
    note=$([[ $id == local ]] || echo " version ${id}")
    if ((${#discarded[@]})) && in_list "${etag} ${size}" "${discarded[@]}"; then
      log "${what}: skipping cached ${rel}${note}: the same contents as a version discarded above"
      continue
    fi
    if ((tried == CACHE_VERSIONS_TRIED)); then
      log "WARNING: ${what}: none of the ${tried} versions of ${rel} tried passes its checks; not trying its $((n - i)) later ones; ${instead}, and not caching the result, which would never be tried either (delete the bad versions to let instances use the cache again)"
      CACHE_NEXT_WRITE=none
      return 1
    fi
    tried=$((tried + 1))
    if ! cache_read_version "$rel" "$id" "$dest"; then
      # Not shown bad: nothing is written in its place.
      log "cache read of ${rel}${note} failed; treating it as a miss; ${instead}"
      CACHE_NEXT_WRITE=none
      return 1
    fi
    if problem=$("$check" "$dest" "$@"); then
      ((n == 1)) || CACHE_TAKEN=", version ${id} (written $((i + 1)) of ${n})"
      CACHE_TAKEN_VERSION="${id} $((i + 1)) ${n}"
      return 0
    fi
    discarded+=("${etag} ${size}")
    CACHE_DISCARDED+=("${what}"$'\t'"{\"version\":$(json_string "$id"),\"problem\":$(json_string "${problem:-it fails its checks}")}")
    rm -f -- "$dest"
    if ((i + 1 == n)); then
      log "${what}: discarding cached ${rel}${note}: ${problem}; ${instead} a replacement"
      CACHE_NEXT_WRITE=always
      return 1
    fi
    log "${what}: discarding cached ${rel}${note}: ${problem}"
  done
  log "${what}: no version of ${rel} passes its checks; ${instead} a replacement"
  CACHE_NEXT_WRITE=always
  return 1
}

# Logs how cache object $1's versions (CACHE_VERSIONS) came about. Versions of
# one content (the same ETag and size: SSE-S3 objects uploaded the same way)
# are instances caching it at the same time; versions that differ mean it was
# written again, by a boot that found it bad or by someone else.
note_rewrites() {
  local rel=$1 n=${#CACHE_VERSIONS[@]} contents
  ((n > 1)) || return 0
  contents=$(printf '%s\n' "${CACHE_VERSIONS[@]}" | cut -d' ' -f2,3 | sort -u | wc -l)
  if ((contents > 1)); then
    log "WARNING: ${rel} has ${n} versions: it was written again after it was first cached, with other contents (${contents} different); trying them oldest first ($(printf '%s\n' "${CACHE_VERSIONS[@]}" | cut -d' ' -f1 | tr '\n' ' ' | sed 's/ $//'))"
  else
    log "${rel} has ${n} versions of the same contents (instances that cached it at the same time)"
  fi
}

# Sets CACHE_VERSIONS to the versions of cache object $1, oldest first, as
# "ID ETAG SIZE" (a local cache holds one, with id local); fails when the
# listing does.
cache_versions() {
  local rel=$1 list
  CACHE_VERSIONS=()
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then
    list=$(mktemp "$STATE_DIR/versions.XXXXXX")
    PARTIAL_FILES+=("$list")
    if ! retry "cache listing of ${rel}" s3_versions "${CFG[GLLM_CACHE_URI]}/${rel}" "$list"; then
      rm -f -- "$list"
      return 1
    fi
    mapfile -t CACHE_VERSIONS <"$list"
    rm -f -- "$list"
  elif [[ -f ${CFG[GLLM_CACHE_URI]}/${rel} ]]; then
    CACHE_VERSIONS=("local - $(file_size "${CFG[GLLM_CACHE_URI]}/${rel}")")
  fi
}

# Writes to file $2 the versions of S3 object $1, oldest first, one
# "ID ETAG SIZE" a line (none for a missing object). S3 lists a key's
# versions newest first, and quotes ETags.
s3_versions() {
  local uri=$1 dest=$2 bucket key err
  bucket=${uri#s3://}
  key=${bucket#*/}
  bucket=${bucket%%/*}
  if ! err=$(aws_cli s3api list-object-versions --region "${CFG[GLLM_REGION]}" --bucket "$bucket" --prefix "$key" \
    --query "Versions[?Key=='${key}'].[VersionId,ETag,Size]" --output text 2>&1 >"$dest.all"); then
    printf '%s\n' "$err" >>"$LOG_FILE"
    rm -f -- "$dest.all"
    return 1
  fi
  awk 'NF == 3 && $1 != "None" { gsub(/"/, "", $2); print $1, $2, $3 }' "$dest.all" | tac >"$dest"
  rm -f -- "$dest.all"
}

# Copies version $2 (an id from cache_versions) of cache object $1 to file
# $3, and sets CACHE_READ_SHA256 to the SHA-256 it was written with, if any.
cache_read_version() {
  local rel=$1 id=$2 dest=$3 local_file=${CFG[GLLM_CACHE_URI]}/$1
  CACHE_READ_SHA256=""
  if [[ $id == local ]]; then
    cp -- "$local_file" "$dest"
    [[ ! -f $local_file.sha256 ]] || CACHE_READ_SHA256=$(<"$local_file.sha256")
    return 0
  fi
  retry "cache read of ${rel} version ${id}" s3_read_version "${CFG[GLLM_CACHE_URI]}/${rel}" "$id" "$dest"
}

# Copies version $2 of S3 object $1 to file $3; sets CACHE_READ_SHA256 from
# its metadata (see cache_put).
s3_read_version() {
  local uri=$1 version=$2 dest=$3 bucket key err sha
  bucket=${uri#s3://}
  key=${bucket#*/}
  bucket=${bucket%%/*}
  if err=$(aws_cli s3api get-object --region "${CFG[GLLM_REGION]}" --bucket "$bucket" --key "$key" --version-id "$version" \
    --query Metadata.sha256 --output text "$dest" 2>&1 >"$dest.sha256"); then
    sha=$(tr -d '[:space:]' <"$dest.sha256")
    rm -f -- "$dest.sha256"
    [[ ! $sha =~ ^[0-9a-f]{64}$ ]] || CACHE_READ_SHA256=$sha
    return 0
  fi
  rm -f -- "$dest" "$dest.sha256"
  printf '%s\n' "$err" >>"$LOG_FILE"
  return 1
}

# cache_put SRC REL MODE [SHA256]: caches file SRC as object REL, recording
# the SHA-256 it is to be checked against where given (S3 object metadata,
# part of each version; a .sha256 file beside it locally). MODE is how:
# - if-absent: the boot found no version, so this is the object's first. It
#   is written only if no instance wrote one meanwhile (S3's conditional PUT,
#   If-None-Match: *), so that the instances of a new fleet, which compile at
#   the same time, leave one version and no warning. Where the AWS CLI cannot
#   ask for that, or the file is over S3's 5 GiB single-PUT limit, it is
#   written as with always; identical contents then still warn no one (see
#   note_rewrites).
# - always: a new version whatever is there (a replacement for versions that
#   failed their checks; a source model).
# - none: nothing is written (see cache_first_good).
# A failed upload costs the next boot time, not this one: it is logged only.
cache_put() {
  local src=$1 rel=$2 mode=$3 sha=${4:-} rc=0 meta=()
  if [[ $mode == none ]]; then
    log "not caching ${rel} (see above)"
    note_cache_write "$rel" skipped
    return 0
  fi
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then
    [[ -z $sha ]] || meta=(--metadata "sha256=${sha}")
    if [[ $mode == if-absent ]] && (($(file_size "$src") <= S3_PUT_MAX_BYTES)) && conditional_put_supported; then
      retry "cache upload of ${rel}" s3_put_if_absent "$src" "${CFG[GLLM_CACHE_URI]}/${rel}" "${meta[@]}" || rc=$?
      if ((rc == NO_RETRY)); then
        log "cache already holds ${rel}, written by another instance meanwhile; keeping that one"
        note_cache_write "$rel" kept-existing
        return 0
      fi
    else
      # An S3 object appears whole or not at all, multipart uploads included.
      retry "cache upload of ${rel}" aws_cli s3 cp --only-show-errors --region "${CFG[GLLM_REGION]}" "${meta[@]}" \
        "$src" "${CFG[GLLM_CACHE_URI]}/${rel}" >>"$LOG_FILE" 2>&1 || rc=$?
    fi
    if ((rc != 0)); then
      log "WARNING: cache upload of ${rel} failed; the next boot will redo this work"
      note_cache_write "$rel" failed
      return 0
    fi
  else
    local dest=${CFG[GLLM_CACHE_URI]}/${rel} tmp
    if [[ $mode == if-absent && -e $dest ]]; then
      log "cache already holds ${rel}; keeping that one"
      note_cache_write "$rel" kept-existing
      return 0
    fi
    tmp="$(dirname "$dest")/.$(basename "$dest").put.$$"
    PARTIAL_FILES+=("$tmp")
    if ! { mkdir -p "$(dirname "$dest")" && cp -- "$src" "$tmp" && mv -f -- "$tmp" "$dest" &&
      if [[ -n $sha ]]; then printf '%s\n' "$sha" >"$dest.sha256"; else rm -f -- "$dest.sha256"; fi; }; then
      rm -f -- "$tmp"
      log "WARNING: cache write of ${rel} failed; the next boot will redo this work"
      note_cache_write "$rel" failed
      return 0
    fi
  fi
  log "cached ${rel}"
  note_cache_write "$rel" written
}

# One PUT of file $1 as S3 object $2 that S3 refuses if the object exists;
# the rest ($3...) are further put-object arguments. The refusal (412
# PreconditionFailed) is a final answer (NO_RETRY).
s3_put_if_absent() {
  local src=$1 uri=$2 bucket key err
  shift 2
  bucket=${uri#s3://}
  key=${bucket#*/}
  bucket=${bucket%%/*}
  if err=$(aws_cli s3api put-object --region "${CFG[GLLM_REGION]}" --bucket "$bucket" --key "$key" --body "$src" \
    --if-none-match '*' "$@" 2>&1 >/dev/null); then
    return 0
  fi
  printf '%s\n' "$err" >>"$LOG_FILE"
  [[ $err == *PreconditionFailed* || $err == *"(412)"* ]] && return "$NO_RETRY"
  return 1
}

# Whether this AWS CLI can send If-None-Match with a PUT (S3's conditional
# writes, 2024; Debian 12's 2.9.19, for one, cannot). Asked once, of the
# CLI's own description of put-object, without a request.
conditional_put_supported() {
  local skeleton=""
  if [[ -z $CONDITIONAL_PUT ]]; then
    skeleton=$(aws_cli s3api put-object --region "${CFG[GLLM_REGION]}" --generate-cli-skeleton input 2>/dev/null) || skeleton=""
    if [[ $skeleton == *'"IfNoneMatch"'* ]]; then
      CONDITIONAL_PUT=yes
    else
      CONDITIONAL_PUT=no
      log "this AWS CLI cannot write only if absent (no --if-none-match): cache objects are written unconditionally"
    fi
  fi
  [[ $CONDITIONAL_PUT == yes ]]
}

# ------------------------------------------------------------------ build ---

build_targets() {
  BUILD_TARGETS=(llama-server)
  [[ -n ${CFG[GLLM_QUANTIZE_TO]} ]] && BUILD_TARGETS+=(llama-quantize)
  return 0
}

# Everything that changes the compiled output goes into the CMake defines or
# the cache key, so a cached build is only ever reused where it would have
# been built identically.
# The kit's CMake defines: kitCmakeDefines in runtime/boot/build/defines.ts, which
# the tests' and the benchmarks' builds use. test/runtime/boot/build/key.bash.test.ts
# runs this for x86_64 and every Graviton generation and requires the very
# same vector (and the same key material as runtime/boot/build/key.ts), so
# change both together.
cmake_defines() {
  CMAKE_DEFINES=(
    -DCMAKE_BUILD_TYPE=Release
    # Self-contained executables: the tarball is just bin/.
    -DBUILD_SHARED_LIBS=OFF
    # Never tune for the build host: the key names the target, not the host.
    -DGGML_NATIVE=OFF
    # KleidiAI's CMake downloads its sources at configure time.
    -DGGML_CPU_KLEIDIAI=OFF
    # Model downloads are this script's job, not the server's. LLAMA_CURL is
    # the switch in older releases, LLAMA_OPENSSL in newer ones; each release
    # ignores the other.
    -DLLAMA_CURL=OFF
    -DLLAMA_OPENSSL=OFF
    # The endpoint is an API; the web UI would be fetched from Hugging Face.
    -DLLAMA_BUILD_UI=OFF
    -DLLAMA_USE_PREBUILT_UI=OFF
    -DLLAMA_BUILD_TESTS=OFF
    -DLLAMA_BUILD_EXAMPLES=OFF
    -DLLAMA_BUILD_APP=OFF
    -DLLAMA_BUILD_TOOLS=ON
    -DLLAMA_BUILD_SERVER=ON
    # Every C++ unit that includes cpp-httplib must see the same value.
    "-DCMAKE_CXX_FLAGS=-DCPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND=${SERVER_KEEPALIVE_SECONDS}"
  )
  if [[ $MACHINE == aarch64 ]]; then
    CMAKE_DEFINES+=("-DGGML_CPU_ARM_ARCH=${CFG[GLLM_ARM_ARCH]}")
  fi
}

first_line() { printf '%s\n' "${1%%$'\n'*}"; }

build_key_material() {
  local arch
  if [[ $MACHINE == aarch64 ]]; then arch="aarch64:${CFG[GLLM_ARM_ARCH]}"; else arch="${MACHINE}:ggml-portable"; fi
  printf '%s\n' \
    "llama.cpp-commit=${CFG[GLLM_LLAMA_CPP_COMMIT]:-none (source tree ${CFG[GLLM_LLAMA_CPP_REF]})}" \
    "arch=${arch}" \
    "os=$(os_field ID)-$(os_field VERSION_ID)" \
    "toolchain=$(toolchain_identity)" \
    "targets=${BUILD_TARGETS[*]}" \
    "build-options-version=${BUILD_OPTIONS_VERSION}" \
    "cmake=${CMAKE_DEFINES[*]}"
}

# Shallow fetch of just the wanted ref: a tag or branch by name, a commit by id.
fetch_source() {
  local dest=$1 ref=${CFG[GLLM_LLAMA_CPP_REF]} commit=${CFG[GLLM_LLAMA_CPP_COMMIT]} local_src=${CFG[GLLM_LLAMA_CPP_SOURCE_DIR]:-}
  rm -rf -- "$dest"
  if [[ -n $local_src ]]; then
    [[ -d $local_src ]] || fail "GLLM_LLAMA_CPP_SOURCE_DIR ${local_src} is not a directory"
    local want=${commit:-$ref}
    if git -C "$local_src" rev-parse --verify --quiet "${want}^{commit}" >/dev/null 2>&1; then
      log "source: ${ref} (${want}) from git repository ${local_src}"
      mkdir -p "$dest"
      git -C "$local_src" archive --format=tar "${want}^{commit}" | tar -x -C "$dest"
    elif [[ -z $commit ]]; then
      # Local mode trusts the caller that this tree is the release it names
      # (a release tarball, or a clone without tags).
      log "source: ${local_src} has no git ref ${ref}; using its working tree as ${ref}"
      mkdir -p "$dest"
      tar -C "$local_src" --exclude=.git -cf - . | tar -x -C "$dest"
    else
      fail "${local_src} does not hold commit ${commit} (${ref})"
    fi
    [[ -f $dest/CMakeLists.txt ]] || fail "${local_src} is not a llama.cpp source tree (no CMakeLists.txt)"
    return
  fi
  local repo=${CFG[GLLM_LLAMA_CPP_REPOSITORY]} got
  # The commit, never the tag: a tag can be moved to other code after the
  # stack was deployed. What arrived is checked against what was asked for.
  log "source: fetching ${ref} (commit ${commit}) from ${repo}"
  retry "git fetch of ${commit}" git_fetch_once "$repo" "$commit" "$dest" >>"$BUILD_LOG" 2>&1 ||
    fail "git fetch of ${ref} (commit ${commit}) from ${repo} failed; see ${BUILD_LOG}"
  got=$(git -C "$dest" rev-parse HEAD)
  [[ $got == "$commit" ]] || fail "git fetch of ${ref} from ${repo} gave commit ${got}, not ${commit}"
}

# One try at a shallow fetch of commit $2 from $1 into a fresh $3.
git_fetch_once() {
  local repo=$1 commit=$2 dest=$3
  rm -rf -- "$dest"
  git init --quiet "$dest" &&
    within_deadline git -C "$dest" fetch --quiet --depth 1 "$repo" "$commit" &&
    git -C "$dest" -c advice.detachedHead=false checkout --quiet FETCH_HEAD
}

compile_llama_cpp() {
  local stage=$1 src=$BUILD_WORK/src build=$BUILD_WORK/build gen=() launcher=() t start
  rm -rf -- "$BUILD_WORK"
  mkdir -p "$BUILD_WORK"
  fetch_source "$src"
  if [[ $MACHINE == aarch64 ]]; then
    # One line of C tells a wrong compiler/flag pairing in a second, where
    # CMake would take a minute to fail with a less direct message.
    printf 'int main(void){return 0;}\n' | "$CC_BIN" "-march=${CFG[GLLM_ARM_ARCH]}" -x c -o /dev/null - 2>>"$BUILD_LOG" ||
      fail "${CC_BIN} rejects -march=${CFG[GLLM_ARM_ARCH]} (see ${BUILD_LOG}); Graviton4 and later need GCC 12 or newer"
  fi
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    # Paths relative to the work dir make compiles in another work dir (a
    # re-run, another checkout) hit the same ccache entries.
    export CCACHE_BASEDIR=$BUILD_WORK CCACHE_NOHASHDIR=true
    log "ccache: on"
  fi
  start=$(now_ms)
  log "compiling ${BUILD_TARGETS[*]} with ${CXX_BIN} ($("$CXX_BIN" -dumpfullversion)) on $(nproc) CPUs; output in ${BUILD_LOG}"
  local rc=0
  CC=$CC_BIN CXX=$CXX_BIN within_deadline cmake -S "$src" -B "$build" "${gen[@]}" "${CMAKE_DEFINES[@]}" "${launcher[@]}" >>"$BUILD_LOG" 2>&1 || rc=$?
  ((rc != 124)) || fail "cmake configure did not finish within the boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s"
  ((rc == 0)) || fail "cmake configure failed: $(tail -n 5 "$BUILD_LOG" | tr '\n' ' ')"
  rc=0
  within_deadline cmake --build "$build" --config Release -j "$(nproc)" --target "${BUILD_TARGETS[@]}" >>"$BUILD_LOG" 2>&1 || rc=$?
  ((rc != 124)) || fail "compile did not finish within the boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s (after $(seconds_since "$start") s)"
  ((rc == 0)) || fail "compile failed: $(grep -m1 -E 'error|Error' "$BUILD_LOG" || tail -n 1 "$BUILD_LOG")"
  log "compiled ${BUILD_TARGETS[*]} in $(seconds_since "$start") s"
  mkdir -p "$stage/bin"
  for t in "${BUILD_TARGETS[@]}"; do
    install -m 0755 "$build/bin/$t" "$stage/bin/$t"
  done
  rm -rf -- "$BUILD_WORK"
}

# Makes sure $INSTALL_ROOT/<key>/bin holds binaries that run here: already
# installed (re-run), from the cache, or compiled and then cached. An
# installed or cached build that fails its checks is discarded and rebuilt,
# and the rebuild is cached for the next instance: one bad object must not
# fail every instance that reads it.
ensure_build() {
  local key material tarball tmpdir problem cache_write
  [[ ${CFG[GLLM_MODE]} == aws ]] && ensure_service_user
  build_targets
  cmake_defines
  material=$(build_key_material)
  key=$(printf '%s\n' "$material" | sha256sum | cut -c1-32)
  BUILD_DIR=$INSTALL_ROOT/$key
  LLAMA_SERVER=$BUILD_DIR/bin/llama-server
  log "build key ${key} (${material//$'\n'/; })"
  RESULT_BUILD_KEY=$key
  if [[ -f $BUILD_DIR/manifest.txt ]]; then
    if problem=$(check_build "$BUILD_DIR" "$material"); then
      log "build: installed build ${key} reused (no compile)"
      RESULT_BUILD_FROM=installed
      return
    fi
    log "build: discarding installed build ${key}: ${problem}"
    rm -rf -- "$BUILD_DIR"
  fi
  mkdir -p "$INSTALL_ROOT" "$STATE_DIR"
  tarball=$STATE_DIR/build-$key.tar.gz
  tmpdir=$(mktemp -d "$INSTALL_ROOT/.install-$key.XXXXXX")
  # The checks run the binaries as the service user, who must reach them.
  chmod 0755 "$tmpdir"
  PARTIAL_FILES+=("$tarball")
  RESULT_BUILD_FROM=cache
  if fetch_cached_build "$key" "$tmpdir" "$material" "$tarball"; then
    RESULT_BUILD_VERSION=$CACHE_TAKEN_VERSION
  else
    RESULT_BUILD_FROM=compile
    cache_write=$CACHE_NEXT_WRITE
    BUILD_LOG=$LOG_DIR/build.log
    : >"$BUILD_LOG"
    install_build_tools
    compile_llama_cpp "$tmpdir"
    printf '%s\n' "$material" >"$tmpdir/manifest.txt"
    # What the key cannot say: the compiler that was used, and the shared
    # libraries its output needs (a cache hit has no compiler to bring them).
    printf '%s %s\n' "$(first_line "$("$CXX_BIN" --version)")" "$("$CXX_BIN" -dumpmachine)" >"$tmpdir/toolchain.txt"
    needed_libraries "$tmpdir" >"$tmpdir/runtime-libraries.txt"
    seal_build "$tmpdir"
    problem=$(check_build "$tmpdir" "$material") || fail "the build just compiled does not run here: ${problem}"
    # The same files give the same bytes (names sorted, no times or owners
    # of this machine), so instances that compile the same code at the same
    # time upload identical versions (see note_rewrites).
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -C "$tmpdir" . | gzip -n >"$tarball"
    cache_put "$tarball" "builds/${key}.tar.gz" "$cache_write"
  fi
  rm -f -- "$tarball"
  # Rename into place so a half-extracted build is never taken as installed.
  rm -rf -- "$BUILD_DIR"
  mv -- "$tmpdir" "$BUILD_DIR"
}

# Puts the cached build of key $1 into directory $2, checked against key
# material $3 (through tarball path $4): the oldest version of the object
# that passes every check (see cache_first_good). Fails when there is none,
# having logged why; CACHE_NEXT_WRITE then says how to cache a replacement.
fetch_cached_build() {
  local key=$1 dir=$2 material=$3 tarball=$4 rel="builds/$1.tar.gz"
  if cache_first_good build "$rel" "$tarball" compiling unpack_checked_build "$dir" "$material"; then
    log "build: cache hit ${rel} (no compile)${CACHE_TAKEN}; needs at run time: $(tr '\n' ' ' 2>/dev/null <"$dir/runtime-libraries.txt" || echo 'not recorded')"
    rm -f -- "$tarball"
    return 0
  fi
  rm -f -- "$tarball"
  return 1
}

# Unpacks build tarball $1 into the empty directory $2 and checks it against
# key material $3; prints what is wrong, and leaves $2 empty, if it fails.
unpack_checked_build() {
  local tarball=$1 dir=$2 material=$3
  extract_build "$tarball" "$dir" && check_build "$dir" "$material" && return 0
  find "$dir" -mindepth 1 -delete
  return 1
}

# Unpacks build tarball $1 into the empty directory $2; prints what is wrong
# and fails if it cannot. The tarball is untrusted until its checks pass, and
# tar run as root would keep the owners, setuid bits and device files it
# records. So it is listed first and refused unless it holds only plain files
# and directories inside the tree; it is unpacked by the service user, which
# can create nothing it could not create anyway; and root then takes the tree
# over (seal_build) before any of its programs runs.
# Its look at the disk: unpackedEntriesProblem in runtime/boot/build/check.ts
# (test/runtime/boot/build/check.bash.test.ts).
extract_build() {
  local tarball=$1 dir=$2 err odd
  build_tarball_problem "$tarball" || return 1
  if [[ ${CFG[GLLM_MODE]} == aws ]] && ((EUID == 0)); then
    chown "$SERVICE_USER:$SERVICE_USER" "$dir"
  fi
  # Root opens the tarball; the service user only reads it from stdin.
  if ! err=$(as_service_user tar -xzf - -C "$dir" --no-same-owner --no-same-permissions <"$tarball" 2>&1); then
    printf 'not a readable tar.gz (%s)\n' "$(first_line "$err")"
    return 1
  fi
  # What the listing promised, checked on the disk as well.
  odd=$(find "$dir" \( ! -type f ! -type d \) -o -perm /7000 | head -n 1)
  if [[ -n $odd ]]; then
    printf 'it unpacked to %q, which is not a plain file or directory, or has the setuid, setgid or sticky bit\n' "${odd#"$dir"/}"
    return 1
  fi
  seal_build "$dir"
}

# Prints what makes tarball $1 unfit to unpack, and fails, unless every entry
# is a plain file or directory with a plain relative name inside the tree and
# no setuid, setgid or sticky bit. A build is bin/ and three text files: it
# needs no links, devices or special bits.
# tarballListingProblem in runtime/boot/build/tarball.ts takes the same
# decision, word for word (test/runtime/boot/build/tarball.bash.test.ts).
build_tarball_problem() {
  local tarball=$1 listing line mode time name
  # C locale and numeric owners: one fixed layout of tar's verbose listing;
  # --absolute-names lists a name as recorded, leading / and all, to be refused.
  if ! listing=$(LC_ALL=C tar --numeric-owner --absolute-names -tvzf "$tarball" 2>&1); then
    printf 'not a readable tar.gz (%s)\n' "$(tail -n 1 <<<"$listing")"
    return 1
  fi
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    read -r mode _ _ _ time name <<<"$line"
    case ${mode:0:1} in
      - | d) ;;
      l) printf 'it holds a symbolic link (%s)\n' "${line#*"$time" }"; return 1 ;;
      h) printf 'it holds a hard link (%s)\n' "${line#*"$time" }"; return 1 ;;
      b | c) printf 'it holds a device file (%s)\n' "${line#*"$time" }"; return 1 ;;
      *) printf 'it holds %s, which is not a plain file or directory\n' "$line"; return 1 ;;
    esac
    if [[ ! $mode =~ ^[-d]([-r][-w][-x]){3}$ ]]; then
      printf 'it holds %q with the setuid, setgid or sticky bit (%s)\n' "$name" "$mode"
      return 1
    fi
    if [[ ! $name =~ ^[A-Za-z0-9._+-][A-Za-z0-9._+/-]*$ || /$name/ == */../* ]]; then
      printf 'it holds an entry named %q, which is not a plain name inside the build tree\n' "$name"
      return 1
    fi
  done <<<"$listing"
}

# The service user runs a build's programs, the server among them, and must
# not be able to change them: root owns the tree and alone may write to it.
seal_build() {
  local dir=$1
  if ((EUID == 0)); then chown -R root:root "$dir"; fi
  chmod -R u=rwX,go=rX "$dir"
}

# The shared libraries (sonames) the build's programs in $1/bin load, as the
# dynamic loader of this machine resolves them ("not found" included). ldd
# may run the program it inspects (its man page warns never to use it on an
# untrusted one), so it runs as the service user, like every other check.
needed_libraries() {
  local dir=$1 t
  for t in "${BUILD_TARGETS[@]}"; do
    [[ -x $dir/bin/$t ]] || continue
    as_service_user ldd "$dir/bin/$t" 2>/dev/null | awk '$2 == "=>" { print $1 }' || true
  done | sort -u
}

# Of those, the ones this machine lacks.
missing_libraries() {
  local dir=$1 t
  for t in "${BUILD_TARGETS[@]}"; do
    [[ -x $dir/bin/$t ]] || continue
    as_service_user ldd "$dir/bin/$t" 2>/dev/null | awk '$2 == "=>" && $3 == "not" { print $1 }' || true
  done | sort -u
}

# A cached build was compiled on another instance, whose compiler brought
# the libraries its output loads (OpenMP's libgomp, the C++ library). This
# instance installed no compiler: the libraries it lacks are installed on
# their own. Prints what is wrong and fails where one is still missing, so
# that the version is discarded like any other that fails its checks and a
# build is compiled here, loading only what this machine's compiler brings;
# failing the boot instead would fail every boot that reads the object. The
# names come from the untrusted binary: only a shared library's name reaches
# the package manager, which runs as root, and after `--`.
# runtime/boot/build/libraries.ts ports this and needed_libraries and
# missing_libraries (test/runtime/boot/build/libraries.bash.test.ts).
ensure_runtime_libraries() {
  local dir=$1 missing=() lib packages=() odd=()
  mapfile -t missing < <(missing_libraries "$dir")
  ((${#missing[@]})) || return 0
  for lib in "${missing[@]}"; do
    [[ $lib =~ $SONAME_RE ]] || odd+=("$(printf '%q' "$lib")")
  done
  if ((${#odd[@]})); then
    echo "it loads ${odd[*]}, which is not the name of a shared library"
    return 1
  fi
  log "the build loads shared libraries this machine lacks: ${missing[*]}"
  if ((EUID == 0)) && command -v dnf >/dev/null 2>&1; then
    # RPMs provide each soname by name: the package that ships it is found from the soname alone.
    for lib in "${missing[@]}"; do packages+=("${lib}()(64bit)"); done
    within_deadline dnf install -y --setopt=install_weak_deps=False -- "${packages[@]}" >>"$LOG_DIR/dnf.log" 2>&1 ||
      log "dnf could not install ${packages[*]} (see ${LOG_DIR}/dnf.log)"
  elif ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
    for lib in "${missing[@]}"; do
      case $lib in
        libgomp.so.1) packages+=(libgomp1) ;;
        libstdc++.so.6) packages+=(libstdc++6) ;;
        libgcc_s.so.1) packages+=(libgcc-s1) ;;
      esac
    done
    if ((${#packages[@]})); then
      { within_deadline apt-get update && within_deadline env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -- "${packages[@]}"; } >>"$LOG_DIR/apt.log" 2>&1 ||
        log "apt-get could not install ${packages[*]} (see ${LOG_DIR}/apt.log)"
    fi
  fi
  mapfile -t missing < <(missing_libraries "$dir")
  if ((${#missing[@]})); then
    echo "it loads $(IFS=,; echo "${missing[*]}"), which this machine lacks and could not install (the image must carry it, or reach its package repositories)"
    return 1
  fi
  log "run-time libraries installed"
}

# Checks a build directory: its manifest is this build key's material, every
# target is there, the shared libraries it loads are here (installed if
# need be), and llama-server runs on this machine (which catches a damaged
# binary or an illegal instruction before the model is fetched). Prints what
# is wrong and fails if anything is.
# buildContentsProblem and serverVersionProblem in runtime/boot/build/check.ts
# (test/runtime/boot/build/check.bash.test.ts runs both).
check_build() {
  local dir=$1 material=$2 t out rc=0
  if [[ ! -f $dir/manifest.txt ]]; then
    echo "it has no manifest"
    return 1
  fi
  if [[ $(<"$dir/manifest.txt") != "$material" ]]; then
    echo "its manifest is not this build key's ($(first_line "$(<"$dir/manifest.txt")"))"
    return 1
  fi
  for t in "${BUILD_TARGETS[@]}"; do
    if [[ ! -x $dir/bin/$t ]]; then
      echo "it lacks ${t}"
      return 1
    fi
  done
  ensure_runtime_libraries "$dir" || return 1
  out=$(as_service_user "$dir/bin/llama-server" --version 2>&1) || rc=$?
  printf '%s\n' "$out" >>"$LOG_FILE"
  if ((rc != 0)); then
    echo "its llama-server --version exits ${rc}: $(printf '%s\n' "$out" | tail -n 1)"
    return 1
  fi
}

# ------------------------------------------------------------------ model ---

file_size() { stat -c %s -- "$1"; }

# Fetches $GLLM_MODEL_SOURCE to $1, resuming across attempts.
download_model() {
  local dest=$1 src=${CFG[GLLM_MODEL_SOURCE]} attempt rc=0 expected=${CFG[GLLM_MODEL_SIZE_BYTES]}
  if [[ $src == s3://* ]]; then
    log "downloading ${src} with aws s3 cp"
    retry "model download from ${src}" aws_cli s3 cp --only-show-errors --region "${CFG[GLLM_REGION]}" \
      "$src" "$dest" >>"$LOG_FILE" 2>&1 || fail "model download from ${src} failed"
    return
  fi
  local headers=()
  if [[ -n ${CFG[GLLM_HF_TOKEN_PARAMETER]} && ${CFG[GLLM_MODE]} == aws ]]; then
    # The token goes through a root-only file (curl -H @file), never argv.
    local header_file=$SECRET_DIR/hf-header token_file=$SECRET_DIR/hf-token
    mkdir -p "$SECRET_DIR"
    PARTIAL_FILES+=("$header_file" "$token_file")
    # Read into a file first: a failed read inside printf's $(...) would not
    # stop the boot, which would then fail later with a misleading 401.
    retry "read of SSM parameter ${CFG[GLLM_HF_TOKEN_PARAMETER]}" ssm_read "${CFG[GLLM_HF_TOKEN_PARAMETER]}" "$token_file" ||
      fail "could not read the Hugging Face token from SSM parameter ${CFG[GLLM_HF_TOKEN_PARAMETER]} (see ${LOG_FILE})"
    [[ -n $(tr -d '[:space:]' <"$token_file") ]] || fail "the Hugging Face token in SSM parameter ${CFG[GLLM_HF_TOKEN_PARAMETER]} is empty"
    (
      umask 077
      printf 'Authorization: Bearer %s\n' "$(tr -d '\r\n' <"$token_file")" >"$header_file"
    )
    rm -f -- "$token_file"
    headers=(-H "@${header_file}")
  fi
  for ((attempt = 1; attempt <= DOWNLOAD_ATTEMPTS; attempt++)); do
    if [[ -f $dest ]] && (($(file_size "$dest") >= expected)); then
      break
    fi
    log "downloading ${src} (attempt ${attempt}/${DOWNLOAD_ATTEMPTS}$([[ -s $dest ]] && echo ", resuming at $(file_size "$dest") bytes"))"
    rc=0
    curl --fail --silent --show-error --location --proto '=http,https' --connect-timeout 20 \
      --max-time "$(seconds_left)" --speed-limit 1024 --speed-time 60 -C - "${headers[@]}" -o "$dest" "$src" 2>>"$LOG_FILE" || rc=$?
    ((rc == 0)) && break
    log "curl exited ${rc}"
    local got delay
    got="got $([[ -f $dest ]] && file_size "$dest" || echo 0) of ${expected} bytes"
    if ((attempt == DOWNLOAD_ATTEMPTS)); then
      fail "model download from ${src} failed after ${DOWNLOAD_ATTEMPTS} attempts (last curl exit ${rc}); ${got}"
    fi
    delay=$(retry_delay_ms "$attempt")
    if ((delay / 1000 + 1 >= $(seconds_left))); then
      fail "model download from ${src} did not finish within the boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s (last curl exit ${rc}); ${got}"
    fi
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
  done
}

# Checks size, then SHA-256; a file that fails is deleted, never moved into place.
# modelSizeProblem and modelDigestProblem in runtime/boot/model/verify.ts,
# with stamp_ok's stampHolds and has_cached_sha256's cachedDigestProblem
# (test/runtime/boot/model/verify.bash.test.ts runs both).
verify_model() {
  local file=$1 origin=$2 size sha
  size=$(file_size "$file")
  if ((size != CFG[GLLM_MODEL_SIZE_BYTES])); then
    rm -f -- "$file"
    fail "model from ${origin}: size mismatch: expected ${CFG[GLLM_MODEL_SIZE_BYTES]} bytes, got ${size}"
  fi
  sha=$(sha256_of "$file") || fail "model from ${origin}: its SHA-256 did not finish within the boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s"
  if [[ $sha != "${CFG[GLLM_MODEL_SHA256]}" ]]; then
    rm -f -- "$file"
    fail "model from ${origin}: sha256 mismatch: expected ${CFG[GLLM_MODEL_SHA256]}, got ${sha}"
  fi
  log "model verified: ${size} bytes, sha256 ${sha}"
}

# A model next to a stamp written after verification is the verified model.
stamp_ok() {
  local file=$1 want=$2
  [[ -f $file && -f $file.verified && $(<"$file.verified") == "$want" ]]
}

ensure_model() {
  local sha=${CFG[GLLM_MODEL_SHA256]} size=${CFG[GLLM_MODEL_SIZE_BYTES]} source_path partial
  RESULT_MODEL=1
  mkdir -p "$MODEL_DIR"
  if [[ -n ${CFG[GLLM_QUANTIZE_TO]} ]]; then
    source_path=$MODEL_DIR/source-$sha.gguf
  else
    source_path=$MODEL_DIR/${CFG[GLLM_MODEL_FILE]}
  fi
  MODEL_PATH=$MODEL_DIR/${CFG[GLLM_MODEL_FILE]}

  if [[ -n ${CFG[GLLM_QUANTIZE_TO]} ]] && stamp_ok "$MODEL_PATH" "quantized ${sha} ${CFG[GLLM_QUANTIZE_TO]}"; then
    log "model: ${MODEL_PATH} already quantized from ${sha}; reused"
    RESULT_MODEL_QUANTIZED=installed
    return
  fi
  if [[ -z ${CFG[GLLM_QUANTIZE_TO]} ]] && stamp_ok "$MODEL_PATH" "$sha $size"; then
    log "model: ${MODEL_PATH} already verified; reused"
    RESULT_MODEL_SOURCE=installed
    return
  fi
  local quantized_write=if-absent
  if [[ -n ${CFG[GLLM_QUANTIZE_TO]} ]]; then
    if fetch_quantized_from_cache; then
      RESULT_MODEL_QUANTIZED=cache
      return
    fi
    quantized_write=$CACHE_NEXT_WRITE
  fi

  partial=$MODEL_DIR/.${CFG[GLLM_MODEL_FILE]}.partial
  PARTIAL_FILES+=("$partial")
  rm -f -- "$partial" "$source_path.verified"
  local from_cache=0
  if cache_get "models/${sha}.gguf" "$partial"; then
    log "model: cache hit models/${sha}.gguf"
    RESULT_MODEL_SOURCE=cache
    from_cache=1
    if (($(file_size "$partial") != size)) || [[ $(sha256_of "$partial") != "$sha" ]]; then
      log "model: cached copy does not verify; downloading from the source instead"
      rm -f -- "$partial"
      from_cache=0
    fi
  fi
  if ((!from_cache)); then
    log "model: cache miss models/${sha}.gguf"
    RESULT_MODEL_SOURCE=download
    download_model "$partial"
    verify_model "$partial" "${CFG[GLLM_MODEL_SOURCE]}"
  else
    log "model verified: ${size} bytes, sha256 ${sha}"
  fi
  chmod 0644 "$partial"
  mv -f -- "$partial" "$source_path"
  printf '%s %s\n' "$sha" "$size" >"$source_path.verified"
  # Every version of a source model is checked against the template's
  # SHA-256, so a second one costs only storage (for 30 days): it goes up in
  # parallel parts, which a conditional single PUT of gigabytes could not.
  ((from_cache)) || cache_put "$source_path" "models/${sha}.gguf" always

  if [[ -n ${CFG[GLLM_QUANTIZE_TO]} ]]; then
    quantize_model "$source_path" "$quantized_write"
  fi
}

# The quantized model's cache object, named by the source model, the type,
# and the llama.cpp release whose llama-quantize made it, so that a new
# release never serves a file quantized by another. Not by the whole build
# key: any build of one release makes an equally good file, and a key that
# changed with every AMI would quantize again (and open the window for a
# planted first version, see cache_first_good) at every AMI move.
# quantizedCacheRel in runtime/boot/cache/keys.ts, which also names the builds
# and source models (test/runtime/boot/cache/keys.bash.test.ts).
quantized_cache_rel() {
  local release=${CFG[GLLM_LLAMA_CPP_COMMIT]:-${CFG[GLLM_LLAMA_CPP_REF]//\//_}}
  printf 'quantized/%s-%s-llama.cpp-%s.gguf\n' "${CFG[GLLM_MODEL_SHA256]}" "${CFG[GLLM_QUANTIZE_TO]}" "$release"
}

# The quantized model from the cache: the oldest version that has the
# SHA-256 it was cached with, so a damaged object is found like a damaged
# download, and one written later is not served while the first is good.
# Fails when there is none; CACHE_NEXT_WRITE then says how to cache one.
fetch_quantized_from_cache() {
  local rel partial
  rel=$(quantized_cache_rel)
  partial=$MODEL_DIR/.${CFG[GLLM_MODEL_FILE]}.partial
  PARTIAL_FILES+=("$partial")
  cache_first_good model "$rel" "$partial" quantizing has_cached_sha256 || return 1
  chmod 0644 "$partial"
  mv -f -- "$partial" "$MODEL_PATH"
  printf 'quantized %s %s\n' "${CFG[GLLM_MODEL_SHA256]}" "${CFG[GLLM_QUANTIZE_TO]}" >"$MODEL_PATH.verified"
  log "model: cache hit ${rel}${CACHE_TAKEN}"
}

# Prints what is wrong, and fails, unless file $1 has the SHA-256 its cache
# version was written with (CACHE_READ_SHA256).
has_cached_sha256() {
  local sha
  if [[ -z $CACHE_READ_SHA256 ]]; then
    echo "it records no SHA-256"
    return 1
  fi
  if ! sha=$(sha256_of "$1"); then
    echo "its SHA-256 did not finish within the boot deadline"
    return 1
  fi
  if [[ $sha != "$CACHE_READ_SHA256" ]]; then
    echo "its SHA-256 is ${sha}, not the ${CACHE_READ_SHA256} it was cached with"
    return 1
  fi
}

# llama-quantize is a build program, so it runs as the service user, never
# as root: it writes into a directory of that user's own, and root then takes
# the result over, so that the service user may only read the served model.
# $2 is how to cache the result (see cache_put).
quantize_model() {
  local src=$1 cache_write=$2 work out start
  work=$STATE_DIR/quantize
  rm -rf -- "$work"
  install -d -m 0700 -- "$work"
  if [[ ${CFG[GLLM_MODE]} == aws ]] && ((EUID == 0)); then
    chown "$SERVICE_USER:$SERVICE_USER" "$work"
  fi
  out=$work/${CFG[GLLM_MODEL_FILE]}
  PARTIAL_FILES+=("$out")
  start=$(now_ms)
  log "quantizing to ${CFG[GLLM_QUANTIZE_TO]}"
  RESULT_MODEL_QUANTIZED=quantize
  local rc=0 left
  left=$((($(time_limit_ms) - $(now_ms)) / 1000))
  ((left > 0)) || fail "no time left in the boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s to quantize"
  as_service_user timeout --kill-after=10 "$left" "$BUILD_DIR/bin/llama-quantize" "$src" "$out" "${CFG[GLLM_QUANTIZE_TO]}" "$(nproc)" >>"$LOG_DIR/quantize.log" 2>&1 || rc=$?
  ((rc != 124)) || fail "llama-quantize to ${CFG[GLLM_QUANTIZE_TO]} did not finish within the boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s"
  ((rc == 0)) || fail "llama-quantize to ${CFG[GLLM_QUANTIZE_TO]} failed: $(tail -n 2 "$LOG_DIR/quantize.log" | tr '\n' ' ')"
  log "quantized in $(seconds_since "$start") s"
  if ((EUID == 0)); then chown root:root "$out"; fi
  chmod 0644 "$out"
  mv -f -- "$out" "$MODEL_PATH"
  rm -rf -- "$work"
  printf 'quantized %s %s\n' "${CFG[GLLM_MODEL_SHA256]}" "${CFG[GLLM_QUANTIZE_TO]}" >"$MODEL_PATH.verified"
  # The source is in the cache; the disk is better spent on the served model.
  rm -f -- "$src" "$src.verified"
  local sum
  sum=$(sha256_of "$MODEL_PATH") || fail "the quantized model's SHA-256 did not finish within the boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s"
  cache_put "$MODEL_PATH" "$(quantized_cache_rel)" "$cache_write" "$sum"
}

# ---------------------------------------------------------------- API key ---

install_api_key() {
  mkdir -p "$SECRET_DIR"
  chmod 0700 "$SECRET_DIR"
  local tmp=$API_KEY_FILE.tmp.$$
  PARTIAL_FILES+=("$tmp")
  (
    umask 077
    if [[ ${CFG[GLLM_MODE]} == aws ]]; then
      retry "read of SSM parameter ${CFG[GLLM_API_KEY_PARAMETER]}" ssm_read "${CFG[GLLM_API_KEY_PARAMETER]}" "$tmp"
    else
      cat -- "${CFG[GLLM_API_KEY_FILE]}" >"$tmp"
    fi
  ) || fail "could not read the API key from $([[ ${CFG[GLLM_MODE]} == aws ]] && echo "SSM parameter ${CFG[GLLM_API_KEY_PARAMETER]}" || echo "${CFG[GLLM_API_KEY_FILE]}")"
  [[ -n $(tr -d '[:space:]' <"$tmp") ]] || fail "the API key is empty"
  chmod 0600 "$tmp"
  mv -f -- "$tmp" "$API_KEY_FILE"
  log "API key installed in ${API_KEY_FILE} (0600)"
}

# ------------------------------------------------------------------ serve ---

# The server's argument vector, for the key file $1 and listen address $2.
# LOCK_ARGS (see choose_lock_args) are appended as chosen for this build.
# serverArgs in runtime/boot/server/args.ts, which lib/ and tools/ use; it and
# this file's lock choice are held equal by test/runtime/boot/server/args.bash.test.ts.
server_args() {
  local key_file=$1 host=$2 slots=${CFG[GLLM_PARALLEL_SLOTS]}
  prompt_reuse_args
  SERVER_ARGS=(
    --model "$MODEL_PATH"
    --host "$host" --port "${CFG[GLLM_PORT]}"
    --api-key-file "$key_file"
    --metrics
    --parallel "$slots"
    --ctx-size "$((slots * CFG[GLLM_CONTEXT_PER_SLOT]))"
    --threads "$(nproc)"
    --threads-http "$(http_threads "$slots")"
    --cont-batching
    "${PROMPT_REUSE_ARGS[@]}"
    --no-webui
    # /slots shows what every slot is working on, other clients' prompts included.
    --no-slots
    "${LOCK_ARGS[@]}"
  )
}

# Settings that let a prompt reuse the prefill of an earlier one (a chat
# application's system prompt, repeated with every request), read from
# llama-server v0.5.0 (tools/server/server-context.cpp):
# - --cache-ram: the RAM prompt cache, in MiB. A slot's KV state is saved
#   there when the slot is handed to an unrelated prompt and, by default
#   (--cache-idle-slots), whenever a new task starts while the slot is idle;
#   a slot given a new prompt loads the cached state that shares the longest
#   prefix with it. That is what lets a slot that never saw the system prompt
#   start from it. The default, 8192 MiB, is more than a small instance has
#   left once the model and KV cache are in: the kit passes what its memory
#   fit check leaves (lib/sizing/memory-fit.ts promptCacheMiB), 0 for none.
# - --slot-prompt-similarity: a request goes to the idle slot whose prompt
#   shares the largest fraction of its own (else to the least recently used
#   one). A repeated 1,000-token prefix followed by a short question is ~0.9
#   similar, so the release's 0.10 already sends it to a slot holding the
#   prefix; it is set here so that an upgrade that changes the default does
#   not silently change routing.
# - --cache-reuse stays off: it reuses chunks of an earlier prompt found
#   after a point of difference, by shifting the KV cache. A shared prefix
#   needs no shift (the common prefix is always reused), and shifting costs
#   a pass over the cache on every request that misses.
prompt_reuse_args() {
  PROMPT_REUSE_ARGS=(
    --cache-ram "$((10#${CFG[GLLM_PROMPT_CACHE_MIB]}))"
    --slot-prompt-similarity 0.10
  )
}

# llama-server serves each connection on one HTTP thread, from its first
# request to its close: a stream holds it for the whole generation, a queued
# request while it waits for a slot, an idle keep-alive connection of the load
# balancer until either side closes. The pool has this many fixed threads and
# makes more on demand, but only when no thread is idle at the moment a
# connection arrives: in a burst, several connections can be queued behind one
# idle thread and wait for a stream to end, /health among them (measured: 16
# streams on 4 slots admitted 8 at a time under CPU load, and /health missed
# the load balancer's 5 s timeout). Enough fixed threads for four connections
# per slot, plus the health checks of every load balancer node, the metrics
# scrape and the canary, keep an idle thread for every arrival at the loads a
# fleet sees before it scales out.
http_threads() {
  local slots=$1
  printf '%s\n' "$((4 * slots + 8))"
}

# Locking the model in RAM keeps the kernel from paging it out under memory
# pressure (a page fault mid-generation costs a disk read per weight page).
# llama.cpp renamed the switch: `--mlock` in older releases, `--load-mode
# mmap+mlock` in v0.5.0, which rejects `--mlock` outright. The
# built server is asked which one it parses (`--version` exits once every
# earlier argument is parsed), so any release the catalog allows gets the
# right one. Local mode locks only where RLIMIT_MEMLOCK covers the model.
choose_lock_args() {
  LOCK_ARGS=()
  if [[ ${CFG[GLLM_MODE]} == local ]] && ! mlock_allowed; then
    log "memory lock: off (RLIMIT_MEMLOCK $(ulimit -l) KiB is below the model's size)"
    return 0
  fi
  local candidate
  for candidate in '--load-mode mmap+mlock' '--mlock'; do
    # shellcheck disable=SC2086 # each candidate is one or two words, split on purpose
    if as_service_user "$LLAMA_SERVER" $candidate --version >/dev/null 2>&1; then
      read -r -a LOCK_ARGS <<<"$candidate"
      log "memory lock: ${candidate} (accepted by this llama-server)"
      return 0
    fi
  done
  log "WARNING: this llama-server accepts neither --load-mode mmap+mlock nor --mlock; the model is not locked in RAM"
}

# Runs the built server with the exact argument vector the service will get,
# key file aside, plus `--version`, which exits once every earlier argument
# has been parsed. A flag this release rejects then fails the boot here with
# the server's own words, instead of a service that restarts until the
# health check gives up.
preflight_server() {
  local host=$1 out rc=0 probe_key
  # The server reads its key file while parsing: this run gets a stand-in,
  # not the key (which the unit hands over as a credential). It guards
  # nothing, so anyone may read it, the service user included.
  probe_key=$(mktemp "$STATE_DIR/preflight-key.XXXXXX")
  PARTIAL_FILES+=("$probe_key")
  printf 'preflight-stand-in-%s\n' "$RANDOM$RANDOM" >"$probe_key"
  chmod 0644 "$probe_key"
  server_args "$probe_key" "$host"
  out=$(as_service_user "$LLAMA_SERVER" "${SERVER_ARGS[@]}" --version 2>&1) || rc=$?
  rm -f -- "$probe_key"
  if ((rc != 0)); then
    fail "llama-server rejects its arguments (exit ${rc}): $(grep -m1 -iE 'error|invalid|unknown' <<<"$out" || tail -n 1 <<<"$out")"
  fi
  log "llama-server accepts its ${#SERVER_ARGS[@]} arguments: $(head -n 1 <<<"$out")"
}

# The hardened unit: its own user, a read-only view of the system with only
# the build and model visible, the key handed over by systemd's credentials.
# runtime/boot/server/unit.ts writes the same units (and the log rotation's
# files) byte for byte (test/runtime/boot/server/unit.bash.test.ts).
render_unit() {
  local exec=$1
  cat <<EOF
# Written by ${0##*/}; rewritten on every boot.
[Unit]
Description=graviton-llm llama-server
After=network-online.target
Wants=network-online.target
# A server that keeps crashing stops being restarted: the unit fails, the
# load balancer's health check fails, and Auto Scaling replaces the instance.
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
Type=simple
User=${SERVICE_USER}
Group=${SERVICE_USER}
ExecStart=${exec}
LoadCredential=api-key:${API_KEY_FILE}
Restart=on-failure
RestartSec=5
LimitMEMLOCK=infinity
LimitNOFILE=65536
StandardOutput=append:${SERVER_LOG}
StandardError=inherit
UMask=0077
NoNewPrivileges=yes
AmbientCapabilities=
CapabilityBoundingSet=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
# The instance metadata service hands out the instance role's credentials;
# the server has no use for them, so a compromised server gets none.
IPAddressDeny=169.254.169.254 fd00:ec2::254
ReadOnlyPaths=${BUILD_DIR} ${MODEL_DIR}

[Install]
WantedBy=multi-user.target
EOF
}

# Quotes each argument for a systemd ExecStart line; values are validated
# to the inert character set, so only `%` (a systemd specifier) needs care.
systemd_exec_line() {
  local out="" a
  for a in "$@"; do
    out+="${out:+ }${a//%/%%}"
  done
  printf '%s\n' "$out"
}

# The unit for this boot's build, model and settings.
service_unit() {
  # systemd hands the credential over as %d/api-key, readable by the service only.
  server_args "%d/api-key" "$(listen_host)"
  local exec
  exec=$(systemd_exec_line "$LLAMA_SERVER" "${SERVER_ARGS[@]}")
  # %d must stay a specifier; every other % was doubled.
  exec=${exec//%%d\/api-key/%d/api-key}
  render_unit "$exec"
}

ensure_service_user() {
  id -u "$SERVICE_USER" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /sbin/nologin "$SERVICE_USER"
}

# Runs a build's program (its checks, the preflight) as the service's user on
# an instance: a binary from the cache gets no more than the service will give
# it, root least of all, before it has passed its checks or after.
as_service_user() {
  if [[ ${CFG[GLLM_MODE]} == aws ]] && ((EUID == 0)); then
    setpriv --reuid="$SERVICE_USER" --regid="$SERVICE_USER" --init-groups --no-new-privs -- "$@"
  else
    "$@"
  fi
}

start_server_systemd() {
  ensure_service_user
  install -d -m 0755 "$LOG_DIR"
  touch "$SERVER_LOG"
  chown "$SERVICE_USER:$SERVICE_USER" "$SERVER_LOG"
  chmod 0640 "$SERVER_LOG"
  service_unit >"/etc/systemd/system/${UNIT_NAME}.tmp"
  mv -f "/etc/systemd/system/${UNIT_NAME}.tmp" "/etc/systemd/system/${UNIT_NAME}"
  install_log_rotation
  systemctl daemon-reload
  systemctl enable --quiet "$UNIT_NAME"
  systemctl enable --now --quiet "${LOG_ROTATE_UNIT}.timer"
  # Restarts before this boot do not count against it (see server_alive).
  RESTARTS_BEFORE=$(systemctl show -p NRestarts --value "$UNIT_NAME")
  SERVER_LOG_START=$(file_size "$SERVER_LOG")
  systemctl restart "$UNIT_NAME"
  log "started ${UNIT_NAME}"
  check_metadata_denied
}

# llama-server appends to its log for as long as the instance lives, on the
# root volume. Every 10 minutes a timer copies a log past SERVER_LOG_MAX_BYTES
# to server.log.1 and truncates it in place: systemd opened it with O_APPEND,
# so the server's next line lands at the new end, and the CloudWatch agent
# sees the truncation and reads on from the start. Lines written between the
# copy and the truncation are lost.
install_log_rotation() {
  local script=/opt/graviton-llm/rotate-server-log.sh
  install -d -m 0755 /opt/graviton-llm
  cat >"$script.tmp" <<SCRIPT
#!/bin/sh
# Written by ${0##*/}; rewritten on every boot.
f=${SERVER_LOG}
[ -f "\$f" ] || exit 0
[ "\$(stat -c %s "\$f")" -gt ${SERVER_LOG_MAX_BYTES} ] || exit 0
cp -f -- "\$f" "\$f.1" && truncate -s 0 -- "\$f"
SCRIPT
  chmod 0755 "$script.tmp"
  mv -f -- "$script.tmp" "$script"
  cat >"/etc/systemd/system/${LOG_ROTATE_UNIT}.service" <<UNIT
# Written by ${0##*/}; rewritten on every boot.
[Unit]
Description=graviton-llm: keep llama-server's log under $((SERVER_LOG_MAX_BYTES / 1024 / 1024)) MiB

[Service]
Type=oneshot
ExecStart=${script}
UNIT
  cat >"/etc/systemd/system/${LOG_ROTATE_UNIT}.timer" <<UNIT
# Written by ${0##*/}; rewritten on every boot.
[Unit]
Description=graviton-llm: check llama-server's log size every 10 minutes

[Timer]
OnBootSec=10min
OnUnitActiveSec=10min

[Install]
WantedBy=timers.target
UNIT
}

# The unit's IPAddressDeny needs systemd's BPF firewall (cgroup v2, as on
# Amazon Linux 2023); elsewhere systemd accepts it and enforces nothing. So
# the boot tries it: a request to the metadata service as the service user,
# under the unit's filter, must not get through. Not enforced is a warning,
# not a failure: the server serves as before, without that protection.
check_metadata_denied() {
  local deny code
  deny=$(systemctl show -p IPAddressDeny --value "$UNIT_NAME")
  code=$(systemd-run --wait --pipe --quiet --property="User=${SERVICE_USER}" --property="IPAddressDeny=${deny}" \
    curl --silent --output /dev/null --write-out '%{http_code}' --max-time 2 -X PUT \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token 2>>"$LOG_FILE") || true
  if [[ $code == 000 ]]; then
    log "llama-server's unit cannot reach the instance metadata service (IPAddressDeny enforced)"
  else
    log "WARNING: systemd does not enforce IPAddressDeny on this host (the metadata service answered ${code:-nothing} under the unit's filter); llama-server could read the instance role's credentials"
  fi
}

# llama-server locks the model in RAM only where the limit lets it lock all of it.
mlock_allowed() {
  local limit
  limit=$(ulimit -l)
  [[ $limit == unlimited ]] && return 0
  ((limit * 1024 >= $(file_size "$MODEL_PATH") + 64 * 1024 * 1024))
}

local_server_pid() {
  local pid cmdline
  [[ -f $PID_FILE ]] || return 1
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  # Only a llama-server of ours: a stale pid file must not kill a stranger.
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  [[ $cmdline == *"$INSTALL_ROOT/"*"/bin/llama-server "* ]] || return 1
  printf '%s\n' "$pid"
}

start_server_local() {
  stop_server
  mkdir -p "$LOG_DIR" "$STATE_DIR"
  server_args "$API_KEY_FILE" "$(listen_host)"
  SERVER_LOG_START=0
  if [[ -f $SERVER_LOG ]]; then SERVER_LOG_START=$(file_size "$SERVER_LOG"); fi
  # Closing 3 (our stdout) and 9 (the boot lock) matters: a server holding
  # them would keep the caller's pipe open and block the next boot's lock.
  setsid "$LLAMA_SERVER" "${SERVER_ARGS[@]}" </dev/null >>"$SERVER_LOG" 2>&1 3>&- 9>&- &
  echo $! >"$PID_FILE"
  log "started llama-server pid $!; log ${SERVER_LOG}"
}

# A developer machine serves itself only; the instance's 0.0.0.0 is behind a
# security group that admits the load balancer alone.
listen_host() {
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then echo 0.0.0.0; else echo 127.0.0.1; fi
}

check_server_args() {
  choose_lock_args
  preflight_server "$(listen_host)"
}

start_server() {
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then start_server_systemd; else start_server_local; fi
}

stop_server() {
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then
    if command -v systemctl >/dev/null 2>&1 && [[ -f /etc/systemd/system/${UNIT_NAME} ]]; then
      systemctl disable --now --quiet "$UNIT_NAME" >/dev/null 2>&1 || true
      log "stopped ${UNIT_NAME}"
    fi
    return 0
  fi
  local pid i
  if pid=$(local_server_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    log "stopped llama-server pid ${pid}"
  fi
  rm -f -- "$PID_FILE"
  return 0
}

server_alive() {
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then
    [[ $(systemctl show -p ActiveState --value "$UNIT_NAME") != failed ]] &&
      [[ $(systemctl show -p NRestarts --value "$UNIT_NAME") == "${RESTARTS_BEFORE:-0}" ]]
  else
    local_server_pid >/dev/null
  fi
}

# Why the server is gone. Its own log says why it stopped; when systemd could
# not even start it (credentials, user, sandboxing), the reason is only in
# the unit's state and journal, so both are quoted.
server_exit_reason() {
  local log_tail
  log_tail="server.log: $(server_last_words | tr '\n' ' ')"
  if [[ ${CFG[GLLM_MODE]} == aws ]]; then
    printf '%s %s; journal: %s; %s\n' "$UNIT_NAME" \
      "$(systemctl show -p Result -p ExecMainCode -p ExecMainStatus -p NRestarts "$UNIT_NAME" 2>/dev/null | tr '\n' ' ')" \
      "$(journalctl -u "$UNIT_NAME" -n 4 -o cat --no-pager 2>/dev/null | tr '\n' ' ')" "$log_tail"
  else
    printf '%s\n' "$log_tail"
  fi
}

# The server's last error lines since this boot started it, else its last
# lines. Only since the start: the log is appended across boots. And errors
# first: by the time the boot sees the exit, systemd may have restarted the
# server, whose start-up lines would otherwise bury the first run's error.
server_last_words() {
  local since
  since=$(tail -c "+$((${SERVER_LOG_START:-0} + 1))" -- "$SERVER_LOG" 2>/dev/null) || true
  local errors
  errors=$(grep -iE 'error|fail|exiting|abort|invalid|terminate' <<<"$since" | tail -n 3) || true
  if [[ -n $errors ]]; then printf '%s\n' "$errors"; else tail -n 3 <<<"$since"; fi
}

wait_healthy() {
  local timeout=${CFG[GLLM_HEALTH_TIMEOUT_SECONDS]} start code="none" left what="within ${CFG[GLLM_HEALTH_TIMEOUT_SECONDS]} s"
  left=$(seconds_left)
  if ((left < timeout)); then
    timeout=$left what="within the boot deadline of ${CFG[GLLM_BOOT_DEADLINE_SECONDS]} s (${left} s left for it)"
  fi
  start=$(now_ms)
  while :; do
    code=$(curl --silent --output /dev/null --max-time 2 --write-out '%{http_code}' "http://127.0.0.1:${CFG[GLLM_PORT]}/health" || true)
    if [[ $code == 200 ]]; then
      log "GET /health answered 200 after $(seconds_since "$start") s"
      return
    fi
    if ! server_alive; then
      fail "llama-server exited before it was healthy: $(server_exit_reason)"
    fi
    if (($(now_ms) - start > timeout * 1000)); then
      fail "llama-server not healthy ${what} (last /health status ${code})"
    fi
    sleep 0.5
  done
}

# ----------------------------------------------------------------- signal ---

imds() {
  retry "instance metadata read of $1" imds_once "$1"
}

imds_once() {
  local token
  token=$(curl --silent --fail --max-time 5 -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') &&
    curl --silent --fail --max-time 5 -H "X-aws-ec2-metadata-token: ${token}" "http://169.254.169.254/latest/meta-data/$1"
}

# Tells the Auto Scaling group's creation policy how this instance did. A
# failed signal is logged, not fatal: on a re-run, and on every instance
# launched after the stack's creation, the stack no longer waits for signals
# and refuses them (a ValidationError), which must not take a healthy server
# down, nor be retried.
signal_cloudformation() {
  local status=$1 reason=$2 instance_id=""
  RESULT_SIGNAL="$status failed"
  if [[ ! -x /opt/aws/bin/cfn-signal ]]; then
    instance_id=$(imds instance-id 2>/dev/null) || {
      log "WARNING: could not signal ${status}: no instance id from the metadata service"
      return 0
    }
  fi
  local rc=0
  retry "signal ${status}" signal_once "$status" "$reason" "$instance_id" || rc=$?
  if ((rc == 0)); then
    log "signalled ${status} to ${CFG[GLLM_STACK_NAME]}/${CFG[GLLM_SIGNAL_RESOURCE]}"
    RESULT_SIGNAL="$status sent"
  elif ((rc == NO_RETRY)); then
    log "the stack takes no signal now (it is not being created); ${status} not signalled"
    RESULT_SIGNAL="$status refused"
  else
    log "WARNING: could not signal ${status} to ${CFG[GLLM_STACK_NAME]}/${CFG[GLLM_SIGNAL_RESOURCE]}"
  fi
  return 0
}

# One signal, with cfn-signal where installed (it needs no IAM permission),
# else the API as the instance. A ValidationError is final (NO_RETRY).
signal_once() {
  local status=$1 reason=$2 instance_id=$3 out code=0
  [[ $status == SUCCESS ]] || code=1
  if [[ -x /opt/aws/bin/cfn-signal ]]; then
    out=$(within_deadline /opt/aws/bin/cfn-signal -e "$code" --reason "${reason:0:250}" --stack "${CFG[GLLM_STACK_NAME]}" \
      --resource "${CFG[GLLM_SIGNAL_RESOURCE]}" --region "${CFG[GLLM_REGION]}" 2>&1) && return 0
  else
    out=$(aws_cli cloudformation signal-resource --stack-name "${CFG[GLLM_STACK_NAME]}" \
      --logical-resource-id "${CFG[GLLM_SIGNAL_RESOURCE]}" --unique-id "$instance_id" \
      --status "$status" --region "${CFG[GLLM_REGION]}" 2>&1) && return 0
  fi
  printf '%s\n' "$out" >>"$LOG_FILE"
  [[ $out == *ValidationError* ]] && return "$NO_RETRY"
  return 1
}

# The group holds each launching instance (Pending:Wait, or Warmed:Pending:Wait
# in a warm pool) until the boot completes the launch lifecycle action, so an
# instance refresh counts an instance only once it serves, and a failed boot is
# abandoned (terminated) at once. GLLM_LIFECYCLE_HOOK lists the hooks to
# complete: the group's own first, then hooks of earlier kit versions, which
# hold an instance only while an upgrade's update has not yet deleted them.
# Local mode has no hook: the key is empty.
complete_lifecycle_action() {
  local status=$1 result=CONTINUE instance_id hook hooks first=1
  [[ -n ${CFG[GLLM_LIFECYCLE_HOOK]} ]] || return 0
  [[ $status == SUCCESS ]] || result=ABANDON
  IFS=, read -r -a hooks <<<"${CFG[GLLM_LIFECYCLE_HOOK]}"
  if ! instance_id=$(imds instance-id 2>/dev/null); then
    log "WARNING: could not complete lifecycle action ${hooks[0]} with ${result}: no instance id from the metadata service"
    RESULT_HOOKS+=("${hooks[0]} ${result} failed $(now_ms)")
    return 0
  fi
  local rc outcome
  for hook in "${hooks[@]}"; do
    # An empty name (a list that failed the configuration's check) names no hook.
    [[ -n $hook ]] || continue
    rc=0
    retry "complete-lifecycle-action ${hook} ${result}" complete_lifecycle_action_once "$hook" "$instance_id" "$result" || rc=$?
    outcome=failed
    ((rc != 0)) || outcome=completed
    ((rc != NO_RETRY)) || outcome=refused
    RESULT_HOOKS+=("${hook} ${result} ${outcome} $(now_ms)")
    if ((rc == 0)); then
      log "lifecycle action ${hook} completed with ${result}"
    elif ((first)); then
      # Outside a pending launch (a reboot of a serving instance) there is no action to complete.
      log "WARNING: could not complete lifecycle action ${hook} with ${result}"
    else
      log "lifecycle hook ${hook} of an earlier kit version holds no action for this instance"
    fi
    first=0
  done
  return 0
}

# One try. AWS's refusal (a ValidationError: no pending launch, as after a
# reboot of a serving instance, or no such hook) is final: logged, not retried.
complete_lifecycle_action_once() {
  local hook=$1 instance_id=$2 result=$3 err
  if err=$(aws_cli autoscaling complete-lifecycle-action --lifecycle-hook-name "$hook" \
    --auto-scaling-group-name "${CFG[GLLM_AUTOSCALING_GROUP]}" --instance-id "$instance_id" \
    --lifecycle-action-result "$result" --region "${CFG[GLLM_REGION]}" 2>&1); then
    return 0
  fi
  printf '%s\n' "$err" >>"$LOG_FILE"
  [[ $err == *ValidationError* ]] && return "$NO_RETRY"
  return 1
}

# A failed boot counts itself directly: it may end before the CloudWatch agent
# ships a single log line. The update's instance refresh watches the alarm on
# this metric, so a boot that fails during an update rolls the update back.
count_boot_failure() {
  local metric=${CFG[GLLM_BOOT_FAILURE_METRIC]}
  [[ -n $metric ]] || return 0
  if retry "put-metric-data ${metric}" aws_cli cloudwatch put-metric-data --namespace "${CFG[GLLM_METRIC_NAMESPACE]}" --metric-name "$metric" \
    --dimensions "AutoScalingGroupName=${CFG[GLLM_AUTOSCALING_GROUP]}" --value 1 --unit Count \
    --region "${CFG[GLLM_REGION]}" >>"$LOG_FILE" 2>&1; then
    log "counted the failure in ${CFG[GLLM_METRIC_NAMESPACE]}/${metric}"
    RESULT_METRIC=counted
    return 0
  fi
  log "WARNING: could not publish ${CFG[GLLM_METRIC_NAMESPACE]}/${metric}"
  RESULT_METRIC=failed
  return 0
}

# The report phase: reports $1 (SUCCESS or FAILURE) with reason $2.
report_phase() {
  phase_begin report
  report_to_aws "$1" "$2"
  phase_end ok
}

report_to_aws() {
  # Reporting may outlast the boot deadline by the grace the stack leaves for it.
  RETRY_UNTIL_MS=$(($(now_ms) + REPORT_GRACE_SECONDS * 1000))
  [[ $1 == SUCCESS ]] || count_boot_failure
  # The lifecycle action first: it is what lets a new instance serve.
  complete_lifecycle_action "$1"
  signal_cloudformation "$1" "$2"
}

# Writes SSM parameter $1's value to file $2 (through a temporary name), with retries.
ssm_to_file() {
  local name=$1 dest=$2
  retry "read of SSM parameter ${name}" ssm_read "$name" "$dest.tmp" && mv -f -- "$dest.tmp" "$dest" && return 0
  rm -f -- "$dest.tmp"
  return 1
}

# One read of SSM parameter $1 (decrypted, if a SecureString) into file $2,
# created readable by its owner only; --output text writes just the value.
# A parameter that does not exist is a final answer (NO_RETRY); access
# denied is retried, as a new instance role can take seconds to apply.
ssm_read() {
  local err
  if err=$(
    umask 077
    aws_cli ssm get-parameter --name "$1" --with-decryption --region "${CFG[GLLM_REGION]}" \
      --query Parameter.Value --output text 2>&1 >"$2"
  ); then
    return 0
  fi
  printf '%s\n' "$err" >>"$LOG_FILE"
  [[ $err == *ParameterNotFound* ]] && return "$NO_RETRY"
  return 1
}

# Starts the CloudWatch agent: the stack's configuration (boot and server
# logs, llama-server's /metrics) from SSM, or else one that ships the two logs.
# Optional: the boot never depends on it, and the agent picks up the boot log
# from its first line whenever it starts.
configure_log_shipping() {
  local ctl=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
  [[ -x $ctl ]] || { log "amazon-cloudwatch-agent not installed; logs stay on the instance"; return 0; }
  local conf=/etc/graviton-llm/cloudwatch-agent.json prom=/etc/graviton-llm/prometheus.yaml
  if [[ -n ${CFG[GLLM_AGENT_CONFIG_PARAMETER]} ]]; then
    ssm_to_file "${CFG[GLLM_AGENT_CONFIG_PARAMETER]}" "$conf" || { log "WARNING: could not read ${CFG[GLLM_AGENT_CONFIG_PARAMETER]}; no log shipping"; return 0; }
    if [[ -n ${CFG[GLLM_PROMETHEUS_CONFIG_PARAMETER]} ]]; then
      ssm_to_file "${CFG[GLLM_PROMETHEUS_CONFIG_PARAMETER]}" "$prom" || log "WARNING: could not read ${CFG[GLLM_PROMETHEUS_CONFIG_PARAMETER]}; no metrics scraping"
    fi
  else
    cat >"$conf" <<EOF
{"logs":{"logs_collected":{"files":{"collect_list":[
{"file_path":"${LOG_FILE}","log_group_name":"${CFG[GLLM_BOOT_LOG_GROUP]}","log_stream_name":"{instance_id}"},
{"file_path":"${SERVER_LOG}","log_group_name":"${CFG[GLLM_SERVER_LOG_GROUP]}","log_stream_name":"{instance_id}"}
]}}}}
EOF
  fi
  "$ctl" -a fetch-config -m ec2 -s -c "file:${conf}" >>"$LOG_FILE" 2>&1 ||
    log "WARNING: amazon-cloudwatch-agent did not start; logs stay on the instance"
}

# ------------------------------------------------------------------- main ---

main() {
  (($# == 1)) || {
    echo "usage: ${0##*/} ENV_FILE" >&2
    exit 2
  }
  exec 3>&1
  trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR
  trap on_exit EXIT
  local started
  started=$(now_ms)
  BOOT_STARTED_MS=$started
  RESULT_STARTED_MS=$started

  phase_begin config
  parse_env "$1"
  BOOT_STARTED_MS=$(deadline_origin_ms)
  RESULT_DEADLINE_MS=$((BOOT_STARTED_MS + 10#${CFG[GLLM_BOOT_DEADLINE_SECONDS]} * 1000))
  # One retry inside the CLI for a throttled or failed request; the boot's own retry does the rest.
  export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=2
  set_layout
  mkdir -p "$LOG_DIR" "$STATE_DIR"
  # One boot at a time per machine (or work dir): a re-run waits its turn.
  exec 9>"$STATE_DIR/boot.lock"
  flock 9
  # The previous boot's result goes: until this one ends, there is none.
  rm -f -- "$(boot_result_file)"
  open_log "$LOG_DIR/boot.log"
  log "boot (${CFG[GLLM_MODE]} mode) with ${1}: ${CFG[GLLM_INSTANCE_TYPE]}, llama.cpp ${CFG[GLLM_LLAMA_CPP_REF]}, model ${CFG[GLLM_MODEL_FILE]}; deadline in $(seconds_left) s"
  phase_end ok

  step deps install_dependencies
  [[ ${CFG[GLLM_MODE]} == aws ]] && step agent configure_log_shipping
  step cpu check_cpu
  step build ensure_build
  step model ensure_model
  step api-key install_api_key
  step preflight check_server_args
  step serve start_server
  step health wait_healthy
  CURRENT_STEP=report
  [[ ${CFG[GLLM_MODE]} == aws ]] && report_phase SUCCESS "llama-server healthy"
  log "boot succeeded in $(seconds_since "$started") s; serving ${CFG[GLLM_MODEL_FILE]} on port ${CFG[GLLM_PORT]}"
  printf 'GLLM_BOOT_RESULT=SUCCESS\n' >&3
}

# `return` succeeds only in a sourced file: then just the functions are loaded.
# The exit sits inside the if, which bash reads whole before running it, so a
# boot never reads further from a script file replaced while it ran.
if ! (return 0 2>/dev/null); then
  main "$@"
  exit 0
fi
