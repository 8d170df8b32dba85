# Shared by the operations scripts (buckets, routes, logs): lib.sh plus what they add.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OPS_HELPER="$ROOT/scripts/ops_helper.py"
# Short network timeouts so an impaired Region fails fast and the next one is tried.
AWS_TIMEOUTS=(--cli-connect-timeout "${AWS_CONNECT_TIMEOUT:-10}" --cli-read-timeout "${AWS_READ_TIMEOUT:-30}")

ops_preflight() {  # the checks of lib.sh's preflight but the Region one (these scripts name their Regions)
  require_aws_cli
  require_vars "$@"
  require_credentials
}

helper() { "$PYTHON" "$OPS_HELPER" "$@"; }

# The one line worth showing from a failed AWS CLI call ("(Code) ...: message").
aws_reason() {
  local text
  text=$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)
  text=${text#An error occurred }
  echo "${text:-no answer}"
}

# aws_try OUTVAR ERRVAR aws-args...: run the CLI, keep stdout in OUTVAR and the reason
# of a failure in ERRVAR; returns the CLI's status. Never prints the raw CLI error.
aws_try() {
  local __out=$1 __err=$2 __tmp __rc=0 __text
  shift 2
  __tmp=$(mktemp)
  __text=$(aws "$@" 2>"$__tmp") || __rc=$?
  printf -v "$__out" '%s' "$__text"
  if [ $__rc -ne 0 ]; then
    printf -v "$__err" '%s' "$(aws_reason "$__tmp")"
  else
    printf -v "$__err" '%s' ""
  fi
  rm -f "$__tmp"
  return $__rc
}

# aws_or_die "what" aws-args...: print the output, or one line saying what failed and why.
aws_or_die() {
  local what=$1 out err
  shift
  aws_try out err "$@" || die "$what failed: $err"
  [ -z "$out" ] || printf '%s\n' "$out"
}

# The main stack's output NAME (empty if absent); dies with one line if the stack is missing.
main_output() {
  local out err
  aws_try out err cloudformation --region "$REGION" describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text ||
    die "cannot read stack $STACK_NAME in $REGION ($err): deploy it first (make deploy) or set STACK_NAME"
  [ "$out" = None ] && out=""
  printf '%s' "$out"
}

# The function's name: FUNCTION_NAME, the stack's FunctionName output, or the name in
# FunctionVersionArn (arn:aws:lambda:us-east-1:ACCT:function:NAME:N).
function_name() {
  local name arn
  name=${FUNCTION_NAME:-}
  [ -n "$name" ] || name=$(main_output FunctionName)
  if [ -z "$name" ]; then
    arn=$(main_output FunctionVersionArn)
    [ -n "$arn" ] || die "stack $STACK_NAME has no FunctionName or FunctionVersionArn output: is it deployed?"
    name=$(echo "$arn" | cut -d: -f7)
  fi
  printf '%s' "$name"
}
