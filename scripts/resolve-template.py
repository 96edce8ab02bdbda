#!/usr/bin/env python3
"""Prints a CloudFormation template (JSON, such as sam-translate.py's
output) as one stack of it would be: parameters substituted from their
defaults and a samconfig.toml environment's parameter_overrides, conditions
evaluated, Fn::If chosen, AWS::NoValue and resources or outputs whose
condition is false removed. Other intrinsic functions stay as they are, so
that policy checks can still see what refers to what.

Usage: resolve-template.py TEMPLATE.json [CONFIG_ENV] [SAMCONFIG]
CONFIG_ENV "default-parameters" takes the template's defaults alone."""
import json
import shlex
import sys
import tomllib

NO_VALUE = object()


def overrides(samconfig, env):
    with open(samconfig, "rb") as f:
        cfg = tomllib.load(f)
    text = cfg.get(env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    if isinstance(text, list):
        text = " ".join(text)
    out = {}
    for word in shlex.split(text):
        key, sep, value = word.partition("=")
        if not sep:
            raise SystemExit(f"{samconfig}: [{env}] parameter_overrides: {word!r} is not KEY=VALUE")
        out[key] = value
    return out


class Resolver:
    def __init__(self, template, params):
        self.t = template
        self.params = {}
        for name, p in template.get("Parameters", {}).items():
            if name in params:
                self.params[name] = params[name]
            elif "Default" in p:
                self.params[name] = p["Default"]
        unknown = set(params) - set(template.get("Parameters", {}))
        if unknown:
            raise SystemExit(f"parameters the template does not declare: {', '.join(sorted(unknown))}")
        for name, p in template.get("Parameters", {}).items():
            # CloudFormation hands a Number parameter to a property as a
            # number; so do we, so that a check comparing it works.
            if p.get("Type") == "Number" and name in self.params:
                text = str(self.params[name])
                try:
                    self.params[name] = int(text)
                except ValueError:
                    self.params[name] = float(text)
        missing = set(template.get("Parameters", {})) - set(self.params)
        if missing:
            raise SystemExit(f"parameters without a value: {', '.join(sorted(missing))}")
        self.conditions = {}

    def condition(self, name):
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.t["Conditions"][name]))
        return self.conditions[name]

    def value(self, v):
        """Evaluates a condition expression or a parameter reference."""
        if isinstance(v, dict) and len(v) == 1:
            (k, arg), = v.items()
            if k == "Fn::Equals":
                a, b = (self.value(x) for x in arg)
                return str(a) == str(b)
            if k == "Fn::Not":
                return not self.value(arg[0])
            if k == "Fn::And":
                return all(self.value(x) for x in arg)
            if k == "Fn::Or":
                return any(self.value(x) for x in arg)
            if k == "Condition":
                return self.condition(arg)
            if k == "Ref" and arg in self.params:
                return self.params[arg]
        return v

    def resolve(self, v):
        if isinstance(v, list):
            out = [self.resolve(x) for x in v]
            return [x for x in out if x is not NO_VALUE]
        if isinstance(v, dict):
            if len(v) == 1:
                (k, arg), = v.items()
                if k == "Ref" and arg == "AWS::NoValue":
                    return NO_VALUE
                if k == "Ref" and arg in self.params:
                    return self.params[arg]
                if k == "Fn::If":
                    return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            out = {k: self.resolve(x) for k, x in v.items()}
            return {k: x for k, x in out.items() if x is not NO_VALUE}
        return v

    def stack(self):
        out = {k: v for k, v in self.t.items() if k not in ("Parameters", "Conditions", "Resources", "Outputs")}
        for section in ("Resources", "Outputs"):
            kept = {}
            for name, body in self.t.get(section, {}).items():
                if "Condition" in body and not self.condition(body["Condition"]):
                    continue
                body = {k: v for k, v in body.items() if k != "Condition"}
                kept[name] = self.resolve(body)
            out[section] = kept
        return out


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        template = json.load(f)
    env = sys.argv[2] if len(sys.argv) > 2 else "default-parameters"
    samconfig = sys.argv[3] if len(sys.argv) > 3 else "samconfig.toml"
    params = {} if env == "default-parameters" else overrides(samconfig, env)
    json.dump(Resolver(template, params).stack(), sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
