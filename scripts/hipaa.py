#!/usr/bin/env python3
"""make hipaa: AWS CloudFormation Guard (the pinned cfn-guard from
package-lock.json) with the HIPAA Security rules in guard/hipaa-security,
offline, over the SAM translation of each stack as deployed: template.yaml
with its defaults and with samconfig's prod parameters, and the Managed
Instances template with managed's. A failure not accepted in
guard/hipaa-exceptions.yaml fails it, and so does an acceptance that no
longer fails.

Usage: hipaa.py [--template FILE --config-env ENV]   (one stack only)"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "guard", "hipaa-security")
EXCEPTIONS = os.path.join(ROOT, "guard", "hipaa-exceptions.yaml")
STACKS = [
    ("template.yaml", "default-parameters"),
    ("template.yaml", "prod"),
    ("template.managed-instances.yaml", "managed"),
]


def cfn_guard():
    system = {"Linux": "ubuntu", "Darwin": "macos"}.get(platform.system())
    machine = {"x86_64": "x86_64", "AMD64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}.get(platform.machine())
    path = os.path.join(ROOT, "node_modules", "@cdklabs", "cdk-validator-cfnguard", "bin", str(system), str(machine), "cfn-guard")
    if not os.access(path, os.X_OK):
        raise SystemExit(f"hipaa: no cfn-guard for {platform.system()}/{platform.machine()} at {path}: run npm ci (make deps)")
    return path


def resolved(template, env, region, workdir):
    """The stack's resolved translation, as a file path."""
    script = os.path.join(ROOT, "scripts")
    translated = subprocess.run([sys.executable, os.path.join(script, "sam-translate.py"), template, region],
                                check=True, capture_output=True, text=True).stdout
    tfile = os.path.join(workdir, f"{os.path.basename(template)}.{env}.translated.json")
    with open(tfile, "w") as f:
        f.write(translated)
    out = subprocess.run([sys.executable, os.path.join(script, "resolve-template.py"), tfile, env, os.path.join(ROOT, "samconfig.toml")],
                         check=True, capture_output=True, text=True).stdout
    rfile = os.path.join(workdir, f"{os.path.basename(template)}.{env}.json")
    with open(rfile, "w") as f:
        f.write(out)
    return rfile


def evaluate(guard, data):
    """Rule name → PASS, FAIL or SKIP."""
    run = subprocess.run([guard, "validate", "--rules", RULES, "--data", data, "--structured", "--output-format", "json", "--show-summary", "none"],
                         capture_output=True, text=True)
    try:
        report = json.loads(run.stdout)[0]
    except (ValueError, IndexError):
        raise SystemExit(f"hipaa: cfn-guard failed (exit {run.returncode}):\n{run.stderr}{run.stdout}")
    status = {}
    for key, word in (("compliant", "PASS"), ("not_applicable", "SKIP"), ("not_compliant", "FAIL")):
        for entry in report[key]:
            name = entry["Rule"]["name"] if isinstance(entry, dict) else entry
            status[name] = word
    return status, report


def messages(report, rule):
    out = set()

    def walk(v):
        if isinstance(v, dict):
            m = v.get("messages")
            if isinstance(m, dict) and m.get("custom_message"):
                out.add(m["custom_message"].strip())
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    for entry in report["not_compliant"]:
        if entry["Rule"]["name"] == rule:
            walk(entry)
    return sorted(out)


def check(guard, exceptions, template, env, region, workdir):
    """Prints one stack's results; returns its problems."""
    data = resolved(os.path.join(ROOT, template) if not os.path.isabs(template) else template, env, region, workdir)
    status, report = evaluate(guard, data)
    problems = []
    print(f"== {template} with {env} parameters")
    for rule in sorted(status):
        word = status[rule]
        accepted = env in exceptions.get(rule, {}).get("stacks", [])
        if word == "FAIL" and accepted:
            print(f"ACCEPTED  {rule}: {' '.join(exceptions[rule]['reason'].split())[:110]}...")
        elif word == "FAIL":
            print(f"FAIL      {rule}: {'; '.join(messages(report, rule))}")
            problems.append(f"{template} ({env}): {rule} fails")
        else:
            print(f"{word:9} {rule}")
            if accepted:
                problems.append(f"{template} ({env}): {rule} is accepted in {os.path.relpath(EXCEPTIONS, ROOT)} but passes: remove it there")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--template")
    ap.add_argument("--config-env")
    ap.add_argument("--region", default="us-east-1")
    args = ap.parse_args()
    stacks = STACKS
    if args.template or args.config_env:
        if not (args.template and args.config_env):
            ap.error("--template and --config-env go together")
        stacks = [(args.template, args.config_env)]
    with open(EXCEPTIONS) as f:
        exceptions = yaml.safe_load(f) or {}
    for rule, e in exceptions.items():
        if not e.get("reason", "").strip() or not e.get("stacks"):
            raise SystemExit(f"hipaa: {EXCEPTIONS}: {rule} needs stacks and a reason")
    guard = cfn_guard()
    version = subprocess.run([guard, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version}, rules {os.path.relpath(RULES, ROOT)} ({len(os.listdir(RULES))} files)")
    problems = []
    with tempfile.TemporaryDirectory() as workdir:
        for template, env in stacks:
            problems += check(guard, exceptions, template, env, args.region, workdir)
    for p in problems:
        print(f"hipaa: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
