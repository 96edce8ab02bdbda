#!/usr/bin/env bash
# make run: the local API on 127.0.0.1:3000 over a fresh local DynamoDB with
# sample data. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ADDR=${ADDR:-127.0.0.1:3000}
. scripts/local-dynamodb.sh

cat <<MSG

Local DynamoDB at $DYNAMODB_ENDPOINT; sample customers for client $DEV_CLIENT.
Dev API key (local only): $DEV_KEY
Try:

  curl -s -H 'xx-relay-api-key: $DEV_KEY' http://$ADDR/cdm/client/$DEV_CLIENT/customer/BAK-11984-007

Operator commands against it, from another terminal in this directory:

  export DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=$AWS_REGION
  bin/cdmctl export --client $DEV_CLIENT

Ctrl-C stops the API and the local DynamoDB.
MSG
bin/cdmctl serve --addr "$ADDR" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null; cleanup' EXIT
wait $serve_pid
