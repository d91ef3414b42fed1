#!/usr/bin/env python3
"""Player-side oracle for hlsplice playlists, with the Python `m3u8` parser and `threefive`.

Usage: check_playlists.py PATH...   (files or directories of .m3u8; a directory holding a
breaks.json, as written by tests/e2e_ffmpeg.rs, is also checked against those breaks)

Checks, per playlist:
  parse     m3u8 parses it (strict mode) without error
  scte35    threefive decodes every SCTE35-OUT / SCTE35-IN (EXT-X-DATERANGE), EXT-OATCLS-SCTE35 and
            EXT-X-CUE-OUT-CONT SCTE35= payload as a splice_insert: OUT/IN direction right, the same
            splice_event_id for all payloads of one break, break_duration equal to the break's
            PLANNED-DURATION / CUE-OUT DURATION
  cue_out   m3u8 sees cue_out on exactly the segments inside each break (program time in
            [START-DATE, END-DATE) of its DATERANGE pair, or breaks.json's decided start/end)
  breaks    (with breaks.json) every break's DATERANGE carries its event id and planned duration
Prints one line per failure and "N passed, N failed"; exits 1 if anything failed.
"""
import datetime as dt
import io
import json
import os
import re
import sys
from contextlib import redirect_stdout

import m3u8
from threefive import Cue

# Golden inputs the rewriter must refuse (its output is the input unchanged): not playlists.
EXPECTED_INVALID = {"not_a_playlist.m3u8", "bad_extinf.m3u8"}
# Goldens where the packager's own markers pass through next to hlsplice's: two sources of cue
# tags, so "cue_out exactly on the break's segments" is not defined for them.
MIXED_MARKERS = re.compile(r"^upstream_.*_pass\.m3u8$")
TICK = 1 / 90000
# The rewriter snaps a break edge to the first segment starting at or after edge - tolerance
# (RewriteOptions::tolerance_ms, 250 ms by default), so a rendition's segment may start a few ms
# before the START-DATE all renditions share.
TOLERANCE = dt.timedelta(milliseconds=250)


class Result:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, why=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name}: {why}")
        return ok


def decode(payload):
    """threefive decode of hex (0x...) or base64 -> SpliceInsert command, or an error string."""
    try:
        with redirect_stdout(io.StringIO()):
            cue = Cue(payload)
            cue.decode()
    except Exception as err:  # threefive raises assorted errors on bad input
        return None, f"threefive cannot decode {payload!r}: {err}"
    cmd = cue.command
    if cmd is None or getattr(cmd, "command_type", None) != 5:
        return None, f"{payload!r} is not a splice_insert"
    return cmd, None


def parse_date(text):
    if text is None:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def daterange_lines(text):
    """Raw EXT-X-DATERANGE attribute dicts in playlist order (m3u8 drops some attributes)."""
    out = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-DATERANGE:"):
            attrs = dict(
                (m.group(1), m.group(2).strip('"'))
                for m in re.finditer(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line.split(":", 1)[1])
            )
            out.append(attrs)
    return out


def check_playlist(path, text, res, breaks=None):
    name = os.path.basename(path)
    try:
        # Not strict mode: it refuses comments and unknown tags, which HLS clients must ignore.
        playlist = m3u8.loads(text, uri=path)
    except Exception as err:
        res.check(f"{name} parse", False, f"m3u8: {err}")
        return
    res.check(f"{name} parse", True)
    if playlist.is_variant:
        res.check(f"{name} variants", len(playlist.playlists) > 0, "no variants")
        return

    # Breaks by DATERANGE ID, from the raw tags.
    ranges = {}
    for attrs in daterange_lines(text):
        r = ranges.setdefault(attrs.get("ID"), {})
        r.update(attrs)
    event_of = {}
    for rid, attrs in ranges.items():
        ok, why = True, []
        event = None
        if "SCTE35-OUT" in attrs:
            cmd, err = decode(attrs["SCTE35-OUT"])
            if err:
                ok, why = False, why + [err]
            else:
                event = cmd.splice_event_id
                if not cmd.out_of_network_indicator:
                    ok, why = False, why + ["SCTE35-OUT has out_of_network_indicator=0"]
                planned = attrs.get("PLANNED-DURATION")
                if planned is not None and (
                    cmd.break_duration is None or abs(cmd.break_duration - float(planned)) > 2 * TICK
                ):
                    ok, why = False, why + [
                        f"SCTE35-OUT break_duration {cmd.break_duration} != PLANNED-DURATION {planned}"
                    ]
        if "SCTE35-IN" in attrs:
            cmd, err = decode(attrs["SCTE35-IN"])
            if err:
                ok, why = False, why + [err]
            else:
                if cmd.out_of_network_indicator:
                    ok, why = False, why + ["SCTE35-IN has out_of_network_indicator=1"]
                if event is not None and cmd.splice_event_id != event:
                    ok, why = False, why + [f"SCTE35-IN event {cmd.splice_event_id} != OUT event {event}"]
                event = cmd.splice_event_id if event is None else event
        if "SCTE35-OUT" in attrs or "SCTE35-IN" in attrs:
            res.check(f"{name} scte35 daterange {rid}", ok, "; ".join(why))
        event_of[rid] = event

    segments = playlist.segments
    # Cue runs: a CUE-OUT, its CONTs; OATCLS and CONT SCTE35= payloads of the run must agree.
    run = None
    runs = []
    for seg in segments:
        if seg.cue_out_start:
            run = {"start": seg, "payloads": [], "duration": seg.scte35_duration, "segments": []}
            runs.append(run)
        if seg.cue_out and run is not None:
            run["segments"].append(seg)
            for payload in (seg.oatcls_scte35, seg.scte35):
                if payload and payload not in run["payloads"]:
                    run["payloads"].append(payload)
        if not seg.cue_out:
            run = None
    for i, r in enumerate(runs):
        if not r["payloads"]:
            continue
        ok, why, events = True, [], set()
        for payload in r["payloads"]:
            cmd, err = decode(payload)
            if err:
                ok, why = False, why + [err]
                continue
            events.add(cmd.splice_event_id)
            if not cmd.out_of_network_indicator:
                ok, why = False, why + [f"{payload} is not an OUT"]
            if r["duration"] is not None and (
                cmd.break_duration is None or abs(cmd.break_duration - float(r["duration"])) > 2 * TICK
            ):
                ok, why = False, why + [f"break_duration {cmd.break_duration} != CUE-OUT {r['duration']}"]
        if len(events) > 1:
            ok, why = False, why + [f"event ids differ within one break: {sorted(events)}"]
        # The DATERANGE starting on the same segment names the same event.
        for d in r["start"].dateranges:
            if d.id in event_of and event_of[d.id] is not None and events and event_of[d.id] not in events:
                ok, why = False, why + [f"DATERANGE {d.id} event {event_of[d.id]} != cue event {events}"]
        res.check(f"{name} scte35 cue run {i + 1} ({r['start'].uri})", ok, "; ".join(why))

    # Which segments are inside a break, by program time.
    windows = []
    if breaks is not None:
        for b in breaks:
            start, end = parse_date(b.get("decided_start")), parse_date(b.get("decided_end"))
            if start is not None and not b.get("cancelled"):
                windows.append((b.get("daterange_id"), start, end))
    else:
        for rid, attrs in ranges.items():
            if "SCTE35-OUT" not in attrs and "SCTE35-IN" not in attrs:
                continue
            start = parse_date(attrs.get("START-DATE"))
            end = parse_date(attrs.get("END-DATE"))
            if end is None and "DURATION" in attrs:
                end = start + dt.timedelta(seconds=float(attrs["DURATION"]))
            if end is None and "PLANNED-DURATION" in attrs and "SCTE35-IN" not in attrs:
                # Not ended yet within this playlist: the break covers the rest of it at least
                # up to its planned end; segments near that end are left undecided.
                end = start + dt.timedelta(seconds=float(attrs["PLANNED-DURATION"]))
                windows.append((rid, start, end, "planned"))
                continue
            windows.append((rid, start, end))
    has_cues = any(s.cue_out or s.cue_in for s in segments)
    def start_of(seg):
        # m3u8 6.0.0 adds a segment's EXT-X-PART durations and then its EXTINF to the running
        # program time, so with LL-HLS parts current_program_date_time runs a segment ahead;
        # a segment's own EXT-X-PROGRAM-DATE-TIME, when it has one, is exact.
        return seg.program_date_time or seg.current_program_date_time

    timed = all(start_of(s) is not None for s in segments)
    if windows and has_cues and timed and segments and not MIXED_MARKERS.match(name):
        ok, why = True, []
        for seg in segments:
            t = start_of(seg)
            expect = None
            for w in windows:
                start, end = w[1], w[2]
                planned = len(w) > 3
                inside = t >= start - TOLERANCE and (end is None or t < end - TOLERANCE)
                if planned and end is not None and abs((t - end).total_seconds()) < 0.3:
                    expect = "either"
                    break
                if inside:
                    expect = True
                    break
            if expect is None:
                expect = False
            if expect != "either" and bool(seg.cue_out) != expect:
                ok = False
                why.append(f"{seg.uri} at {t.isoformat()}: cue_out={seg.cue_out}, expected {expect}")
        res.check(f"{name} cue_out", ok, "; ".join(why))

    if breaks is not None:
        ok, why = True, []
        for b in breaks:
            rid = b.get("daterange_id")
            if rid in ranges and "SCTE35-OUT" in ranges[rid]:
                cmd, err = decode(ranges[rid]["SCTE35-OUT"])
                if err:
                    ok, why = False, why + [err]
                elif cmd.splice_event_id != b.get("event_id"):
                    ok, why = False, why + [f"{rid}: event {cmd.splice_event_id} != {b.get('event_id')}"]
                elif abs((cmd.break_duration or 0) - b.get("planned_duration_ms", 0) / 1000) > 2 * TICK:
                    ok, why = False, why + [f"{rid}: duration {cmd.break_duration} != {b.get('planned_duration_ms')} ms"]
            if rid in event_of and event_of[rid] is not None and event_of[rid] != b.get("event_id"):
                ok, why = False, why + [f"{rid}: payload event {event_of[rid]} != {b.get('event_id')}"]
        res.check(f"{name} breaks", ok, "; ".join(why))


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    res = Result()
    skipped = 0
    for root in argv[1:]:
        if os.path.isdir(root):
            files = sorted(
                os.path.join(root, f) for f in os.listdir(root) if f.endswith(".m3u8")
            )
            breaks_file = os.path.join(root, "breaks.json")
            breaks = None
            if os.path.exists(breaks_file):
                with open(breaks_file) as f:
                    data = json.load(f)
                breaks = data.get("breaks", data) if isinstance(data, dict) else data
        else:
            files, breaks = [root], None
        res.check(f"{root} has playlists", bool(files), "no .m3u8 files")
        for path in files:
            if os.path.basename(path) in EXPECTED_INVALID:
                skipped += 1
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            check_playlist(path, text, res, breaks)
    print(f"m3u8/threefive: {skipped} expected-invalid goldens skipped")
    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
