#!/usr/bin/env bash
# Build the zip, upload it under a content-addressed key, create or update the stack
# in us-east-1, wait, print the outputs. Running it again with no change does nothing.
#
#   S3_BUCKET_ONE=… S3_BUCKET_TWO=… S3_BUCKET_DEPLOYABLES=… scripts/deploy.sh
#   optional: STACK_NAME (mrap-edge), MRAP_NAME, PRICE_CLASS, FAILOVER_ORIGIN,
#             FAILOVER_ON_4XX (true|false), FAILOVER_HEADER (originTypeFailover)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

preflight S3_BUCKET_ONE S3_BUCKET_TWO S3_BUCKET_DEPLOYABLES

say "building the deployment package (failover header: $FAILOVER_HEADER)"
config=$(mktemp)
trap 'rm -f "$config"' EXIT
printf '{"failover_header": "%s", "log_level": "%s"}\n' "$FAILOVER_HEADER" "${LOG_LEVEL:-WARNING}" >"$config"
zip="$ROOT/build/deploy/deployment-package.zip"
mkdir -p "$(dirname "$zip")"
"$PYTHON" "$ROOT/scripts/build_package.py" --config "$config" --out "$zip"

read -r hex b64 < <("$PYTHON" -c 'import base64, hashlib, sys
d = hashlib.sha256(open(sys.argv[1], "rb").read()).digest()
print(d.hex(), base64.b64encode(d).decode())' "$zip")
key="$CODE_PREFIX/deployment-package-${hex:0:32}.zip"

if aws s3api head-object --region "$REGION" --bucket "$S3_BUCKET_DEPLOYABLES" --key "$key" >/dev/null 2>&1; then
  say "s3://$S3_BUCKET_DEPLOYABLES/$key is already uploaded"
else
  say "uploading s3://$S3_BUCKET_DEPLOYABLES/$key"
  aws s3api put-object --region "$REGION" --bucket "$S3_BUCKET_DEPLOYABLES" --key "$key" --body "$zip" >/dev/null
fi

params=(
  "ParameterKey=S3BucketOneName,ParameterValue=$S3_BUCKET_ONE"
  "ParameterKey=S3BucketTwoName,ParameterValue=$S3_BUCKET_TWO"
  "ParameterKey=S3BucketDeployables,ParameterValue=$S3_BUCKET_DEPLOYABLES"
  "ParameterKey=LambdaCodeKey,ParameterValue=$key"
  "ParameterKey=LambdaCodeSha256,ParameterValue=$b64"
  "ParameterKey=MrapName,ParameterValue=${MRAP_NAME:-}"
  "ParameterKey=PriceClass,ParameterValue=${PRICE_CLASS:-PriceClass_100}"
  "ParameterKey=FailoverOriginDomainName,ParameterValue=${FAILOVER_ORIGIN:-}"
  "ParameterKey=FailoverOn4xx,ParameterValue=${FAILOVER_ON_4XX:-false}"
  "ParameterKey=FailoverHeaderName,ParameterValue=$FAILOVER_HEADER"
)
template="file://$ROOT/cloudformation.template"

status=$(stack_status)
case "$status" in
  NONE)
    say "creating stack $STACK_NAME in $REGION (the MRAP and the distribution take a while)"
    cf create-stack --stack-name "$STACK_NAME" --template-body "$template" --parameters "${params[@]}" \
      --capabilities CAPABILITY_IAM >/dev/null
    cf wait stack-create-complete --stack-name "$STACK_NAME"
    ;;
  *_IN_PROGRESS)
    die "stack $STACK_NAME is $status: wait for it to finish, then run this again"
    ;;
  ROLLBACK_COMPLETE)
    die "stack $STACK_NAME failed to create (ROLLBACK_COMPLETE): see its events, run 'make destroy', then deploy again"
    ;;
  *)
    say "updating stack $STACK_NAME ($status)"
    if ! out=$(cf update-stack --stack-name "$STACK_NAME" --template-body "$template" --parameters "${params[@]}" \
      --capabilities CAPABILITY_IAM 2>&1); then
      if echo "$out" | grep -q "No updates are to be performed"; then
        say "no change: stack $STACK_NAME is up to date"
      else
        echo "$out" >&2
        exit 1
      fi
    else
      cf wait stack-update-complete --stack-name "$STACK_NAME"
    fi
    ;;
esac

say "outputs of $STACK_NAME"
cf describe-stacks --stack-name "$STACK_NAME" --query "Stacks[0].Outputs[].[OutputKey,OutputValue]" --output text
