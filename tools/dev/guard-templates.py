#!/usr/bin/env python3
"""cfn-guard with the AWS Control Tower proactive controls on CloudFormation templates.

Usage: python3 tools/dev/guard-templates.py [--acknowledged FILE] [--require-used] TEMPLATE...

Runs the cfn-guard binary and the Control Tower rules that the npm package
@cdklabs/cdk-validator-cfnguard ships (a devDependency: `npm ci` installs both;
nothing is downloaded here). Every finding is one rule failing on one resource
of one template. A finding is acknowledged when an entry of the acknowledgement
table (default: tools/dev/guard-acknowledged.json) names its rule and a pattern
matching the resource's CDK construct path (its aws:cdk:path metadata, or its
logical ID where it has none: `cdk synth` records paths, a bare App does not;
patterns are shell-style, and `*` also crosses `/`); the entry's reason is
printed with it. Any other finding is printed as
`TEMPLATE: RULE (CONTROL) on LOGICAL-ID (PATH): MESSAGE` and fails the run. With --require-used an entry that matched no finding also
fails the run, so the table cannot keep reasons for what is gone.

Exit status: 0 no unacknowledged finding; 1 findings (or unused entries);
2 usage, a bad table, or cfn-guard itself failing.
"""
import fnmatch
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, "node_modules", "@cdklabs", "cdk-validator-cfnguard")
RULES = os.path.join(PACKAGE, "rules", "control-tower", "cfn-guard")
DEFAULT_TABLE = os.path.join(ROOT, "tools", "dev", "guard-acknowledged.json")
# cfn-guard's exit codes: 0 every rule passed or was skipped, 19 some rule failed.
GUARD_OK = (0, 19)
# Patterns that would acknowledge a rule on every resource: not a scope.
BLANKET = re.compile(r"^[*?/]*$")


class UsageError(Exception):
    pass


def guard_binary():
    """The binary the package ships for this machine, under the names the package itself uses."""
    system = {"Linux": "ubuntu", "Darwin": "macos"}.get(platform.system())
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine().lower())
    if not system or not arch:
        raise UsageError(f"cfn-guard: the npm package ships no binary for {platform.system()} {platform.machine()}; "
                         "it has Linux and macOS, x86_64 and aarch64")
    binary = os.path.join(PACKAGE, "bin", system, arch, "cfn-guard")
    if not os.access(binary, os.X_OK):
        raise UsageError(f"cfn-guard: {binary} is missing or not executable: run `npm ci` "
                         "(@cdklabs/cdk-validator-cfnguard is a devDependency)")
    return binary


def load_table(path):
    """The acknowledgement table, checked entry by entry: rule, resource patterns and a reason."""
    try:
        with open(path, encoding="utf8") as f:
            table = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise UsageError(f"{path}: cannot read the acknowledgement table: {e}")
    if not isinstance(table, list):
        raise UsageError(f"{path}: expected a JSON list of {{rule, resources, reason}} entries, got {type(table).__name__}")
    for i, entry in enumerate(table):
        where = f"{path}: [{i}]"
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: expected an object with rule, resources and reason, got {json.dumps(entry)}")
        unknown = sorted(set(entry) - {"rule", "resources", "reason"})
        if unknown:
            raise UsageError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: rule, resources, reason")
        rule = entry.get("rule")
        if not isinstance(rule, str) or not re.fullmatch(r"[a-z0-9_]+", rule):
            raise UsageError(f"{where}.rule: {json.dumps(rule)} is not a cfn-guard rule name "
                             "(lower case, digits and underscores, e.g. s3_bucket_logging_enabled_check)")
        resources = entry.get("resources")
        if not isinstance(resources, list) or not resources or not all(isinstance(p, str) and p for p in resources):
            raise UsageError(f"{where}.resources: {json.dumps(resources)}: expected a non-empty list of patterns "
                             "matched against each resource's CDK path (e.g. \"*/Canary/Logs/Resource\")")
        for j, pattern in enumerate(resources):
            if BLANKET.match(pattern):
                raise UsageError(f"{where}.resources[{j}]: {json.dumps(pattern)} matches every resource; "
                                 "name the construct path the reason is about")
        reason = entry.get("reason")
        if not isinstance(reason, str) or len(reason.split()) < 5:
            raise UsageError(f"{where}.reason: {json.dumps(reason)}: expected a sentence saying why this finding "
                             "is accepted (at least five words)")
    return table


def run_guard(binary, templates):
    command = [binary, "validate", "--rules", RULES, *[a for t in templates for a in ("--data", t)],
               "--output-format", "json", "--structured", "--show-summary", "none"]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode not in GUARD_OK:
        raise UsageError(f"cfn-guard failed (exit {run.returncode}):\n{run.stderr or run.stdout}")
    try:
        return json.loads(run.stdout)
    except json.JSONDecodeError as e:
        raise UsageError(f"cfn-guard printed no JSON ({e}):\n{run.stdout[:2000]}{run.stderr[:2000]}")


def resource_paths(node, into):
    """Every resource a failing rule's checks reached, from the /Resources/ID/... paths cfn-guard reports."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "path" and isinstance(value, str):
                m = re.match(r"^/Resources/([^/]+)", value)
                if m:
                    into.add(m.group(1))
            else:
                resource_paths(value, into)
    elif isinstance(node, list):
        for value in node:
            resource_paths(value, into)
    return into


def control_message(node):
    """The Control Tower message ('[CT.X.PR.N]: what it requires') the rule carries, first line only."""
    if isinstance(node, dict):
        message = (node.get("messages") or {}).get("custom_message") if isinstance(node.get("messages"), dict) else None
        if message and "[CT." in message:
            return next(line.strip() for line in message.splitlines() if line.strip().startswith("[CT."))
        for value in node.values():
            found = control_message(value)
            if found:
                return found
    elif isinstance(node, list):
        for value in node:
            found = control_message(value)
            if found:
                return found
    return None


def findings_of(results, templates):
    by_real = {os.path.realpath(t): t for t in templates}
    findings = []
    for result in results:
        template = by_real.get(os.path.realpath(result["name"]), result["name"])
        with open(template, encoding="utf8") as f:
            resources = json.load(f).get("Resources", {})
        for failed in result.get("not_compliant") or []:
            rule = failed.get("Rule", failed)
            message = control_message(rule) or "(the rule carries no Control Tower message)"
            m = re.match(r"^\[(CT\.[A-Z0-9.]+)\]:\s*(.*)$", message)
            control, text = (m.group(1), m.group(2)) if m else ("-", message)
            # A rule that failed without reaching a resource is a finding on the template itself.
            for logical_id in sorted(resource_paths(rule, set())) or ["-"]:
                cdk_path = (resources.get(logical_id, {}).get("Metadata") or {}).get("aws:cdk:path")
                findings.append({"template": template, "rule": rule["name"], "control": control,
                                 "resource": logical_id, "path": cdk_path or logical_id, "message": text})
    return findings


def acknowledging(entry, finding):
    return entry["rule"] == finding["rule"] and any(fnmatch.fnmatchcase(finding["path"], p) for p in entry["resources"])


def main(argv):
    args = list(argv)
    table_path, require_used = DEFAULT_TABLE, False
    if "--require-used" in args:
        args.remove("--require-used")
        require_used = True
    if "--acknowledged" in args:
        i = args.index("--acknowledged")
        if i + 1 >= len(args):
            print("--acknowledged needs a file", file=sys.stderr)
            return 2
        table_path = args[i + 1]
        del args[i:i + 2]
    templates = args
    if not templates or any(t.startswith("--") for t in templates):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        table = load_table(table_path)
        findings = findings_of(run_guard(guard_binary(), templates), templates)
    except UsageError as e:
        print(e, file=sys.stderr)
        return 2

    used = [0] * len(table)
    open_findings = []
    for finding in findings:
        entry = next((i for i, e in enumerate(table) if acknowledging(e, finding)), None)
        if entry is None:
            open_findings.append(finding)
        else:
            used[entry] += 1
    rel = os.path.relpath(table_path, ROOT)
    for i, entry in enumerate(table):
        if used[i]:
            print(f"acknowledged ({rel} [{i}]): {entry['rule']} on {used[i]} resource(s) matching "
                  f"{', '.join(entry['resources'])}: {entry['reason']}")
    unused = [i for i, n in enumerate(used) if not n]
    if require_used:
        for i in unused:
            print(f"unused ({rel} [{i}]): {table[i]['rule']} on {', '.join(table[i]['resources'])}: "
                  "it matches no finding any more; remove it")
    elif unused:
        # A run over some of the templates need not meet every entry.
        print(f"{len(unused)} entr{'y' if len(unused) == 1 else 'ies'} of {rel} matched nothing in these templates")
    for f in open_findings:
        print(f"{f['template']}: {f['rule']} ({f['control']}) on {f['resource']} ({f['path']}): {f['message']}")
    print(f"cfn-guard: {len(templates)} template(s), {len(findings)} finding(s), "
          f"{len(findings) - len(open_findings)} acknowledged, {len(open_findings)} not")
    return 1 if open_findings or (require_used and unused) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
