#!/usr/bin/env bash
# Installs the Virtuoso provider agent on a Debian 12 host as a systemd service and joins the host to the marketplace
# (issue 19 point 2; report §3.5: the provider runs the agent on the machine it sells). The front-end serves this script at
# /install/agent.sh with its own address filled in; the provider gets the whole command, with a one-time join token, when
# adding the host ("Add a host", or `./virtuoso host add` without --secret):
#
#   curl -fsSL http://MARKET/install/agent.sh | bash -s -- --join vj_TOKEN
#
# What it does, as root, each step safe to run again:
#   1. apt-get installs QEMU and the tools the agent runs (qemu-system-x86 qemu-utils genisoimage rsync iproute2 nftables);
#   2. downloads the self-contained agent build the marketplace serves into /opt/virtuoso/agent (no .NET needed);
#   3. makes the agent's secret in /etc/virtuoso/agent.secret (mode 600) unless one is there;
#   4. joins: `virtuoso-agent join` makes the agent's key in /etc/virtuoso/agent.key (mode 600; it never leaves the host) and
#      presents the token, the secret and a certificate request to the marketplace once (POST /api/v1/agents/join), which
#      answers with the host's name, control port, certificate (agent.crt) and the marketplace's authority (ca.crt);
#   5. reserves the host's forwarded ports from the kernel's ephemeral range (/etc/sysctl.d/60-virtuoso.conf);
#   6. writes /etc/virtuoso/agent.conf (the agent's flags: the one file to edit; HTTPS only, with that certificate) and
#      /etc/systemd/system/virtuoso-agent.service, enables the service and (re)starts it, then waits for its health check.
# Where systemd is not running (a chroot, a container), step 6 enables the unit but starts nothing, and says so; the
# reservation of step 5 is written but applied from the next boot.
#
# Options: --join TOKEN (required)   --market URL (default: the marketplace that served this script)
#          --listen ADDRESS (0.0.0.0: the control API and VMMP listen there)   --vmmp-port N (7101)
#          --forward-address ADDRESS (0.0.0.0: where buyers reach forwarded guest ports)
#          --agent-args "..." (more agent flags for agent.conf, e.g. "--accelerator tcg --cores 6"; src/Virtuoso.Agent/README.md)
#          --no-packages (skip step 1)   --no-start (enable the service, do not start it)
set -euo pipefail

MARKET="${VIRTUOSO_MARKET:-__VIRTUOSO_MARKET_URL__}"
TOKEN="" LISTEN="0.0.0.0" VMMP_PORT=7101 FORWARD="0.0.0.0" EXTRA="" PACKAGES=1 START=1
PREFIX=/opt/virtuoso/agent ETC=/etc/virtuoso DATA=/var/lib/virtuoso/agent UNIT=/etc/systemd/system/virtuoso-agent.service

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'install-agent: %s\n' "$*" >&2; exit 1; }

# value OPTION ARGS...: the option's value, or one line and exit 1 when it has none.
value() { [ $# -ge 2 ] || die "$1 needs a value"; printf '%s' "$2"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --join) TOKEN=$(value "$@"); shift 2 ;;
    --market) MARKET=$(value "$@"); shift 2 ;;
    --listen) LISTEN=$(value "$@"); shift 2 ;;
    --vmmp-port) VMMP_PORT=$(value "$@"); shift 2 ;;
    --forward-address) FORWARD=$(value "$@"); shift 2 ;;
    --agent-args) EXTRA=$(value "$@"); shift 2 ;;
    --no-packages) PACKAGES=0; shift ;;
    --no-start) START=0; shift ;;
    -h|--help) echo "usage: install-agent.sh --join vj_TOKEN [--market URL] [--listen ADDRESS] [--vmmp-port N] [--forward-address ADDRESS] [--agent-args \"...\"] [--no-packages] [--no-start]"; exit 0 ;;
    *) die "unknown option '$1' (options: --join TOKEN --market URL --listen ADDRESS --vmmp-port N --forward-address ADDRESS --agent-args \"...\" --no-packages --no-start)" ;;
  esac
done

[ -n "$TOKEN" ] || die "--join TOKEN is required: copy the whole command from the marketplace's Add a host page (or ./virtuoso host join NAME)"
case "$TOKEN" in vj_*) ;; *) die "'$TOKEN' is not a join token: they start with vj_" ;; esac
case "$MARKET" in http://*|https://*) ;; *) die "--market must be the marketplace's http:// or https:// address, not '$MARKET'" ;; esac
case "$VMMP_PORT" in ''|*[!0-9]*) die "--vmmp-port must be a TCP port number, not '$VMMP_PORT'" ;; esac
MARKET=${MARKET%/}
[ "$(id -u)" = 0 ] || die "run it as root (sudo bash -s -- ...): it installs packages and a system service"
[ -r /etc/debian_version ] || die "this script is for Debian 12 hosts; see the marketplace's Set up a host page to install by hand"

if [ "$PACKAGES" = 1 ]; then
  say "installing QEMU and the agent's tools (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends qemu-system-x86 qemu-utils genisoimage rsync iproute2 nftables curl ca-certificates >/dev/null
fi
command -v curl >/dev/null || die "curl is missing (apt-get install curl)"

say "downloading the agent from $MARKET"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
code=$(curl -sS -o "$tmp/agent.tar.gz" -w '%{http_code}' "$MARKET/install/virtuoso-agent-linux-x64.tar.gz") || die "cannot reach $MARKET"
if [ "$code" != 200 ]; then
  [ "$code" = 404 ] && die "this marketplace serves no agent build (its operator sets Virtuoso__AgentPackage); build the agent from source: $MARKET/setup"
  die "downloading the agent failed: HTTP $code from $MARKET/install/virtuoso-agent-linux-x64.tar.gz"
fi
mkdir -p "$tmp/agent" && tar -xzf "$tmp/agent.tar.gz" -C "$tmp/agent"
[ -x "$tmp/agent/virtuoso-agent" ] || die "the downloaded package has no virtuoso-agent"
mkdir -p "$(dirname "$PREFIX")"
rm -rf "$PREFIX.new" && mv "$tmp/agent" "$PREFIX.new"
if [ -d "$PREFIX" ]; then rm -rf "$PREFIX.old" && mv "$PREFIX" "$PREFIX.old"; fi
mv "$PREFIX.new" "$PREFIX" && rm -rf "$PREFIX.old"

install -d -m 755 "$ETC" && install -d -m 700 "$DATA"
if [ ! -s "$ETC/agent.secret" ]; then
  say "making the agent's secret ($ETC/agent.secret)"
  (umask 077; head -c 32 /dev/urandom | base64 | tr -d '=+/\n' > "$ETC/agent.secret")
fi
chmod 600 "$ETC/agent.secret"

say "joining the marketplace"
# Issue 20: the agent makes its key here and gets its certificate with the one-time token (no openssl needed).
answer=$("$PREFIX/virtuoso-agent" join --market "$MARKET" --token "$TOKEN" --secret-file "$ETC/agent.secret" --dir "$ETC") \
  || die "the join failed (the line above says why); make a new install command on My hosts if the token was used or expired"
NAME=$(printf '%s\n' "$answer" | sed -n 's/^name=\([a-zA-Z0-9._-]*\)$/\1/p')
PORT=$(printf '%s\n' "$answer" | sed -n 's/^port=\([0-9]*\)$/\1/p')
[ -n "$NAME" ] && [ -n "$PORT" ] || die "unexpected answer from virtuoso-agent join: $answer"
chmod 600 "$ETC/agent.key"
say "joined as host '$NAME' (the marketplace calls its agent on port $PORT, over TLS with the certificate in $ETC/agent.crt)"

# The kernel lends ports of net.ipv4.ip_local_port_range (32768-60999) to outgoing connections; one lent from the forwarded
# range cannot be forwarded while it is (the agent then refuses that start and the marketplace gives other ports).
# Reserved, the kernel lends none of them. One value for the whole host: a provider who reserves other ports lists them here too.
PORTS=$(printf '%s\n' "$answer" | sed -n 's/^ports=\([0-9]*-[0-9]*\)$/\1/p')
if [ -n "$PORTS" ]; then
  mkdir -p /etc/sysctl.d && echo "net.ipv4.ip_local_reserved_ports = $PORTS" > /etc/sysctl.d/60-virtuoso.conf
  if [ -d /run/systemd/system ] && sysctl -q -p /etc/sysctl.d/60-virtuoso.conf; then
    say "forwarded ports $PORTS reserved from the kernel's outgoing connections (/etc/sysctl.d/60-virtuoso.conf; edit it when you change the host's range)"
  else
    say "forwarded ports $PORTS: reserved from the kernel's outgoing connections from the next boot (/etc/sysctl.d/60-virtuoso.conf), not yet now"
  fi
fi

cat > "$ETC/agent.conf" <<EOF
# The Virtuoso agent's flags (src/Virtuoso.Agent/README.md lists them all); written by install-agent.sh for host '$NAME'.
# Edit, then: systemctl restart virtuoso-agent
VIRTUOSO_AGENT_ARGS="--name $NAME --urls https://$LISTEN:$PORT --vmmp-port $VMMP_PORT --data $DATA --secret-file $ETC/agent.secret --tls-cert $ETC/agent.crt --tls-key $ETC/agent.key --tls-ca $ETC/ca.crt --renew-from $MARKET --forward-address $FORWARD${EXTRA:+ $EXTRA}"
EOF
chmod 600 "$ETC/agent.conf"

mkdir -p "$(dirname "$UNIT")"
cat > "$UNIT" <<EOF
[Unit]
Description=Virtuoso provider agent ($NAME)
After=network-online.target
Wants=network-online.target

[Service]
EnvironmentFile=$ETC/agent.conf
ExecStart=$PREFIX/virtuoso-agent \$VIRTUOSO_AGENT_ARGS
# Root: private networks make bridges, taps and nftables tables; cgroups hold each machine to the CPU share it bought.
# The guests' QEMU processes outlive a restart of the agent, which finds them again.
KillMode=process
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
EOF

if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable -q virtuoso-agent
  if [ "$START" = 1 ]; then
    say "starting virtuoso-agent"
    systemctl restart virtuoso-agent
    # Liveness only (-k: the certificate names the host, not an address; the marketplace checks it against its authority).
    health="https://127.0.0.1:$PORT/v1/health"
    [ "$LISTEN" = 0.0.0.0 ] || health="https://$LISTEN:$PORT/v1/health"
    for _ in $(seq 60); do curl -fsSk -o /dev/null "$health" 2>/dev/null && break; sleep 1; done
    curl -fsSk -o /dev/null "$health" || die "the agent did not answer $health within a minute: journalctl -u virtuoso-agent"
  fi
else
  # systemctl enable works offline (it makes the symlink); nothing can be started without systemd running.
  systemctl enable -q virtuoso-agent 2>/dev/null \
    || { mkdir -p /etc/systemd/system/multi-user.target.wants && ln -sf "$UNIT" /etc/systemd/system/multi-user.target.wants/virtuoso-agent.service; }
  say "systemd is not running here: the service is enabled for the next boot; start it now with: $PREFIX/virtuoso-agent \$VIRTUOSO_AGENT_ARGS (from $ETC/agent.conf)"
fi
say "done: host '$NAME' is installed; the marketplace shows it online within a few seconds of the agent starting (My hosts)"
echo "Open the firewall to: TCP $PORT and $VMMP_PORT from the marketplace and the other hosts; TCP 32768-60999 and UDP 4789 from the other hosts;"
echo "the forwarded guest ports (the host's 'Forwarded ports', 40000-40999 by default) from buyers. $MARKET/setup#firewall says why."
