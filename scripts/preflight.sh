#!/usr/bin/env bash
# Which signing mode fits (make preflight; deploy.sh runs it for SIGNING=auto): reads each
# bucket's Region, whether that Region is an opt-in Region for this account, and, for a
# deployed stack, whether its distribution has origin triggers besides the signer; then
# says in a few lines which mode fits and why (docs/signing-modes.md). Reads only.
#
#   S3_BUCKET_ONE=… S3_BUCKET_TWO=… scripts/preflight.sh
#   optional: SIGNING (auto|oac|lambda-edge; auto), ORIGIN_TRIGGERS (origin triggers the
#             distribution will need besides the signer: origin-request,origin-response),
#             CORS_ALLOWED_ORIGINS, STACK_NAME (mrap-edge), PREFLIGHT_MODE_FILE (the chosen
#             mode is written there)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

preflight S3_BUCKET_ONE S3_BUCKET_TWO
SIGNING=${SIGNING:-auto}
case "$SIGNING" in
  auto | oac | lambda-edge) ;;
  *) die "SIGNING must be auto, oac or lambda-edge, not '$SIGNING'" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=()
for bucket in "$S3_BUCKET_ONE" "$S3_BUCKET_TWO"; do
  must_aws "read the Region of bucket $bucket" s3api get-bucket-location --bucket "$bucket" --output json
  echo "$AWS_OUT" >"$work/bucket-$bucket.json"
  args+=(--bucket "$bucket=$work/bucket-$bucket.json")
done
# Every Region with its opt-in status for this account (the CLI follows the pages).
must_aws "list the account's Regions and their opt-in status" account list-regions --output json
echo "$AWS_OUT" >"$work/regions.json"
args+=(--regions "$work/regions.json")

# A deployed stack's distribution: origin triggers someone added besides the signer.
status=$(stack_status)
if [ "$status" != NONE ]; then
  distribution=$(stack_output DistributionId)
  if [ -n "$distribution" ]; then
    must_aws "read distribution $distribution" cloudfront get-distribution-config --id "$distribution" --output json
    echo "$AWS_OUT" >"$work/distribution.json"
    args+=(--distribution "$work/distribution.json" --own "$(stack_output FunctionVersionArn)")
  fi
fi
args+=(--triggers "${ORIGIN_TRIGGERS:-}" --cors "${CORS_ALLOWED_ORIGINS:-}")

say "signing mode for $S3_BUCKET_ONE and $S3_BUCKET_TWO (SIGNING=$SIGNING)"
rc=0
decision=$("$PYTHON" "$ROOT/scripts/signing_mode.py" decide "$SIGNING" "${args[@]}") || rc=$?
echo "$decision" | grep -v '^mode: ' || true
[ "$rc" -eq 0 ] || exit "$rc"
mode=$(echo "$decision" | sed -n 's/^mode: //p')
say "mode: $mode"
if [ "$mode" = oac ]; then
  echo "  each bucket's policy must let CloudFront read through the MRAP: 'make buckets' adds statement"
  echo "  CloudFrontReadsThroughMrap (buckets.template); for buckets of your own, add the same statement"
fi
[ -z "${PREFLIGHT_MODE_FILE:-}" ] || echo "$mode" >"$PREFLIGHT_MODE_FILE"
