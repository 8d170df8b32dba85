# Shared by the deploy scripts: settings, checks made before any AWS call, AWS calls
# that turn CLI errors into one line, and a CloudFormation progress watcher.
# shellcheck shell=bash

REGION=us-east-1  # Lambda@Edge functions, and so this stack, live in us-east-1
STACK_NAME=${STACK_NAME:-mrap-edge}
CODE_PREFIX=${CODE_PREFIX:-mrap-edge}     # packages: s3://$S3_BUCKET_DEPLOYABLES/$CODE_PREFIX/$STACK_NAME/
SMOKE_PREFIX=mrap-edge-smoke              # smoke objects: s3://<content bucket>/$SMOKE_PREFIX/$STACK_NAME/
FAILOVER_HEADER=${FAILOVER_HEADER:-originTypeFailover}
# The function role's permissions boundary: one customer managed policy per account, shared by
# every stack (edge-function-boundary.json; docs/deployer.md).
BOUNDARY_NAME=${FUNCTION_PERMISSIONS_BOUNDARY:-mrap-edge-function-boundary}
POLL_SECONDS=${POLL_SECONDS:-10}          # how often to ask CloudFormation for new events
WAIT_MINUTES=${WAIT_MINUTES:-240}         # give up watching (CloudFormation goes on) after this
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
VIEW="$ROOT/scripts/cfn_view.py"

die() { echo "error: $*" >&2; exit 2; }     # the user can fix it
fail() { echo "error: $*" >&2; exit 1; }    # AWS did not do what was asked
say() { echo "==> $*"; }

require_aws_cli() {
  command -v aws >/dev/null 2>&1 || die "the AWS CLI ('aws') is not on PATH: install it (https://aws.amazon.com/cli/) and run 'aws configure'"
}

# The example names the make target that ran this script (scripts/prune_versions.sh is
# make prune-versions), so `make destroy` never suggests `make deploy`.
require_vars() {
  local name missing=() target example=my-bucket
  for name in "$@"; do
    [ -n "${!name:-}" ] || missing+=("$name")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  target=$(basename "$0" .sh)
  case ${missing[0]} in
    REGION_*) example=eu-west-1 ;;
    STACK_NAME) example=mrap-edge ;;
  esac
  die "set ${missing[*]} (e.g. ${missing[0]}=$example make ${target//_/-})"
}

require_region() {
  local configured=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  if [ -n "$configured" ] && [ "$configured" != "$REGION" ]; then
    die "the stack must be in $REGION (Lambda@Edge), but AWS_REGION/AWS_DEFAULT_REGION is '$configured': unset it or set it to $REGION"
  fi
}

# CloudFormation's own rule for stack names; it also keeps the stack's S3 prefixes
# ($CODE_PREFIX/$STACK_NAME/, $SMOKE_PREFIX/$STACK_NAME/) from overlapping another's.
require_stack_name() {
  [[ "$STACK_NAME" =~ ^[A-Za-z][A-Za-z0-9-]{0,127}$ ]] ||
    die "STACK_NAME '$STACK_NAME' is not a CloudFormation stack name (a letter, then letters, digits and hyphens, at most 128)"
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
  require_stack_name
  require_credentials
}

# try_aws ARGS...: run 'aws ARGS'; stdout in AWS_OUT. On failure return 1 with the CLI's
# message, condensed to one line, in AWS_ERROR (never shown raw).
try_aws() {
  local errfile rc=0
  errfile=$(mktemp)
  AWS_OUT=$(aws "$@" 2>"$errfile") || rc=$?
  AWS_ERROR=$(grep -v '^[[:space:]]*$' "$errfile" | tail -n 1 |
    sed -E 's/^An error occurred \(([^)]*)\) when calling the ([A-Za-z0-9]*) operation: /\1 (\2): /')
  rm -f "$errfile"
  [ -n "$AWS_ERROR" ] || AWS_ERROR="the AWS CLI exited with status $rc"
  return $rc
}

# must_aws WHAT ARGS...: try_aws, or stop with "error: cannot WHAT: <reason>".
must_aws() {
  local what=$1
  shift
  try_aws "$@" || fail "cannot $what: $AWS_ERROR"
}

cf() { aws cloudformation --region "$REGION" "$@"; }

is_missing_stack() { [[ "$AWS_ERROR" == *"does not exist"* ]]; }

# The stack's status, or NONE when it does not exist (any other error stops the script).
# STACK may be a name or a stack id (an id also finds a deleted stack: DELETE_COMPLETE).
stack_status() {
  local stack=${1:-$STACK_NAME}
  if try_aws cloudformation --region "$REGION" describe-stacks --stack-name "$stack" \
    --query "Stacks[0].StackStatus" --output text; then
    echo "$AWS_OUT"
  elif is_missing_stack; then
    echo NONE
  else
    fail "cannot read stack $stack: $AWS_ERROR"
  fi
}

stack_id() {
  must_aws "read stack $STACK_NAME" cloudformation --region "$REGION" describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].StackId" --output text
  echo "$AWS_OUT"
}

stack_output() {
  must_aws "read the outputs of stack $STACK_NAME" cloudformation --region "$REGION" describe-stacks \
    --stack-name "$STACK_NAME" --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
  [ "$AWS_OUT" = None ] && AWS_OUT=""
  echo "$AWS_OUT"
}

# The one next step for a stack left in STATUS (empty when there is nothing to do).
next_step() {
  case "$1" in
    ROLLBACK_COMPLETE | CREATE_FAILED)
      echo "the stack failed to create and serves nothing: fix the cause above, run 'make destroy', then 'make deploy'" ;;
    ROLLBACK_FAILED)
      echo "the failed create could not roll back: run 'make destroy' to delete what is left, then 'make deploy'" ;;
    UPDATE_ROLLBACK_COMPLETE)
      echo "the update was rolled back and the stack serves as before: fix the cause above and run 'make deploy' again" ;;
    UPDATE_ROLLBACK_FAILED)
      echo "the update could not roll back: run 'aws cloudformation continue-update-rollback --region $REGION --stack-name $STACK_NAME' (add --resources-to-skip for a resource that cannot roll back), then 'make deploy'" ;;
    UPDATE_FAILED)
      echo "the update failed without rolling back: fix the cause and 'make deploy' again, or 'aws cloudformation rollback-stack --region $REGION --stack-name $STACK_NAME'" ;;
    DELETE_FAILED)
      echo "a delete did not finish (a Lambda@Edge function waits for CloudFront to remove its replicas, usually a few hours): run 'make destroy' again later, or RETRY_MINUTES=180 make destroy" ;;
    *_IN_PROGRESS)
      echo "CloudFormation is still working on it: wait until it finishes ('aws cloudformation describe-stacks --region $REGION --stack-name $STACK_NAME'), then run this again" ;;
    *) echo "" ;;
  esac
}

# remove_object_versions BUCKET KEY [REGION]: delete every version and delete marker of
# exactly KEY (never another key). A replicating bucket keeps the other bucket's replica
# under the same version id, and S3 does not replicate deletes of a version id: each
# bucket is cleaned on its own. Warns (never stops) on a failure; returns 1 if anything
# is left.
remove_object_versions() {
  local bucket=$1 key=$2 listed version left=0 region_args=()
  [ -z "${3:-}" ] || region_args=(--region "$3")
  if ! try_aws s3api list-object-versions ${region_args[@]+"${region_args[@]}"} --bucket "$bucket" --prefix "$key" --output json; then
    echo "warning: cannot list the versions of s3://$bucket/$key ($AWS_ERROR)" >&2
    return 1
  fi
  listed=$AWS_OUT
  while IFS=$'\t' read -r -u 3 _ version; do  # fd 3: the CLI inherits stdin
    [ -n "$version" ] || continue
    try_aws s3api delete-object ${region_args[@]+"${region_args[@]}"} --bucket "$bucket" --key "$key" --version-id "$version" || {
      echo "warning: could not remove version $version of s3://$bucket/$key ($AWS_ERROR)" >&2
      left=1
    }
  done 3< <(echo "$listed" | "$PYTHON" "$VIEW" object-versions "$key")
  return $left
}

# wait_replicated BUCKET KEY VERSION [REGION]: wait (at most SETTLE_SECONDS) while S3
# still replicates that version, so that no replica lands after its cleanup. Prints the
# final ReplicationStatus ('' for a bucket without replication).
wait_replicated() {
  local bucket=$1 key=$2 version=$3 status deadline region_args=()
  [ -z "${4:-}" ] || region_args=(--region "$4")
  deadline=$(($(date +%s) + ${SETTLE_SECONDS:-900}))
  while :; do
    try_aws s3api head-object ${region_args[@]+"${region_args[@]}"} --bucket "$bucket" --key "$key" --version-id "$version" --output json || {
      echo "UNKNOWN"
      return 0
    }
    status=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" get ReplicationStatus)
    if [ "$status" != PENDING ] || [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$status"
      return 0
    fi
    sleep "${SETTLE_POLL:-5}"
  done
}

stack_events() {  # STACK_ID -> describe-stack-events JSON (newest first) in AWS_OUT
  try_aws cloudformation --region "$REGION" describe-stack-events --stack-name "$1" --max-items 100 --output json
}

newest_event() {  # STACK_ID -> the id of its newest event ('' for none)
  if stack_events "$1"; then echo "$AWS_OUT" | "$PYTHON" "$VIEW" newest; fi
}

# watch_stack STACK_ID AFTER_EVENT: print each new stack event once, in order, with the
# elapsed time, until the stack leaves *_IN_PROGRESS. Sets WATCH_STATUS to its state.
watch_stack() {
  local id=$1 after=$2 seen start deadline quiet_since lines status busy
  seen=$(mktemp)
  start=$(date +%s)
  quiet_since=$start
  deadline=$((start + WAIT_MINUTES * 60))
  while :; do
    if stack_events "$id"; then
      lines=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" events "$seen" "$start" "$after")
      if [ -n "$lines" ]; then
        echo "$lines"
        quiet_since=$(date +%s)
      elif [ $(($(date +%s) - quiet_since)) -ge 60 ]; then
        busy=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" in-progress "$after")
        echo "  [$(elapsed_since "$start")] still working${busy:+ on: $busy}"
        quiet_since=$(date +%s)
      fi
    fi
    status=$(stack_status "$id")
    if [[ "$status" != *_IN_PROGRESS ]]; then
      if stack_events "$id"; then  # the last events may land with the final state
        echo "$AWS_OUT" | "$PYTHON" "$VIEW" events "$seen" "$start" "$after"
      fi
      break
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      rm -f "$seen"
      fail "stopped watching after $WAIT_MINUTES minutes; stack $STACK_NAME is still $status (CloudFormation goes on): $(next_step "$status")"
    fi
    sleep "$POLL_SECONDS"
  done
  rm -f "$seen"
  say "stack $STACK_NAME: $status after $(elapsed_since "$start")"
  WATCH_STATUS=$status
}

elapsed_since() { local s=$(($(date +%s) - $1)); printf '%02d:%02d' $((s / 60)) $((s % 60)); }

# The root cause of a failed operation (not the "Resource creation cancelled" cascade),
# the final state and the one next step.
report_failure() {  # STACK_ID AFTER_EVENT STATUS
  local causes=""
  if stack_events "$1"; then causes=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" failures "$2"); fi
  {
    echo "error: stack $STACK_NAME ended in $3"
    if [ -n "$causes" ]; then
      echo "cause:"
      echo "$causes"
    fi
    echo "next: $(next_step "$3")"
  } >&2
}

# ensure_boundary: the permissions boundary exists in this account, or is created from
# edge-function-boundary.json. An existing policy of that name is used as it is, never
# changed or deleted (it may be an administrator's own). deployer-policy.json may not
# create it (whoever writes it decides what every function role may do): then this stops
# with the one command an administrator runs once per account.
ensure_boundary() {
  local arn file="$ROOT/edge-function-boundary.json"
  must_aws "read the account id" sts get-caller-identity --query Account --output text
  arn="arn:aws:iam::$AWS_OUT:policy/$BOUNDARY_NAME"
  if try_aws iam get-policy --policy-arn "$arn" --output json; then
    say "the function role's permissions boundary is $arn"
    return 0
  fi
  [[ "$AWS_ERROR" == NoSuchEntity* ]] || fail "cannot read the permissions boundary $arn: $AWS_ERROR"
  say "creating the function role's permissions boundary $arn from edge-function-boundary.json"
  try_aws iam create-policy --policy-name "$BOUNDARY_NAME" --policy-document "file://$file" \
    --description "Bounds the mrap-edge signer's role: reads objects through an MRAP, writes its logs" --output json ||
    die "cannot create the permissions boundary $arn ($AWS_ERROR): the deployer may not write it. An administrator runs once for this account: aws iam create-policy --policy-name $BOUNDARY_NAME --policy-document file://$file"
}
