#!/usr/bin/env bash
# The MRAP's failover controls: each bucket's route is active (traffic dial 100) or passive (0).
#
#   scripts/routes.sh show              make routes:   each route (bucket, Region, dial)
#   scripts/routes.sh failover BUCKET   make failover TO=BUCKET: BUCKET active, the others passive
#   scripts/routes.sh failback          make failback: every route active again
#
# On AWS: the MRAP is the stack's MrapArn output (MRAP_ARN skips the lookup). The route
# APIs are served in five Regions; each call tries them in order (ROUTE_REGIONS), goes to
# the next when one fails and says which answered, so failover works while a Region is
# impaired. S3 applies a change within about 2 minutes: the script polls until the routes
# show it (WAIT_SECONDS, POLL_SECONDS). https://docs.aws.amazon.com/AmazonS3/latest/userguide/FailoverConfiguration.html
#
# Locally: LOCAL_CONTROL=http://127.0.0.1:8081 (make demo's control API) takes the same
# verbs over GET/POST /routes instead of AWS.
set -euo pipefail
. "$(dirname "$0")/ops_lib.sh"

ROUTE_REGIONS=${ROUTE_REGIONS:-us-east-1 us-west-2 ap-southeast-2 ap-northeast-1 eu-west-1}
WAIT_SECONDS=${WAIT_SECONDS:-300}
POLL_SECONDS=${POLL_SECONDS:-10}
action=${1:-show}
target=${2:-}

case "$action" in
  show | failback) ;;
  failover) [ -n "$target" ] || die "set TO to the bucket that should serve (make failover TO=<bucket>; make routes lists them)" ;;
  *) die "unknown action '$action': use show, failover BUCKET or failback" ;;
esac

ROUTES_JSON=""
ANSWERED=""  # the Region that answered last: tried first next time

if [ -n "${LOCAL_CONTROL:-}" ]; then
  command -v curl >/dev/null 2>&1 || die "curl is not on PATH"
  LOCAL_CONTROL=${LOCAL_CONTROL%/}
  where="the local control API ($LOCAL_CONTROL)"

  local_call() {  # method, path, [body]; sets ROUTES_JSON to the answer
    local code body
    body=$(mktemp)
    code=$(curl -sS -o "$body" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
      ${3:+--data "$3"} "$LOCAL_CONTROL$2" 2>/dev/null) || code=000
    ROUTES_JSON=$(cat "$body")
    rm -f "$body"
    [ "$code" != 000 ] || die "no answer from $where: is 'make demo' running?"
    [ "$code" = 200 ] || die "$where refused $1 $2: $(helper error-message <<<"$ROUTES_JSON")"
  }
  get_routes() { local_call GET /routes; }
  submit_routes() { local_call POST /routes "$(helper routes-updates-json <<<"$1")"; }
else
  # shellcheck disable=SC2119 # nothing to require but the CLI and credentials
  ops_preflight
  mrap=${MRAP_ARN:-$(main_output MrapArn)}
  [ -n "$mrap" ] || die "stack $STACK_NAME has no MrapArn output: deploy it first (make deploy)"
  account=$(echo "$mrap" | cut -d: -f5)  # arn:aws:s3::ACCOUNT:accesspoint/ALIAS
  [[ "$account" =~ ^[0-9]{12}$ ]] || die "MRAP_ARN '$mrap' is not an MRAP ARN (arn:aws:s3::ACCOUNT:accesspoint/ALIAS)"
  where="$mrap"

  ordered_regions() {
    local r
    [ -z "$ANSWERED" ] || echo "$ANSWERED"
    for r in $ROUTE_REGIONS; do [ "$r" = "$ANSWERED" ] || echo "$r"; done
  }

  # s3control OPERATION args...: the first Region that answers; sets ROUTES_JSON and ANSWERED.
  route_call() {
    local op=$1 region out err last=""
    shift
    for region in $(ordered_regions); do
      if aws_try out err s3control "$op" --region "$region" "${AWS_TIMEOUTS[@]}" \
        --account-id "$account" --mrap "$mrap" "$@" --output json; then
        [ "$region" = "$ANSWERED" ] || say "$region answered"
        ANSWERED=$region ROUTES_JSON=$out
        return 0
      fi
      case "$err" in  # the request's fault, not the Region's: another Region answers the same
        "(AccessDenied)"* | "(InvalidRequest)"* | "(NoSuch"*) die "$where: $err" ;;
      esac
      say "$region did not answer ($err): trying the next Region"
      last=$err
    done
    die "no Region that serves MRAP route control answered ($ROUTE_REGIONS); last error: $last"
  }
  get_routes() { route_call get-multi-region-access-point-routes; }
  submit_routes() {
    local updates
    read -r -a updates < <(helper routes-updates-shorthand <<<"$1")
    route_call submit-multi-region-access-point-routes --route-updates "${updates[@]}"
  }
fi

get_routes
current=$ROUTES_JSON
case "$action" in
  show)
    say "routes of $where"
    helper routes-table <<<"$current"
    exit 0
    ;;
  failover) plan=$(helper routes-plan --to "$target" <<<"$current") || exit 2 ;;
  failback) plan=$(helper routes-plan --all <<<"$current") || exit 2 ;;
esac

if helper routes-match "$plan" <<<"$current"; then
  say "nothing to change: the routes already are"
  helper routes-table <<<"$current"
  exit 0
fi
say "routes now:"
helper routes-table <<<"$current"
say "submitting: $(helper routes-describe <<<"$plan")"
submit_routes "$plan"

started=$(date +%s)
while :; do
  get_routes
  if helper routes-match "$plan" <<<"$ROUTES_JSON"; then
    break
  fi
  waited=$(($(date +%s) - started))
  [ "$waited" -lt "$WAIT_SECONDS" ] ||
    die "S3 has not applied the change after ${waited}s: run 'make routes' later to check (the change was accepted)"
  say "waiting for S3 to apply the change (${waited}s; it takes up to 2 minutes)"
  sleep "$POLL_SECONDS"
done
say "done: $(helper routes-describe <<<"$plan")"
helper routes-table <<<"$ROUTES_JSON"
