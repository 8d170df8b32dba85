"""CloudFormation's intrinsic functions, resolved as CloudFormation would for given inputs.

The language this project's templates use: ``Ref`` (parameters with their defaults unless
overridden, pseudo parameters, resources), ``Fn::Sub`` (both forms, ``${!Literal}``),
``Fn::Join``, ``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``, ``Fn::GetAtt``, ``Fn::If``
and the conditions ``Fn::Equals`` / ``Fn::Not`` / ``Fn::And`` / ``Fn::Or`` / ``Condition``;
``AWS::NoValue`` removes the property or list item. Anything else raises ``TemplateError``
(fail closed: never a guessed value). Intrinsic functions reference:
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html

Usage::

    r = Resolver(template, params={"LambdaCodeKey": "k.zip"}, attributes={"Mrap.Alias": "x.mrap"})
    r.resolve(template["Resources"]["EdgeFunction"]["Properties"]["FunctionName"])

A resource's ``Ref`` value is ``attributes[logical_id]``, its ``Fn::GetAtt`` value
``attributes["Logical.Attribute"]``; a subclass may compute them instead by overriding
``resource_ref`` and ``getatt`` (``local.names`` does, from the local stack's names).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


class TemplateError(ValueError):
    """The template uses something this model cannot resolve (it refuses rather than guess)."""


NO_VALUE = object()  # AWS::NoValue: the property or list item disappears

# The pseudo parameters' values when none are given.
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "mrap-edge",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/mrap-edge/"
    "51af3dc0-da77-11e4-872e-1234567db123",
    "AWS::URLSuffix": "amazonaws.com",
}


class Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        params: Mapping[str, str] | None = None,
        attributes: Mapping[str, Any] | None = None,
        pseudo: Mapping[str, str] | None = None,
        mappings: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        declared = template.get("Parameters") or {}
        self.params = {k: str(v["Default"]) for k, v in declared.items() if isinstance(v, dict) and "Default" in v}
        self.params.update(params or {})
        self.attributes = dict(attributes or {})
        self.pseudo: dict[str, Any] = {**PSEUDO, **(pseudo or {}), "AWS::NoValue": NO_VALUE}
        self.mappings = mappings if mappings is not None else template.get("Mappings") or {}
        self._conditions: dict[str, bool] = {}

    # Ref and GetAtt --------------------------------------------------------------------
    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        if name in (self.template.get("Parameters") or {}):
            raise TemplateError(f"parameter {name} has no default and no given value")
        if name not in self.resources:
            raise TemplateError(f"Ref to unknown name {name}")
        return self.resource_ref(name)

    def resource_ref(self, logical: str) -> Any:
        if logical in self.attributes:
            return self.attributes[logical]
        raise TemplateError(f"Ref to {logical} ({resource_type(self.resources[logical])}) has no given value")

    def getatt(self, logical: str, attribute: str) -> Any:
        if logical not in self.resources:
            raise TemplateError(f"Fn::GetAtt of unknown resource {logical}")
        name = f"{logical}.{attribute}"
        if name in self.attributes:
            return self.attributes[name]
        raise TemplateError(f"Fn::GetAtt {name} ({resource_type(self.resources[logical])}) has no given value")

    def exists(self, logical: str) -> bool:
        """False for a resource whose ``Condition`` is false (CloudFormation does not create it)."""
        condition = (self.resources.get(logical) or {}).get("Condition")
        return condition is None or self.condition(condition)

    # conditions ------------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = self._truth(conditions[name])
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return str(a) == str(b)
            if fn == "Fn::Not":
                return not self._truth(arg[0])
            if fn == "Fn::And":
                return all(self._truth(x) for x in arg)
            if fn == "Fn::Or":
                return any(self._truth(x) for x in arg)
        raise TemplateError(f"cannot evaluate condition {node!r}")

    # the walk --------------------------------------------------------------------------
    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(x) for x in node]
            return [x for x in items if x is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key.startswith("Fn::") or key == "Condition":
                return self._function(key, arg)
        out = {}
        for key, value in node.items():
            value = self.resolve(value)
            if value is not NO_VALUE:
                out[key] = value
        return out

    def _function(self, fn: str, arg: Any) -> Any:
        if fn == "Fn::GetAtt":
            logical, attribute = getatt_parts(arg)
            return self.getatt(logical, attribute)
        if fn == "Fn::Sub":
            return self._sub(arg)
        if fn == "Fn::If":
            name, yes, no = arg
            return self.resolve(yes if self.condition(name) else no)
        if fn == "Fn::Join":
            sep, items = arg
            values = self.resolve(items)
            return self.resolve(sep).join(str(v) for v in values)
        if fn == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if fn == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text)).split(self.resolve(sep))
        if fn == "Fn::FindInMap":
            mapping, top, second = (self.resolve(x) for x in arg)
            try:
                return self.mappings[mapping][top][second]
            except KeyError as err:
                raise TemplateError(f"Fn::FindInMap {mapping}/{top}/{second} not found") from err
        if fn in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
            return self._truth({fn: arg})
        raise TemplateError(f"intrinsic {fn} is not modelled locally")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg
            variables = {k: self.resolve(v) for k, v in variables.items()}
        else:
            text, variables = arg, {}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attribute = name.split(".", 1)
                return str(self.getatt(logical, attribute))
            value = self.ref(name)
            if value is NO_VALUE:
                raise TemplateError(f"Fn::Sub ${{{name}}} is AWS::NoValue")
            return str(value)

        return re.sub(r"\$\{([^}]*)\}", one, text)


def resource_type(resource: Any) -> str:
    return resource.get("Type", "") if isinstance(resource, dict) else ""


def getatt_parts(arg: Any) -> tuple[str, str]:
    if isinstance(arg, str):
        arg = arg.split(".", 1)
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(x, str) for x in arg)):
        raise TemplateError(f"Fn::GetAtt {arg!r} is not modelled locally")
    return arg[0], arg[1]
