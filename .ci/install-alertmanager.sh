#!/usr/bin/env bash
# Alertmanager + amtool >= 0.26 into TOOLS/alertmanager/bin (idempotent).
# Debian 12 ships 0.25, which rejects what the chart's Alertmanager (0.34) accepts and mlinfra renders:
# msteams_configs and webhook url_file. Debian 13's package (0.28) runs on Debian 12 (it needs libc >= 2.34
# only), so fetch that .deb with apt in a private state directory - the system's apt sources and package
# lists stay untouched - and unpack its two binaries; only its notification templates go where the binary
# looks for them (below).
set -euo pipefail
tools=${1:-.tools}
version=0.28.1+ds-1
dest="$tools/alertmanager"
templates=/usr/share/prometheus/alertmanager  # Debian's build reads its default.tmpl from here (compiled in)
if [ -x "$dest/bin/amtool" ] && [ "$(cat "$dest/.installed" 2>/dev/null)" = "$version" ] \
   && [ -f "$templates/default.tmpl" ]; then exit 0; fi
echo "installing Alertmanager/amtool $version (Debian 13 package, unpacked into $dest)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial"
# the mirror this machine already uses for Debian's main archive (deb822 or one-line format)
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "no Debian mirror found in /etc/apt sources" >&2; exit 1; }
cat > "$work/parts/trixie.sources" <<EOF
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_opts=(
  -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root"
)
apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" download -qq "prometheus-alertmanager=$version")
dpkg-deb -x "$work"/prometheus-alertmanager_*.deb "$work/root"
rm -rf "$dest"
mkdir -p "$dest/bin"
cp "$work/root/usr/bin/amtool" "$work/root/usr/bin/prometheus-alertmanager" "$dest/bin/"
cp -r "$work/root$templates" "$dest/templates"
# The Debian build loads its notification templates from $templates, a path compiled into the binary (without
# them it refuses to start: "failed to parse templates"). Put the package's own copies there when absent.
if [ ! -f "$templates/default.tmpl" ]; then
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$templates" && cp "$dest/templates/"*.tmpl "$templates/"
  else
    echo "missing $templates/default.tmpl: as root, copy $dest/templates/*.tmpl there" >&2; exit 1
  fi
fi
"$dest/bin/amtool" --version >/dev/null
echo "$version" > "$dest/.installed"
