#!/usr/bin/env bash
# make run: the local API on ADDR (127.0.0.1:3000) over a fresh local
# DynamoDB with sample data. Every exit path (the server's own, a port in
# use, Ctrl-C, TERM) stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ADDR=${ADDR:-127.0.0.1:3000}
. scripts/listen-address.sh
check_listen_address "$ADDR" "ADDR=%s make run"

. scripts/local-dynamodb.sh
bin/cdmctl serve --addr "$ADDR" 2> >(tee "$workdir/serve.err" >&2) &
serve_pid=$!
started_pids=$serve_pid
# The banner and the curl line only once the server listens: a port taken
# in the meantime must not send the curl line to another program.
for _ in $(seq 300); do
	grep -q '^cdmctl: serving ' "$workdir/serve.err" 2>/dev/null && break
	if ! kill -0 "$serve_pid" 2>/dev/null; then
		wait "$serve_pid" || true
		echo "make run: the local API did not start on $ADDR (above); everything it started is stopped." >&2
		suggest_listen_address "$ADDR" "ADDR=%s make run"
		exit 1
	fi
	sleep 0.1
done
grep -q '^cdmctl: serving ' "$workdir/serve.err" || { echo "make run: the local API did not start within 30 s" >&2; exit 1; }

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
status=0
wait "$serve_pid" || status=$?
exit "$status"
