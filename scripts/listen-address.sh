# Sourced by run-local.sh and sam-local.sh: checks a HOST:PORT a local
# server is about to listen on, before anything is started or printed.

# port_in_use HOST PORT: something accepts connections there.
port_in_use() {
	local host=$1 port=$2
	case "$host" in 0.0.0.0 | "") host=127.0.0.1 ;; "::" | "[::]") host=::1 ;; esac
	host=${host#[}
	host=${host%]}
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# suggest_listen_address ADDR FORMAT [port]: prints the command that uses
# the next free port after ADDR's: FORMAT with %s for HOST:PORT, or for the
# port alone when the third argument is "port".
suggest_listen_address() {
	local host=${1%:*} port=${1##*:} p
	for ((p = port + 1; p <= port + 100 && p <= 65535; p++)); do
		if ! port_in_use "$host" "$p"; then
			printf "Port $p is free: %s\n" "$(listen_command "$2" "$host" "$p" "${3:-}")" >&2
			return 0
		fi
	done
	printf "Choose a free port: %s\n" "$(listen_command "$2" "$host" PORT "${3:-}")" >&2
}

listen_command() {
	# shellcheck disable=SC2059 # the format is the caller's
	if [ "$4" = port ]; then printf "$1" "$3"; else printf "$1" "$2:$3"; fi
}

# check_listen_address ADDR FORMAT [port]: exits 2 when ADDR is not HOST:PORT and 1
# when something already listens there, saying what to run instead.
check_listen_address() {
	local host=${1%:*} port=${1##*:}
	if [ "$host" = "$1" ] || ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
		echo "The listen address '$1' is not HOST:PORT with a port from 1 to 65535 (for example 127.0.0.1:3000)." >&2
		exit 2
	fi
	if port_in_use "$host" "$port"; then
		echo "$1 is already in use by another program, so nothing was started (its answers are not this API's)." >&2
		suggest_listen_address "$1" "$2" "${3:-}"
		exit 1
	fi
}
