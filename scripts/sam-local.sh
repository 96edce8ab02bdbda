#!/usr/bin/env bash
# make sam-api / make sam-invoke EVENT=...: the function built by sam build,
# in a container run by the SAM CLI, over a fresh local DynamoDB with the
# sample data and the dev key (as make run loads them). Stops all it starts.
#
#   sam-local.sh api            sam local start-api on 127.0.0.1:$SAM_API_PORT (3001)
#   sam-local.sh invoke EVENT   sam local invoke GetCustomerFunction -e EVENT
#
# The container reaches the DynamoDB at host.docker.internal: on Linux the
# name is mapped to the Docker bridge's gateway (--add-host ...:host-gateway)
# and the DynamoDB listens on that address; on Docker Desktop the name
# reaches the host's loopback, where it listens. SAM_DYNAMODB_HOST overrides
# the listening address; it is never every interface unless you say so.
#
# SAM_CLI names the SAM CLI to run (default: sam on PATH) and
# CONTAINER_RUNTIME the container runtime (default: the first of docker and
# finch on PATH whose engine answers).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
case "$mode" in
api) ;;
invoke)
	event=${2:-}
	[ -n "$event" ] || { echo "usage: make sam-invoke EVENT=events/get-customer-200.json" >&2; exit 2; }
	[ -f "$event" ] || { echo "no such event file: $event" >&2; exit 2; }
	;;
*) echo "usage: sam-local.sh api | invoke EVENT" >&2; exit 2 ;;
esac

if [ "$mode" = api ]; then
	api_port=${SAM_API_PORT:-3001}
	. scripts/listen-address.sh
	check_listen_address "127.0.0.1:$api_port" "SAM_API_PORT=%s make sam-api" port
fi

# What is missing, said plainly.
sam_cli=${SAM_CLI:-sam}
if ! command -v "$sam_cli" >/dev/null 2>&1; then
	echo "The AWS SAM CLI is not installed (no '$sam_cli' on PATH): see https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html, or use make run / make invoke, which need no Docker." >&2
	exit 1
fi
runtime=
for r in ${CONTAINER_RUNTIME:-docker finch}; do
	if command -v "$r" >/dev/null 2>&1 && "$r" info >/dev/null 2>&1; then runtime=$r; break; fi
done
if [ -z "$runtime" ]; then
	installed=
	for r in ${CONTAINER_RUNTIME:-docker finch}; do
		command -v "$r" >/dev/null 2>&1 && installed=$r
	done
	if [ -n "$installed" ]; then
		echo "No container runtime is running ('docker info' and 'finch info' failed): start Docker (Docker Desktop, or: sudo systemctl start docker) or Finch (finch vm start)." >&2
	else
		echo "No container runtime is installed: the SAM CLI runs the function in Docker or Finch; install one, or use make run / make invoke, which need no Docker." >&2
	fi
	exit 1
fi

# Where a container reaches this host.
host=${SAM_DYNAMODB_HOST:-}
if [ -z "$host" ]; then
	host=127.0.0.1
	if [ "$(uname -s)" = Linux ] && ! "$runtime" info --format '{{.OperatingSystem}}' 2>/dev/null | grep -q 'Docker Desktop'; then
		host=$("$runtime" network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}' 2>/dev/null || true)
		[ -n "$host" ] || { echo "Cannot find the Docker bridge's gateway address ($runtime network inspect bridge); set SAM_DYNAMODB_HOST to an address of this host that containers reach." >&2; exit 1; }
	fi
fi

# Placeholder credentials, and one attempt: the SAM CLI otherwise retries an
# STS call for seconds on every command.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=${AWS_REGION:-us-east-1} AWS_MAX_ATTEMPTS=1 SAM_CLI_TELEMETRY=0
unset AWS_PROFILE AWS_SESSION_TOKEN

echo "sam build" >&2
"$sam_cli" build >&2

DYNALITE_HOST=$host
. scripts/local-dynamodb.sh >&2
port=${DYNAMODB_ENDPOINT##*:}
# Only variables template.yaml declares (the SAM CLI ignores others).
envfile="$workdir/env-vars.json"
cat >"$envfile" <<JSON
{"GetCustomerFunction": {"DYNAMODB_ENDPOINT": "http://host.docker.internal:$port", "CUSTOMERS_TABLE": "$CUSTOMERS_TABLE", "API_KEYS_TABLE": "$API_KEYS_TABLE"}}
JSON
containers_before=$("$runtime" ps -q 2>/dev/null | sort || true)
stop_new_containers() {
	# Warm containers the SAM CLI left behind, if it was stopped hard.
	local now
	now=$("$runtime" ps -q 2>/dev/null | sort || true)
	for c in $(comm -13 <(echo "$containers_before") <(echo "$now")); do
		if "$runtime" inspect --format '{{.Config.Image}}' "$c" 2>/dev/null | grep -q 'lambda'; then
			"$runtime" stop "$c" >/dev/null 2>&1 || true
		fi
	done
}
trap 'stop_new_containers || true; cleanup' EXIT

if [ "$mode" = invoke ]; then
	# Under emulation the container may not answer the first time ("No
	# response from invoke container"): try again, twice at most.
	for attempt in 1 2 3; do
		out=$("$sam_cli" local invoke GetCustomerFunction -e "$event" --env-vars "$envfile" \
			--add-host host.docker.internal:host-gateway 2>"$workdir/sam.err") || true
		if [ -n "$out" ]; then break; fi
		if ! grep -q 'No response from invoke container' "$workdir/sam.err"; then break; fi
		echo "sam local invoke: no response from the container (attempt $attempt); trying again" >&2
	done
	cat "$workdir/sam.err" >&2
	[ -n "$out" ] || { echo "sam local invoke: the function gave no response" >&2; exit 1; }
	echo "$out"
	# The SAM CLI exits 0 whatever the function answered; this does not.
	code=$(printf '%s' "$out" | tail -n 1 | sed -n 's/.*"statusCode" *: *\([0-9][0-9]*\).*/\1/p')
	[ -n "$code" ] || { echo "sam local invoke: the response has no statusCode" >&2; exit 1; }
	if [ "$code" -ge 500 ]; then
		echo "sam local invoke: the function answered $code" >&2
		exit 1
	fi
	exit 0
fi

cat >&2 <<MSG

Local DynamoDB at $DYNAMODB_ENDPOINT (containers: http://host.docker.internal:$port);
sample customers for client $DEV_CLIENT. Dev API key (local only): $DEV_KEY
The SAM CLI serves the function in a container; try:

  curl -s -H 'xx-relay-api-key: $DEV_KEY' http://127.0.0.1:$api_port/cdm/client/$DEV_CLIENT/customer/BAK-11984-007

Ctrl-C stops the API, its containers and the local DynamoDB.
MSG
# In the foreground, so that Ctrl-C reaches the SAM CLI, which then stops
# its containers (a background job would ignore it); this script stops the
# DynamoDB, and any container left, after it.
"$sam_cli" local start-api --host 127.0.0.1 --port "$api_port" --warm-containers EAGER \
	--add-host host.docker.internal:host-gateway --env-vars "$envfile"
