# Shared by the benchmark scripts: sourced, never run. Each caller defines
# die() (message, exit 2) before using these.

# Prints the absolute path of the rampart to measure: $1 if given, else the
# first that exists of the static musl build, the release build, the debug
# build. Builds nothing.
bench_binary() {
    local bin=${1:-} b
    if [ -z "$bin" ]; then
        for b in target/x86_64-unknown-linux-musl/release/rampart target/release/rampart \
            target/debug/rampart; do
            [ -x "$b" ] && { bin=$b; break; }
        done
    fi
    [ -n "$bin" ] && [ -x "$bin" ] || die "no rampart binary (build one, or pass --binary)"
    echo "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
}

# A free TCP port on loopback.
free_port() {
    "$1" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts moto's server from the virtual environment $1 on a free loopback
# port, logging to $2, and waits until it answers. Sets moto_pid and
# endpoint; the caller kills moto_pid when done. Also exports test
# credentials and the endpoint for the AWS SDKs, and keeps instance
# metadata, profiles and Rampart's own log settings out of the run.
start_moto() {
    local venv=$1 log=$2 py=$1/bin/python3 port
    [ -x "$venv/bin/moto_server" ] || die "no moto_server in $venv (run tests/run.sh once)"
    port=$(free_port "$py")
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    moto_pid=$!
    endpoint=http://127.0.0.1:$port
    for _ in $(seq 100); do
        "$py" -c "import urllib.request; urllib.request.urlopen('$endpoint/moto-api/')" \
            2>/dev/null && break
        sleep 0.1
    done
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1  # the SDK, boto3
    export AWS_ENDPOINT_URL=$endpoint AWS_EC2_METADATA_DISABLED=true
    export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    export RAMPART_INSTANCE_ID=i-0123456789abcdef0
    unset AWS_PROFILE AWS_SESSION_TOKEN RAMPART_LOG
}
