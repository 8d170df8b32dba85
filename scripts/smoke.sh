#!/usr/bin/env bash
# Check the distribution end to end with objects of its own: put a probe object under
# mrap-edge-smoke/<stack>/<run>/ in both buckets, fetch it through CloudFront, then
# delete exactly what it put. With two-way replication each bucket also holds the other's
# probe as a replica, and S3 replicates no delete of a version: so it waits until S3 has
# replicated its probes (SETTLE_SECONDS, 900 at most), then deletes every version of its
# probe key in both buckets. It never writes or deletes any other key. Four checks, each
# reported by name:
#   status   GET of the probe answers 200
#   body     the body is the probe of one of the two buckets
#   range    a Range request answers 206 with just those bytes
#   missing  a key that does not exist answers 404 (403 without s3:ListBucket)
#
#   scripts/smoke.sh   (STACK_NAME as for deploy.sh; CLOUDFRONT_DNS skips the lookup)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

preflight STACK_NAME
command -v curl >/dev/null 2>&1 || die "curl is not on PATH"

status=$(stack_status)
case "$status" in
  NONE) die "stack $STACK_NAME does not exist in $REGION: run 'make deploy' first (or set STACK_NAME)" ;;
  CREATE_COMPLETE | UPDATE_COMPLETE | UPDATE_ROLLBACK_COMPLETE | IMPORT_COMPLETE) ;;
  *) die "stack $STACK_NAME is $status, not ready to serve: $(next_step "$status")" ;;
esac

one=$(stack_output S3BucketOneName)
two=$(stack_output S3BucketTwoName)
dns=${CLOUDFRONT_DNS:-$(stack_output CloudFrontDns)}
[ -n "$one" ] && [ -n "$two" ] && [ -n "$dns" ] || die "stack $STACK_NAME has no outputs: run 'make deploy' first"

run="$(date -u +%Y%m%dT%H%M%SZ)-$$"
prefix="$SMOKE_PREFIX/$STACK_NAME/$run"
probe="$prefix/probe.txt"
missing_key="$prefix/missing.txt"  # never written
body=$(mktemp)
created=()  # "bucket<TAB>version id" of each object this run put

cleanup() {
  local item bucket version status
  # Replicas first: a probe still PENDING would land in the other bucket after its cleanup.
  for item in ${created[@]+"${created[@]}"}; do
    bucket=${item%%$'\t'*}
    version=${item#*$'\t'}
    [ -n "$version" ] || continue  # an unversioned bucket does not replicate
    status=$(wait_replicated "$bucket" "$probe" "$version")
    [ "$status" != PENDING ] ||
      echo "warning: s3://$bucket/$probe is still replicating after ${SETTLE_SECONDS:-900}s: its replica may land later; 'make destroy' removes it" >&2
  done
  for item in ${created[@]+"${created[@]}"}; do
    bucket=${item%%$'\t'*}
    version=${item#*$'\t'}
    say "removing s3://$bucket/$probe"
    if [ -n "$version" ]; then  # every version of the key: its own and the other bucket's replica
      remove_object_versions "$bucket" "$probe" ||
        echo "warning: s3://$bucket/$probe may be left; 'make destroy' removes it" >&2
    else
      try_aws s3api delete-object --bucket "$bucket" --key "$probe" ||
        echo "warning: could not remove s3://$bucket/$probe ($AWS_ERROR); 'make destroy' removes it" >&2
    fi
  done
  rm -f "$body"
}
trap cleanup EXIT

for bucket in "$one" "$two"; do
  printf 'hello from s3 bucket %s\n' "$bucket" >"$body"
  say "putting s3://$bucket/$probe"
  must_aws "put the smoke test's probe into $bucket" s3api put-object --bucket "$bucket" --key "$probe" \
    --body "$body" --content-type text/plain --metadata "mrap-edge-smoke=$STACK_NAME" --output json
  created+=("$bucket"$'\t'"$(echo "$AWS_OUT" | "$PYTHON" "$VIEW" get VersionId)")
done

failed=()
fetch() {  # curl args... -> HTTP status in $code, body in $body
  code=$(curl -sS -o "$body" -w '%{http_code}' "$@" 2>/dev/null) || code="no-answer"
}
report() {  # name, ok (0/1), detail
  if [ "$2" -eq 0 ]; then
    echo "ok   $1: $3"
  else
    echo "FAIL $1: $3"
    failed+=("$1")
  fi
}
snippet() { head -c 200 "$body" | tr '\n' ' ' | sed 's/ $//'; }

fetch "$dns/$probe"
ok=0; [ "$code" = 200 ] || ok=1
report status $ok "GET /$probe -> $code (want 200)"
ok=0; grep -Eqx "hello from s3 bucket ($one|$two)" "$body" || ok=1
report body $ok "'$(snippet)' (want the probe of $one or $two)"

fetch -H "Range: bytes=0-4" "$dns/$probe"
ok=0; [ "$code" = 206 ] && [ "$(cat "$body")" = hello ] || ok=1
report range $ok "GET with Range: bytes=0-4 -> $code '$(snippet)' (want 206 'hello')"

fetch "$dns/$missing_key"
ok=0; [ "$code" = 404 ] || [ "$code" = 403 ] || ok=1
report missing $ok "GET /$missing_key -> $code (want 404, or 403 without s3:ListBucket)"

if [ ${#failed[@]} -eq 0 ]; then
  say "smoke test passed: $dns"
else
  say "smoke test failed: ${failed[*]}"
  exit 1
fi
