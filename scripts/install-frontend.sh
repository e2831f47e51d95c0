#!/usr/bin/env bash
# Installs the Virtuoso front-end as a systemd service from this repository (issue 19 point 2), on a Debian 12 machine with the
# .NET 10 SDK (the build needs it; the installed front-end does not: it is published self-contained). As root:
#
#   scripts/install-frontend.sh --address 203.0.113.10
#
# What it does, each step safe to run again:
#   1. apt-get installs what the front-end uses at run time: novnc (the console's viewer) and curl;
#   2. publishes the front-end self-contained into /opt/virtuoso/frontend, and the agent build that providers' install command
#      downloads into /opt/virtuoso/agent-package (scripts/lib.sh build_agent_package);
#   3. copies the guest images of build/images (./run or ./test build them) into /var/lib/virtuoso/images, when there are any;
#   4. makes the system user `virtuoso` and /var/lib/virtuoso/frontend, its data directory (SQLite database, ISO blobs);
#   5. writes /etc/virtuoso/frontend.env, THE configuration file (database, listen address, certificate, every setting of
#      docs/operations.md), unless it exists: an operator's edits are never overwritten;
#   6. writes /etc/systemd/system/virtuoso-frontend.service, enables it and (re)starts it, then waits for /healthz.
#
# Options: --address A   where agents and buyers reach this machine (default: the first address of `hostname -I`)
#          --port P      the HTTP port (5080)
#          --root DIR    install into the Debian root DIR instead of / (a chroot, an image being built): packages are installed
#                        with `chroot DIR apt-get` (DIR needs /proc and /dev mounted), nothing is started
#          --no-packages skip step 1        --no-start   enable the service, do not start it
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

R=/ ADDRESS="" PORT=5080 PACKAGES=1 START=1
while [ $# -gt 0 ]; do
  case "$1" in
    --address) ADDRESS=${2:-}; shift 2 ;;
    --port) PORT=${2:-}; shift 2 ;;
    --root) R=${2:-}; shift 2 ;;
    --no-packages) PACKAGES=0; shift ;;
    --no-start) START=0; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) die "unknown option '$1' (options: --address A --port P --root DIR --no-packages --no-start)" ;;
  esac
done
case "$PORT" in ''|*[!0-9]*) die "--port must be a TCP port number, not '$PORT'" ;; esac
[ "$(id -u)" = 0 ] || die "run it as root: it installs packages, a system user and a system service"
[ -d "$R" ] && [ -r "$R/etc/debian_version" ] || die "--root $R is not a Debian root directory"
R=$(cd "$R" && pwd); [ "$R" = / ] && R=""
in_root() { if [ -z "$R" ]; then "$@"; else chroot "$R" "$@"; fi; }
if [ -z "$ADDRESS" ]; then
  ADDRESS=$(hostname -I 2>/dev/null | awk '{ print $1 }')
  [ -n "$ADDRESS" ] || ADDRESS=127.0.0.1
fi
require_dotnet

if [ "$PACKAGES" = 1 ]; then
  say "installing novnc and curl (apt-get)"
  in_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends novnc curl ca-certificates >/dev/null
fi

say "publishing the front-end (self-contained) into $R/opt/virtuoso/frontend"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dotnet publish src/Virtuoso.FrontEnd/Virtuoso.FrontEnd.csproj -c Release -r linux-x64 --self-contained -o "$tmp/frontend" -v quiet -nologo >/dev/null \
  || dotnet publish src/Virtuoso.FrontEnd/Virtuoso.FrontEnd.csproj -c Release -r linux-x64 --self-contained -o "$tmp/frontend" -v quiet -nologo
mkdir -p "$R/opt/virtuoso"
rm -rf "$R/opt/virtuoso/frontend.old"
[ -d "$R/opt/virtuoso/frontend" ] && mv "$R/opt/virtuoso/frontend" "$R/opt/virtuoso/frontend.old"
mv "$tmp/frontend" "$R/opt/virtuoso/frontend" && rm -rf "$R/opt/virtuoso/frontend.old"
package=$(build_agent_package)
install -D -m 644 "$package" "$R/opt/virtuoso/agent-package/virtuoso-agent-linux-x64.tar.gz"

IMAGES=""
if compgen -G "build/images/*/image.json" >/dev/null; then
  say "copying the guest images of build/images into $R/var/lib/virtuoso/images"
  mkdir -p "$R/var/lib/virtuoso/images"
  cp -a build/images/. "$R/var/lib/virtuoso/images/"
  IMAGES=/var/lib/virtuoso/images
fi

say "making the user virtuoso and /var/lib/virtuoso/frontend"
in_root getent passwd virtuoso >/dev/null || in_root useradd --system --home-dir /var/lib/virtuoso/frontend --shell /usr/sbin/nologin virtuoso
install -d -m 750 "$R/var/lib/virtuoso/frontend"
in_root chown virtuoso:virtuoso /var/lib/virtuoso/frontend
install -d -m 755 "$R/etc/virtuoso"

if [ ! -e "$R/etc/virtuoso/frontend.env" ]; then
  say "writing /etc/virtuoso/frontend.env"
  cat > "$R/etc/virtuoso/frontend.env" <<EOF
# The Virtuoso front-end's configuration (systemd EnvironmentFile, one setting per line; docs/operations.md lists them all).
# Written by scripts/install-frontend.sh; edit, then: systemctl restart virtuoso-frontend
ASPNETCORE_URLS=http://0.0.0.0:$PORT
VIRTUOSO_DATA=/var/lib/virtuoso/frontend
VIRTUOSO_DATABASE=sqlite:/var/lib/virtuoso/frontend/virtuoso.db
# PostgreSQL (several replicas share it; docs/operations.md "Replicas behind a load balancer"):
# VIRTUOSO_DATABASE=postgres:Host=127.0.0.1;Port=5432;Database=virtuoso;Username=virtuoso;Password=CHANGE-ME
# HTTPS (docs/operations.md "HTTPS"): a certificate and its key, PEM
# ASPNETCORE_URLS=https://0.0.0.0:443
# Kestrel__Certificates__Default__Path=/etc/virtuoso/tls/fullchain.pem
# Kestrel__Certificates__Default__KeyPath=/etc/virtuoso/tls/privkey.pem
# Where agents reach this front-end (images, ISOs, the install command) and its VMMP listener (migrations)
Virtuoso__AgentFacingUrl=http://$ADDRESS:$PORT
Virtuoso__VmmpListen=0.0.0.0:7100
Virtuoso__VmmpAdvertise=$ADDRESS
# The agent build providers' install command downloads
Virtuoso__AgentPackage=/opt/virtuoso/agent-package/virtuoso-agent-linux-x64.tar.gz
${IMAGES:+Virtuoso__ImagesDirectory=$IMAGES}
# Production: accounts are funded by deposits, not an opening credit
Virtuoso__OpeningCredit=0
# Virtuoso__OperatorPassword=CHANGE-ME
EOF
  chmod 640 "$R/etc/virtuoso/frontend.env"
  in_root chgrp virtuoso /etc/virtuoso/frontend.env
else
  say "keeping /etc/virtuoso/frontend.env as it is"
fi

say "writing /etc/systemd/system/virtuoso-frontend.service"
mkdir -p "$R/etc/systemd/system"
cat > "$R/etc/systemd/system/virtuoso-frontend.service" <<'EOF'
[Unit]
Description=Virtuoso marketplace front-end
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
User=virtuoso
Group=virtuoso
EnvironmentFile=/etc/virtuoso/frontend.env
WorkingDirectory=/opt/virtuoso/frontend
ExecStart=/opt/virtuoso/frontend/virtuoso-frontend
# Port 443 without root
AmbientCapabilities=CAP_NET_BIND_SERVICE
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
EOF

if [ -z "$R" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable -q virtuoso-frontend
  if [ "$START" = 1 ]; then
    systemctl restart virtuoso-frontend
    wait_http "http://127.0.0.1:$PORT/healthz" 60 || die "the front-end did not answer within a minute: journalctl -u virtuoso-frontend"
  fi
  say "done: the front-end answers on http://$ADDRESS:$PORT (providers: $(printf 'http://%s:%s/setup' "$ADDRESS" "$PORT"))"
else
  systemctl --root="${R:-/}" enable -q virtuoso-frontend 2>/dev/null \
    || { mkdir -p "$R/etc/systemd/system/multi-user.target.wants" && ln -sf /etc/systemd/system/virtuoso-frontend.service "$R/etc/systemd/system/multi-user.target.wants/virtuoso-frontend.service"; }
  say "done: virtuoso-frontend is installed and enabled${R:+ in $R}; systemd is not running there, so nothing was started"
fi
