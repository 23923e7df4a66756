#!/usr/bin/env bash
# Installs the tools named as arguments (default: nats-server consul) into .tools/bin unless
# usable ones are already there or on PATH: nats-server (>= 2.10), consul, and promtool (for the
# metrics test; `make test` asks for it, `make run` does not). None of them is in Debian
# bookworm in a usable version, so the packages come from Debian trixie (nats-server 2.10,
# promtool 2.53) and bullseye (consul 1.8.7) through the mirror this machine's apt already uses;
# only the binaries are unpacked (dpkg-deb -x), nothing is installed system-wide.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
mkdir -p "$bin"

have() { # have <name>: a usable binary in .tools/bin or on PATH
  case "$1" in
    nats-server)
      local b; b="$(PATH="$bin:$PATH" command -v nats-server || true)"
      [ -n "$b" ] || return 1
      # JetStream features we rely on need 2.10; bookworm ships 2.9.
      local v; v="$("$b" --version 2>/dev/null | sed -n 's/.*v\([0-9]*\)\.\([0-9]*\).*/\1 \2/p')"
      [ -n "$v" ] || return 1
      set -- $v
      [ "$1" -gt 2 ] || { [ "$1" -eq 2 ] && [ "$2" -ge 10 ]; }
      ;;
    *) PATH="$bin:$PATH" command -v "$1" >/dev/null ;;
  esac
}

wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=(nats-server consul)
missing=()
for tool in "${wanted[@]}"; do
  have "$tool" || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "tools: ${wanted[*]} present"
  exit 0
fi

mirror=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mirror="$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror="$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)"
fi
if [ -z "$mirror" ]; then
  echo "tools: cannot find this machine's Debian mirror in /etc/apt; install ${missing[*]} by hand into $bin" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$work/sources.list" <<SRC
deb [signed-by=$keyring] $mirror trixie main
deb [signed-by=$keyring] $mirror bullseye main
SRC
apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
echo "tools: fetching Debian package lists for ${missing[*]}"
apt-get "${apt_opts[@]}" -qq update
cd "$work"
for tool in "${missing[@]}"; do
  pkg="$tool" # each tool is its own Debian package (trixie's promtool too)
  apt-get "${apt_opts[@]}" -qq download "$pkg"
  deb="$(ls "$work"/${pkg}_*.deb | head -n1)"
  dpkg-deb -x "$deb" "$work/x-$pkg"
  src="$(find "$work/x-$pkg/usr" -type f -name "$tool" -path '*bin/*' | head -n1)"
  install -m 0755 "$src" "$bin/$tool"
  echo "tools: installed $tool from $(basename "$deb") into $bin"
done
