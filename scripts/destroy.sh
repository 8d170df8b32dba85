#!/usr/bin/env bash
# Delete the stack and what deploy.sh and smoke.sh uploaded.
#
#   scripts/destroy.sh   (STACK_NAME, S3_BUCKET_DEPLOYABLES as for deploy.sh)
#
# Lambda@Edge replicas outlive the distribution by up to a few hours, and the
# function cannot be deleted before they go: if deletion fails on the function,
# run this again later (RETRY_MINUTES=N retries by itself for N minutes).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

preflight STACK_NAME S3_BUCKET_DEPLOYABLES

status=$(stack_status)
if [ "$status" = NONE ]; then
  say "stack $STACK_NAME does not exist"
else
  for output in S3BucketOneName S3BucketTwoName; do
    bucket=$(stack_output "$output")
    if [ -n "$bucket" ] && [ "$bucket" != None ]; then
      say "removing the smoke test's index.html from $bucket"
      aws s3api delete-object --bucket "$bucket" --key index.html >/dev/null || true
    fi
  done
fi

keys=$(aws s3api list-objects-v2 --region "$REGION" --bucket "$S3_BUCKET_DEPLOYABLES" --prefix "$CODE_PREFIX/" \
  --query "Contents[].Key" --output text 2>/dev/null || true)
for key in $keys; do
  [ "$key" = None ] && continue
  say "removing s3://$S3_BUCKET_DEPLOYABLES/$key"
  aws s3api delete-object --region "$REGION" --bucket "$S3_BUCKET_DEPLOYABLES" --key "$key" >/dev/null
done

[ "$status" = NONE ] && exit 0
deadline=$(( $(date +%s) + ${RETRY_MINUTES:-0} * 60 ))
while :; do
  say "deleting stack $STACK_NAME"
  cf delete-stack --stack-name "$STACK_NAME"
  if cf wait stack-delete-complete --stack-name "$STACK_NAME"; then
    say "stack $STACK_NAME deleted"
    exit 0
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    cat >&2 <<MSG
error: stack $STACK_NAME did not delete ($(stack_status)).
If the function or its version failed to delete: CloudFront removes Lambda@Edge
replicas only after the distribution is gone, usually within a few hours. The
rest of the stack is deleted; run 'make destroy' again later to finish
(or RETRY_MINUTES=180 make destroy to keep retrying).
MSG
    exit 1
  fi
  say "retrying in 5 minutes (Lambda@Edge replicas are still being removed)"
  sleep 300
done
