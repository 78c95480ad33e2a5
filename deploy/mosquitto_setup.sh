#!/usr/bin/env bash
# Writes the Mosquitto configuration of a Winter River controller: an MQTT listener
# (TCP, default 1883) for boards, Telegraf and the engine, and a WebSocket listener
# (default 9001) for browsers and Grafana; anonymous by default (the seed's isolated
# hotspot), or users from a password file, or Winter River's roles from an auth file
# (--auth: each board, the engine, operators and viewers may do only what their role
# may, docs/security.md). Then enables and restarts Mosquitto.
#
# It writes <conf-dir>/winter-river.conf — and with --auth the password_file and
# acl_file beside it, made by `winter-river auth mosquitto` (the rules live in one
# place, crates/broker/src/access.rs) — each only when its content changes (a second
# run changes nothing). With --conf-dir other than the default it touches nothing
# else, which is how the tests run it against a throw-away Mosquitto.
set -euo pipefail

readonly DEFAULT_CONF_DIR=/etc/mosquitto/conf.d
readonly CONF_NAME=winter-river.conf
readonly ACL_NAME=winter-river.acl
readonly PASSWD_NAME=winter-river.passwd

conf_dir=$DEFAULT_CONF_DIR
port=1883
ws_port=9001
bind=""
password_file=""
auth_file=""
prefix=winter-river
winter_river=winter-river
restart=1
dry_run=0

usage() {
    cat <<USAGE
Usage: deploy/mosquitto_setup.sh [options]

  --conf-dir DIR        where to write $CONF_NAME (default $DEFAULT_CONF_DIR)
  --port PORT           MQTT TCP listener port (default 1883)
  --ws-port PORT        MQTT WebSocket listener port (default 9001; 0 = none)
  --bind ADDRESS        listen on this address only (default: every interface)
  --password-file FILE  require a user from FILE (made with mosquitto_passwd);
                        default: anonymous clients allowed
  --auth FILE           Winter River's roles from this auth file (docs/security.md):
                        writes $PASSWD_NAME and $ACL_NAME beside $CONF_NAME
  --prefix PREFIX       topic prefix of the roles (default winter-river)
  --winter-river CMD    the winter-river command (default: winter-river on PATH)
  --no-restart          do not enable or restart the mosquitto service
  --dry-run             print what would change, change nothing
  -h, --help            this help

The service is enabled and restarted only when --conf-dir is $DEFAULT_CONF_DIR.
USAGE
}

die() {
    echo "mosquitto_setup: $*" >&2
    exit 2
}

need_value() {
    if [ "$#" -lt 2 ] || [ -z "$2" ]; then
        die "$1 needs a value (see --help)"
    fi
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --conf-dir) need_value "$@"; conf_dir=$2; shift 2 ;;
        --port) need_value "$@"; port=$2; shift 2 ;;
        --ws-port) need_value "$@"; ws_port=$2; shift 2 ;;
        --bind) need_value "$@"; bind=$2; shift 2 ;;
        --password-file) need_value "$@"; password_file=$2; shift 2 ;;
        --auth) need_value "$@"; auth_file=$2; shift 2 ;;
        --prefix) need_value "$@"; prefix=$2; shift 2 ;;
        --winter-river) need_value "$@"; winter_river=$2; shift 2 ;;
        --no-restart) restart=0; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option \`$1' (see --help)" ;;
    esac
done

valid_port() {
    case "$1" in
        '' | *[!0-9]*) return 1 ;;
    esac
    [ "$1" -le 65535 ]
}
if ! valid_port "$port" || [ "$port" = 0 ]; then
    die "--port \`$port' is not a port number (1-65535)"
fi
valid_port "$ws_port" || die "--ws-port \`$ws_port' is not a port number (0-65535)"
[ "$ws_port" != "$port" ] || die "--port and --ws-port are both $port"
case "$bind" in
    *[[:space:]]*) die "--bind \`$bind' contains a space" ;;
esac
if [ -n "$password_file" ]; then
    case "$password_file" in
        /*) ;;
        *) die "--password-file needs an absolute path (Mosquitto reads it from its own directory)" ;;
    esac
    [ -f "$password_file" ] || [ "$dry_run" = 1 ] ||
        die "--password-file $password_file does not exist (create it: mosquitto_passwd -c $password_file USER)"
fi

if [ -n "$auth_file" ]; then
    [ -z "$password_file" ] || die "--auth and --password-file: choose one (--auth writes its own password file)"
    [ -f "$auth_file" ] || die "--auth $auth_file does not exist (docs/security.md, \"The auth file\")"
    command -v "$winter_river" >/dev/null 2>&1 ||
        die "\`$winter_river' not found: install it (cargo install --locked --path crates/cli) or pass --winter-river PATH"
fi

# ── The roles (--auth) ─────────────────────────────────────────────────────────
acl_path="$conf_dir/$ACL_NAME"
passwd_path="$conf_dir/$PASSWD_NAME"
auth_lines=""
auth_changed=0
if [ -n "$auth_file" ]; then
    auth_args=(auth mosquitto --auth "$auth_file" --prefix "$prefix"
        --acl-file "$acl_path" --password-file "$passwd_path")
    # Mosquitto drops root for its own user, which must be able to read both files.
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
        auth_args+=(--owner mosquitto)
    fi
    if [ "$dry_run" = 1 ]; then
        auth_lines=$("$winter_river" "${auth_args[@]}" --print-conf) || die "the auth file $auth_file is refused (see above)"
        echo "mosquitto_setup: would write $acl_path and $passwd_path from $auth_file"
    else
        [ -d "$conf_dir" ] || die "$conf_dir does not exist (is Mosquitto installed? apt-get install mosquitto)"
        # Missing files (the first run) digest as empty.
        digest() { { cat "$acl_path" "$passwd_path" 2>/dev/null || true; } | sha256sum; }
        before=$(digest)
        auth_lines=$("$winter_river" "${auth_args[@]}") || die "cannot write the roles of $auth_file (see above)"
        [ "$(digest)" = "$before" ] || auth_changed=1
    fi
fi

# ── The configuration ────────────────────────────────────────────────────────────
render() {
    local address=""
    [ -z "$bind" ] || address=" $bind"
    cat <<CONF
# Winter River MQTT listeners. Written by deploy/mosquitto_setup.sh: edit its options,
# not this file (a later run rewrites it). Mosquitto 2 accepts only local clients
# until a listener is declared, so these lines are what opens the broker to the boards.

# MQTT over TCP: ESP32 boards, the engine, Telegraf, Grafana's MQTT datasource.
listener $port$address
protocol mqtt
CONF
    if [ "$ws_port" != 0 ]; then
        cat <<CONF

# MQTT over WebSocket: browsers (the web dashboard, MQTT Explorer), ws:// clients.
listener $ws_port$address
protocol websockets
CONF
    fi
    cat <<CONF

# Send small messages at once: without it, Nagle's algorithm holds a board's status
# that follows an engine update for ~40 ms (docs/benchmarks.md, live latency).
set_tcp_nodelay true
CONF
    echo
    if [ -n "$auth_file" ]; then
        cat <<CONF
# Winter River's roles from $auth_file (docs/security.md): boards publish only
# their own topics, only the engine publishes system/*, operators send commands,
# viewers read. Both files are written by \`winter-river auth mosquitto'.
$auth_lines
CONF
    elif [ -n "$password_file" ]; then
        cat <<CONF
# Clients must log in as a user of this file (mosquitto_passwd manages it).
allow_anonymous false
password_file $password_file
CONF
    else
        cat <<CONF
# Anonymous clients allowed: the broker is meant for the isolated WinterRiver-AP
# hotspot. Run deploy/mosquitto_setup.sh --password-file FILE to require users.
allow_anonymous true
CONF
    fi
}

target="$conf_dir/$CONF_NAME"
wanted=$(render)
mode_text="anonymous"
[ -z "$password_file" ] || mode_text="users from $password_file"
[ -z "$auth_file" ] || mode_text="roles from $auth_file"
ws_text="WebSocket $ws_port"
[ "$ws_port" != 0 ] || ws_text="no WebSocket"
summary="TCP $port, $ws_text, ${bind:-all interfaces}, $mode_text"

changed=$auth_changed
if [ -f "$target" ] && [ "$(cat "$target")" = "$wanted" ]; then
    echo "mosquitto_setup: $target unchanged ($summary)"
else
    changed=1
    if [ "$dry_run" = 1 ]; then
        if [ -f "$target" ]; then
            echo "mosquitto_setup: would rewrite $target ($summary):"
            diff -u "$target" <(printf '%s\n' "$wanted") | sed 's/^/    /' || true
        else
            echo "mosquitto_setup: would write $target ($summary):"
            printf '%s\n' "$wanted" | sed 's/^/    /'
        fi
    else
        [ -d "$conf_dir" ] || die "$conf_dir does not exist (is Mosquitto installed? apt-get install mosquitto)"
        tmp=$(mktemp "$conf_dir/.$CONF_NAME.XXXXXX")
        printf '%s\n' "$wanted" >"$tmp"
        chmod 644 "$tmp"
        mv -f "$tmp" "$target"
        echo "mosquitto_setup: wrote $target ($summary)"
    fi
fi

# ── The service ──────────────────────────────────────────────────────────────────
if [ "$restart" = 0 ]; then
    exit 0
fi
if [ "$conf_dir" != "$DEFAULT_CONF_DIR" ]; then
    echo "mosquitto_setup: --conf-dir is not $DEFAULT_CONF_DIR: service left alone"
    exit 0
fi
if [ -f /etc/mosquitto/mosquitto.conf ] &&
    ! grep -Eq "^[[:space:]]*include_dir[[:space:]]+$DEFAULT_CONF_DIR/?[[:space:]]*$" /etc/mosquitto/mosquitto.conf; then
    echo "mosquitto_setup: warning: /etc/mosquitto/mosquitto.conf has no \`include_dir $DEFAULT_CONF_DIR': $CONF_NAME will not be read" >&2
fi

run() {
    if [ "$dry_run" = 1 ]; then
        echo "mosquitto_setup: would run: $*"
    else
        echo "mosquitto_setup: $*"
        "$@"
    fi
}

if ! systemctl is-enabled --quiet mosquitto 2>/dev/null; then
    run systemctl enable mosquitto
fi
if [ "$changed" = 1 ]; then
    run systemctl restart mosquitto
elif ! systemctl is-active --quiet mosquitto 2>/dev/null; then
    run systemctl start mosquitto
fi
