#!/usr/bin/env bash
# Delete the stack, then this stack's own packages (s3://$S3_BUCKET_DEPLOYABLES/mrap-edge/<stack>/)
# and any probe an interrupted smoke test left under mrap-edge-smoke/<stack>/ (only objects
# that carry the smoke test's mark). Nothing else in any bucket is touched.
#
#   scripts/destroy.sh   (STACK_NAME, S3_BUCKET_DEPLOYABLES as for deploy.sh)
#
# Lambda@Edge replicas outlive the distribution by up to a few hours, and the function
# cannot be deleted before they go: if deletion fails on the function, this says what is
# left; run it again later (RETRY_MINUTES=N retries by itself for N minutes, every
# RETRY_INTERVAL seconds, 300 by default).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

preflight STACK_NAME S3_BUCKET_DEPLOYABLES
RETRY_INTERVAL=${RETRY_INTERVAL:-300}

# This stack's packages: exactly the keys deploy.sh writes (<prefix>/<32 hex>.zip).
remove_packages() {
  local prefix="$CODE_PREFIX/$STACK_NAME/" key count=0
  must_aws "list s3://$S3_BUCKET_DEPLOYABLES/$prefix" s3api list-objects-v2 --region "$REGION" \
    --bucket "$S3_BUCKET_DEPLOYABLES" --prefix "$prefix" --output json
  for key in $(echo "$AWS_OUT" | "$PYTHON" "$VIEW" keys); do
    [[ "$key" =~ ^${prefix}[0-9a-f]{32}\.zip$ ]] || continue
    say "removing s3://$S3_BUCKET_DEPLOYABLES/$key"
    must_aws "remove s3://$S3_BUCKET_DEPLOYABLES/$key" s3api delete-object --region "$REGION" \
      --bucket "$S3_BUCKET_DEPLOYABLES" --key "$key"
    count=$((count + 1))
  done
  [ "$count" -gt 0 ] || say "no packages of $STACK_NAME in s3://$S3_BUCKET_DEPLOYABLES/$prefix"
}

# Probes an interrupted smoke test left behind: its key shape and its mark, both. Every
# version of such a key goes (replicas and delete markers too: a versioned, replicating
# bucket keeps them all), so nothing of the probe is left in either bucket.
remove_smoke_leftovers() {  # BUCKET
  local bucket=$1 prefix="$SMOKE_PREFIX/$STACK_NAME/" key version mark listed marked=" "
  if ! try_aws s3api list-object-versions --bucket "$bucket" --prefix "$prefix" --output json; then
    echo "warning: cannot look for smoke test leftovers in $bucket ($AWS_ERROR)" >&2
    return 0
  fi
  listed=$AWS_OUT
  while IFS=$'\t' read -r -u 3 key version; do  # fd 3: the CLI inherits stdin
    [[ "$key" =~ ^${prefix}[0-9A-Za-z-]+/probe\.txt$ ]] || continue
    [[ "$marked" != *" $key "* ]] || continue
    # The mark is on the objects (a delete marker has none: HEAD of it fails).
    try_aws s3api head-object --bucket "$bucket" --key "$key" --version-id "$version" --output json || continue
    mark=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" get Metadata.mrap-edge-smoke)
    [ "$mark" = "$STACK_NAME" ] || continue
    marked+="$key "
    say "removing the smoke test's leftover s3://$bucket/$key (every version)"
    remove_object_versions "$bucket" "$key" || true
  done 3< <(echo "$listed" | "$PYTHON" "$VIEW" object-versions)
}

status=$(stack_status)
case "$status" in
  NONE)
    remove_packages
    die "stack $STACK_NAME does not exist in $REGION: nothing else to delete (is STACK_NAME right?)" ;;
  DELETE_IN_PROGRESS) ;;
  *_IN_PROGRESS) die "stack $STACK_NAME is $status: $(next_step "$status")" ;;
esac

for output in S3BucketOneName S3BucketTwoName; do
  bucket=$(stack_output "$output")
  [ -z "$bucket" ] || remove_smoke_leftovers "$bucket"
done

stack=$(stack_id)
start=$(date +%s)
deadline=$((start + ${RETRY_MINUTES:-0} * 60))
attempt=1
while :; do
  after=$(newest_event "$stack")
  if [ "$status" = DELETE_IN_PROGRESS ] && [ $attempt -eq 1 ]; then
    say "stack $STACK_NAME is already being deleted: watching (new events every ${POLL_SECONDS}s)"
  else
    say "deleting stack $STACK_NAME (attempt $attempt; new events every ${POLL_SECONDS}s)"
    must_aws "delete stack $STACK_NAME" cloudformation --region "$REGION" delete-stack --stack-name "$stack"
  fi
  watch_stack "$stack" "$after"
  if [ "$WATCH_STATUS" = DELETE_COMPLETE ]; then
    remove_packages
    say "stack $STACK_NAME deleted"
    exit 0
  fi

  report_failure "$stack" "$after" "$WATCH_STATUS" 2>&1 | grep -v '^next: ' >&2 || true
  remaining=""
  if try_aws cloudformation --region "$REGION" list-stack-resources --stack-name "$stack" --output json; then
    remaining=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" remaining)
  fi
  [ -z "$remaining" ] || { echo "still there (the rest is deleted):"; echo "$remaining"; } >&2

  now=$(date +%s)
  if [ "$now" -ge "$deadline" ]; then
    cat >&2 <<MSG
error: stack $STACK_NAME is $WATCH_STATUS. CloudFront removes Lambda@Edge replicas only
after the distribution is gone, usually within a few hours; until then the function,
its role and the MRAP stay (the MRAP's name cannot be reused). Run 'make destroy'
again later to finish (or RETRY_MINUTES=180 make destroy to keep retrying).
MSG
    exit 1
  fi
  next=$((now + RETRY_INTERVAL))
  say "waiting for CloudFront to remove the Lambda@Edge replicas: next try at $(date -u -d "@$next" +%H:%M:%S 2>/dev/null || echo "+${RETRY_INTERVAL}s") UTC, retrying until $(date -u -d "@$deadline" +%H:%M 2>/dev/null || echo "RETRY_MINUTES") UTC"
  sleep "$RETRY_INTERVAL"
  attempt=$((attempt + 1))
done
