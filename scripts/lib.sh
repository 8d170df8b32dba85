# Shared by deploy.sh, smoke.sh and destroy.sh: settings and checks made before any AWS call.
# shellcheck shell=bash

REGION=us-east-1  # Lambda@Edge functions, and so this stack, live in us-east-1
STACK_NAME=${STACK_NAME:-mrap-edge}
CODE_PREFIX=${CODE_PREFIX:-mrap-edge}
FAILOVER_HEADER=${FAILOVER_HEADER:-originTypeFailover}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3

die() { echo "error: $*" >&2; exit 2; }
say() { echo "==> $*"; }

require_aws_cli() {
  command -v aws >/dev/null 2>&1 || die "the AWS CLI ('aws') is not on PATH: install it (https://aws.amazon.com/cli/) and run 'aws configure'"
}

require_vars() {
  local name missing=()
  for name in "$@"; do
    [ -n "${!name:-}" ] || missing+=("$name")
  done
  [ ${#missing[@]} -eq 0 ] || die "set ${missing[*]} (e.g. ${missing[0]}=my-bucket make deploy)"
}

require_region() {
  local configured=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  if [ -n "$configured" ] && [ "$configured" != "$REGION" ]; then
    die "the stack must be in $REGION (Lambda@Edge), but AWS_REGION/AWS_DEFAULT_REGION is '$configured': unset it or set it to $REGION"
  fi
}

# 'aws configure list' resolves the credential chain locally, without calling AWS.
require_credentials() {
  local listing
  listing=$(aws configure list 2>/dev/null) || die "'aws configure list' failed: is the AWS CLI configured?"
  if ! echo "$listing" | awk '$1 == "access_key" && $2 != "<not" && $2 != "" {found=1} END {exit !found}'; then
    die "no AWS credentials found: run 'aws configure', 'aws sso login' or set AWS_PROFILE"
  fi
}

preflight() {
  require_aws_cli
  require_vars "$@"
  require_region
  require_credentials
}

cf() { aws cloudformation --region "$REGION" "$@"; }

stack_output() {
  cf describe-stacks --stack-name "$STACK_NAME" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}

stack_status() {
  cf describe-stacks --stack-name "$STACK_NAME" --query "Stacks[0].StackStatus" --output text 2>/dev/null || echo NONE
}
