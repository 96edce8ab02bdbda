#!/usr/bin/env bash
# make invoke EVENT=events/x.json: the real bootstrap under the Lambda
# Runtime Interface Emulator, over a fresh local DynamoDB with sample data,
# as sam local invoke -e does in a container. Stops all it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
event=${1:?usage: invoke-local.sh EVENT_FILE}
[ -f "$event" ] || { echo "no such event file: $event" >&2; exit 2; }
. scripts/local-dynamodb.sh >&2
bin/cdmctl invoke --event "$event"
