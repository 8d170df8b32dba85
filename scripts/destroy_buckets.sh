#!/usr/bin/env bash
# Empty (every version and delete marker) and delete the two buckets make buckets
# created, with their stacks. Nothing else: a stack without the mrap-edge:buckets tag
# is refused, and so is a bucket the main stack's MRAP still uses.
#
#   CONFIRM=yes scripts/destroy_buckets.sh   (REGION_ONE, REGION_TWO, STACK_NAME as for buckets.sh)
set -euo pipefail
. "$(dirname "$0")/buckets_lib.sh"

ops_preflight REGION_ONE REGION_TWO

targets=()  # REGION STACK BUCKET
for pair in "$REGION_ONE $STACK_ONE" "$REGION_TWO $STACK_TWO"; do
  read -r region stack <<<"$pair"
  stack_info "$region" "$stack"
  if [ "$INFO_STATUS" = NONE ]; then
    say "no stack $stack in $region: nothing to delete there"
    continue
  fi
  [ "$INFO_TAG" = "$stack" ] || die "stack $stack in $region was not created by make buckets (no $OWNER_TAG tag): refusing to touch it"
  [[ "$INFO_STATUS" != *_IN_PROGRESS ]] || die "stack $stack in $region is $INFO_STATUS: wait for it to finish, then run this again"
  targets+=("$region $stack $INFO_BUCKET")
done
[ ${#targets[@]} -gt 0 ] || exit 0

# A bucket in an MRAP cannot be deleted: the main stack goes first.
if [ "$(stack_status)" != NONE ]; then
  in_use=" $(main_output S3BucketOneName) $(main_output S3BucketTwoName) "
  for target in "${targets[@]}"; do
    read -r _ _ bucket <<<"$target"
    [[ "$in_use" != *" $bucket "* ]] || die "stack $STACK_NAME's MRAP uses bucket $bucket: run 'make destroy' first"
  done
fi

if [ "${CONFIRM:-}" != yes ]; then
  for target in "${targets[@]}"; do
    read -r region stack bucket <<<"$target"
    say "would delete bucket $bucket in $region (every object version in it) and stack $stack"
  done
  die "nothing deleted: run again with CONFIRM=yes to delete them"
fi

batch=$(mktemp)
trap 'rm -f "$batch"' EXIT
for target in "${targets[@]}"; do
  read -r region stack bucket <<<"$target"
  deleted=0
  while :; do
    if ! aws_try listing err s3api list-object-versions --region "$region" --bucket "$bucket" --max-items 1000 \
      --output json; then
      [[ "$err" == *NoSuchBucket* ]] || die "listing the versions in $bucket failed: $err"
      say "bucket $bucket is already gone"
      break
    fi
    helper versions-batch <<<"$listing" >"$batch"
    [ -s "$batch" ] || break
    count=$(grep -o '"VersionId"' "$batch" | wc -l)
    aws_or_die "deleting versions in $bucket" s3api delete-objects --region "$region" --bucket "$bucket" \
      --delete "file://$batch" --output json >/dev/null
    deleted=$((deleted + count))
  done
  say "emptied $bucket ($deleted object versions and delete markers deleted)"
done

for target in "${targets[@]}"; do
  read -r region stack bucket <<<"$target"
  say "deleting stack $stack in $region (bucket $bucket)"
  aws_or_die "deleting stack $stack in $region" cloudformation delete-stack --region "$region" --stack-name "$stack"
done
for target in "${targets[@]}"; do
  read -r region stack bucket <<<"$target"
  aws_try out err cloudformation wait stack-delete-complete --region "$region" --stack-name "$stack" ||
    die "stack $stack in $region did not delete ($err): objects may have arrived by replication meanwhile; run 'make destroy-buckets CONFIRM=yes' again"
  say "deleted $bucket and stack $stack in $region"
done
