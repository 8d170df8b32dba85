#!/usr/bin/env bash
# Delete the function versions that updates left behind (the stack retains each replaced
# AWS::Lambda::Version, because CloudFront still runs its replicas for a while).
# Skips the version the distribution runs; a version whose replicas CloudFront has not
# removed yet is reported as "still replicated, try later" and kept. Says what it did.
#
#   scripts/prune_versions.sh   (STACK_NAME as for deploy.sh)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

preflight STACK_NAME

status=$(stack_status)
case "$status" in
  NONE) die "stack $STACK_NAME does not exist in $REGION (is STACK_NAME right?)" ;;
  *_IN_PROGRESS) die "stack $STACK_NAME is $status: $(next_step "$status")" ;;
esac

if ! try_aws cloudformation --region "$REGION" describe-stack-resource \
  --stack-name "$STACK_NAME" --logical-resource-id EdgeFunction --output json; then
  if [ "$(stack_output SigningMode)" = oac ]; then  # no function in this mode (docs/signing-modes.md)
    say "stack $STACK_NAME signs with origin access control (SigningMode oac): no function, no versions to prune"
    echo "  a function left from lambda-edge mode is outside the stack: once CloudFront has removed its replicas,"
    echo "  'aws lambda delete-function --region $REGION --function-name NAME' deletes it with its versions"
    exit 0
  fi
  fail "cannot find the function of stack $STACK_NAME: $AWS_ERROR"
fi
function=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" get StackResourceDetail.PhysicalResourceId)
[ -n "$function" ] || fail "stack $STACK_NAME has no function yet"

# In use: what the stack says and what the distribution really runs (they differ only
# while an update is deploying, and then both stay).
in_use=$(stack_output FunctionVersionArn)
distribution=$(stack_output DistributionId)
if [ -n "$distribution" ]; then
  must_aws "read distribution $distribution" cloudfront get-distribution-config --id "$distribution" --output json
  in_use="$in_use"$'\n'"$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" associations)"
fi

must_aws "list the versions of $function" lambda list-versions-by-function --region "$REGION" \
  --function-name "$function" --output json
versions=$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" versions)

deleted=() replicated=() kept=() failed=()
for version in $versions; do
  if echo "$in_use" | grep -Eq ":function:$function:$version\$"; then
    say "version $version: in use by the distribution, kept"
    kept+=("$version")
    continue
  fi
  if try_aws lambda delete-function --region "$REGION" --function-name "$function" --qualifier "$version"; then
    say "version $version: deleted"
    deleted+=("$version")
  elif [[ "$AWS_ERROR" == *"replicated function"* ]]; then
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/lambda-edge-delete-replicas.html
    say "version $version: still replicated, try later (CloudFront removes replicas within a few hours of the last association)"
    replicated+=("$version")
  else
    echo "error: version $version: $AWS_ERROR" >&2
    failed+=("$version")
  fi
done

say "function $function: deleted ${#deleted[@]} (${deleted[*]:-none}), still replicated ${#replicated[@]} (${replicated[*]:-none}), in use ${#kept[@]} (${kept[*]:-none})"
[ ${#failed[@]} -eq 0 ] || fail "could not delete version(s) ${failed[*]} (see above)"
