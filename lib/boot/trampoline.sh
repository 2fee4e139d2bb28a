#!/bin/bash
# graviton-llm boot trampoline (values filled in by lib/boot/trampoline.ts): finds Node, fetches the boot
# program's bundle, checks its SHA-256, runs it; reports a failure itself when the program cannot run or
# writes no boot result; a builder then shuts down. Also the per-boot script (a reboot or warm-pool start runs it).
set -uo pipefail
BOOT_ENV=@BOOT_ENV@ BUNDLE=@BUNDLE@ RESULT=@RESULT@ LOG_DIR=@LOG_DIR@
# Read as data, never sourced: a value may hold & or ~ (a URL's query), which the shell would run or expand.
while IFS= read -r line || [ -n "$line" ]; do
  key=${line%%=*}; [[ $key =~ ^GLLM_[A-Z0-9_]+$ ]] && printf -v "$key" '%s' "${line#*=}"
done <"$BOOT_ENV"
started=$(date +%s)
say() { echo "graviton-llm boot: $*" >&2; }
builder() { [ "${GLLM_ROLE:-fleet}" = builder ]; }
# A builder's work ends with this script, whatever came of it; its InstanceInitiatedShutdownBehavior (terminate) makes the shutdown a
# termination (EC2 User Guide, "Change the instance initiated shutdown behavior",
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_ChangingInstanceInitiatedShutdownBehavior.html).
! builder || trap 'say "builder: exit $?; shutting down, which terminates this instance"; shutdown -h now' EXIT
# Waits before try N+1: growing and jittered, as the boot's retries (runtime/boot/core/retry.ts).
pause() { sleep $(((1 << $1) / 2 + RANDOM % ((1 << $1) / 2 + 1))); }
# One AWS CLI call (bounded, naming the region), retried; AWS's refusal (ValidationError) is final.
call() {
  local try out
  for try in 1 2 3 4 5 6; do
    out=$(timeout 60 aws --cli-connect-timeout 10 --cli-read-timeout 30 --region "$GLLM_REGION" "$@" 2>&1) && return 0
    say "aws $1 $2 failed: ${out//$'\n'/ }"
    [[ $out != *ValidationError* && $try -lt 6 ]] || return 1
    pause "$try"
  done
}
# A builder's FAILURE, PUT to its wait condition handle's presigned URL as CloudFormation documents it (JSON, no Content-Type:
# "Create wait conditions in a CloudFormation template", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-waitcondition.html).
# The reason loses what JSON would need escaped, cut as the program cuts it; curl's --retry takes again what may pass (timeouts,
# 408, 429, 5xx), not another 4xx (an expired URL).
signal_handle() {
  local url="" reason=${1//[[:cntrl:]\"\\]/ }
  read -r url 2>/dev/null <"${GLLM_BUILDER_SIGNAL_FILE:-}"
  [[ $url == http*://* ]] || { say "no handle URL in '${GLLM_BUILDER_SIGNAL_FILE:-}': the wait condition fails at its Timeout"; return; }
  curl -sSf -m 30 --retry 5 --retry-connrefused -X PUT -H 'Content-Type:' --data-binary \
    "{\"Status\":\"FAILURE\",\"Reason\":\"${reason:0:250}\",\"UniqueId\":\"$2\",\"Data\":\"\"}" "$url" ||
    say "the FAILURE signal to ${url%%\?*} failed: the wait condition fails at its Timeout"
}
# A failed boot, reported as the boot's report phase does. A builder signals its wait condition only: the stack waits on
# nothing else of it, its failure fails the deploy, and the fleet's BootFailure (an on-call alarm) is not its to count.
# A fleet instance counts the failure, abandons each launch hook and signals FAILURE to the stack.
fail() {
  say "$1; reporting the failure"
  local token id="" hook hooks
  token=$(curl -sf -m 5 -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token) &&
    id=$(curl -sf -m 5 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
  ! builder || { signal_handle "$1" "${id:-builder}"; exit 1; }
  [ -z "${GLLM_BOOT_FAILURE_METRIC:-}" ] || call cloudwatch put-metric-data --namespace "$GLLM_METRIC_NAMESPACE" \
    --metric-name "$GLLM_BOOT_FAILURE_METRIC" --dimensions "AutoScalingGroupName=$GLLM_AUTOSCALING_GROUP" --value 1 --unit Count
  [ -n "$id" ] || { say "no instance id from the metadata service: the launch hook abandons the instance at its timeout"; exit 1; }
  IFS=, read -r -a hooks <<<"${GLLM_LIFECYCLE_HOOK:-}"
  for hook in "${hooks[@]}"; do
    call autoscaling complete-lifecycle-action --auto-scaling-group-name "$GLLM_AUTOSCALING_GROUP" \
      --lifecycle-hook-name "$hook" --instance-id "$id" --lifecycle-action-result ABANDON
  done
  call cloudformation signal-resource --stack-name "$GLLM_STACK_NAME" --logical-resource-id "$GLLM_SIGNAL_RESOURCE" \
    --unique-id "$id" --status FAILURE
  exit 1
}
# Node 24, pinned: of AL2023's side-by-side nodejs20/22/24 it is supported longest (LTS to
# April 2028), and /usr/bin/node-24 stays that major whatever `alternatives` makes `node`.
# Elsewhere (other images; the box's Debian 12 nodejs 18) a node of major >= 18, the bundle's target.
NODE_MAJOR=24
find_node() {
  local n=/usr/bin/node-$NODE_MAJOR
  if [ ! -x "$n" ] && command -v dnf >/dev/null; then
    timeout 300 dnf install -y -q "nodejs$NODE_MAJOR" >>"$LOG_DIR/dnf-node.log" 2>&1 || say "dnf install nodejs$NODE_MAJOR failed"
  fi
  [ -x "$n" ] || n=$(command -v node) || return 1
  [ "$("$n" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 18 ] && echo "$n"
}
install -d -m 0755 "${BUNDLE%/*}" "$LOG_DIR"
node=$(find_node) || fail "no Node.js: neither /usr/bin/node-$NODE_MAJOR (dnf install nodejs$NODE_MAJOR) nor a node of major 18 or later on PATH"
bundle_ok() { echo "@BUNDLE_SHA256@  $BUNDLE" | sha256sum --check --strict --quiet 2>/dev/null; }
if ! bundle_ok; then
  # Each try bounded (connect 10 s, 30 s of silence, 120 s in all); about a minute of waits.
  for try in 1 2 3 4 5 6; do
    timeout 120 aws s3 cp --cli-connect-timeout 10 --cli-read-timeout 30 --only-show-errors --region "$GLLM_REGION" '@BUNDLE_URL@' "$BUNDLE" && break
    [ "$try" -lt 6 ] || fail "could not download the boot program after 6 tries"
    pause "$try"
  done
  # It runs as root on every instance: only if it is, byte for byte, the bundle synthesized.
  bundle_ok || { rm -f "$BUNDLE"; fail "$BUNDLE is not the boot program this stack was synthesized with; not running it"; }
fi
"$node" "$BUNDLE" "$BOOT_ENV"
status=$?
[ "$(stat -c %Y "$RESULT" 2>/dev/null || echo 0)" -ge "$started" ] ||
  fail "the boot program ($node $BUNDLE) exited with status $status without writing $RESULT"
exit "$status"
