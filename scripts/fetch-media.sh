#!/usr/bin/env bash
# Fetches the real sample footage named in shared/MEDIA.md from Debian packages into a
# cache outside the repo and verifies each file by SHA-256. Idempotent.
#   scripts/fetch-media.sh            # prints the directory holding the clips
set -euo pipefail
CACHE=${REFRAME_MEDIA_CACHE:-$HOME/.cache/reframe/media}
mkdir -p "$CACHE"
# file-in-package  package  sha256
MEDIA=(
  "/usr/share/pymecavideo/data/video/balle-jbart.mp4 python3-mecavideo 85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc"
  "/usr/share/pymecavideo/data/video/balle1-vp9.avi python3-mecavideo 7d1e3de70031f8cdae5bb9727b0d1023b3126c89b5dec1c622175bb27610f35a"
  "/usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4 python3-imageio 5fde35f5a288ca86e216d2dc28188ab64b4560d3021f273faefdf0de80f38aa5"
)
verify() { echo "$2  $1" | sha256sum --check --status; }
for entry in "${MEDIA[@]}"; do
  read -r path pkg sum <<<"$entry"
  name=$(basename "$path")
  if [ -f "$CACHE/$name" ] && verify "$CACHE/$name" "$sum"; then continue; fi
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "$pkg" >/dev/null; })
  dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/x"
  cp "$tmp/x$path" "$CACHE/$name.part"
  rm -rf "$tmp"
  if ! verify "$CACHE/$name.part" "$sum"; then
    echo "fetch-media: $name from $pkg has sha256 $(sha256sum "$CACHE/$name.part" | cut -d' ' -f1), expected $sum" >&2
    rm -f "$CACHE/$name.part"; exit 1
  fi
  mv "$CACHE/$name.part" "$CACHE/$name"
done
echo "$CACHE"
