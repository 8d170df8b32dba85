#!/usr/bin/env bash
# For two existing buckets: are versioning and replication both ways in place, as an
# MRAP used active-active needs (every key, delete markers, replica modification sync)?
# And does replication work? A configuration can look complete while S3 cannot use its
# role, which shows nowhere but in each object's ReplicationStatus: so once the
# configuration is complete, it puts one probe object into each bucket under
# mrap-edge-replication-check/<run>/, waits until S3 reports COMPLETED for both (or
# FAILED, or SETTLE_SECONDS, 900 by default, pass), checks the replica arrived, then
# deletes every version of its two probe keys in both buckets, and nothing else.
# Exit 0 when complete and replicating, 1 with what is missing or failed.
#
#   BUCKET_ONE=… BUCKET_TWO=… scripts/replication_check.sh
set -euo pipefail
. "$(dirname "$0")/ops_lib.sh"

PROBE_PREFIX=mrap-edge-replication-check

ops_preflight BUCKET_ONE BUCKET_TWO
[ "$BUCKET_ONE" != "$BUCKET_TWO" ] || die "BUCKET_ONE and BUCKET_TWO are both $BUCKET_ONE"

doc="{"
for bucket in "$BUCKET_ONE" "$BUCKET_TWO"; do
  [[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || die "'$bucket' is not a bucket name"
  region=$(aws_or_die "reading the Region of bucket $bucket" \
    s3api get-bucket-location --region "$REGION" --bucket "$bucket" --query LocationConstraint --output text)
  case "$region" in
    "" | None | null) region=us-east-1 ;;  # S3 reports us-east-1 as no constraint
    EU) region=eu-west-1 ;;
  esac
  versioning=$(aws_or_die "reading the versioning of bucket $bucket" \
    s3api get-bucket-versioning --region "$region" --bucket "$bucket" --query Status --output text)
  [ "$versioning" != None ] || versioning=""
  if ! aws_try replication err s3api get-bucket-replication --region "$region" --bucket "$bucket" --output json; then
    [[ "$err" == *ReplicationConfigurationNotFound* ]] || die "reading the replication of bucket $bucket failed: $err"
    replication=""
  fi
  [ -n "$replication" ] || replication="{}"
  if [ "$bucket" = "$BUCKET_ONE" ]; then region_one=$region; else region_two=$region; fi
  [ "$doc" = "{" ] || doc+=", "
  doc+="\"$bucket\": {\"region\": \"$region\", \"versioning\": \"$versioning\", \"replication\": ${replication}}"
done
doc+="}"

say "replication between $BUCKET_ONE and $BUCKET_TWO"
helper replication-report "$BUCKET_ONE" "$BUCKET_TWO" <<<"$doc" || exit 1

# The probes: one written into each bucket, each expected to replicate to the other.
run="$(date -u +%Y%m%dT%H%M%SZ)-$$"
body=$(mktemp)
probes=()  # "bucket<TAB>key<TAB>version id" of each probe put
region_of() { if [ "$1" = "$BUCKET_ONE" ]; then echo "$region_one"; else echo "$region_two"; fi; }
# shellcheck disable=SC2329  # run by the EXIT trap
cleanup() {
  local item bucket key other
  for item in ${probes[@]+"${probes[@]}"}; do
    IFS=$'\t' read -r bucket key _ <<<"$item"
    for other in "$BUCKET_ONE" "$BUCKET_TWO"; do  # the probe and its replica
      remove_object_versions "$other" "$key" "$(region_of "$other")" ||
        echo "warning: s3://$other/$key may be left: remove it by hand" >&2
    done
  done
  rm -f "$body"
}
trap cleanup EXIT

for bucket in "$BUCKET_ONE" "$BUCKET_TWO"; do
  key="$PROBE_PREFIX/$run/from-$bucket.txt"
  printf 'replication probe from %s\n' "$bucket" >"$body"
  aws_try out err s3api put-object --region "$(region_of "$bucket")" --bucket "$bucket" --key "$key" --body "$body" \
    --metadata "mrap-edge-replication-check=$run" --output json || die "putting the probe s3://$bucket/$key failed: $err"
  version=$(echo "$out" | "$PYTHON" "$VIEW" get VersionId)
  probes+=("$bucket"$'\t'"$key"$'\t'"$version")
done

failed=0
for item in "${probes[@]}"; do
  IFS=$'\t' read -r bucket key version <<<"$item"
  other=$BUCKET_ONE
  [ "$bucket" != "$BUCKET_ONE" ] || other=$BUCKET_TWO
  started=$(date +%s)
  status=$(wait_replicated "$bucket" "$key" "$version" "$(region_of "$bucket")")
  replica=""
  if [ "$status" = COMPLETED ] && try_aws s3api head-object --region "$(region_of "$other")" --bucket "$other" \
    --key "$key" --version-id "$version" --output json; then
    replica=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" get ReplicationStatus)
  fi
  if [ "$status" = COMPLETED ] && [ "$replica" = REPLICA ]; then
    echo "ok: a probe replicated $bucket -> $other (ReplicationStatus COMPLETED after $(($(date +%s) - started))s)"
  elif [ "$status" = COMPLETED ]; then
    echo "FAIL: $bucket -> $other: S3 reports COMPLETED but $other holds no replica of version $version"
    failed=1
  elif [ "$status" = FAILED ]; then
    echo "FAIL: $bucket -> $other: ReplicationStatus FAILED: S3 could not replicate with the rule's role (its trust policy and permissions)"
    failed=1
  else
    echo "FAIL: $bucket -> $other: ReplicationStatus ${status:-absent} after ${SETTLE_SECONDS:-900}s (want COMPLETED)"
    failed=1
  fi
done
exit $failed
