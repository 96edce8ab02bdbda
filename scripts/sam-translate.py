#!/usr/bin/env python3
"""Prints the CloudFormation a SAM template becomes (JSON), translated
offline by aws-sam-translator as cfn-lint runs it. Usage: sam-translate.py
TEMPLATE [REGION]. Exit status 1 when SAM refuses the template."""
import json
import sys

from cfnlint.decode import decode
from cfnlint.template.transforms._sam import Transform


def main():
    path = sys.argv[1]
    region = sys.argv[2] if len(sys.argv) > 2 else "us-east-1"
    template, errors = decode(path)
    if errors:
        for e in errors:
            print(f"{path}: {e}", file=sys.stderr)
        return 1
    t = Transform(path, template, region)
    problems = t.transform_template()
    if problems:
        for p in problems:
            print(f"{path}: {p.message}", file=sys.stderr)
        return 1
    json.dump(t.template(), sys.stdout, indent=1, sort_keys=True, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
