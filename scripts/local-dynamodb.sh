# Sourced by run-local.sh, invoke-local.sh and sam-local.sh: starts the
# pinned local DynamoDB on a free port of DYNALITE_HOST (default loopback),
# creates the tables and loads the sample customers and the dev key with
# cdmctl. On every exit (the script's own, an error, Ctrl-C, TERM, HUP) it
# stops the processes listed in started_pids, then the DynamoDB.
DEV_CLIENT=demo-clinic
DEV_KEY=cdmk_local_dev_key_do_not_use_in_prod

workdir=$(mktemp -d)
dynalite_pid=
started_pids=
cleanup() {
	# Under set -e a failing kill (a process already gone) would end the
	# trap before the rest of it ran.
	set +e
	local pid
	for pid in $started_pids $dynalite_pid; do
		kill "$pid" 2>/dev/null
	done
	for pid in $started_pids $dynalite_pid; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

node scripts/dynalite.js --host "${DYNALITE_HOST:-127.0.0.1}" >"$workdir/dynalite.out" 2>&1 &
dynalite_pid=$!
for _ in $(seq 100); do
	grep -q '^listening ' "$workdir/dynalite.out" && break
	if ! kill -0 "$dynalite_pid" 2>/dev/null; then
		echo "The local DynamoDB did not start (node scripts/dynalite.js --host ${DYNALITE_HOST:-127.0.0.1}):" >&2
		cat "$workdir/dynalite.out" >&2
		exit 1
	fi
	sleep 0.1
done
DYNAMODB_ENDPOINT=$(sed -n 's/^listening //p' "$workdir/dynalite.out")
[ -n "$DYNAMODB_ENDPOINT" ] || { echo "The local DynamoDB did not start within 10 s" >&2; exit 1; }
export DYNAMODB_ENDPOINT
export AWS_REGION=${AWS_REGION:-us-east-1} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN
export CUSTOMERS_TABLE=cdm-customers API_KEYS_TABLE=cdm-api-keys

bin/cdmctl tables create
bin/cdmctl keys create --client "$DEV_CLIENT" --key "$DEV_KEY" --label "local development" >/dev/null
bin/cdmctl import --client "$DEV_CLIENT" sample/customers.ndjson
