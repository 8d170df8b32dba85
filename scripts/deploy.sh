#!/usr/bin/env bash
# Build the zip, upload it under a content-addressed key of this stack's own prefix,
# then create or update the stack in us-east-1 through a change set: print what will
# change, stop before replacing the MRAP or the distribution unless CONFIRM=yes,
# execute, and print each stack event as it happens. Running it again with no change
# does nothing ("up to date").
#
#   S3_BUCKET_ONE=… S3_BUCKET_TWO=… S3_BUCKET_DEPLOYABLES=… scripts/deploy.sh
#   optional: STACK_NAME (mrap-edge), MRAP_NAME, PRICE_CLASS, FAILOVER_ORIGIN,
#             FAILOVER_ON_4XX (true|false), FAILOVER_HEADER (originTypeFailover),
#             LOG_LEVEL (WARNING), CONFIRM=yes, POLL_SECONDS (10),
#             FUNCTION_PERMISSIONS_BOUNDARY (mrap-edge-function-boundary), and where the template
#             has them FUNCTION_MEMORY_MB, FUNCTION_TIMEOUT, CORS_ALLOWED_ORIGINS,
#             ALLOWED_RESPONSE_OVERRIDES (comma list of response-*), ALLOW_VERSION_READS (yes|no);
#             SIGNING: lambda-edge, oac, or auto (scripts/preflight.sh picks); unset keeps
#             the deployed stack's mode (lambda-edge for a new stack). docs/signing-modes.md
set -euo pipefail
. "$(dirname "$0")/lib.sh"

preflight S3_BUCKET_ONE S3_BUCKET_TWO S3_BUCKET_DEPLOYABLES
case "${SIGNING:-}" in
  "" | auto | oac | lambda-edge) ;;
  *) die "SIGNING must be auto, oac or lambda-edge, not '$SIGNING'" ;;
esac

# The key must fit the template's LambdaCodeKey (MaxLength 100).
key_for() { echo "$CODE_PREFIX/$STACK_NAME/$1.zip"; }
probe=$(key_for 0123456789abcdef0123456789abcdef)
[ ${#probe} -le 100 ] || die "STACK_NAME is too long for the code key $probe (at most 100 characters): use a shorter STACK_NAME"

# Settings of newer template parameters: passed only when set, and only if the template has them.
OPTIONAL_PARAMS="FUNCTION_MEMORY_MB:FunctionMemorySize FUNCTION_TIMEOUT:FunctionTimeout CORS_ALLOWED_ORIGINS:CorsAllowedOrigins"
# What viewers may ask S3 for (docs/security.md): unset = the template's secure defaults.
OPTIONAL_PARAMS="$OPTIONAL_PARAMS ALLOWED_RESPONSE_OVERRIDES:AllowedResponseOverrides ALLOW_VERSION_READS:AllowVersionReads"
for setting in $OPTIONAL_PARAMS; do
  env_name=${setting%%:*}
  if [ -n "${!env_name:-}" ] && ! grep -q "^  ${setting#*:}:\$" "$ROOT/cloudformation.template"; then
    die "$env_name is set, but cloudformation.template has no parameter ${setting#*:}"
  fi
done

# Refuse states CloudFormation cannot update before building or uploading anything.
status=$(stack_status)
case "$status" in
  NONE | REVIEW_IN_PROGRESS) type=CREATE ;;  # REVIEW_IN_PROGRESS: a create change set that never ran
  *_IN_PROGRESS | ROLLBACK_COMPLETE | ROLLBACK_FAILED | CREATE_FAILED | UPDATE_ROLLBACK_FAILED | DELETE_FAILED)
    die "stack $STACK_NAME is $status: $(next_step "$status")" ;;
  *_COMPLETE | UPDATE_FAILED) type=UPDATE ;;
  *) die "stack $STACK_NAME is $status, which this script does not update: see its events in the CloudFormation console" ;;
esac

# The buckets are the MRAP's Regions, which only a replacement changes, and CloudFormation
# replaces a named resource only under a new name: a new bucket pair under the same MRAP
# name would fail after minutes and roll back. Stop here and name the way out: a name of
# its own for the new pair (mrap-edge-<stack key>-<8 hex of the pair>, the same every run).
if [ "$type" = UPDATE ]; then
  must_aws "read the parameters of stack $STACK_NAME" cloudformation --region "$REGION" describe-stacks \
    --stack-name "$STACK_NAME" --output text --query "Stacks[0].[StackId, $(
      for p in S3BucketOneName S3BucketTwoName; do printf "Parameters[?ParameterKey=='%s'].ParameterValue | [0], " "$p"; done
    )StackName, Parameters[?ParameterKey=='MrapName'].ParameterValue | [0]]"
  # MrapName last: read folds runs of tabs, so an empty value must not sit between others.
  IFS=$'\t' read -r stack_id was_one was_two _ was_mrap <<<"$AWS_OUT"
  [ "$was_mrap" != None ] || was_mrap=""
  if [ "$was_one $was_two" != "$S3_BUCKET_ONE $S3_BUCKET_TWO" ] && [ "${MRAP_NAME:-}" = "$was_mrap" ]; then
    uuid=${stack_id##*/}
    pair=$(printf '%s %s' "$S3_BUCKET_ONE" "$S3_BUCKET_TWO" | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-8)
    die "the MRAP of stack $STACK_NAME spans $was_one and $was_two, and CloudFormation cannot replace it under the same name: run again with MRAP_NAME=mrap-edge-${uuid%%-*}-$pair CONFIRM=yes (a new MRAP for $S3_BUCKET_ONE and $S3_BUCKET_TWO; keep MRAP_NAME from then on)"
  fi
fi

# The signing mode. A stack from before the modes has no SigningMode output: lambda-edge.
current=lambda-edge
if [ "$type" = UPDATE ]; then
  current=$(stack_output SigningMode)
  [ -n "$current" ] || current=lambda-edge
fi
mode=${SIGNING:-$current}
if [ "$mode" = auto ]; then
  mode_file=$(mktemp)
  PREFLIGHT_MODE_FILE=$mode_file "$ROOT/scripts/preflight.sh" || { rm -f "$mode_file"; exit 2; }
  mode=$(cat "$mode_file")
  rm -f "$mode_file"
fi
if [ "$mode" = oac ]; then
  # Sources disagree on whether CloudFormation accepts sigv4a (cloudformation.template,
  # OriginAccessControl): ask the live schema now rather than fail halfway through a deploy.
  must_aws "read CloudFormation's schema of AWS::CloudFront::OriginAccessControl" cloudformation --region "$REGION" \
    describe-type --type RESOURCE --type-name AWS::CloudFront::OriginAccessControl --output json
  echo "$AWS_OUT" | "$PYTHON" "$ROOT/scripts/signing_mode.py" schema || exit 2
fi
say "signing mode: $mode"

params=()
if [ "$mode" = lambda-edge ]; then  # oac needs no function, so no package and no role
  ensure_boundary

  say "building the deployment package (failover header: $FAILOVER_HEADER)"
  config=$(mktemp)
  trap 'rm -f "$config"' EXIT
  printf '{"failover_header": "%s", "log_level": "%s"}\n' "$FAILOVER_HEADER" "${LOG_LEVEL:-WARNING}" >"$config"
  zip="$ROOT/build/deploy/deployment-package.zip"
  mkdir -p "$(dirname "$zip")"
  "$PYTHON" "$ROOT/scripts/build_package.py" --config "$config" --out "$zip" --if-changed

  read -r hex b64 < <("$PYTHON" -c 'import base64, hashlib, sys
d = hashlib.sha256(open(sys.argv[1], "rb").read()).digest()
print(d.hex(), base64.b64encode(d).decode())' "$zip")
  key=$(key_for "${hex:0:32}")

  if try_aws s3api head-object --region "$REGION" --bucket "$S3_BUCKET_DEPLOYABLES" --key "$key"; then
    say "s3://$S3_BUCKET_DEPLOYABLES/$key is already uploaded"
  else
    say "uploading s3://$S3_BUCKET_DEPLOYABLES/$key"
    must_aws "upload the package to s3://$S3_BUCKET_DEPLOYABLES/$key" \
      s3api put-object --region "$REGION" --bucket "$S3_BUCKET_DEPLOYABLES" --key "$key" --body "$zip"
  fi
  params+=(
    "ParameterKey=LambdaCodeKey,ParameterValue=$key"
    "ParameterKey=LambdaCodeSha256,ParameterValue=$b64"
  )
fi

params+=(
  "ParameterKey=S3BucketOneName,ParameterValue=$S3_BUCKET_ONE"
  "ParameterKey=S3BucketTwoName,ParameterValue=$S3_BUCKET_TWO"
  "ParameterKey=S3BucketDeployables,ParameterValue=$S3_BUCKET_DEPLOYABLES"
  "ParameterKey=SigningMode,ParameterValue=$mode"
  "ParameterKey=MrapName,ParameterValue=${MRAP_NAME:-}"
  "ParameterKey=PriceClass,ParameterValue=${PRICE_CLASS:-PriceClass_100}"
  "ParameterKey=FailoverOriginDomainName,ParameterValue=${FAILOVER_ORIGIN:-}"
  "ParameterKey=FailoverOn4xx,ParameterValue=${FAILOVER_ON_4XX:-false}"
  "ParameterKey=FailoverHeaderName,ParameterValue=$FAILOVER_HEADER"
  "ParameterKey=FunctionPermissionsBoundary,ParameterValue=$BOUNDARY_NAME"
)
for setting in $OPTIONAL_PARAMS; do  # ENV_NAME:ParameterName, checked against the template above
  env_name=${setting%%:*}
  value=${!env_name:-}
  [ -z "$value" ] || params+=("ParameterKey=${setting#*:},ParameterValue=${value//,/\\,}")  # the CLI's shorthand escapes commas
done
template="file://$ROOT/cloudformation.template"
change_set="mrap-edge-$(date -u +%Y%m%d-%H%M%S)"

say "preparing change set $change_set ($type of stack $STACK_NAME in $REGION)"
must_aws "create a change set for stack $STACK_NAME" \
  cloudformation --region "$REGION" create-change-set --stack-name "$STACK_NAME" --change-set-name "$change_set" \
  --change-set-type "$type" --template-body "$template" --parameters "${params[@]}" \
  --capabilities CAPABILITY_NAMED_IAM --output json  # the function role has a fixed name (mrap-edge-<id>-signer)
stack=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" get StackId)

# Drop the change set (and, for a create, the empty stack it made) without executing it.
discard() {
  try_aws cloudformation --region "$REGION" delete-change-set --stack-name "$stack" --change-set-name "$change_set" || true
  if [ "$status" = NONE ]; then  # the empty stack this run's create change set made (REVIEW_IN_PROGRESS)
    try_aws cloudformation --region "$REGION" delete-stack --stack-name "$stack" || true
  fi
}

# Change sets are computed in seconds: poll faster than events, never slower.
cs_poll=$((POLL_SECONDS < 3 ? POLL_SECONDS : 3))
while :; do
  must_aws "read change set $change_set" cloudformation --region "$REGION" describe-change-set \
    --stack-name "$stack" --change-set-name "$change_set" --output json
  described=$AWS_OUT
  { read -r cs_status; read -r cs_reason; } < <(echo "$described" | "$PYTHON" "$VIEW" get Status StatusReason)
  case "$cs_status" in
    CREATE_COMPLETE) break ;;
    FAILED)
      if [[ "$cs_reason" == *"didn't contain changes"* || "$cs_reason" == *"No updates are to be performed"* ]]; then
        discard
        say "no change: stack $STACK_NAME is up to date"
        exit 0
      fi
      discard
      if [[ "$mode" = oac && ( "$cs_reason" == *sigv4a* || "$cs_reason" == *SigningProtocol* ) ]]; then
        die "CloudFormation refused origin access control with SigV4A ($cs_reason): deploy with SIGNING=lambda-edge"
      fi
      fail "CloudFormation refused the change set: $cs_reason" ;;
    *) sleep "$cs_poll" ;;
  esac
done

if [ "$current" != "$mode" ] && [ "$type" = UPDATE ]; then
  "$PYTHON" "$ROOT/scripts/signing_mode.py" switch "$current" "$mode" "$(stack_output FunctionName)"
fi
say "changes:"
guard=0
echo "$described" | "$PYTHON" "$VIEW" changes || guard=$?
if [ "$guard" -eq 3 ] && [ "${CONFIRM:-}" != yes ]; then
  discard
  die "this update replaces the MRAP or the distribution (see above): viewers get a new origin and an empty cache, and an old MRAP's name stays taken until its deletion finishes, and a new MRAP needs a new name (MRAP_NAME). Run again with CONFIRM=yes to apply it"
fi
[ "$guard" -eq 0 ] || [ "$guard" -eq 3 ] || fail "cannot read change set $change_set"

after=$(newest_event "$stack")
say "executing $change_set ($(echo "$type" | tr "[:upper:]" "[:lower:]"); new events every ${POLL_SECONDS}s)"
must_aws "execute change set $change_set" cloudformation --region "$REGION" execute-change-set \
  --stack-name "$stack" --change-set-name "$change_set"
watch_stack "$stack" "$after"
case "$WATCH_STATUS" in
  CREATE_COMPLETE | UPDATE_COMPLETE) ;;
  *) report_failure "$stack" "$after" "$WATCH_STATUS"; exit 1 ;;
esac

say "outputs of $STACK_NAME"
must_aws "read the outputs of stack $STACK_NAME" cloudformation --region "$REGION" describe-stacks \
  --stack-name "$STACK_NAME" --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output text
echo "$AWS_OUT"
