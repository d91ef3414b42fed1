#!/usr/bin/env bash
# Regenerates the built-in ad that `hlsplice serve` answers under /hlsplice/ad/ (compiled into the
# binary by src/server/interstitials/builtin_ad.rs) and `hlsplice demo` plays as an interstitial.
#
# 4 s of a solid orange picture with a black "AD" drawn from boxes (no font needed, so every
# machine makes the same picture) and an 880 Hz tone: nothing like the live test pattern
# (testsrc2 and a 440 Hz beep, testdata/media/make.sh), so a person or a pixel check sees at once
# which one plays. 320x180, 24 fps, one keyframe per second, H.264 baseline + AAC-LC stereo
# 48 kHz muxed in MPEG-TS, cut into four 1 s segments, as an HLS VOD playlist.
#
# Output (next to this script): ad.m3u8 (the playlist ffmpeg writes), ad_0.ts .. ad_3.ts
#
# Usage: testdata/ad/make.sh   (needs ffmpeg)
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

SECONDS_TOTAL=4
FPS=24
SEGMENTS=4
# The ad's colour; tests/clients/play.mjs looks for it in the picture.
ORANGE=0xFF8000

ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }

# "A": two stems, a top and a middle bar; "D": a stem, top and bottom bars, a right stem.
letters="drawbox=x=70:y=40:w=22:h=100:c=black:t=fill"
letters="$letters,drawbox=x=138:y=40:w=22:h=100:c=black:t=fill"
letters="$letters,drawbox=x=70:y=40:w=90:h=20:c=black:t=fill"
letters="$letters,drawbox=x=70:y=86:w=90:h=18:c=black:t=fill"
letters="$letters,drawbox=x=180:y=40:w=22:h=100:c=black:t=fill"
letters="$letters,drawbox=x=180:y=40:w=56:h=20:c=black:t=fill"
letters="$letters,drawbox=x=180:y=120:w=56:h=20:c=black:t=fill"
letters="$letters,drawbox=x=228:y=54:w=22:h=72:c=black:t=fill"

# One encoder thread: x264 and the AAC encoder then write the same bytes on every run.
ff -f lavfi -i "color=c=${ORANGE}:size=320x180:rate=${FPS}:duration=${SECONDS_TOTAL},${letters}" \
   -f lavfi -i "sine=frequency=880:sample_rate=48000:duration=${SECONDS_TOTAL}" \
   -map 0:v -map 1:a \
   -threads 1 -c:v libx264 -preset veryfast -profile:v baseline -level:v 3.0 -pix_fmt yuv420p \
   -b:v 40k -maxrate 60k -bufsize 60k \
   -x264-params "keyint=${FPS}:min-keyint=${FPS}:scenecut=0:bframes=0" \
   -c:a aac -b:a 32k -ac 2 -ar 48000 \
   -bitexact -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
   "$tmp/ad.mp4"

rm -f ad.m3u8 ad_*.ts
ff -i "$tmp/ad.mp4" -c copy -f hls -hls_time 1 -hls_list_size 0 -hls_playlist_type vod \
   -hls_segment_type mpegts -hls_segment_filename "ad_%d.ts" ad.m3u8
n=$(ls ad_*.ts | wc -l)
if [ "$n" -ne "$SEGMENTS" ]; then
  echo "make.sh: expected $SEGMENTS segments, ffmpeg wrote $n" >&2
  exit 1
fi
cat ad.m3u8
du -cb ad.m3u8 ad_*.ts | tail -1
