"""Resolve CloudFormation intrinsics the way CloudFormation would, for given inputs.

Enough of the language for this template: Ref, Fn::Sub, Fn::Join, Fn::Select,
Fn::Split, Fn::FindInMap, Fn::GetAtt, Fn::If, Fn::Equals, Fn::Not. Parameters take
their defaults unless overridden; attributes of resources come from ``attributes``.

Usage::

    stack = Stack(template, params={"LambdaCodeKey": "k.zip"}, attributes={"Mrap.Alias": "x.mrap"})
    stack.resolve(template["Resources"]["EdgeFunction"]["Properties"]["FunctionName"])
"""

from __future__ import annotations

import re
from typing import Any

NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class Stack:
    def __init__(
        self,
        template: dict[str, Any],
        params: dict[str, str] | None = None,
        attributes: dict[str, str] | None = None,
        pseudo: dict[str, str] | None = None,
        mappings: dict[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.params = {name: p.get("Default") for name, p in template.get("Parameters", {}).items()}
        self.params.update(params or {})
        self.attributes = attributes or {}
        self.pseudo = {
            "AWS::Region": "us-east-1",
            "AWS::Partition": "aws",
            "AWS::AccountId": "123456789012",
            "AWS::StackName": "mrap-edge",
            "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/mrap-edge/"
            "8c7f2a10-cb3d-11ef-9a3e-0a1b2c3d4e5f",
            "AWS::NoValue": NO_VALUE,
        }
        self.pseudo.update(pseudo or {})
        self.mappings = mappings if mappings is not None else template.get("Mappings", {})

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            value = self.params[name]
            return f"<{name}>" if value is None else value  # a required parameter nobody gave
        return self.attributes.get(name, f"<{name}>")  # a resource's Ref

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.resolve(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1:
            return {k: v for k, v in ((k, self.resolve(v)) for k, v in node.items()) if v is not NO_VALUE}
        [(fn, arg)] = node.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::Sub":
            text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            values = {k: self.resolve(v) for k, v in extra.items()}

            def one(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in values:
                    return str(values[name])
                if "." in name and name not in self.params:
                    return str(self.attributes.get(name, f"<{name}>"))
                return str(self.ref(name))

            return _SUB_VAR.sub(one, text)
        if fn == "Fn::Join":
            return arg[0].join(str(v) for v in self.resolve(arg[1]))
        if fn == "Fn::Select":
            return self.resolve(arg[1])[int(self.resolve(arg[0]))]
        if fn == "Fn::Split":
            return str(self.resolve(arg[1])).split(arg[0])
        if fn == "Fn::FindInMap":
            top, second, third = (self.resolve(a) for a in arg)
            return self.mappings[top][second][third]
        if fn == "Fn::GetAtt":
            return self.attributes.get(".".join(arg), f"<{'.'.join(arg)}>")
        if fn == "Fn::If":
            return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
        if fn == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if fn == "Fn::Not":
            return not self.resolve(arg[0])
        if fn == "Condition":
            return self.condition(arg)
        return {fn: self.resolve(arg)}
