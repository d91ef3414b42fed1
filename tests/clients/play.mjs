#!/usr/bin/env node
// Real-player oracle: hls.js, Shaka Player and video.js (VHS), in headless Chromium, play the
// demo streams through the proxy while an ad break starts and ends, and each surfaces the break.
//
// Usage: node play.mjs [options] PROXY_BASE_URL        (e.g. http://127.0.0.1:8080)
//   --players LIST     comma-separated, of hlsjs, shaka, videojs (default: all three)
//   --streams LIST     comma-separated, of live, ll (default: both)
//   --token TOKEN      bearer token of the proxy's native API (default $HLSPLICE_DEMO_TOKEN
//                      or demo-token)
//   --break-ms MS      planned duration of the break started on each stream (default 8000)
//   --cue-style STYLE  the --cue-style the demo was started with; when given, video.js must
//                      show exactly one ad cue for the break, ending at its planned duration
//   --timeout-ms MS    per player and stream: longest wait for playback to start, and for the
//                      break's IN after its planned end (default 15000)
//   --settle-ms MS     how long players keep playing after the IN is published (default 3000)
//   --interstitials    the proxy runs with the interstitial marker family and the demo's ads (the
//                      built-in 4 s ad, `hlsplice demo --dialect both,interstitial`): check that
//                      hls.js plays the ad in each break and returns to the live stream, that a
//                      player joining /live/demo/ mid-break is answered by its start offset, that
//                      the demo's player page at / shows the ad (a screenshot, pixel-checked) and
//                      what Shaka Player does with the interstitial
//   --screenshots DIR  where the demo page's screenshots go (default: target/ of the repository)
//
// Starts nothing of hlsplice's: `hlsplice demo` (or `hlsplice serve` in front of a packager that
// serves /live/demo/ and /ll/demo/) must already run at PROXY_BASE_URL, with no break on the
// streams. The script serves a page per player and the players' own dist builds (from
// node_modules) from a loopback port of its own, so the page's origin differs from the proxy's
// and every playlist and media request is a CORS request. It launches Chromium (/usr/bin/chromium,
// or $CHROMIUM) headless through playwright-core and, per stream, opens one page per player and
// plays /live/demo/master.m3u8 or /ll/demo/master.m3u8 (low-latency mode) in all of them. Once
// every player plays, it starts one break on the stream through the native API
// ({"duration_ms": --break-ms, "start": "now"}), reads the break back from
// GET /api/v1/streams/<stream>/breaks until its IN is published (the break is "ended"), lets the
// players play --settle-ms more, and checks what each saw. The two streams run side by side.
//
// Checks, per player and stream:
//   supported    the player can run here (MediaSource)
//   no error     no fatal error or error event (non-fatal ones and console warnings are printed)
//   plays        currentTime advanced by at least 3 s, and still advanced in the last second
//   hls.js       a LEVEL_UPDATED date range with the break's ID, SCTE35-OUT and START-DATE equal
//                to the decided start, first seen without SCTE35-IN, END-DATE or DURATION; after
//                the IN, the merged range has END-DATE and DURATION equal to the decided end and
//                its distance from the start
//   requests     every player fetched the stream's playlists and media from the proxy's origin
//                (the page's is another: CORS); on /ll/, hls.js and Shaka fetched parts and
//                blocking playlist reloads (_HLS_msn): they play it as LL-HLS
//   Shaka        a timelineregionadded region with the break's ID and SCTE35-OUT whose startTime,
//                in presentation time, is the decided start, and whose length is the planned
//                duration (PLANNED-DURATION)
//   video.js     with --cue-style: the cues of the 'ad-cues' track, tied by a hook in VHS's
//                updateAdCues_ to the segment that opened each (and its program date time), are
//                one cue for the break counted by program time: every cue starts at the decided
//                start; a second cue for the same tag only where VHS's media time slipped by over
//                half a segment between refreshes (VHS 3.17 counts a refresh from the previous
//                one's seekable start; see players/videojs.js); each announces the planned
//                duration (what VHS read from the tag) and ends, with a finite adEndTime, at the
//                CUE-IN the planned duration after its start; without --cue-style the cues are
//                printed, not checked
// With --interstitials, also (the interstitial is the date range `ad-<the break's DATERANGE ID>`):
//   hls.js       on each stream: the asset list it loaded lists the built-in ad filling the break
//                (4 s each, absolute URIs of the proxy); INTERSTITIAL_STARTED then _ENDED for the
//                break; an asset player whose currentTime advanced by at least 1 s (the ad
//                plays); and after the interstitial ended, the live stream's currentTime advanced
//                by at least 1 s again with no fatal error (back to the live stream)
//   joiners      a second hls.js page and a second Shaka page on /live/demo/, opened 8 s after
//                the break's decided start (their live start point is inside the break).
//                hls.js: its asset-list request carries _HLS_start_offset S > 0; the proxy
//                answers 200 with the same list (positions count from the break's start) and
//                counts the request (hlsplice_asset_list_start_offset_total); hls.js starts asset
//                floor(S / 4) at S - 4 x floor(S / 4) into it (±0.5 s), the asset plays, and the
//                page returns to the live stream. Shaka 5.2.12: it asks the break's list (whether
//                with _HLS_start_offset is printed: it did not in our runs), plays the ad from
//                inside the break (its first ad runs under 3.5 s of its 4) and returns
//   demo page    the proxy's player page at / (hls.js from jsDelivr, served here from
//                node_modules after checking that the page pins that version and integrity
//                hash) plays /live/demo/master.m3u8: a screenshot of its video taken before the
//                break shows the live pattern (under 10 % ad-orange pixels), one taken 1.5 s into
//                the ad shows the ad (over 50 % ad-orange); both are saved under --screenshots
//   Shaka        on each stream (5.2 plays interstitials itself, in the same <video>): an
//                ad-started with the built-in ad's URI for each asset of the list, the ads'
//                remaining time falling by at least 1 s in all (they play), and ad-break-ended
//                followed by at least 1 s of the live stream with no fatal error
// Prints one line per player and stream, one per failure and "N passed, N failed"; exits 1 if
// anything failed, 2 on bad usage or when the browser cannot be started.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** The players: the dist build the page loads from node_modules, and the page-side adapter. */
const PLAYERS = {
  hlsjs: { script: 'node_modules/hls.js/dist/hls.min.js', adapter: 'players/hlsjs.js' },
  shaka: {
    script: 'node_modules/shaka-player/dist/shaka-player.compiled.js',
    adapter: 'players/shaka.js',
  },
  videojs: { script: 'node_modules/video.js/dist/video.min.js', adapter: 'players/videojs.js' },
};
const STREAMS = {
  live: { key: 'live/demo', path: '/live/demo/master.m3u8', lowLatency: false },
  ll: { key: 'll/demo', path: '/ll/demo/master.m3u8', lowLatency: true },
};
const ADVANCE_S = 3;
/** Start and end times agree to the millisecond (the playlists write milliseconds). */
const TIME_TOLERANCE_S = 0.0015;
/** The built-in ad (testdata/ad/make.sh): 4 s, a solid orange picture (0xFF8000) with "AD". */
const AD_SECONDS = 4;
const AD_PATH = '/hlsplice/ad/ad.m3u8';
/** A joining player starts this long after the break's decided start (wall clock = program time
 *  with the demo's system clock); hls.js starts 3 target durations (3 s) behind the live edge. */
const JOIN_AFTER_MS = 8000;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// No background traffic (the network is closed), a fresh profile, and no throttling of pages
// that are not in front: several players play at once.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

function usage(why) {
  if (why) console.error(why);
  console.error(
    'usage: node play.mjs [--players hlsjs,shaka,videojs] [--streams live,ll] [--token T]\n' +
      '                     [--break-ms MS] [--cue-style STYLE] [--timeout-ms MS] [--settle-ms MS]\n' +
      '                     [--interstitials] [--screenshots DIR] PROXY_BASE_URL',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    players: Object.keys(PLAYERS),
    streams: Object.keys(STREAMS),
    token: process.env.HLSPLICE_DEMO_TOKEN || 'demo-token',
    breakMs: 8000,
    cueStyle: null,
    timeoutMs: 15000,
    settleMs: 3000,
    interstitials: false,
    screenshots: join(here, '..', '..', 'target'),
    base: null,
  };
  const list = (v, known, what) => {
    const items = v.split(',').filter(Boolean);
    for (const item of items) if (!(item in known)) usage(`unknown ${what} ${item}`);
    return items;
  };
  const number = (v, name) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) usage(`${name} takes a positive integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      i += 1;
      return argv[i];
    };
    switch (arg) {
      case '--players': opts.players = list(value(), PLAYERS, 'player'); break;
      case '--streams': opts.streams = list(value(), STREAMS, 'stream'); break;
      case '--token': opts.token = value(); break;
      case '--break-ms': opts.breakMs = number(value(), arg); break;
      case '--cue-style': opts.cueStyle = value(); break;
      case '--timeout-ms': opts.timeoutMs = number(value(), arg); break;
      case '--settle-ms': opts.settleMs = number(value(), arg); break;
      case '--interstitials': opts.interstitials = true; break;
      case '--screenshots': opts.screenshots = value(); break;
      default:
        if (arg.startsWith('--') || opts.base !== null) usage(`unexpected ${arg}`);
        opts.base = arg;
    }
  }
  if (!opts.base || !/^https?:\/\/[^/]+/.test(opts.base)) usage('PROXY_BASE_URL is required');
  if (opts.players.length === 0 || opts.streams.length === 0) usage('nothing to play');
  opts.base = opts.base.replace(/\/+$/, '');
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with `promise`'s value, or with `fallback()` after `ms`. */
function within(ms, promise, fallback) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(fallback()), ms);
    }),
  ]);
}

// ---- the proxy's native API (bearer token) ----

async function api(method, path, body) {
  const res = await fetch(opts.base + path, {
    method,
    headers: {
      authorization: `Bearer ${opts.token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Reported below with the text.
  }
  return { status: res.status, json, text };
}

async function breakNow(key, id) {
  const res = await api('GET', `/api/v1/streams/${key}/breaks`);
  if (res.status !== 200 || !res.json) throw new Error(`GET breaks of ${key}: ${res.status} ${res.text}`);
  return (res.json.breaks || []).find((b) => b.id === id) || null;
}

// ---- the page server: one page per player, the players' dist builds, the adapters ----

const files = new Map();
for (const [name, player] of Object.entries(PLAYERS)) {
  files.set(`/${name}/player.js`, readFileSync(join(here, player.script)));
  files.set(`/${name}/adapter.js`, readFileSync(join(here, player.adapter)));
}
files.set('/common.js', readFileSync(join(here, 'players/common.js')));
const page = (name) => `<!doctype html>
<html><head><meta charset="utf-8"><title>hlsplice ${name} check</title>
<script src="/common.js"></script><script src="/${name}/player.js"></script>
<script src="/${name}/adapter.js"></script></head><body></body></html>`;

const pageServer = createServer((req, res) => {
  const path = req.url.split('?')[0];
  const name = path.replace(/^\/|\/$/g, '');
  if (name in PLAYERS && path.endsWith('/')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page(name));
  } else if (path === '/favicon.ico') {
    res.writeHead(204);
    res.end();
  } else if (files.has(path)) {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(files.get(path));
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
const proxyOrigin = new URL(opts.base).origin;
if (new URL(pageOrigin).origin === proxyOrigin) {
  console.error(`the page origin ${pageOrigin} must differ from the proxy's`);
  process.exit(2);
}

// ---- checks and report ----

let passed = 0;
let failed = 0;
function check(name, ok, why = '') {
  if (ok) {
    passed += 1;
  } else {
    failed += 1;
    console.log(`FAIL ${name}: ${why}`);
  }
}

const ms = (iso) => (iso ? Date.parse(iso) : NaN);
const close = (a, b) => Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= TIME_TOLERANCE_S;
const fmt = (x) => (typeof x === 'number' ? x.toFixed(3) : String(x));

/** How far currentTime moved in the last `windowMs` of the run. */
function recentAdvance(seen, windowMs) {
  const points = seen.progress.filter(([at]) => at >= seen.now - windowMs);
  if (points.length < 2) return 0;
  return points[points.length - 1][1] - points[0][1];
}

function checkHlsJs(name, seen, brk) {
  const range = seen.dateRanges[brk.daterange_id];
  const ranges = Object.entries(seen.dateRanges)
    .map(([id, r]) => `${id}${r.scte35Out ? ' OUT' : ''}${r.scte35In ? '+IN' : ''} @ ${r.startDate}` +
      (r.duration !== null ? ` DURATION=${r.duration}` : ''))
    .join(', ');
  console.log(`  date ranges (${seen.levelUpdates} level updates): ${ranges || 'none'}`);
  check(
    `${name} SCTE35-OUT`,
    range && range.scte35Out && range.valid && close(ms(range.startDate) / 1000, ms(brk.decided_start) / 1000),
    range
      ? `date range ${brk.daterange_id}: SCTE35-OUT ${range.scte35Out}, valid ${range.valid}, ` +
          `START-DATE ${range.startDate}, decided start ${brk.decided_start}`
      : `no date range ${brk.daterange_id} in ${seen.levelUpdates} level updates`,
  );
  const decided = (ms(brk.decided_end) - ms(brk.decided_start)) / 1000;
  check(
    `${name} range first seen without the IN`,
    range && range.first && !range.first.scte35In && range.first.duration === null && range.first.endDate === null,
    range
      ? `date range ${brk.daterange_id} first seen with SCTE35-IN ${range.first && range.first.scte35In}, ` +
          `DURATION ${range.first && range.first.duration}, END-DATE ${range.first && range.first.endDate}`
      : `no date range ${brk.daterange_id}`,
  );
  check(
    `${name} merged range after the IN`,
    range && range.scte35In && range.endDate !== null && range.duration !== null &&
      close(ms(range.endDate) / 1000, ms(brk.decided_end) / 1000) && close(Number(range.duration), decided),
    range
      ? `date range ${brk.daterange_id}: SCTE35-IN ${range.scte35In}, END-DATE ${range.endDate}, ` +
          `DURATION ${range.duration}; decided end ${brk.decided_end} (${fmt(decided)} s)`
      : `no date range ${brk.daterange_id}`,
  );
}

function checkShaka(name, seen, brk) {
  const regions = seen.regions.filter((r) => r.id === brk.daterange_id);
  console.log(
    `  timeline regions: ${seen.regions.map((r) => `${r.id} [${r.schemeIdUri}] ${fmt(r.startTime)}..${fmt(r.endTime)}` +
      ` (${r.keys.filter((k) => k.startsWith('SCTE35')).join('+') || 'no SCTE35'})`).join(', ') || 'none'}` +
      `; presentation starts ${seen.presentationStart ? new Date(seen.presentationStart).toISOString() : 'unknown'}`,
  );
  // The decided start in Shaka's presentation time (seconds from its initial program date time).
  const start = (ms(brk.decided_start) - seen.presentationStart) / 1000;
  const planned = brk.planned_duration_ms / 1000;
  const out = regions.find((r) => r.keys.includes('SCTE35-OUT') && close(r.startTime, start) &&
    close(r.endTime - r.startTime, planned));
  check(
    `${name} timelineregionadded`,
    seen.presentationStart !== null && out !== undefined,
    regions.length
      ? `regions ${regions.map((r) => `${fmt(r.startTime)}..${fmt(r.endTime)} [${r.keys.join(',')}]`).join(', ')}; ` +
          `wanted SCTE35-OUT at ${fmt(start)} lasting ${fmt(planned)} s`
      : `no region ${brk.daterange_id} (of ${seen.regions.length})`,
  );
}

/** One VHS ad cue as the adapter tied it to the playlist (players/videojs.js). */
function describeCue(c) {
  const at = (place) => (place
    ? `msn ${place.msn} (${place.programDateTime === null ? 'no PDT' : new Date(place.programDateTime).toISOString()}, ` +
      `VHS skew ${place.skew === null || place.skew === undefined ? '?' : `${place.skew >= 0 ? '+' : ''}${fmt(place.skew)} s`})`
    : '?');
  const program = c.programStart === null ? 'no program time' : new Date(c.programStart).toISOString();
  return `[media ${fmt(c.adStartTime)}..${fmt(c.adEndTime)}; opened by ${c.opener ?? '? (not seen by the hook)'} at ` +
    `${at(c.openedAt)}, starts ${program}; ends ${c.ins.length ? c.ins.map((p) => `at CUE-IN ${at(p)}`).join(', ') : 'where it announced'}]`;
}

/** The cue's end in program time (ms): the last CUE-IN that moved it, else where its tag said. */
function cueProgramEnd(c) {
  if (c.ins.length) return c.ins[c.ins.length - 1].programDateTime ?? NaN;
  return c.programStart === null || c.announced === null ? NaN : c.programStart + c.announced * 1000;
}

/** The video.js checks. VHS places its ad cues in its own media time, which it counts from the
 *  seekable start of the previous refresh (players/videojs.js; @videojs/http-streaming 3.17,
 *  playlist-controller.js handleUpdatedMediaPlaylist and updateAdCues_, ad-cue-tags.js
 *  updateAdCues and findAdCue): when that skew changes by more than half a segment between two
 *  refreshes, VHS misses the cue it made for a CUE-OUT and adds a second one for the same tag,
 *  and a CUE-IN moves the end by the difference of skews. So the cues are counted where VHS read
 *  them, in program time: every cue must come from this break's CUE-OUT (or its CONT) at the
 *  decided start, a second cue only from a skew that moved by more than half a segment, and each
 *  must announce the planned duration and end at the break's CUE-IN, that far after its start. */
function checkVideoJs(name, seen, brk, postedAt) {
  const cues = seen.adCues.filter((c) => c.firstSeen >= postedAt);
  const old = seen.adCues.length - cues.length;
  const planned = brk.planned_duration_ms / 1000;
  console.log(
    `  ad-cues track ${seen.adCueTrack ? 'present' : 'absent'} (VHS hook ${seen.vhsHook}): ${cues.length} cue(s) ` +
      `for the break${old ? ` (and ${old} from before it)` : ''}`,
  );
  for (const c of cues) console.log(`    ${describeCue(c)}`);
  if (opts.cueStyle === null) return;
  const all = cues.map(describeCue).join(' ');
  const starts = [...new Set(cues.map((c) => (c.programStart === null ? 'none' : Math.round(c.programStart))))];
  check(
    `${name} one ad cue for the break (--cue-style ${opts.cueStyle}), by program time`,
    seen.vhsHook === 'installed' && cues.length > 0 && starts.length === 1 &&
      close(cues[0].programStart / 1000, ms(brk.decided_start) / 1000),
    seen.vhsHook !== 'installed'
      ? `the VHS hook: ${seen.vhsHook}`
      : `${cues.length} cue(s) starting at ${starts.map((t) => (t === 'none' ? t : new Date(t).toISOString())).join(', ') || 'nothing'}; ` +
        `wanted one start, the decided ${brk.decided_start}: ${all}`,
  );
  // A second cue for one tag is VHS's only when its media time slipped: findAdCue looks half a
  // segment past the segment's start, so the new cue's skew is over half a segment from that of
  // every earlier one. A cue added on every refresh with the same skew (a value VHS cannot read)
  // fails here.
  const unexplained = cues.filter((c, k) => k > 0 && cues.slice(0, k).some((e) =>
    !(c.openedAt && e.openedAt && Number.isFinite(c.openedAt.skew) && Number.isFinite(e.openedAt.skew) &&
      Math.abs(c.openedAt.skew - e.openedAt.skew) > c.openedAt.duration / 2)));
  check(
    `${name} a second ad cue only where VHS's media time slipped`,
    unexplained.length === 0,
    `cue(s) ${unexplained.map(describeCue).join(' ')} added with a skew within half a segment of an earlier cue's: ${all}`,
  );
  const wrongAnnounced = cues.filter((c) => !close(c.announced, planned));
  check(
    `${name} ad cue announces the planned duration`,
    cues.length > 0 && wrongAnnounced.length === 0,
    `${wrongAnnounced.map((c) => `${c.opener} read as ${fmt(c.announced)} s`).join(', ') || 'no cue'}; wanted ${fmt(planned)} s`,
  );
  const end = ms(brk.decided_start) + brk.planned_duration_ms;
  const wrongEnd = cues.filter((c) => !Number.isFinite(c.adEndTime) || !close(cueProgramEnd(c) / 1000, end / 1000) ||
    c.ins.some((p) => !close(p.programDateTime / 1000, end / 1000)));
  check(
    `${name} ad cue ends at the CUE-IN, the planned duration after its start`,
    cues.length > 0 && cues.some((c) => c.ins.length > 0) && wrongEnd.length === 0,
    `wanted every cue to end at ${new Date(end).toISOString()} (decided end ${brk.decided_end}), ` +
      `at least one moved there by the CUE-IN, all with a finite adEndTime: ${all}`,
  );
}

// ---- interstitials ----

const interstitialId = (brk) => `ad-${brk.daterange_id}`;

/** The spread of the times in `[at, time]` samples (how far a player's currentTime moved). */
function spread(samples) {
  const times = samples.map(([, t]) => t).filter(Number.isFinite);
  return times.length < 2 ? 0 : Math.max(...times) - Math.min(...times);
}

/** How far the last sample is past the first (playback moving forward). */
function forward(samples) {
  return samples.length < 2 ? 0 : samples[samples.length - 1][1] - samples[0][1];
}

/** The asset list the proxy answers for `brk`: the built-in ad while the next one fits, at least
 *  one (hlsplice::hls::ads::fill), with the proxy's absolute URI. */
function expectedAds(brk) {
  const n = Math.max(1, Math.floor(brk.planned_duration_ms / 1000 / AD_SECONDS + 1e-9));
  return Array.from({ length: n }, () => ({ uri: opts.base + AD_PATH, duration: AD_SECONDS }));
}

const EMPTY_INTERSTITIALS = { lists: [], started: [], ended: [], assets: [], resumed: [] };

function describeInterstitial(ints, id) {
  const list = ints.lists.find((l) => l.id === id);
  const assets = ints.assets.filter((a) => a.id === id);
  return `list ${list ? list.assets.map((a) => `${a.duration} s ${a.uri}`).join(', ') : 'not loaded'}; ` +
    `started ${ints.started.some((e) => e.id === id)}, ended ${ints.ended.some((e) => e.id === id)}; assets ` +
    (assets.map((a) => `#${a.index} from ${fmt(a.startPosition)} s, currentTime +${spread(a.times).toFixed(2)} s`)
      .join('; ') || 'none');
}

/** The hls.js checks of the break's interstitial (see the header). */
function checkHlsJsInterstitial(name, seen, brk) {
  const id = interstitialId(brk);
  const ints = seen.interstitials || EMPTY_INTERSTITIALS;
  console.log(`  interstitial ${id}: ${describeInterstitial(ints, id)}`);
  const list = ints.lists.find((l) => l.id === id);
  const want = expectedAds(brk);
  check(
    `${name} asset list`,
    list !== undefined && JSON.stringify(list.assets) === JSON.stringify(want),
    `loaded ${JSON.stringify(list ? list.assets : null)}, wanted ${JSON.stringify(want)}`,
  );
  const started = ints.started.find((e) => e.id === id);
  const ended = ints.ended.find((e) => e.id === id);
  check(
    `${name} INTERSTITIAL_STARTED and _ENDED`,
    started !== undefined && ended !== undefined && ended.at >= started.at,
    `started ${JSON.stringify(started)}, ended ${JSON.stringify(ended)}`,
  );
  const assets = ints.assets.filter((a) => a.id === id);
  const moved = Math.max(0, ...assets.map((a) => spread(a.times)));
  check(
    `${name} the ad plays`,
    moved >= 1,
    `asset players' currentTime moved at most ${moved.toFixed(2)} s (wanted >= 1)`,
  );
  const after = ended ? seen.progress.filter(([at]) => at >= ended.at + 500) : [];
  check(
    `${name} back to the live stream`,
    ended !== undefined && forward(after) >= 1 && seen.fatal === null,
    ended
      ? `after INTERSTITIAL_ENDED the video's currentTime moved ${forward(after).toFixed(2)} s (wanted >= 1)`
      : 'the interstitial never ended',
  );
}

/** How much of its ads Shaka played: the sum of the falls of the ad's remaining time between
 *  samples (each ad starts over). */
function shakaAdPlayed(ads) {
  let played = 0;
  for (let i = 1; i < ads.samples.length; i++) {
    const fall = ads.samples[i - 1][2] - ads.samples[i][2];
    if (Number.isFinite(fall) && fall > 0 && fall < 1) played += fall;
  }
  return played;
}

/** What Shaka Player 5.2 does with the interstitial: ad-break-started, an ad-started per asset it
 *  plays (in the same <video>, without an ad container), ad-break-ended, then the live stream. */
function checkShakaInterstitial(name, seen, brk) {
  const ads = seen.ads || { events: [], samples: [] };
  const first = ads.events.length ? ads.events[0].at : 0;
  console.log(
    `  ad events: ${ads.events.map((e) => `${e.type}@+${((e.at - first) / 1000).toFixed(1)}s` +
      (e.uri ? ` ${e.uri}` : '') + (e.position ? ` ${e.position}/${e.sequence}` : '')).join(', ') || 'none'}`,
  );
  console.log(`  ad progress: ${ads.samples.length} samples, ads played ${shakaAdPlayed(ads).toFixed(2)} s`);
  const started = ads.events.filter((e) => e.type === 'ad-started');
  const want = expectedAds(brk).length;
  check(
    `${name} ad-started for each of the ${want} ads`,
    started.length === want && started.every((e) => typeof e.uri === 'string' && e.uri.includes(AD_PATH)),
    `ad-started events: ${JSON.stringify(started)}`,
  );
  check(`${name} the ads play`, shakaAdPlayed(ads) >= 1, `ads played ${shakaAdPlayed(ads).toFixed(2)} s`);
  const ended = ads.events.find((e) => e.type === 'ad-break-ended');
  const after = ended ? seen.progress.filter(([at]) => at >= ended.at + 500) : [];
  check(
    `${name} back to the live stream`,
    ended !== undefined && forward(after) >= 1 && seen.fatal === null,
    ended ? `after ad-break-ended the video's currentTime moved ${forward(after).toFixed(2)} s` : 'no ad-break-ended',
  );
}

/** Opens a second page of `player` on `stream` once the break is JOIN_AFTER_MS past its decided
 *  start, recording its asset-list requests and the proxy's answers. */
async function joinMidBreak(context, stream, live, player) {
  const deadline = Date.now() + opts.breakMs + opts.timeoutMs;
  while (Date.now() < deadline && !(live.brk && live.brk.decided_start)) await sleep(100);
  if (!live.brk || !live.brk.decided_start) return null;
  const wait = ms(live.brk.decided_start) + JOIN_AFTER_MS - Date.now();
  if (wait > 0) await sleep(wait);
  const before = await metric('hlsplice_asset_list_start_offset_total');
  const page = await context.newPage();
  const joiner = { player, page, requests: [], answers: [], consoleLines: [], before, seen: null };
  page.on('request', (req) => {
    if (req.url().includes('/hlsplice/assets/')) joiner.requests.push(req.url());
  });
  page.on('response', async (res) => {
    if (!res.url().includes('/hlsplice/assets/')) return;
    const body = await res.text().catch(() => '');
    joiner.answers.push({ url: res.url(), status: res.status(), body });
  });
  page.on('console', (msg) => {
    if ((msg.type() === 'error' || msg.type() === 'warning') && joiner.consoleLines.length < 10) {
      joiner.consoleLines.push(`${msg.type()}: ${msg.text().slice(0, 300)}`);
    }
  });
  await page.goto(`${pageOrigin}/${player}/`);
  joiner.joinedAt = Date.now();
  await within(
    opts.timeoutMs,
    page.evaluate((o) => window.startPlayer(o), { url: opts.base + stream.path, lowLatency: stream.lowLatency })
      .catch((e) => joiner.consoleLines.push(`startPlayer: ${String(e).split('\n')[0]}`)),
    () => null,
  );
  return joiner;
}

function checkJoiner(joiner, brk, after) {
  const name = `/live/demo/ joiner ${joiner ? joiner.player : ''}`;
  if (!joiner || !joiner.seen) {
    check(`${name} joined`, false, joiner ? 'the page did not answer' : 'the break never started');
    return;
  }
  const id = interstitialId(brk);
  const seen = joiner.seen;
  for (const line of joiner.consoleLines) console.log(`  console: ${line}`);
  for (const w of seen.warnings) console.log(`  non-fatal: ${w}`);
  console.log(`${name}: opened ${((joiner.joinedAt - ms(brk.decided_start)) / 1000).toFixed(1)} s after the decided start; ` +
    `asset-list requests ${joiner.requests.join(' ') || 'none'}`);
  const url = joiner.requests.map((u) => new URL(u)).find((u) => u.pathname.endsWith(`/${brk.id}.json`));
  const offset = url ? Number(url.searchParams.get('_HLS_start_offset')) : NaN;
  if (joiner.player === 'shaka') {
    checkShakaJoiner(name, seen, brk, url);
    return;
  }
  check(
    `${name} asks with _HLS_start_offset`,
    Number.isFinite(offset) && offset > 0 && offset < brk.planned_duration_ms / 1000,
    url ? `asked ${url.href}` : 'no asset-list request for the break',
  );
  const answer = joiner.answers.find((a) => url && a.url === url.href);
  let listed = null;
  try {
    listed = answer ? JSON.parse(answer.body) : null;
  } catch {
    // Reported below.
  }
  const want = expectedAds(brk).map((a) => ({ URI: a.uri, DURATION: a.duration }));
  check(
    `${name} answered from the break's start`,
    answer !== undefined && answer.status === 200 && JSON.stringify(listed) === JSON.stringify({ ASSETS: want }),
    answer ? `${answer.status} ${answer.body}` : 'no answer',
  );
  check(
    `${name} counted by the proxy`,
    after >= joiner.before + 1,
    `hlsplice_asset_list_start_offset_total ${joiner.before} -> ${after}`,
  );
  const index = Math.floor(offset / AD_SECONDS);
  const into = offset - index * AD_SECONDS;
  console.log(`  interstitial ${id}: ${describeInterstitial(seen.interstitials || EMPTY_INTERSTITIALS, id)}`);
  const ints = seen.interstitials || EMPTY_INTERSTITIALS;
  const first = ints.assets.find((a) => a.id === id);
  check(
    `${name} starts asset ${index} ${fmt(into)} s in`,
    first !== undefined && first.index === index && Math.abs(first.startPosition - into) <= 0.5,
    first ? `started asset ${first.index} at ${fmt(first.startPosition)} s` : 'no asset started',
  );
  const moved = Math.max(0, ...ints.assets.filter((a) => a.id === id).map((a) => spread(a.times)));
  check(`${name} the ad plays`, moved >= 0.5, `asset currentTime moved ${moved.toFixed(2)} s`);
  const ended = ints.ended.find((e) => e.id === id);
  const back = ended ? forward(seen.progress.filter(([at]) => at >= ended.at + 500)) : 0;
  check(
    `${name} back to the live stream`,
    ended !== undefined && back >= 1 && seen.fatal === null,
    `ended ${Boolean(ended)}, then currentTime moved ${back.toFixed(2)} s; fatal ${seen.fatal}`,
  );
}

/** What Shaka Player 5.2.12 does for a viewer joining mid-break (observed, printed): it asks the
 *  asset list when playback approaches the date range (lib/ads/interstitial_ad_manager.js,
 *  deferred resolution), without `_HLS_start_offset` in these runs, and starts its first ad at
 *  its playhead's distance into the break (`allowStartInMiddleOfInterstitial`). Checked: it asks
 *  the break's list, plays the built-in ad from inside it, and returns to the live stream. */
function checkShakaJoiner(name, seen, brk, url) {
  const ads = seen.ads || { events: [], samples: [] };
  checkShakaInterstitialEvents(name, ads);
  // How long its first ad ran: less than the ad's length when it started inside it.
  const started = ads.events.filter((e) => e.type === 'ad-started');
  const stopped = started.length ? ads.events.find((e) => e.type === 'ad-stopped' && e.at >= started[0].at) : undefined;
  const firstRan = stopped ? (stopped.at - started[0].at) / 1000 : NaN;
  console.log(`  asked ${url ? `with _HLS_start_offset=${url.searchParams.get('_HLS_start_offset')}` : 'nothing'}; ` +
    `its first ad ran ${fmt(firstRan)} s of ${AD_SECONDS}; ads played ${shakaAdPlayed(ads).toFixed(2)} s`);
  check(`${name} asks the break's asset list`, url !== undefined, 'no asset-list request for the break');
  check(
    `${name} plays the built-in ad from inside the break`,
    started.length >= 1 && started.every((e) => typeof e.uri === 'string' && e.uri.includes(AD_PATH)) &&
      shakaAdPlayed(ads) >= 0.5 && firstRan < AD_SECONDS - 0.5,
    `ad-started events: ${JSON.stringify(started)}; the first ad ran ${fmt(firstRan)} s`,
  );
  const ended = ads.events.find((e) => e.type === 'ad-break-ended');
  const after = ended ? seen.progress.filter(([at]) => at >= ended.at + 500) : [];
  check(
    `${name} back to the live stream`,
    ended !== undefined && forward(after) >= 1 && seen.fatal === null,
    ended ? `after ad-break-ended currentTime moved ${forward(after).toFixed(2)} s; fatal ${seen.fatal}` : 'no ad-break-ended',
  );
}

function checkShakaInterstitialEvents(_name, ads) {
  const first = ads.events.length ? ads.events[0].at : 0;
  console.log(
    `  ad events: ${ads.events.map((e) => `${e.type}@+${((e.at - first) / 1000).toFixed(1)}s` +
      (e.position ? ` ${e.position}/${e.sequence}` : '')).join(', ') || 'none'}`,
  );
}

// ---- the demo's player page ----

/** The fraction of ad-orange pixels (0xFF8000 after H.264 and scaling) in a PNG, read in `page`. */
function orangeFraction(page, png) {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let orange = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      if (r > 200 && g > 90 && g < 170 && b < 80) orange += 1;
    }
    return orange / (data.length / 4);
  }, png.toString('base64'));
}

async function screenshot(demo, label) {
  const png = await demo.page.locator('#video').screenshot({ timeout: 5000 });
  mkdirSync(opts.screenshots, { recursive: true });
  const file = join(opts.screenshots, `interstitial-demo-page-${label}.png`);
  writeFileSync(file, png);
  const fraction = await orangeFraction(demo.page, png);
  demo.shots.push({ label, file, fraction });
  return fraction;
}

/** Opens the proxy's player page at /, serving its pinned hls.js from node_modules once the page
 *  is checked to pin that very file; resolves once its video plays, with a screenshot taken. */
async function openDemoPage(context) {
  const demo = { page: null, shots: [], consoleLines: [], problem: null };
  const html = await (await fetch(`${opts.base}/`, { signal: AbortSignal.timeout(10000) })).text();
  const pinned = html.match(/<script src="(https:\/\/cdn\.jsdelivr\.net\/npm\/hls\.js@([^/"]+)\/dist\/hls\.min\.js)"\s+integrity="([^"]+)"/);
  const local = readFileSync(join(here, PLAYERS.hlsjs.script));
  const version = JSON.parse(readFileSync(join(here, 'node_modules/hls.js/package.json'), 'utf8')).version;
  const sri = `sha384-${createHash('sha384').update(local).digest('base64')}`;
  check(
    'demo page pins the hls.js of node_modules',
    pinned !== null && pinned[2] === version && pinned[3] === sri,
    pinned ? `page: ${pinned[2]} ${pinned[3]}; node_modules: ${version} ${sri}` : 'no jsDelivr hls.js script in the page',
  );
  if (!pinned) return demo;
  const page = await context.newPage();
  demo.page = page;
  await page.route(pinned[1], (route) => route.fulfill({
    status: 200,
    headers: { 'content-type': 'text/javascript', 'access-control-allow-origin': '*' },
    body: local,
  }));
  page.on('console', (msg) => {
    if ((msg.type() === 'error' || msg.type() === 'warning') && demo.consoleLines.length < 10) {
      demo.consoleLines.push(`${msg.type()}: ${msg.text().slice(0, 300)}`);
    }
  });
  page.on('pageerror', (e) => demo.consoleLines.push(`uncaught: ${String(e).slice(0, 300)}`));
  await page.goto(`${opts.base}/`);
  const playing = await page.waitForFunction(
    () => window.hlsplicePage && window.hlsplicePage.hls && document.getElementById('video').currentTime > 1,
    null,
    { timeout: opts.timeoutMs },
  ).then(() => true, () => false);
  if (!playing) {
    demo.problem = 'the page never played';
    return demo;
  }
  await screenshot(demo, 'live').catch((e) => { demo.problem = `screenshot: ${e.message}`; });
  return demo;
}

/** Waits until the page has played its ad for 1.5 s, then takes the ad's screenshot. */
async function screenshotTheAd(demo) {
  if (!demo || !demo.page) return;
  const shown = await demo.page.waitForFunction(
    () => window.hlsplicePage.asset && Date.now() - window.hlsplicePage.asset.startedAt > 1500,
    null,
    { timeout: opts.breakMs + opts.timeoutMs, polling: 100 },
  ).then(() => true, () => false);
  if (!shown) {
    demo.problem = 'the page never played an ad';
    return;
  }
  await screenshot(demo, 'ad').catch((e) => { demo.problem = `screenshot: ${e.message}`; });
}

async function checkDemoPage(demo, brk) {
  const name = 'demo page /';
  for (const line of demo.consoleLines) console.log(`  console: ${line}`);
  const state = demo.page
    ? await demo.page.evaluate(() => ({
      interstitial: window.hlsplicePage.interstitial,
      errors: window.hlsplicePage.errors,
      state: document.getElementById('state').textContent,
      log: window.hlsplicePage.events.slice(-8).map((e) => e.text),
    })).catch(() => null)
    : null;
  console.log(`${name}: screenshots ${demo.shots.map((s) => `${s.label} ${(s.fraction * 100).toFixed(1)} % orange (${s.file})`).join(', ') || 'none'}` +
    `${demo.problem ? `; ${demo.problem}` : ''}; state ${state ? `"${state.state}"` : 'unknown'}`);
  if (state) for (const line of state.log) console.log(`  page log: ${line}`);
  const live = demo.shots.find((s) => s.label === 'live');
  const ad = demo.shots.find((s) => s.label === 'ad');
  check(`${name} shows the live pattern before the break`, live !== undefined && live.fraction < 0.1,
    live ? `${(live.fraction * 100).toFixed(1)} % ad-orange pixels` : demo.problem || 'no screenshot');
  check(`${name} shows the ad during the break`, ad !== undefined && ad.fraction > 0.5,
    ad ? `${(ad.fraction * 100).toFixed(1)} % ad-orange pixels` : demo.problem || 'no screenshot');
  check(
    `${name} plays the interstitial and returns, no fatal error`,
    state !== null && state.interstitial !== null && state.interstitial.id === interstitialId(brk) &&
      state.interstitial.endedAt !== null && state.errors.length === 0,
    JSON.stringify(state && { interstitial: state.interstitial, errors: state.errors }),
  );
}

/** Reads one metric of the proxy. */
async function metric(name) {
  const text = await (await fetch(`${opts.base}/metrics`, { signal: AbortSignal.timeout(10000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : NaN;
}

/** Waits (at most --timeout-ms) until every page in `pages` has seen interstitial `id` end at
 *  least 2.5 s ago, so each shows what it does after the break (Shaka reloads the stream). */
async function settleAfterInterstitials(pages, id) {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    const ends = await Promise.all(pages.map((page) => page.evaluate((wanted) => {
      if (window.hlsplicePage) {
        const i = window.hlsplicePage.interstitial;
        return i && i.id === wanted ? i.endedAt : null;
      }
      const seen = window.observe();
      if (seen.ads) {
        const ended = seen.ads.events.find((e) => e.type === 'ad-break-ended');
        return ended ? ended.at : null;
      }
      const ended = seen.interstitials && seen.interstitials.ended.find((e) => e.id === wanted);
      return ended ? ended.at : null;
    }, id).catch(() => null)));
    if (ends.every((at) => at !== null && Date.now() - at >= 2500)) return;
    await sleep(250);
  }
}

function report(run, brk) {
  const { player, stream, seen, consoleLines, postedAt } = run;
  const name = `${stream.path} ${player}`;
  const advanced = seen.startTime === null ? 0 : seen.currentTime - seen.startTime;
  console.log(
    `${stream.path}: ${seen.player} ${seen.version}${seen.mode ? ` (${seen.mode})` : ''}, currentTime ` +
      `${seen.startTime === null ? 'never started' : `${fmt(seen.startTime)} -> ${fmt(seen.currentTime)} (+${advanced.toFixed(2)} s)`}` +
      `${seen.fatal ? `, stopped: ${seen.fatal}` : ''}`,
  );
  const { requests } = run;
  console.log(
    `  requests from ${pageOrigin} to ${proxyOrigin}/${stream.key}/: ${requests.playlists} playlists ` +
      `(${requests.blocking} blocking), ${requests.segments} segments, ${requests.parts} parts`,
  );
  for (const w of seen.warnings) console.log(`  non-fatal: ${w}`);
  for (const line of consoleLines) console.log(`  console: ${line}`);
  check(`${name} supported`, seen.supported, 'no MediaSource here');
  if (!seen.supported) return;
  check(`${name} no error`, seen.fatal === null, seen.fatal);
  // Every page plays from the proxy's origin, not its own: each request is a CORS request.
  check(
    `${name} plays from the proxy's origin`,
    requests.playlists > 0 && requests.segments + requests.parts > 0,
    `${requests.playlists} playlist and ${requests.segments + requests.parts} media requests to ${proxyOrigin}`,
  );
  if (stream.lowLatency && run.player !== 'videojs') {
    check(
      `${name} plays LL-HLS (parts, blocking reloads)`,
      requests.parts > 0 && requests.blocking > 0,
      `${requests.parts} part and ${requests.blocking} blocking playlist requests`,
    );
  }
  const recent = recentAdvance(seen, 1500);
  check(
    `${name} plays`,
    advanced >= ADVANCE_S && recent >= 0.5,
    `currentTime advanced ${advanced.toFixed(2)} s in all (wanted >= ${ADVANCE_S}), ` +
      `${recent.toFixed(2)} s in the last 1.5 s (wanted >= 0.5)`,
  );
  if (!brk || !brk.decided_start) {
    check(`${name} break`, false, 'the break never started (no decided start)');
    return;
  }
  if (run.player === 'hlsjs') checkHlsJs(name, seen, brk);
  if (run.player === 'shaka') checkShaka(name, seen, brk);
  if (opts.interstitials && run.player === 'hlsjs') checkHlsJsInterstitial(name, seen, brk);
  if (opts.interstitials && run.player === 'shaka') checkShakaInterstitial(name, seen, brk);
  if (run.player === 'videojs') checkVideoJs(name, seen, brk, postedAt);
}

// ---- the runs ----

/** Opens one page per player on `stream`, plays, starts a break, waits for its IN, observes. */
async function playStream(context, streamName) {
  const stream = STREAMS[streamName];
  const runs = [];
  for (const player of opts.players) {
    const page = await context.newPage();
    const run = {
      player, stream, page, consoleLines: [], seen: null, postedAt: Infinity,
      requests: { playlists: 0, blocking: 0, segments: 0, parts: 0 },
    };
    page.on('console', (msg) => {
      // CORS refusals and player warnings reach the console, not the player's error events.
      if ((msg.type() === 'error' || msg.type() === 'warning') && run.consoleLines.length < 10) {
        run.consoleLines.push(`${msg.type()}: ${msg.text().slice(0, 300)}`);
      }
    });
    page.on('pageerror', (e) => run.consoleLines.push(`uncaught: ${String(e).slice(0, 300)}`));
    // What the player asked the proxy for: LL-HLS parts and blocking reloads show that it plays
    // the low-latency stream as such.
    page.on('request', (req) => {
      const url = new URL(req.url());
      if (url.origin !== proxyOrigin || !url.pathname.startsWith(`/${stream.key}/`)) return;
      const requests = run.requests;
      if (url.pathname.endsWith('.m3u8')) {
        requests.playlists += 1;
        if (url.searchParams.has('_HLS_msn')) requests.blocking += 1;
      } else if (/_\d+\.\d+\.m4s$/.test(url.pathname)) {
        requests.parts += 1;
      } else {
        requests.segments += 1;
      }
    });
    // The console names no URL for a failed request: say which one it was.
    page.on('response', (res) => {
      if (res.status() >= 400 && run.consoleLines.length < 10) {
        run.consoleLines.push(`HTTP ${res.status()} for ${res.url()}`);
      }
    });
    page.on('requestfailed', (req) => {
      if (run.consoleLines.length < 10) {
        run.consoleLines.push(`request failed: ${req.url()} (${req.failure()?.errorText})`);
      }
    });
    await page.goto(`${pageOrigin}/${player}/`);
    runs.push(run);
  }
  const started = Date.now();
  // The interstitial extras run on the classic stream (the joiners and the demo page play it); the
  // demo page starts while the players do.
  const extras = opts.interstitials && streamName === 'live';
  const demoOpening = extras ? openDemoPage(context) : Promise.resolve(null);
  await Promise.all(
    runs.map(async (run) => {
      const start = run.page
        .evaluate((o) => window.startPlayer(o), {
          url: opts.base + stream.path,
          lowLatency: stream.lowLatency,
          cueStyle: opts.cueStyle,
        })
        .catch((e) => run.consoleLines.push(`startPlayer: ${String(e).split('\n')[0]}`));
      // Past the timeout the run goes on; what the player did not do shows in its checks.
      await within(opts.timeoutMs, start, () => null);
    }),
  );
  const demo = await demoOpening;
  const startMs = Date.now() - started;

  let brk = null;
  let problem = null;
  const live = { brk: null };
  let joining = Promise.resolve([]);
  let adShot = Promise.resolve();
  const postedAt = Date.now();
  for (const run of runs) run.postedAt = postedAt;
  try {
    const created = await api('POST', `/api/v1/streams/${stream.key}/breaks`, {
      duration_ms: opts.breakMs,
      start: 'now',
    });
    if (created.status !== 201 || !created.json) {
      throw new Error(`POST break: ${created.status} ${created.text}`);
    }
    // The IN is published once the break is "ended" (the live edge passed its decided end).
    const deadline = postedAt + opts.breakMs + opts.timeoutMs;
    brk = created.json;
    if (extras) {
      // A joiner of each player that sends _HLS_start_offset (video.js plays no interstitials).
      joining = Promise.all(opts.players.filter((p) => p !== 'videojs')
        .map((player) => joinMidBreak(context, stream, live, player)));
      adShot = screenshotTheAd(demo);
    }
    while (Date.now() < deadline) {
      brk = (await breakNow(stream.key, created.json.id)) || brk;
      live.brk = brk;
      if (brk.state === 'ended' || brk.state === 'cancelled') break;
      await sleep(200);
    }
    if (brk.state !== 'ended') problem = `break ${brk.id} is ${brk.state} ${opts.timeoutMs} ms after its planned end`;
  } catch (e) {
    problem = `the API: ${e.message}`;
  }
  live.brk = brk;
  const inPublished = Date.now();
  const joiners = (await joining).filter(Boolean);
  await adShot;
  if (opts.interstitials && brk && brk.decided_start) {
    // The players are behind the live edge: their ads end after the IN is published.
    const pages = runs.filter((r) => r.player !== 'videojs').map((r) => r.page);
    pages.push(...joiners.map((j) => j.page));
    if (demo && demo.page) pages.push(demo.page);
    await settleAfterInterstitials(pages, interstitialId(brk));
  }
  await sleep(Math.max(0, opts.settleMs - (Date.now() - inPublished)));
  for (const run of runs) {
    const observed = run.page.evaluate(() => window.observe()).catch(() => null);
    run.seen = await within(5000, observed, () => null);
  }
  for (const joiner of joiners) {
    joiner.seen = await within(5000, joiner.page.evaluate(() => window.observe()).catch(() => null), () => null);
  }
  const startOffsetsCounted = extras ? await metric('hlsplice_asset_list_start_offset_total') : NaN;
  if (brk && brk.state !== 'ended' && brk.state !== 'cancelled') {
    // Leave the stream free for a later run: an early IN now.
    await api('POST', `/api/v1/streams/${stream.key}/breaks/${brk.id}/end`).catch(() => {});
  }
  const took = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `== ${stream.path}: players playing after ${(startMs / 1000).toFixed(1)} s; break ${brk ? brk.id : '-'} ` +
      `(${brk ? brk.daterange_id : '-'}) decided ${brk ? brk.decided_start : '-'} .. ${brk ? brk.decided_end : '-'}, ` +
      `planned ${opts.breakMs} ms; ${took} s in all`,
  );
  check(`${stream.path} break`, problem === null, problem);
  // One stream's lines together: nothing awaits between them.
  for (const run of runs) {
    if (!run.seen) {
      check(`${stream.path} ${run.player} responds`, false, 'the page did not answer (hung?)');
    } else {
      report(run, brk);
    }
  }
  if (extras && brk && brk.decided_start) {
    if (joiners.length === 0) check('/live/demo/ joiners', false, 'no joiner page opened');
    for (const joiner of joiners) checkJoiner(joiner, brk, startOffsetsCounted);
    await checkDemoPage(demo, brk);
  }
  const extraPages = [...joiners.map((j) => j.page), demo && demo.page].filter(Boolean);
  await Promise.all([...runs.map((run) => run.page), ...extraPages].map((page) => page.close().catch(() => {})));
}

const profile = mkdtempSync(join(tmpdir(), 'hlsplice-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
} catch (e) {
  console.error(`cannot start ${CHROMIUM}: ${e.message.split('\n')[0]}`);
  rmSync(profile, { recursive: true, force: true });
  pageServer.close();
  process.exit(2);
}

const began = Date.now();
try {
  console.log(
    `pages ${pageOrigin}, proxy ${opts.base}; players ${opts.players.join(', ')}; ` +
      `break ${opts.breakMs} ms; cue style ${opts.cueStyle ?? '(not given: video.js ad cues not checked)'}; ` +
      `interstitials ${opts.interstitials ? `checked (screenshots in ${opts.screenshots})` : 'not checked'}`,
  );
  await Promise.all(opts.streams.map((s) => playStream(context, s)));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  pageServer.close();
}
console.log(`players: ${((Date.now() - began) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
