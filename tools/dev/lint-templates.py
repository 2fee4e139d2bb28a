#!/usr/bin/env python3
"""cfn-lint on CloudFormation templates, with one false positive of older cfn-lint set aside.

Usage: python3 tools/dev/lint-templates.py TEMPLATE...

cfn-lint releases before aws-cloudformation/cfn-lint#4656 (merged 2026-08-26)
reject CloudFormation's AutoScalingInstanceRefresh update policy, which the
fleet uses, with E3016 "Additional properties are not allowed
('AutoScalingInstanceRefresh' was unexpected)". Only that finding, with that
exact message at that exact path, is set aside (and said so); every other
finding, E3016 included, fails the run. With a cfn-lint that knows the policy
nothing is set aside and cfn-lint checks the policy itself. The templates
carry no cfn-lint ignore of their own for it.
"""
import json
import subprocess
import sys

KNOWN = {
    "rule": "E3016",
    "message": "Additional properties are not allowed ('AutoScalingInstanceRefresh' was unexpected)",
    "path_end": ["UpdatePolicy", "AutoScalingInstanceRefresh"],
}


def known_false_positive(finding):
    path = finding.get("Location", {}).get("Path") or []
    return (finding["Rule"]["Id"] == KNOWN["rule"]
            and finding["Message"] == KNOWN["message"]
            and path[-2:] == KNOWN["path_end"])


def main(templates):
    if not templates:
        print(__doc__, file=sys.stderr)
        return 2
    run = subprocess.run(["cfn-lint", "--format", "json", *templates], capture_output=True, text=True)
    try:
        findings = json.loads(run.stdout or "[]")
    except json.JSONDecodeError:
        sys.stdout.write(run.stdout)
        sys.stderr.write(run.stderr)
        return run.returncode or 1
    set_aside = [f for f in findings if known_false_positive(f)]
    real = [f for f in findings if not known_false_positive(f)]
    for f in set_aside:
        print(f"set aside (cfn-lint before #4656 does not know this update policy): {f['Filename']}: "
              f"{'/'.join(str(p) for p in f['Location']['Path'])}: {f['Rule']['Id']} {f['Message']}")
    for f in real:
        start = f["Location"]["Start"]
        print(f"{f['Filename']}:{start['LineNumber']}:{start['ColumnNumber']}: {f['Rule']['Id']} {f['Message']}"
              f" ({'/'.join(str(p) for p in f['Location'].get('Path') or [])})")
    if run.stderr.strip():
        sys.stderr.write(run.stderr)
    # A non-zero exit with nothing parsed is cfn-lint failing, not a finding.
    return 1 if real or (run.returncode != 0 and not findings) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
