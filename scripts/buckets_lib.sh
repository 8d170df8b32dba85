# Shared by buckets.sh and destroy_buckets.sh: the two bucket stacks and their ownership.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"

REGION_ONE=${REGION_ONE:-eu-west-1}
REGION_TWO=${REGION_TWO:-us-west-2}
STACK_ONE="$STACK_NAME-bucket-one"
STACK_TWO="$STACK_NAME-bucket-two"
OWNER_TAG=mrap-edge:buckets  # value: the stack's own name
BUCKETS_TEMPLATE="$ROOT/buckets.template"
BUCKET_PATTERN='^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'

resolve_bucket_names() {
  local account prefix
  if [ -z "${BUCKET_ONE:-}" ] || [ -z "${BUCKET_TWO:-}" ]; then
    account=$(aws_or_die "reading the account id (sts get-caller-identity)" \
      sts get-caller-identity --region "$REGION" --query Account --output text)
    prefix=$(echo "$STACK_NAME" | tr '[:upper:]' '[:lower:]')
    BUCKET_ONE=${BUCKET_ONE:-$prefix-$account-$REGION_ONE}
    BUCKET_TWO=${BUCKET_TWO:-$prefix-$account-$REGION_TWO}
  fi
  local b
  for b in "$BUCKET_ONE" "$BUCKET_TWO"; do
    [[ "$b" =~ $BUCKET_PATTERN ]] || die "'$b' is not a bucket name buckets.template accepts (3-63 lower-case letters, digits, hyphens)"
  done
  [ "$BUCKET_ONE" != "$BUCKET_TWO" ] || die "BUCKET_ONE and BUCKET_TWO are both $BUCKET_ONE"
}

# stack_info REGION STACK: INFO_STATUS (NONE if absent), INFO_TAG, INFO_BUCKET.
stack_info() {
  local out err
  if ! aws_try out err cloudformation describe-stacks --region "$1" --stack-name "$2" --query \
    "Stacks[0].[StackStatus, Tags[?Key=='$OWNER_TAG'].Value | [0], Parameters[?ParameterKey=='BucketName'].ParameterValue | [0]]" \
    --output text; then
    [[ "$err" == *"does not exist"* ]] || die "cannot read stack $2 in $1: $err"
    INFO_STATUS=NONE INFO_TAG="" INFO_BUCKET=""
    return 0
  fi
  read -r INFO_STATUS INFO_TAG INFO_BUCKET <<<"$out"
}

# check_ours REGION STACK BUCKET (after stack_info): die unless the stack and bucket are ours or new.
check_ours() {
  local region=$1 stack=$2 bucket=$3 out err
  if [ "$INFO_STATUS" = NONE ]; then
    if aws_try out err s3api head-bucket --region "$region" --bucket "$bucket"; then
      die "bucket $bucket already exists and make buckets did not create it: name another (BUCKET_ONE/BUCKET_TWO), or check it with make replication-check"
    fi
    case "$err" in
      *404* | *"Not Found"* | *NoSuchBucket*) return 0 ;;
      *403* | *Forbidden*) die "bucket name $bucket is taken (by another account, or you may not read it): name another (BUCKET_ONE/BUCKET_TWO)" ;;
      *) die "cannot check whether bucket $bucket exists: $err" ;;
    esac
  fi
  [ "$INFO_TAG" = "$stack" ] || die "stack $stack in $region was not created by make buckets (no $OWNER_TAG tag): refusing to touch it"
  [ "$INFO_BUCKET" = "$bucket" ] || die "stack $stack in $region holds bucket $INFO_BUCKET, not $bucket: set the bucket name to $INFO_BUCKET, or remove it with make destroy-buckets"
  case "$INFO_STATUS" in
    *_IN_PROGRESS) die "stack $stack in $region is $INFO_STATUS: wait for it to finish, then run this again" ;;
    ROLLBACK_COMPLETE | *_FAILED) die "stack $stack in $region is $INFO_STATUS: see its events, run 'make destroy-buckets CONFIRM=yes', then try again" ;;
  esac
}

# put_stack REGION STACK BUCKET REPLICA: create or update, wait; no change is fine.
put_stack() {
  local region=$1 stack=$2 bucket=$3 replica=$4 out err verb=create
  local args=(--region "$region" --stack-name "$stack" --template-body "file://$BUCKETS_TEMPLATE"
    --parameters "ParameterKey=BucketName,ParameterValue=$bucket" "ParameterKey=ReplicaBucketName,ParameterValue=$replica"
    --capabilities CAPABILITY_IAM --tags "Key=$OWNER_TAG,Value=$stack")
  stack_info "$region" "$stack"
  if [ "$INFO_STATUS" = NONE ]; then
    aws_try out err cloudformation create-stack "${args[@]}" || die "creating stack $stack in $region failed: $err"
  else
    verb=update
    if ! aws_try out err cloudformation update-stack "${args[@]}"; then
      [[ "$err" == *"No updates are to be performed"* ]] || die "updating stack $stack in $region failed: $err"
      say "stack $stack in $region is up to date"
      return 0
    fi
  fi
  if ! aws_try out err cloudformation wait "stack-$verb-complete" --region "$region" --stack-name "$stack"; then
    stack_info "$region" "$stack"
    die "stack $stack in $region did not $verb ($INFO_STATUS): see 'aws cloudformation describe-stack-events --region $region --stack-name $stack'"
  fi
  say "stack $stack in $region: ${verb}d"
}
