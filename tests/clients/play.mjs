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
//                to the decided start; after the IN, the merged range has END-DATE and DURATION
//                equal to the decided end and its distance from the start
//   Shaka        a timelineregionadded region with the break's ID and SCTE35-OUT whose startTime,
//                in presentation time, is the decided start, and whose length is the planned
//                duration (PLANNED-DURATION)
//   video.js     with --cue-style: exactly one cue in the 'ad-cues' track for the break, which
//                opens with adEndTime - adStartTime equal to the planned duration (what VHS read
//                from the tag) and, once VHS moved its end to the CUE-IN, is still finite and
//                within a segment of it (VHS's media time wanders); without --cue-style the
//                cues are printed, not checked
// Prints one line per player and stream, one per failure and "N passed, N failed"; exits 1 if
// anything failed, 2 on bad usage or when the browser cannot be started.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
/** VHS ends an ad cue at the CUE-IN segment's start in its own media time, counted from the
 *  seekable start it has at that refresh (ad-cue-tags.js, updateAdCues). That start is off from
 *  the one it had when the cue opened by up to an AAC frame (21.3 ms), and now and then by a whole
 *  segment as well (seen: a cue of 9.005 s for an 8 s break whose CUE-OUT and CUE-IN are 8
 *  one-second segments apart), so the final end is held to one target duration of the demo
 *  (1 s) plus a frame; the exact check is on what VHS read from the tag that opened the cue. */
const VHS_MEDIA_TIME_TOLERANCE_S = 1.025;
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
      '                     PROXY_BASE_URL',
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
if (new URL(pageOrigin).origin === new URL(opts.base).origin) {
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

function checkVideoJs(name, seen, brk, postedAt) {
  const cues = seen.adCues.filter((c) => c.firstSeen >= postedAt);
  const old = seen.adCues.length - cues.length;
  const planned = brk.planned_duration_ms / 1000;
  const shown = cues
    .map((c) => `[${fmt(c.startTime)}..${fmt(c.endTime)} ad ${fmt(c.adStartTime)}..${fmt(c.adEndTime)}` +
      (c.text ? ` "${c.text}"` : '') + ']')
    .join(' ');
  console.log(
    `  ad-cues track ${seen.adCueTrack ? 'present' : 'absent'}: ${cues.length} cue(s) for the break` +
      `${old ? ` (and ${old} from before it)` : ''}${shown ? `: ${shown}` : ''}`,
  );
  if (opts.cueStyle === null) return;
  check(
    `${name} one ad cue (--cue-style ${opts.cueStyle})`,
    cues.length === 1,
    `${cues.length} cue(s) ${shown}; wanted one`,
  );
  if (cues.length === 0) return;
  const cue = cues[0];
  const length = (start, end) => (typeof start === 'number' && typeof end === 'number' ? end - start : NaN);
  const announced = length(cue.announcedAdStartTime, cue.announcedAdEndTime);
  check(
    `${name} ad cue announces the planned duration`,
    close(announced, planned),
    `the cue opened with ad ${fmt(cue.announcedAdStartTime)}..${fmt(cue.announcedAdEndTime)} ` +
      `(${fmt(announced)} s), wanted ${fmt(planned)} s`,
  );
  const final = length(cue.adStartTime, cue.adEndTime);
  check(
    `${name} ad cue ends at the planned duration`,
    Number.isFinite(final) && Math.abs(final - planned) <= VHS_MEDIA_TIME_TOLERANCE_S,
    `after the IN the cue is ad ${fmt(cue.adStartTime)}..${fmt(cue.adEndTime)} (${fmt(final)} s), ` +
      `wanted ${fmt(planned)} s ± ${VHS_MEDIA_TIME_TOLERANCE_S} s`,
  );
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
  for (const w of seen.warnings) console.log(`  non-fatal: ${w}`);
  for (const line of consoleLines) console.log(`  console: ${line}`);
  check(`${name} supported`, seen.supported, 'no MediaSource here');
  if (!seen.supported) return;
  check(`${name} no error`, seen.fatal === null, seen.fatal);
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
  if (run.player === 'videojs') checkVideoJs(name, seen, brk, postedAt);
}

// ---- the runs ----

/** Opens one page per player on `stream`, plays, starts a break, waits for its IN, observes. */
async function playStream(context, streamName) {
  const stream = STREAMS[streamName];
  const runs = [];
  for (const player of opts.players) {
    const page = await context.newPage();
    const run = { player, stream, page, consoleLines: [], seen: null, postedAt: Infinity };
    page.on('console', (msg) => {
      // CORS refusals and player warnings reach the console, not the player's error events.
      if ((msg.type() === 'error' || msg.type() === 'warning') && run.consoleLines.length < 10) {
        run.consoleLines.push(`${msg.type()}: ${msg.text().slice(0, 300)}`);
      }
    });
    page.on('pageerror', (e) => run.consoleLines.push(`uncaught: ${String(e).slice(0, 300)}`));
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
  const startMs = Date.now() - started;

  let brk = null;
  let problem = null;
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
    while (Date.now() < deadline) {
      brk = (await breakNow(stream.key, created.json.id)) || brk;
      if (brk.state === 'ended' || brk.state === 'cancelled') break;
      await sleep(200);
    }
    if (brk.state !== 'ended') problem = `break ${brk.id} is ${brk.state} ${opts.timeoutMs} ms after its planned end`;
  } catch (e) {
    problem = `the API: ${e.message}`;
  }
  await sleep(opts.settleMs);
  for (const run of runs) {
    const observed = run.page.evaluate(() => window.observe()).catch(() => null);
    run.seen = await within(5000, observed, () => null);
  }
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
  await Promise.all(runs.map((run) => run.page.close().catch(() => {})));
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
      `break ${opts.breakMs} ms; cue style ${opts.cueStyle ?? '(not given: video.js ad cues not checked)'}`,
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
