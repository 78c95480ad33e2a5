#!/usr/bin/env bash
# Turns a Raspberry Pi 5 (Raspberry Pi OS / Debian bookworm, arm64) into a Winter River
# controller: Mosquitto, InfluxDB 2, Telegraf and Grafana as native systemd units, the
# `winter-river` engine (and web) as hardened units, optionally the WinterRiver-AP
# hotspot. docs/deploy.md walks through it and says what each step changes.
#
#   sudo scripts/setup_pi.sh --dry-run     # print every change, make none
#   sudo scripts/setup_pi.sh               # do it; a second run changes nothing
#
# Secrets (InfluxDB admin password and tokens, Grafana admin password, hotspot
# passphrase) live in grafana/.env (git-ignored, mode 600): missing ones are generated
# and written there; grafana/.env.example documents every variable.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO
readonly BUCKET=mqtt_metrics
readonly PREFIX=/usr/local/bin
readonly SERVICE_USER=winter-river
readonly WR_ETC=/etc/winter-river
readonly GRAFANA_DASHBOARDS=/var/lib/grafana/dashboards/winter-river
readonly GRAFANA_BLOCK_BEGIN="# BEGIN winter-river (scripts/setup_pi.sh)"
readonly GRAFANA_BLOCK_END="# END winter-river"
readonly TELEGRAF_TOKEN_DESC="winter-river: telegraf writes $BUCKET"
readonly GRAFANA_TOKEN_DESC="winter-river: grafana reads $BUCKET"

dry_run=0
env_file="$REPO/grafana/.env"
binary=""
hotspot=0
nodes_spec=""
local_broker=1

usage() {
    cat <<USAGE
Usage: sudo scripts/setup_pi.sh [options]

  --dry-run          print every change (files, packages, services, tokens), make none
  --env-file FILE    secrets and settings (default grafana/.env; see grafana/.env.example)
  --binary FILE      the winter-river binary to install (default target/release/winter-river)
  --hotspot          also create the WinterRiver-AP Wi-Fi hotspot (NetworkManager)
  --no-mosquitto     use a broker elsewhere (MQTT_URI in the env file): no local Mosquitto
  --nodes SPEC       also run virtual boards: \`winter-river nodes --nodes SPEC\`
                     (all, or id,id,... for the nodes without a physical board)
  -h, --help         this help
USAGE
}

die() {
    echo "setup_pi: error: $*" >&2
    exit 1
}

while [ "$#" -gt 0 ]; do
    case "$1" in
        --dry-run) dry_run=1; shift ;;
        --env-file)
            [ "$#" -ge 2 ] || die "--env-file needs a file"
            env_file=$2; shift 2 ;;
        --binary)
            [ "$#" -ge 2 ] || die "--binary needs a file"
            binary=$2; shift 2 ;;
        --hotspot) hotspot=1; shift ;;
        --no-mosquitto) local_broker=0; shift ;;
        --nodes)
            [ "$#" -ge 2 ] || die "--nodes needs all or a list of ids"
            nodes_spec=$2; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option \`$1' (see --help)" ;;
    esac
done

# ── Helpers ──────────────────────────────────────────────────────────────────────
step_no=0
step() {
    step_no=$((step_no + 1))
    printf '\n==> [%d] %s\n' "$step_no" "$*"
}
note() { printf '    %s\n' "$*"; }

# Secret values, masked in everything printed.
secrets=()
mask() {
    local text=$1 s
    for s in "${secrets[@]}"; do
        [ -n "$s" ] && text=${text//"$s"/***}
    done
    printf '%s' "$text"
}

# Runs a command that changes the machine; in a dry run, prints it instead.
run() {
    if [ "$dry_run" = 1 ]; then
        note "would run: $(mask "$*")"
    else
        note "run: $(mask "$*")"
        "$@"
    fi
}

# install_content DEST MODE OWNER:GROUP SECRET(0|1) CONTENT: writes DEST when its content,
# mode or owner differ. Returns 0 when it changed (or would change) something.
install_content() {
    local dest=$1 mode=$2 owner=$3 secret=$4 content=$5
    if [ -f "$dest" ] && [ "$(cat "$dest")" = "$content" ]; then
        local have
        have=$(stat -c '%a %U:%G' "$dest")
        if [ "$have" = "$mode $owner" ]; then
            note "unchanged: $dest"
            return 1
        fi
        run chown "$owner" "$dest"
        run chmod "$mode" "$dest"
        return 0
    fi
    if [ "$dry_run" = 1 ]; then
        if [ -f "$dest" ]; then
            note "would rewrite $dest (mode $mode, $owner):"
        else
            note "would create $dest (mode $mode, $owner):"
        fi
        if [ "$secret" = 1 ]; then
            # Names only: values are secrets.
            printf '%s\n' "$content" | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/        \1=…/p'
        elif [ -f "$dest" ]; then
            diff -u "$dest" <(printf '%s\n' "$content") | sed 's/^/        /' || true
        elif [ "$(printf '%s\n' "$content" | wc -l)" -le 60 ]; then
            printf '%s\n' "$content" | sed 's/^/        /'
        else
            note "    ($(printf '%s\n' "$content" | wc -l) lines, as in the repository)"
        fi
        return 0
    fi
    local dir tmp
    dir=$(dirname "$dest")
    [ -d "$dir" ] || install -d -m 755 "$dir"
    tmp=$(mktemp "$dir/.setup_pi.XXXXXX")
    printf '%s\n' "$content" >"$tmp"
    chown "$owner" "$tmp"
    chmod "$mode" "$tmp"
    mv -f "$tmp" "$dest"
    note "wrote $dest (mode $mode, $owner)"
    return 0
}

# install_file SRC DEST MODE OWNER:GROUP: install_content with a file of the repo.
install_file() {
    [ -f "$1" ] || die "$1 is missing from the repository"
    install_content "$2" "$3" "$4" 0 "$(cat "$1")"
}

package_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

unit_enabled() { systemctl is-enabled --quiet "$1" 2>/dev/null; }
unit_active() { systemctl is-active --quiet "$1" 2>/dev/null; }

# Enables a unit, and restarts it when its configuration changed or it is not running.
enable_and_restart() {
    local unit=$1 changed=$2
    unit_enabled "$unit" || run systemctl enable "$unit"
    if [ "$changed" = 1 ]; then
        run systemctl restart "$unit"
    elif ! unit_active "$unit"; then
        run systemctl start "$unit"
    else
        note "unchanged: $unit running"
    fi
}

# Runs a command without its standard output (which may echo a token back).
quiet() { "$@" >/dev/null; }

random_secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ── Settings and secrets: grafana/.env ───────────────────────────────────────────
# Every variable of grafana/.env.example, with its default.
INFLUX_URL=http://127.0.0.1:8086
INFLUX_ORG=winter-river
INFLUX_RETENTION=30d
INFLUX_ADMIN_USER="admin"
INFLUX_ADMIN_PASSWORD=""
INFLUX_ADMIN_TOKEN=""
INFLUX_TELEGRAF_TOKEN=""
INFLUX_GRAFANA_TOKEN=""
GRAFANA_ADMIN_PASSWORD=""
MQTT_URI=tcp://127.0.0.1:1883
MQTT_PASSWORD_FILE=""
HOTSPOT_SSID=WinterRiver-AP
HOTSPOT_PASSWORD=""
HOTSPOT_IFACE=wlan0
HOTSPOT_ADDRESS=192.168.4.1/24
readonly ENV_KEYS="INFLUX_URL INFLUX_ORG INFLUX_RETENTION INFLUX_ADMIN_USER INFLUX_ADMIN_PASSWORD
INFLUX_ADMIN_TOKEN INFLUX_TELEGRAF_TOKEN INFLUX_GRAFANA_TOKEN GRAFANA_ADMIN_PASSWORD MQTT_URI
MQTT_PASSWORD_FILE HOTSPOT_SSID HOTSPOT_PASSWORD HOTSPOT_IFACE HOTSPOT_ADDRESS"

# Reads KEY=VALUE lines (no shell evaluation); unknown keys are refused.
load_env() {
    local line key value n=0
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        case "$line" in '' | '#'*) continue ;; esac
        key=${line%%=*}
        value=${line#*=}
        [ "$key" != "$line" ] || die "$env_file:$n: not KEY=VALUE"
        case " $(echo "$ENV_KEYS" | tr '\n' ' ') " in
            *" $key "*) ;;
            *) die "$env_file:$n: unknown variable \`$key' (see grafana/.env.example)" ;;
        esac
        case "$value" in
            \"*\") value=${value#\"}; value=${value%\"} ;;
            \'*\') value=${value#\'}; value=${value%\'} ;;
        esac
        printf -v "$key" '%s' "$value"
    done <"$env_file"
}

env_dirty=0
# Sets a variable that must be saved to grafana/.env.
env_set() {
    printf -v "$1" '%s' "$2"
    env_dirty=1
}

save_env() {
    [ "$env_dirty" = 1 ] || { note "unchanged: $env_file"; return 0; }
    local content key
    content="# Winter River secrets and settings: written by scripts/setup_pi.sh, read by it on"
    content+=$'\n'"# every run. Keep it (the InfluxDB tokens cannot be shown again). Git-ignored."
    for key in $ENV_KEYS; do
        content+=$'\n'"$key=${!key}"
    done
    install_content "$env_file" 600 root:root 1 "$content" || true
}

# ── 1. Preflight ─────────────────────────────────────────────────────────────────
if [ "$dry_run" = 1 ]; then
    echo "setup_pi: dry run: printing every change, making none"
fi
step "Preflight: system, user, repository"
if [ "$(id -u)" != 0 ]; then
    [ "$dry_run" = 1 ] || die "run as root: sudo scripts/setup_pi.sh (or --dry-run to look first)"
    note "not root: fine for a dry run"
fi
os_id=unknown
if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    os_id=$(. /etc/os-release && echo "${ID:-unknown} ${VERSION_CODENAME:-}")
fi
case "$os_id" in
    debian* | raspbian* | ubuntu*) note "system: $os_id" ;;
    *)
        [ "$dry_run" = 1 ] || die "this script needs Debian or Raspberry Pi OS (found: $os_id)"
        note "system: $os_id (not Debian: a real run would stop here)" ;;
esac
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$arch" in
    arm64 | aarch64) note "architecture: $arch" ;;
    *) note "architecture: $arch (written for a Raspberry Pi 5, arm64; the steps are the same)" ;;
esac
for f in deploy/mosquitto_setup.sh telegraf/telegraf.conf \
    grafana/provisioning/datasources/winter-river.yaml \
    grafana/provisioning/dashboards/winter-river.yaml \
    deploy/systemd/winter-river-engine.service deploy/winter-river.env; do
    [ -f "$REPO/$f" ] || die "$REPO/$f is missing: run this from a Winter River checkout"
done

step "Secrets and settings: $env_file"
if [ -f "$env_file" ]; then
    load_env
    note "read $env_file"
else
    note "no $env_file yet: it will hold the generated secrets (template: grafana/.env.example)"
    env_dirty=1
fi
for key in INFLUX_ADMIN_PASSWORD INFLUX_ADMIN_TOKEN GRAFANA_ADMIN_PASSWORD; do
    if [ -z "${!key}" ]; then
        if [ "$dry_run" = 1 ]; then
            env_set "$key" "<generated-$key>"
        else
            env_set "$key" "$(random_secret)"
        fi
        note "generate $key"
    fi
done
if [ "$hotspot" = 1 ] && [ -z "$HOTSPOT_PASSWORD" ]; then
    # WPA2 passphrase: 8 to 63 characters.
    env_set HOTSPOT_PASSWORD "$(random_secret | cut -c1-16)"
    note "generate HOTSPOT_PASSWORD"
fi
secrets=("$INFLUX_ADMIN_PASSWORD" "$INFLUX_ADMIN_TOKEN" "$INFLUX_TELEGRAF_TOKEN"
    "$INFLUX_GRAFANA_TOKEN" "$GRAFANA_ADMIN_PASSWORD" "$HOTSPOT_PASSWORD")
# Saved now, before anything uses them: the admin token given to `influx setup` below
# must survive a failure later in this script.
save_env
env_dirty=0

# ── 2. Packages ──────────────────────────────────────────────────────────────────
step "Packages: InfluxData and Grafana apt repositories; mosquitto, influxdb2, telegraf, grafana"
# Vendor repositories: Debian has no InfluxDB 2, Telegraf or Grafana (Mosquitto comes
# from Debian itself). Each key goes to its own keyring, trusted for its list only.
sources_changed=0
add_repo() {
    local name=$1 key_url=$2 line=$3
    local keyring=/etc/apt/keyrings/$name.gpg list=/etc/apt/sources.list.d/$name.list
    if [ -s "$keyring" ]; then
        note "unchanged: $keyring"
    elif [ "$dry_run" = 1 ]; then
        note "would download $key_url into $keyring"
    else
        install -d -m 755 /etc/apt/keyrings
        note "download $key_url into $keyring"
        curl -fsSL "$key_url" | gpg --dearmor --yes -o "$keyring"
        chmod 644 "$keyring"
        gpg --show-keys --with-fingerprint "$keyring" | sed 's/^/      /'
    fi
    if install_content "$list" 644 root:root 0 "deb [signed-by=$keyring] $line"; then
        sources_changed=1
    fi
}
missing=()
for p in ca-certificates curl gnupg; do
    package_installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    run apt-get update
    run apt-get install -y "${missing[@]}"
fi
add_repo influxdata https://repos.influxdata.com/influxdata-archive.key \
    "https://repos.influxdata.com/debian stable main"
add_repo grafana https://apt.grafana.com/gpg.key "https://apt.grafana.com stable main"
missing=()
wanted_packages=(mosquitto-clients influxdb2 influxdb2-cli telegraf grafana jq)
[ "$local_broker" = 0 ] || wanted_packages=(mosquitto "${wanted_packages[@]}")
for p in "${wanted_packages[@]}"; do
    package_installed "$p" || missing+=("$p")
done
if [ "$sources_changed" = 1 ] || [ "${#missing[@]}" -gt 0 ]; then
    run apt-get update
fi
if [ "${#missing[@]}" -gt 0 ]; then
    run apt-get install -y "${missing[@]}"
else
    note "unchanged: every package installed"
fi
if package_installed grafana; then
    grafana_version=$(dpkg-query -W -f='${Version}' grafana)
    if [ "${grafana_version%%.*}" -lt 11 ] 2>/dev/null; then
        note "warning: Grafana $grafana_version: the MQTT datasource plugin needs Grafana 11 or later"
    fi
fi

# ── 3. Mosquitto ─────────────────────────────────────────────────────────────────
if [ "$local_broker" = 1 ]; then
    step "Mosquitto: listeners TCP 1883 and WebSocket 9001 (deploy/mosquitto_setup.sh)"
    mosquitto_args=()
    [ "$dry_run" = 0 ] || mosquitto_args+=(--dry-run)
    [ -z "$MQTT_PASSWORD_FILE" ] || mosquitto_args+=(--password-file "$MQTT_PASSWORD_FILE")
    "$REPO/deploy/mosquitto_setup.sh" "${mosquitto_args[@]}" | sed 's/^/    /'
else
    step "Mosquitto: skipped (--no-mosquitto): Telegraf and Grafana use $MQTT_URI"
    note "set WR_BROKER in $WR_ETC/winter-river.env to the same broker for the engine"
fi

# ── 4. InfluxDB ──────────────────────────────────────────────────────────────────
step "InfluxDB 2: organisation $INFLUX_ORG, bucket $BUCKET ($INFLUX_RETENTION), tokens for Telegraf and Grafana"
# The influx CLI reads these; passing tokens in the environment keeps them out of `ps`.
influx_cli() {
    INFLUX_HOST=$INFLUX_URL INFLUX_ORG=$INFLUX_ORG INFLUX_TOKEN=$INFLUX_ADMIN_TOKEN influx "$@"
}
# Creates a token with one permission on the bucket, unless one with the same
# description exists and grafana/.env has its value (InfluxDB 2.7+ shows a token only
# when it is created: a lost one is replaced).
ensure_token() {
    local var=$1 desc=$2 permission=$3 bucket_id=$4 ids id
    ids=$(influx_cli auth list --json | jq -r --arg d "$desc" '.[] | select(.description == $d) | .id')
    if [ -n "$ids" ] && [ -n "${!var}" ]; then
        note "unchanged: token \"$desc\" ($var in $env_file)"
        return 0
    fi
    for id in $ids; do
        note "token \"$desc\" exists but its value is not in $env_file: replacing it"
        run quiet influx_cli auth delete --id "$id"
    done
    note "create token \"$desc\" ($permission $BUCKET) into $var"
    local token
    token=$(influx_cli auth create --description "$desc" "--$permission-bucket" "$bucket_id" --json | jq -r .token)
    if [ -z "$token" ] || [ "$token" = null ]; then
        die "influx auth create returned no token"
    fi
    secrets+=("$token")
    env_set "$var" "$token"
}
influx_changed=0
if [ "$dry_run" = 1 ]; then
    unit_enabled influxdb || note "would run: systemctl enable influxdb"
    unit_active influxdb || note "would run: systemctl start influxdb"
    note "would wait for $INFLUX_URL/health"
    note "if InfluxDB is not set up yet, would run: influx setup --force --host $INFLUX_URL --org $INFLUX_ORG --bucket $BUCKET --retention $INFLUX_RETENTION --username $INFLUX_ADMIN_USER --password *** --token *** (INFLUX_ADMIN_TOKEN, chosen here so it is known)"
    [ -n "$INFLUX_TELEGRAF_TOKEN" ] || note "would create token \"$TELEGRAF_TOKEN_DESC\" (write $BUCKET only) into INFLUX_TELEGRAF_TOKEN"
    [ -n "$INFLUX_GRAFANA_TOKEN" ] || note "would create token \"$GRAFANA_TOKEN_DESC\" (read $BUCKET only) into INFLUX_GRAFANA_TOKEN"
    [ -n "$INFLUX_TELEGRAF_TOKEN" ] || INFLUX_TELEGRAF_TOKEN="<token-from-influx>"
    [ -n "$INFLUX_GRAFANA_TOKEN" ] || INFLUX_GRAFANA_TOKEN="<token-from-influx>"
else
    unit_enabled influxdb || run systemctl enable influxdb
    unit_active influxdb || run systemctl start influxdb
    for _ in $(seq 1 60); do
        curl -fsS "$INFLUX_URL/health" >/dev/null 2>&1 && break
        sleep 1
    done
    curl -fsS "$INFLUX_URL/health" >/dev/null || die "InfluxDB does not answer at $INFLUX_URL (journalctl -u influxdb)"
    if curl -fsS "$INFLUX_URL/api/v2/setup" | jq -e '.allowed == true' >/dev/null; then
        # A throw-away CLI config: `influx setup` always saves one, and a left-over
        # config of the same name would make it fail on a re-install.
        configs=$(mktemp)
        run quiet env INFLUX_CONFIGS_PATH="$configs" influx setup --force --host "$INFLUX_URL" \
            --org "$INFLUX_ORG" --bucket "$BUCKET" --retention "$INFLUX_RETENTION" \
            --username "$INFLUX_ADMIN_USER" --password "$INFLUX_ADMIN_PASSWORD" \
            --token "$INFLUX_ADMIN_TOKEN"
        rm -f "$configs"
        influx_changed=1
    else
        note "unchanged: InfluxDB already set up"
    fi
    influx_cli org list --name "$INFLUX_ORG" --json >/dev/null 2>&1 ||
        die "InfluxDB is set up, but INFLUX_ADMIN_TOKEN in $env_file cannot see organisation $INFLUX_ORG: wrong token or org (docs/deploy.md, Troubleshooting: tokens)"
    bucket_id=$(influx_cli bucket list --name "$BUCKET" --json 2>/dev/null | jq -r '.[0].id // empty' || true)
    if [ -z "$bucket_id" ]; then
        run quiet influx_cli bucket create --name "$BUCKET" --retention "$INFLUX_RETENTION"
        bucket_id=$(influx_cli bucket list --name "$BUCKET" --json | jq -r '.[0].id')
    fi
    ensure_token INFLUX_TELEGRAF_TOKEN "$TELEGRAF_TOKEN_DESC" write "$bucket_id"
    ensure_token INFLUX_GRAFANA_TOKEN "$GRAFANA_TOKEN_DESC" read "$bucket_id"
    save_env
fi

# ── 5. Telegraf ──────────────────────────────────────────────────────────────────
step "Telegraf: telegraf/telegraf.conf and /etc/default/telegraf (write token)"
telegraf_changed=0
if [ -f /etc/telegraf/telegraf.conf ] && [ ! -f /etc/telegraf/telegraf.conf.orig ] &&
    ! grep -q 'Winter River' /etc/telegraf/telegraf.conf; then
    # The package's sample config, kept once for reference.
    run cp -p /etc/telegraf/telegraf.conf /etc/telegraf/telegraf.conf.orig
fi
install_file "$REPO/telegraf/telegraf.conf" /etc/telegraf/telegraf.conf 644 root:root && telegraf_changed=1
telegraf_env="# Winter River: Telegraf's environment (scripts/setup_pi.sh rewrites this file).
INFLUX_URL=$INFLUX_URL
INFLUX_ORG=$INFLUX_ORG
INFLUX_TOKEN=$INFLUX_TELEGRAF_TOKEN
MQTT_SERVER=$MQTT_URI"
install_content /etc/default/telegraf 640 root:root 1 "$telegraf_env" && telegraf_changed=1
[ "$influx_changed" = 0 ] || telegraf_changed=1
enable_and_restart telegraf "$telegraf_changed"

# ── 6. Grafana ───────────────────────────────────────────────────────────────────
step "Grafana: environment, MQTT datasource plugin, provisioning, dashboards"
grafana_changed=0
# Appended to /etc/default/grafana-server between markers; the rest of the file is the
# package's and is never rewritten.
grafana_block="$GRAFANA_BLOCK_BEGIN
INFLUX_URL=$INFLUX_URL
INFLUX_ORG=$INFLUX_ORG
INFLUX_TOKEN=$INFLUX_GRAFANA_TOKEN
MQTT_URI=$MQTT_URI
GF_SECURITY_ADMIN_PASSWORD=$GRAFANA_ADMIN_PASSWORD
$GRAFANA_BLOCK_END"
gdefault=/etc/default/grafana-server
current_block=""
if [ -f "$gdefault" ]; then
    current_block=$(sed -n "/^$GRAFANA_BLOCK_BEGIN\$/,/^$GRAFANA_BLOCK_END\$/p" "$gdefault")
fi
if [ "$current_block" = "$grafana_block" ]; then
    note "unchanged: $gdefault (winter-river block)"
else
    grafana_changed=1
    if [ "$dry_run" = 1 ]; then
        if [ -n "$current_block" ]; then
            note "would replace the winter-river block of $gdefault (the rest stays):"
        else
            note "would append to $gdefault (the rest stays):"
        fi
        printf '%s\n' "$grafana_block" | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/        \1=…/p'
    else
        [ -f "$gdefault" ] || install -m 640 -o root -g root /dev/null "$gdefault"
        if [ -n "$current_block" ]; then
            # Drop our old block, keep every other line, then append the new one.
            rest=$(sed "/^$GRAFANA_BLOCK_BEGIN\$/,/^$GRAFANA_BLOCK_END\$/d" "$gdefault")
            printf '%s\n' "$rest" >"$gdefault"
            note "replaced the winter-river block of $gdefault"
        else
            note "appended the winter-river block to $gdefault"
        fi
        printf '%s\n' "$grafana_block" >>"$gdefault"
    fi
fi
if [ -f "$gdefault" ] && [ "$(stat -c '%a %U' "$gdefault")" != "640 root" ]; then
    run chown root "$gdefault"
    run chmod 640 "$gdefault"
fi
if [ -d /var/lib/grafana/plugins/grafana-mqtt-datasource ]; then
    note "unchanged: plugin grafana-mqtt-datasource installed"
else
    # `grafana cli` since Grafana 10; the old grafana-cli wrapper is gone in recent releases.
    if command -v grafana >/dev/null 2>&1 || [ "$dry_run" = 1 ]; then
        run grafana cli plugins install grafana-mqtt-datasource
    else
        run grafana-cli plugins install grafana-mqtt-datasource
    fi
    grafana_changed=1
fi
install_file "$REPO/grafana/provisioning/datasources/winter-river.yaml" \
    /etc/grafana/provisioning/datasources/winter-river.yaml 640 root:grafana && grafana_changed=1
install_file "$REPO/grafana/provisioning/dashboards/winter-river.yaml" \
    /etc/grafana/provisioning/dashboards/winter-river.yaml 640 root:grafana && grafana_changed=1
for dash in "$REPO"/grafana/dashboards/*.json; do
    install_file "$dash" "$GRAFANA_DASHBOARDS/$(basename "$dash")" 644 root:root && grafana_changed=1
done
[ "$influx_changed" = 0 ] || grafana_changed=1
enable_and_restart grafana-server "$grafana_changed"

# ── 7. Winter River ──────────────────────────────────────────────────────────────
step "Winter River: binary, user $SERVICE_USER, units winter-river-engine (and -web, -nodes)"
if [ -z "$binary" ] && [ -x "$REPO/target/release/winter-river" ]; then
    binary=$REPO/target/release/winter-river
fi
installed_bin=$PREFIX/winter-river
wr_changed=0
if [ -n "$binary" ]; then
    [ -x "$binary" ] || die "--binary $binary is not an executable file"
    if [ -f "$installed_bin" ] && cmp -s "$binary" "$installed_bin"; then
        note "unchanged: $installed_bin"
    else
        run install -m 755 -o root -g root "$binary" "$installed_bin"
        wr_changed=1
    fi
    probe=$binary
elif [ -x "$installed_bin" ]; then
    note "no new binary (build one with: cargo build --release): keeping $installed_bin"
    probe=$installed_bin
else
    [ "$dry_run" = 1 ] || die "no winter-river binary: build it (cargo build --release) or pass --binary FILE"
    note "no winter-river binary found: a real run would stop here (cargo build --release, or --binary FILE)"
    probe=""
fi
if getent passwd "$SERVICE_USER" >/dev/null; then
    note "unchanged: user $SERVICE_USER"
else
    run useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$SERVICE_USER"
fi
# The services' settings: installed once, then the administrator's (never overwritten).
if [ -f "$WR_ETC/winter-river.env" ]; then
    note "kept: $WR_ETC/winter-river.env (yours to edit)"
else
    install_file "$REPO/deploy/winter-river.env" "$WR_ETC/winter-river.env" 640 root:root || true
fi
units=(engine)
# A binary older than the dashboard (an old --binary) has no `web`: its unit is
# installed only when the binary has the subcommand.
if [ -n "$probe" ] && "$probe" web --help >/dev/null 2>&1; then
    units+=(web)
else
    note "skip winter-river-web: this winter-river binary has no \`web' subcommand"
fi
if [ -n "$nodes_spec" ]; then
    units+=(nodes)
    if [ -f "$WR_ETC/winter-river.env" ] && grep -qx "WR_NODES_ARGS=--nodes $nodes_spec" "$WR_ETC/winter-river.env"; then
        note "unchanged: WR_NODES_ARGS"
    elif [ "$dry_run" = 1 ]; then
        note "would set WR_NODES_ARGS=--nodes $nodes_spec in $WR_ETC/winter-river.env"
    else
        sed -i "s/^WR_NODES_ARGS=.*/WR_NODES_ARGS=--nodes $nodes_spec/" "$WR_ETC/winter-river.env"
        note "set WR_NODES_ARGS=--nodes $nodes_spec in $WR_ETC/winter-river.env"
        wr_changed=1
    fi
fi
units_changed=0
for u in "${units[@]}"; do
    install_file "$REPO/deploy/systemd/winter-river-$u.service" \
        "/etc/systemd/system/winter-river-$u.service" 644 root:root && units_changed=1
done
[ "$units_changed" = 0 ] || run systemctl daemon-reload
for u in "${units[@]}"; do
    enable_and_restart "winter-river-$u" "$((wr_changed | units_changed))"
done

# ── 8. Hotspot ───────────────────────────────────────────────────────────────────
if [ "$hotspot" = 1 ]; then
    step "Hotspot: $HOTSPOT_SSID on $HOTSPOT_IFACE at $HOTSPOT_ADDRESS (NetworkManager)"
    wanted="$HOTSPOT_SSID|$HOTSPOT_ADDRESS|shared|ap"
    have=""
    if command -v nmcli >/dev/null 2>&1 && nmcli -t -f NAME connection show 2>/dev/null | grep -qx "$HOTSPOT_SSID"; then
        have=$(nmcli -g 802-11-wireless.ssid,ipv4.addresses,ipv4.method,802-11-wireless.mode \
            connection show "$HOTSPOT_SSID" | paste -sd '|')
    fi
    if [ "$have" = "$wanted" ]; then
        note "unchanged: connection $HOTSPOT_SSID"
    else
        [ -z "$have" ] || run nmcli connection delete "$HOTSPOT_SSID"
        # ipv4.method shared: NetworkManager serves DHCP to the boards on this subnet.
        run nmcli connection add type wifi ifname "$HOTSPOT_IFACE" con-name "$HOTSPOT_SSID" \
            autoconnect yes ssid "$HOTSPOT_SSID" 802-11-wireless.mode ap 802-11-wireless.band bg \
            ipv4.method shared ipv4.addresses "$HOTSPOT_ADDRESS" \
            wifi-sec.key-mgmt wpa-psk wifi-sec.psk "$HOTSPOT_PASSWORD"
        run nmcli connection up "$HOTSPOT_SSID"
    fi
else
    step "Hotspot: skipped (--hotspot creates $HOTSPOT_SSID at $HOTSPOT_ADDRESS)"
fi

# ── Done ─────────────────────────────────────────────────────────────────────────
step "Summary"
host=${HOTSPOT_ADDRESS%/*}
if [ "$dry_run" = 1 ]; then
    note "dry run: nothing was changed"
fi
note "MQTT       mqtt://$host:1883   ws://$host:9001"
note "Grafana    http://$host:3000   (admin; password GRAFANA_ADMIN_PASSWORD in $env_file)"
note "InfluxDB   $INFLUX_URL   (org $INFLUX_ORG, bucket $BUCKET)"
note "Logs       journalctl -u winter-river-engine -u telegraf -u grafana-server -u mosquitto"
