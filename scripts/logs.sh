#!/usr/bin/env bash
# The function's logs from every Region where an edge ran it, merged by time.
#
#   scripts/logs.sh                  recent lines (SINCE=15m), Region in front, JSON rendered
#   FILTER=<request id|word|pattern> only the matching lines (a CloudWatch filter pattern)
#   FOLLOW=1                         keep polling for new lines every FOLLOW_SECONDS (5; Ctrl-C stops)
#   RETENTION=14                     set retention (days) on every one of the groups instead
#
# Lambda@Edge writes to /aws/lambda/us-east-1.<function name> in the Region of the edge
# that ran it, in groups created without retention.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/edge-functions-logs.html
# The Regions are the account's enabled ones from 'ec2 describe-regions' (one permission,
# ec2:DescribeRegions, and any CLI version; 'account list-regions' needs account:ListRegions
# and a newer CLI). REGIONS="eu-west-1 us-east-1" skips the lookup.
set -euo pipefail
. "$(dirname "$0")/ops_lib.sh"

SINCE=${SINCE:-15m}
FILTER=${FILTER:-}
FOLLOW=${FOLLOW:-}
RETENTION=${RETENTION:-}
VALID_RETENTION=" 1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653 "

# Checks that need no AWS call come first.
if [ -n "$RETENTION" ] && [[ "$VALID_RETENTION" != *" $RETENTION "* ]]; then
  die "RETENTION=$RETENTION is not a CloudWatch retention: use one of$VALID_RETENTION(days)"
fi
helper parse-since "$SINCE" >/dev/null || exit 2
# shellcheck disable=SC2119 # nothing to require but the CLI and credentials
ops_preflight

name=$(function_name)
group="/aws/lambda/us-east-1.$name"

regions=${REGIONS:-}
if [ -z "$regions" ]; then  # any Region lists them all: try another when one is impaired
  for region in $REGION us-west-2 eu-west-1; do
    aws_try regions err ec2 describe-regions --region "$region" "${AWS_TIMEOUTS[@]}" \
      --query "Regions[].RegionName" --output text && break
    say "$region did not list the Regions ($err)" >&2
  done
  [ -n "$regions" ] || die "cannot list the account's Regions (ec2 describe-regions): $err; set REGIONS=\"eu-west-1 ...\""
fi

found=()
for region in $regions; do
  if ! aws_try out err logs describe-log-groups --region "$region" "${AWS_TIMEOUTS[@]}" \
    --log-group-name-prefix "$group" --query "logGroups[?logGroupName=='$group'].[logGroupName,retentionInDays]" \
    --output text; then
    say "$region: skipped ($err)" >&2
    continue
  fi
  [ -n "$out" ] && [ "$out" != None ] || continue
  read -r _ days <<<"$out"
  found+=("$region=$days")
done

if [ ${#found[@]} -eq 0 ]; then
  say "no log group $group in any Region yet: the function logs where an edge ran it, after its first request"
  exit 0
fi

if [ -n "$RETENTION" ]; then
  for entry in "${found[@]}"; do
    region=${entry%%=*} days=${entry#*=}
    if [ "$days" = "$RETENTION" ]; then
      say "$region: $group already keeps $RETENTION days"
    else
      aws_or_die "setting retention on $group in $region" logs put-retention-policy --region "$region" \
        --log-group-name "$group" --retention-in-days "$RETENTION"
      say "$region: $group now keeps $RETENTION days (was ${days/None/forever})"
    fi
  done
  exit 0
fi

args=(logs --since "$SINCE" --filter "$FILTER" --interval "${FOLLOW_SECONDS:-5}")
following=""
if [ -n "$FOLLOW" ] && [ "$FOLLOW" != 0 ]; then
  args+=(--follow)
  following=" (following; Ctrl-C stops)"
fi
names=()
for entry in "${found[@]}"; do
  args+=(--group "${entry%%=*}=$group")
  names+=("${entry%%=*}")
done
say "$group in ${names[*]}, since $SINCE${FILTER:+, matching $FILTER}$following"
helper "${args[@]}"
