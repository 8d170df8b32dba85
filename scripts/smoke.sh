#!/usr/bin/env bash
# Upload index.html to both buckets and check the distribution end to end:
# 200 with one of the two bodies, a Range request (206) and a missing key (404/403).
#
#   scripts/smoke.sh   (STACK_NAME as for deploy.sh; CLOUDFRONT_DNS skips the lookup)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

preflight STACK_NAME
command -v curl >/dev/null 2>&1 || die "curl is not on PATH"

one=$(stack_output S3BucketOneName)
two=$(stack_output S3BucketTwoName)
dns=${CLOUDFRONT_DNS:-$(stack_output CloudFrontDns)}
[ -n "$one" ] && [ -n "$two" ] && [ -n "$dns" ] || die "stack $STACK_NAME has no outputs: deploy it first"

body=$(mktemp)
trap 'rm -f "$body"' EXIT
for bucket in "$one" "$two"; do
  printf 'hello from s3 bucket %s\n' "$bucket" >"$body"
  say "uploading index.html to $bucket"
  aws s3api put-object --bucket "$bucket" --key index.html --body "$body" --content-type text/html >/dev/null
done

fail=0
check() {  # description, expected status, curl args...
  local what=$1 want=$2 got
  shift 2
  got=$(curl -sS -o "$body" -w '%{http_code}' "$@") || got="curl-failed"
  if [[ " $want " == *" $got "* ]]; then
    say "ok   $what: $got $(head -c 60 "$body")"
  else
    say "FAIL $what: got $got, want $want: $(head -c 300 "$body")"
    fail=1
  fi
}

check "GET /" "200" "$dns/"
if ! grep -Eq "^hello from s3 bucket ($one|$two)$" "$body"; then
  say "FAIL GET /: body is not from either bucket"
  fail=1
fi
check "GET /index.html with Range" "206" -H "Range: bytes=0-4" "$dns/index.html"
check "GET a missing key" "404 403" "$dns/smoke-test-missing-$RANDOM.txt"
[ $fail -eq 0 ] && say "smoke test passed: $dns" || { say "smoke test failed"; exit 1; }
