#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora, fuzz/seeds/<target>/, from testdata/.

- playlist_scan: the playlists of testdata/playlists, as they are.
- playlist_rewrite: the same playlists behind the target's header (options byte, break count,
  8 bytes per break; see fuzz/checks/playlist_rewrite.rs), options and breaks varied per file.
- scte35_decode: every distinct SCTE-35 section the testdata playlists carry (DATERANGE hex,
  EXT-OATCLS-SCTE35 / SCTE35= base64), as bytes, and a few as the text the target also reads.
- api_event_body: the request bodies, routes and queries the README documents (native and
  OvenMediaEngine), the forms a parser must accept.

Deterministic: running it again rewrites the same files. Run from anywhere:
`python3 fuzz/make_seeds.py`.
"""

import base64
import re
import shutil
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYLISTS = sorted(
    p for p in (ROOT / "testdata" / "playlists").iterdir() if p.is_file()
)
GOLDENS = sorted((ROOT / "testdata" / "playlists" / "expected").iterdir())
SEEDS = ROOT / "fuzz" / "seeds"


def fresh(target):
    directory = SEEDS / target
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def playlist_scan():
    out = fresh("playlist_scan")
    for path in PLAYLISTS:
        shutil.copyfile(path, out / path.name)


def playlist_rewrite():
    out = fresh("playlist_rewrite")
    for i, path in enumerate(PLAYLISTS):
        name = path.name
        flags = i % 4  # dialect: cue, daterange, both, enhanced
        flags |= (i // 4 % 3) << 4  # CUE style
        if i % 5 == 0:
            flags |= 64  # the interstitial family too
        if name.startswith("upstream_"):
            flags |= 4  # strip upstream markers
        if "no_pdt" in name:
            flags |= 8  # an anchor
        breaks = []
        # One break starting 8 s before the live edge, 6 s long; on every other file a second,
        # 2 s after the first ends, with an event id and an early IN.
        breaks.append(struct.pack("<hHBBBB", -800, 600, 0, 0, 0, 0))
        if i % 2 == 1:
            breaks.append(struct.pack("<hHBBBB", 0, 400, 1, 7, 1, 20))
        header = bytes([flags, len(breaks)]) + b"".join(breaks)
        (out / name).write_bytes(header + path.read_bytes())


def scte35_decode():
    out = fresh("scte35_decode")
    sections = {}
    for path in PLAYLISTS + GOLDENS:
        text = path.read_text(errors="replace")
        for hexdigits in re.findall(r"SCTE35-(?:OUT|IN|CMD)=0x([0-9A-Fa-f]+)", text):
            sections.setdefault(bytes.fromhex(hexdigits), "0x" + hexdigits)
        for b64 in re.findall(r"(?:OATCLS-SCTE35:|SCTE35=)([A-Za-z0-9+/]+=*)", text):
            sections.setdefault(base64.b64decode(b64), b64)
    for n, (section, text) in enumerate(sorted(sections.items())):
        (out / f"section-{n:02}.bin").write_bytes(section)
        if n % 4 == 0:
            (out / f"section-{n:02}.txt").write_text(text)


API_SEEDS = {
    # Native create bodies (README, "Break API").
    "native-now.json": '{"duration_ms":10000,"start":"now"}',
    "native-request-id.json": '{"duration_ms": 30000, "start": "now", "request_id": "show-42-break-1"}',
    "native-at.json": '{"duration_ms": 60000, "start": "2026-11-21T20:15:00Z", "event_id": 2025}',
    "native-offset.json": '{"duration_ms":8000,"start":"2026-11-21T21:15:00.250+01:00","event_id":7,"request_id":null}',
    # OvenMediaEngine bodies.
    "ome-cue-out.json": '{"eventFormat":"cue","events":[{"cueType":"out","duration":60500}]}',
    "ome-cue-in.json": '{"eventFormat":"cue","events":[{"cueType":"in"}]}',
    "ome-scte35.json": '[{"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","id":2025,"type":"out","duration":30000,"autoReturn":true}]}]',
    "ome-several.json": '[{"eventFormat":"cue","events":[{"cueType":"out","duration":10000},{"cueType":"in"}]},{"eventFormat":"scte35","events":[{"type":"in","id":9}]}]',
    # Routes and queries.
    "route-native.txt": "/api/v1/streams/live/demo/breaks/7/end",
    "route-native-encoded.txt": "/api/v1/streams/live%2Fdemo/breaks",
    "route-ome.txt": "/v1/vhosts/default/apps/live/streams/demo:sendEvents",
    "query-breaks.txt": "limit=5&cursor=40&state=ended",
    "query-streams.txt": "limit=2&after=live%2Fa",
}


def api_event_body():
    out = fresh("api_event_body")
    for name, text in API_SEEDS.items():
        (out / name).write_text(text)


if __name__ == "__main__":
    playlist_scan()
    playlist_rewrite()
    scte35_decode()
    api_event_body()
