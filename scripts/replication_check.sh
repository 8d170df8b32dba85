#!/usr/bin/env bash
# For two existing buckets: are versioning and replication both ways in place, as an
# MRAP used active-active needs (every key, delete markers, replica modification sync)?
# Reads only. Exit 0 when complete, 1 with the list of what is missing.
#
#   BUCKET_ONE=… BUCKET_TWO=… scripts/replication_check.sh
set -euo pipefail
. "$(dirname "$0")/ops_lib.sh"

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
  [ "$doc" = "{" ] || doc+=", "
  doc+="\"$bucket\": {\"region\": \"$region\", \"versioning\": \"$versioning\", \"replication\": ${replication}}"
done
doc+="}"

say "replication between $BUCKET_ONE and $BUCKET_TWO"
helper replication-report "$BUCKET_ONE" "$BUCKET_TWO" <<<"$doc"
