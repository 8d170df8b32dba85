#!/usr/bin/env bash
# Two content buckets in two Regions with two-way replication (make buckets), one
# CloudFormation stack of buckets.template per Region:
#
#   1. bucket one without replication (bucket two does not exist yet),
#   2. bucket two replicating to one,
#   3. bucket one updated to replicate to two.
#
# Running it again changes nothing. It refuses buckets and stacks it did not create
# (a stack must carry the tag mrap-edge:buckets=<its name>; a new bucket's name must be free).
#
#   REGION_ONE (eu-west-1), REGION_TWO (us-west-2): two Regions an MRAP supports
#   BUCKET_ONE, BUCKET_TWO: names (default <stack name>-<account id>-<Region>)
#   STACK_NAME (mrap-edge): the stacks are <STACK_NAME>-bucket-one / -bucket-two
set -euo pipefail
. "$(dirname "$0")/buckets_lib.sh"

ops_preflight REGION_ONE REGION_TWO
[ "$REGION_ONE" != "$REGION_TWO" ] || die "REGION_ONE and REGION_TWO are both $REGION_ONE: an MRAP takes one bucket per Region"
resolve_bucket_names

stack_info "$REGION_ONE" "$STACK_ONE"
status_one=$INFO_STATUS
check_ours "$REGION_ONE" "$STACK_ONE" "$BUCKET_ONE"
stack_info "$REGION_TWO" "$STACK_TWO"
check_ours "$REGION_TWO" "$STACK_TWO" "$BUCKET_TWO"

if [ "$status_one" = NONE ]; then
  say "creating $BUCKET_ONE in $REGION_ONE (replication to $BUCKET_TWO follows once that exists)"
  put_stack "$REGION_ONE" "$STACK_ONE" "$BUCKET_ONE" ""
fi
say "bucket $BUCKET_TWO in $REGION_TWO, replicating to $BUCKET_ONE"
put_stack "$REGION_TWO" "$STACK_TWO" "$BUCKET_TWO" "$BUCKET_ONE"
say "bucket $BUCKET_ONE in $REGION_ONE, replicating to $BUCKET_TWO"
put_stack "$REGION_ONE" "$STACK_ONE" "$BUCKET_ONE" "$BUCKET_TWO"

say "buckets ready: $BUCKET_ONE ($REGION_ONE) <-> $BUCKET_TWO ($REGION_TWO), versioned, replicated both ways"
say "for make deploy (S3_BUCKET_DEPLOYABLES is a bucket of yours in us-east-1):"
echo "export S3_BUCKET_ONE=$BUCKET_ONE S3_BUCKET_TWO=$BUCKET_TWO"
