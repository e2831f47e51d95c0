# Shared by ./run and ./test: install what is missing, build, and start services. Source it; don't run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages the marketplace needs at run time: QEMU and its tools, rsync for migration, and what the
# guest image build uses (busybox-static, cpio, e2fsprogs, kmod), and noVNC, which the front-end serves itself at
# /novnc/ for the console page (design §7: no CDN), and python3 for the independent VMMP peer
# (tests/interop/vmmp_peer.py, which the agent tests run and an operator can point at any agent). Installed only when missing.
# genisoimage makes each machine's cloud-init seed drive (issue 14); dropbear-bin goes into the guest image with its libraries;
# openssh-client is what the tests log into guests with. mmdebstrap, grub-pc-bin and fdisk build the debian-12 image, and xorriso the installer ISO.
RUN_PACKAGES=(qemu-system-x86 qemu-utils rsync busybox-static cpio e2fsprogs kmod socat curl procps iproute2 novnc python3 genisoimage dropbear-bin openssh-client mmdebstrap grub-pc-bin grub2-common fdisk xorriso nftables)

install_packages() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

require_dotnet() {
  command -v dotnet >/dev/null || die "the .NET 10 SDK is required (https://dot.net); 'dotnet' is not on PATH"
  dotnet --version | grep -q '^10\.' || die "the .NET 10 SDK is required; found $(dotnet --version)"
}

# The API document's tools (issue 20 point 3): Redocly's lint, pinned by tools/openapi/package-lock.json (Node.js and npm
# from Debian when missing; Redocly CLI 1.x runs on bookworm's Node 18), and the Kiota client generator, pinned by
# dotnet-tools.json, which the end-to-end tests' build runs. OpenApiTests fails when the lint is not installed.
install_api_tools() {
  command -v node >/dev/null && command -v npm >/dev/null || install_packages nodejs npm
  say "installing the API document's lint (npm ci in tools/openapi) and client generator (dotnet tool restore)"
  (cd "$ROOT/tools/openapi" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  (cd "$ROOT" && dotnet tool restore >/dev/null)
}

# A guest image is built once per version of its build script and kept outside the clone, named by the script's content
# hash (VIRTUOSO_CACHE, default ~/.cache/virtuoso), with the Debian packages it is made of; each clone copies it into
# build/images/NAME. A fresh clone of an unchanged script builds nothing (CI: about 20 s saved per run for linux-busybox,
# 3 to 5 minutes for debian-12).
# build_image NAME SCRIPT [as_root]: SCRIPT (relative to the repository) writes the image into the directory it is given.
build_image() {
  local name=$1 script=$2 run=()
  [ "${3:-}" = as_root ] && run=(as_root)
  local cache="${VIRTUOSO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtuoso}"
  local key; key=$(sha256sum "$ROOT/$script" | cut -c1-16)
  local built="$cache/images/$name-$key" out="$ROOT/build/images/$name"
  "${run[@]}" env VIRTUOSO_DEB_CACHE="${VIRTUOSO_DEB_CACHE:-$cache/debs}" "$ROOT/$script" "$built"
  if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$(cat "$built/.stamp")" ]; then
    rm -rf "$out.tmp" && mkdir -p "$(dirname "$out")" && cp -a "$built" "$out.tmp" && rm -rf "$out" && mv "$out.tmp" "$out"
  fi
}

# The linux-busybox image (docs/guest.md): what the journeys and benchmarks boot.
build_guest_image() { build_image linux-busybox guest/build-image.sh; }

# The debian-12 image (issue 15, docs/guest.md "debian-12"); mmdebstrap needs root.
build_debian_image() { build_image debian-12 guest/build-debian.sh as_root; }

# The installer ISO of issue 15 item 3 (guest/build-installer-iso.sh: BIOS El Torito, installs a small system onto a blank
# virtio disk), cached like the images by its script's content hash and copied into build/isos/virtuoso-installer.iso.
build_installer_iso() {
  local cache="${VIRTUOSO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtuoso}"
  local key; key=$(sha256sum "$ROOT/guest/build-installer-iso.sh" | cut -c1-16)
  local built="$cache/isos/virtuoso-installer-$key.iso" out="$ROOT/build/isos/virtuoso-installer.iso"
  VIRTUOSO_DEB_CACHE="${VIRTUOSO_DEB_CACHE:-$cache/debs}" "$ROOT/guest/build-installer-iso.sh" "$built"
  if [ "$(cat "$out.stamp" 2>/dev/null)" != "$(cat "$built.stamp")" ]; then
    mkdir -p "$(dirname "$out")" && cp "$built" "$out.tmp" && cp "$built.stamp" "$out.stamp.tmp" && mv "$out.tmp" "$out" && mv "$out.stamp.tmp" "$out.stamp"
  fi
}

# The self-contained agent build the front-end serves to providers' install command (issue 19: /install/virtuoso-agent-linux-x64.tar.gz,
# Virtuoso__AgentPackage): `dotnet publish -r linux-x64 --self-contained` of the agent, packed once per version of the source it
# is built from (cached like the guest images, by the content hash of those files) and copied to
# build/agent-package/virtuoso-agent-linux-x64.tar.gz. About 40 s and 45 MB the first time; a fresh clone of unchanged sources
# copies it. Prints the package's path.
build_agent_package() {
  local cache="${VIRTUOSO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtuoso}/agent-package"
  local key; key=$(cd "$ROOT" && find src/Virtuoso.Agent src/Virtuoso.Core src/Virtuoso.Contracts -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.json' \) \
    -not -path '*/bin/*' -not -path '*/obj/*' | LC_ALL=C sort | xargs sha256sum | cat - Directory.Build.props Directory.Packages.props | sha256sum | cut -c1-16)
  local built="$cache/virtuoso-agent-linux-x64-$key.tar.gz" out="$ROOT/build/agent-package/virtuoso-agent-linux-x64.tar.gz"
  if [ ! -s "$built" ]; then
    say "publishing the self-contained agent for the install command (once per version of its source)" >&2
    local tmp; tmp=$(mktemp -d)
    dotnet publish "$ROOT/src/Virtuoso.Agent/Virtuoso.Agent.csproj" -c Release -r linux-x64 --self-contained -o "$tmp/agent" -v quiet -nologo >&2 \
      || { rm -rf "$tmp"; die "publishing the agent failed"; }
    mkdir -p "$cache" && tar -C "$tmp/agent" -czf "$tmp/package.tar.gz" . && mv "$tmp/package.tar.gz" "$built"
    rm -rf "$tmp"
  fi
  if ! cmp -s "$built" "$out"; then mkdir -p "$(dirname "$out")" && cp "$built" "$out.tmp" && mv "$out.tmp" "$out"; fi
  echo "$out"
}

# A fresh Debian 12 root directory for the install test (issue 19: InstallJourneyTests runs scripts/install-frontend.sh and the
# agent's install command in it, chrooted): minbase with systemd, curl and what the two install scripts would apt-get (the test
# runs them with --no-packages, so that it reaches no address but loopback). Made once per version of this list with
# mmdebstrap (needs root; the .deb files are shared with the guest images), kept as a tar outside the clone. Prints its path.
INSTALL_ROOT_PACKAGES="systemd,passwd,curl,ca-certificates,qemu-system-x86,qemu-utils,genisoimage,rsync,iproute2,nftables,novnc"
build_install_root() {
  local cache="${VIRTUOSO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtuoso}"
  local key; key=$(printf '%s' "$INSTALL_ROOT_PACKAGES" | sha256sum | cut -c1-16)
  local built="$cache/install-root/debian-12-$key.tar"
  if [ ! -s "$built" ]; then
    install_packages mmdebstrap
    say "making a Debian 12 root for the install test (once: $built)" >&2
    mkdir -p "$cache/install-root" "$cache/debs"
    as_root mmdebstrap --mode=root --variant=minbase --format=tar --include="$INSTALL_ROOT_PACKAGES" \
      --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' --setup-hook="sync-in '$cache/debs' /var/cache/apt/archives/" \
      --customize-hook="sync-out /var/cache/apt/archives '$cache/debs'" --customize-hook='rm -f "$1"/var/cache/apt/archives/*.deb' \
      bookworm "$built.tmp" "${VIRTUOSO_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2 || { rm -f "$built.tmp"; die "mmdebstrap failed"; }
    mv "$built.tmp" "$built"
  fi
  echo "$built"
}

# Builds the three deployables (front-end, agent, CLI) in Release into build/.
build_apps() {
  # ./test builds them once before the benchmarks' smoke runs; each would otherwise spend ~9 s finding nothing to do.
  [ "${VIRTUOSO_APPS_BUILT:-}" = "$ROOT" ] && return 0
  say "building the front-end, the provider agent and the CLI"
  dotnet build "$ROOT/src/Virtuoso.FrontEnd/Virtuoso.FrontEnd.csproj" -c Release -o "$ROOT/build/frontend" -v quiet -nologo >/dev/null \
    || dotnet build "$ROOT/src/Virtuoso.FrontEnd/Virtuoso.FrontEnd.csproj" -c Release -o "$ROOT/build/frontend" -v quiet -nologo
  dotnet build "$ROOT/src/Virtuoso.Agent/Virtuoso.Agent.csproj" -c Release -o "$ROOT/build/agent" -v quiet -nologo >/dev/null \
    || dotnet build "$ROOT/src/Virtuoso.Agent/Virtuoso.Agent.csproj" -c Release -o "$ROOT/build/agent" -v quiet -nologo
  "$ROOT/virtuoso" --version >/dev/null # the client's script builds it (ahead of time) when it is missing or stale
}

# show_logs DIR: the last lines of each DIR/*.log on stderr (a benchmark that failed: what its front-end and agents said).
show_logs() {
  local f
  for f in "$1"/*.log; do [ -f "$f" ] && { echo "--- last lines of $(basename "$f")"; tail -n 25 "$f"; }; done >&2
}

# wait_http URL SECONDS: polls until URL answers 2xx.
wait_http() {
  local url=$1 secs=${2:-30} i
  for ((i = 0; i < secs * 5; i++)); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# start_postgres DIR PORT [keep]: a PostgreSQL cluster owned by the postgres user, listening on 127.0.0.1:PORT with
# trust authentication. Prints the connection string. Without "keep" it is a throwaway one for the tests (made afresh,
# fsync off); with "keep" (./run --postgres) the cluster under DIR is made once and reused, with fsync on.
start_postgres() {
  local dir=$1 port=$2 keep=${3:-} bin
  install_packages postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  local run=(); [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres --)
  local fsync="-c fsync=off"
  if [ "$keep" = keep ]; then fsync=""; else rm -rf "$dir"; fi
  mkdir -p "$dir"; [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  [ -f "$dir/data/PG_VERSION" ] || "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $fsync -c max_connections=300" -w start >/dev/null
  echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
}

# balancer_config FILE "BIND..." "SERVER..." (issue 19): HAProxy's configuration for the front-end replicas, written to
# FILE; ./run --replicas and the replica journey test use it. Round robin over SERVER (host:port each), each checked on
# /healthz every second and taken out after 2 failures; a request that cannot connect to one replica is sent to another
# (redispatch), and only then: a request that reached a replica is never replayed. WebSockets (console, tunnels) are
# tunnels of an hour at most; uploads and long calls get 10 minutes. X-Forwarded-For carries the client's address, which
# the front-ends believe from this balancer only (Virtuoso:TrustedProxies).
balancer_config() {
  local file=$1 binds=$2 servers=$3 b s i=1
  {
    printf 'global\n  maxconn 4096\n\n'
    printf 'defaults\n  mode http\n  option forwardfor\n  option redispatch\n  retries 3\n'
    printf '  timeout connect 2s\n  timeout client 10m\n  timeout server 10m\n  timeout tunnel 1h\n  timeout http-request 30s\n\n'
    printf 'frontend marketplace\n'
    for b in $binds; do printf '  bind %s\n' "$b"; done
    printf '  default_backend replicas\n\n'
    printf 'backend replicas\n  balance roundrobin\n  option httpchk GET /healthz\n  http-check expect status 200\n'
    printf '  default-server inter 1s fall 2 rise 1\n'
    for s in $servers; do printf '  server replica%d %s check\n' "$i" "$s"; i=$((i + 1)); done
  } > "$file"
}

# stop_postgres DIR [MODE]: immediate (the default, for throwaway clusters) or fast (a clean shutdown).
stop_postgres() {
  local dir=$1 mode=${2:-immediate} bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  local run=(); [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres --)
  [ -d "$dir/data" ] && "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m "$mode" stop >/dev/null 2>&1 || true
}
