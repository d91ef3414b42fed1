#!/usr/bin/env node
// Real-player oracle: hls.js, in headless Chromium, plays the demo streams through the proxy.
//
// Usage: node play_hlsjs.mjs PROXY_BASE_URL      (e.g. http://127.0.0.1:8080)
//
// Starts nothing of hlsplice's: `hlsplice demo` (or `hlsplice serve` in front of a packager that
// serves /live/demo/ and /ll/demo/) must already run at PROXY_BASE_URL, with an ad break active
// on both streams for the whole run. The script serves a tiny page and hls.js's own dist build
// (node_modules/hls.js/dist/hls.min.js) from a loopback port of its own, so the page's origin
// differs from the proxy's and every playlist and media request is a CORS request. It launches
// Chromium (/usr/bin/chromium, or $CHROMIUM) headless through playwright-core and, per stream,
// attaches hls.js to a muted <video> and plays.
//
// Checks, per stream (/live/demo/master.m3u8, then /ll/demo/master.m3u8 with lowLatencyMode):
//   plays        video.currentTime advances by at least 3 s after playback starts
//   no fatal     hls.js reports no fatal error (non-fatal ones are printed, not failed)
//   SCTE35-OUT   a LEVEL_UPDATED's details.dateRanges has a date range with attr['SCTE35-OUT']
// each within HLSJS_STREAM_TIMEOUT_MS (default 20000) per stream.
// Prints one line per stream, one per failure and "N passed, N failed"; exits 1 if anything
// failed, 2 on bad usage or when the browser cannot be started.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const STREAMS = [
  { path: '/live/demo/master.m3u8', lowLatency: false },
  { path: '/ll/demo/master.m3u8', lowLatency: true },
];
const ADVANCE_S = 3;
const TIMEOUT_MS = Number(process.env.HLSJS_STREAM_TIMEOUT_MS || 20000);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// As the machine notes ask: no background traffic (the network is closed) and a fresh profile.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

const base = process.argv[2];
if (!base || !/^https?:\/\/[^/]+/.test(base) || process.argv.length > 3) {
  console.error('usage: node play_hlsjs.mjs PROXY_BASE_URL   (e.g. http://127.0.0.1:8080)');
  process.exit(2);
}
const proxyBase = base.replace(/\/+$/, '');

const here = dirname(fileURLToPath(import.meta.url));
const hlsJs = readFileSync(join(here, 'node_modules/hls.js/dist/hls.min.js'));

// The page: hls.js and one function the script calls per stream. Everything it reports is
// collected in the page and returned as one plain object.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>hlsplice hls.js check</title>
<script src="/hls.min.js"></script></head>
<body><script>
window.playStream = (url, lowLatency, advanceS, timeoutMs) => new Promise((resolve) => {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  document.body.append(video);
  const seen = { supported: Hls.isSupported(), version: Hls.version, startTime: null,
    currentTime: 0, fatal: null, errors: [], scte35Out: {}, levelUpdates: 0, fragsBuffered: 0 };
  if (!seen.supported) { resolve(seen); return; }
  const hls = new Hls({ lowLatencyMode: lowLatency, debug: false });
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    clearInterval(poll);
    clearTimeout(timer);
    seen.currentTime = video.currentTime;
    hls.destroy();
    video.remove();
    resolve(seen);
  };
  hls.on(Hls.Events.LEVEL_UPDATED, (_e, data) => {
    seen.levelUpdates += 1;
    const ranges = data.details.dateRanges || {};
    for (const id of Object.keys(ranges)) {
      const range = ranges[id];
      const out = range.attr && range.attr['SCTE35-OUT'];
      if (out) {
        seen.scte35Out[id] = { startDate: range.attr['START-DATE'], valid: range.isValid,
          bytes: out.length };
      }
    }
  });
  seen.buffered = [];
  hls.on(Hls.Events.FRAG_BUFFERED, (_e, data) => {
    seen.fragsBuffered += 1;
    if (seen.buffered.length < 40) {
      seen.buffered.push(data.frag.type + ' ' + data.frag.sn + (data.part ? '.' + data.part.index : '')
        + ' ' + data.frag.start.toFixed(3) + '+' + data.frag.duration.toFixed(3));
    }
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    const what = data.type + '/' + data.details + (data.reason ? ' (' + data.reason + ')' : '')
      + (data.error && data.error.message ? ': ' + data.error.message : '')
      + (data.frag ? ' [' + data.frag.type + ' fragment ' + data.frag.sn
        + (data.part ? ' part ' + data.part.index : '') + ']' : '');
    if (data.fatal) {
      seen.fatal = what;
      finish();
    } else if (seen.errors.length < 20) {
      seen.errors.push(what);
    }
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    video.play().catch((e) => { seen.errors.push('video.play(): ' + e); });
  });
  video.addEventListener('playing', () => {
    if (seen.startTime === null) seen.startTime = video.currentTime;
  });
  const poll = setInterval(() => {
    const advanced = seen.startTime === null ? 0 : video.currentTime - seen.startTime;
    if (advanced >= advanceS && Object.keys(seen.scte35Out).length > 0) finish();
  }, 100);
  const timer = setTimeout(finish, timeoutMs);
  hls.loadSource(url);
  hls.attachMedia(video);
});
</script></body></html>`;

const pageServer = createServer((req, res) => {
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  } else if (req.url === '/hls.min.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(hlsJs);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
if (new URL(pageOrigin).origin === new URL(proxyBase).origin) {
  console.error(`the page origin ${pageOrigin} must differ from the proxy's`);
  process.exit(2);
}

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

try {
  const page = context.pages()[0] || (await context.newPage());
  const console_errors = [];
  page.on('console', (msg) => {
    // CORS refusals and the like are reported by the browser on the console, not to hls.js.
    if (msg.type() === 'error' && console_errors.length < 10) console_errors.push(msg.text());
  });
  await page.goto(`${pageOrigin}/`);
  const codecs = await page.evaluate(() => ({
    h264: MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001e"'),
    aac: MediaSource.isTypeSupported('audio/mp4; codecs="mp4a.40.2"'),
  }));
  console.log(`page ${pageOrigin}, proxy ${proxyBase}; MSE H.264 ${codecs.h264}, AAC ${codecs.aac}`);
  for (const { path, lowLatency } of STREAMS) {
    const url = proxyBase + path;
    const started = Date.now();
    console_errors.length = 0;
    const seen = await page.evaluate(
      ([u, ll, adv, t]) => window.playStream(u, ll, adv, t),
      [url, lowLatency, ADVANCE_S, TIMEOUT_MS],
    );
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const advanced = seen.startTime === null ? 0 : seen.currentTime - seen.startTime;
    const outs = Object.entries(seen.scte35Out);
    console.log(
      `${path}${lowLatency ? ' (lowLatencyMode)' : ''}: hls.js ${seen.version}, ` +
        `currentTime ${seen.startTime === null ? 'never started' : `${seen.startTime.toFixed(2)} -> ${seen.currentTime.toFixed(2)}`} ` +
        `(+${advanced.toFixed(2)} s) in ${elapsed} s, ${seen.fragsBuffered} fragments buffered, ` +
        `${seen.levelUpdates} level updates, SCTE35-OUT date ranges: ` +
        (outs.length ? outs.map(([id, r]) => `${id} @ ${r.startDate}${r.valid ? '' : ' (invalid)'}`).join(', ') : 'none'),
    );
    for (const e of seen.errors) console.log(`  non-fatal hls.js error: ${e}`);
    if (process.env.HLSJS_VERBOSE) console.log(`  buffered: ${seen.buffered.join(', ')}`);
    const context_lines = console_errors.length ? ` (browser console: ${console_errors.join(' | ')})` : '';
    check(`${path} hls.js supported`, seen.supported, 'Hls.isSupported() is false: no MediaSource');
    if (!seen.supported) continue;
    check(`${path} no fatal`, seen.fatal === null, `${seen.fatal}${context_lines}`);
    check(
      `${path} plays`,
      advanced >= ADVANCE_S,
      `currentTime advanced ${advanced.toFixed(2)} s, wanted >= ${ADVANCE_S} s within ${TIMEOUT_MS} ms${context_lines}`,
    );
    check(
      `${path} SCTE35-OUT`,
      outs.length > 0,
      `no date range with SCTE35-OUT in ${seen.levelUpdates} level updates (is an ad break active?)`,
    );
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  pageServer.close();
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
