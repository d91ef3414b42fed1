#!/usr/bin/env bash
# Regenerates the clip `hlsplice demo` loops (compiled into the binary by src/packager/media.rs).
#
# 8 s of testsrc2 (320x180, 24 fps, one keyframe per second) and a 48 kHz stereo sine, cut for
# 1 s segments and 250 ms parts. 8 s because 8 s of 48 kHz audio is exactly 375 AAC frames, so
# the audio loop has no remainder and every declared audio duration is a whole number of frames.
#
# Output (next to this script):
#   video.ts, audio.ts   8 MPEG-TS segments each, concatenated (classic HLS)
#   video.mp4, audio.mp4 fragmented MP4, one fragment per frame (LL-HLS; the packager groups
#                        fragments into 250 ms parts and 1 s segments)
#   clip.txt             the manifest: segment byte sizes and what the playlists declare
#
# Usage: testdata/media/make.sh   (needs ffmpeg and ffprobe)
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

SECONDS_TOTAL=8
FPS=24
SEGMENTS=8

# The AAC encoder adds a priming frame and a flush frame: 373 frames of input samples give exactly
# 375 packets (8 s), which ffmpeg's segmenter cuts at the first frame at or after each second,
# the same ceiling-to-AAC-frame grid the packager declares (src/packager/grid.rs).
AUDIO_SAMPLES=$((373 * 1024))

ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }

# One mezzanine encode; every packaging below copies its streams, so all renditions agree.
ff -f lavfi -i "testsrc2=size=320x180:rate=${FPS}:duration=${SECONDS_TOTAL}" \
   -f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${SECONDS_TOTAL}" \
   -map 0:v -map 1:a -af "atrim=end_sample=$AUDIO_SAMPLES" \
   -c:v libx264 -preset veryfast -profile:v baseline -level:v 3.0 -pix_fmt yuv420p \
   -b:v 90k -maxrate 120k -bufsize 120k \
   -x264-params "keyint=${FPS}:min-keyint=${FPS}:scenecut=0:bframes=0" \
   -c:a aac -b:a 32k -ac 2 -ar 48000 \
   -bitexact -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
   "$tmp/mezz.mp4"

# Classic HLS: one MPEG-TS segment per second and rendition, cut by ffmpeg's own segmenter.
for r in video audio; do
  if [ "$r" = video ]; then m=0:v; else m=0:a; fi
  ff -i "$tmp/mezz.mp4" -map "$m" -c copy -f hls -hls_time 1 -hls_list_size 0 \
     -hls_segment_type mpegts -hls_segment_filename "$tmp/${r}_%d.ts" "$tmp/$r.m3u8"
  n=$(ls "$tmp/${r}"_*.ts | wc -l)
  if [ "$n" -ne "$SEGMENTS" ]; then
    echo "make.sh: expected $SEGMENTS $r segments, ffmpeg wrote $n" >&2
    exit 1
  fi
  : > "$r.ts"
  sizes=""
  for i in $(seq 0 $((SEGMENTS - 1))); do
    cat "$tmp/${r}_$i.ts" >> "$r.ts"
    sizes="$sizes $(stat -c %s "$tmp/${r}_$i.ts")"
  done
  echo "ts_$r$sizes" >> "$tmp/manifest"
  echo "ffmpeg's durations for $r: $(grep EXTINF "$tmp/$r.m3u8" | tr -d '\n')"
done

# LL-HLS: fragmented MP4 with one fragment per frame.
for r in video audio; do
  if [ "$r" = video ]; then m=0:v; else m=0:a; fi
  ff -i "$tmp/mezz.mp4" -map "$m" -c copy \
     -movflags +empty_moov+default_base_moof+frag_every_frame+cmaf -f mp4 "$r.mp4"
done

bitrate=$(ffprobe -v error -show_entries format=bit_rate -of default=nw=1:nk=1 "$tmp/mezz.mp4")
{
  echo "# hlsplice clip manifest, written by testdata/media/make.sh; read by src/packager/media.rs"
  echo "segments $SEGMENTS"
  echo "segment_ms 1000"
  echo "part_ms 250"
  echo "frame_rate $FPS"
  echo "resolution 320x180"
  echo "video_codec avc1.42c01e"
  echo "audio_codec mp4a.40.2"
  echo "audio_channels 2"
  echo "average_bandwidth $bitrate"
  echo "bandwidth $((bitrate * 3 / 2))"
  cat "$tmp/manifest"
} > clip.txt
ls -l video.ts audio.ts video.mp4 audio.mp4 clip.txt
du -cb video.ts audio.ts video.mp4 audio.mp4 clip.txt | tail -1
