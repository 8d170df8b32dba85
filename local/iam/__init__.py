"""IAM: the role and MRAP policies read from the template, and their evaluation.

- ``policy.py``: policy documents parsed (fail closed on what is not modelled);
- ``evaluate.py``: explicit Deny > Allow > implicit deny, wildcards, condition operators;
- ``actions.py``: the S3 action a request is;
- ``access.py``: who may do what through the MRAP (identity, MRAP and bucket policies).
"""

from .access import AccessModel, Authz
from .actions import s3_action
from .evaluate import Request, evaluate, statement_applies, wildcard_match
from .policy import OPERATORS, Policy, PolicyError, Statement, parse_policy

__all__ = ["OPERATORS", "AccessModel", "Authz", "Policy", "PolicyError", "Request", "Statement", "evaluate",
           "parse_policy", "s3_action", "statement_applies", "wildcard_match"]  # fmt: skip
