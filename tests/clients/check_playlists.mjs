#!/usr/bin/env node
// Player-side oracle for hlsplice playlists, with hls.js (its M3U8Parser, through the ESM import),
// videojs m3u8-parser and hls-parser in strict mode.
//
// Usage: node check_playlists.mjs [--parts-from-input DIR]... PATH...
//        (PATHs: files or directories of .m3u8)
//
// Checks, per playlist:
//   hls.js parse       parseLevelPlaylist / parseMasterPlaylist without a parsing error
//   hls.js daterange   every EXT-X-DATERANGE ID is kept by hls.js and isValid; each one that
//                      carries SCTE35-OUT / SCTE35-IN in the text has it in hls.js's attributes
//   m3u8-parser        no warnings; as many segments as URI lines; CUE-OUT / CUE-OUT-CONT /
//                      CUE-IN seen on exactly the segments that carry them in the text;
//                      dateRanges has every DATERANGE ID
//   hls-parser         parses in strict mode (RFC 8216bis MUSTs and the LL-HLS SHOULDs it
//                      enforces, e.g. EXT-X-PART tags only on the last three segments, §6.2.2);
//                      as many segments with a URI as URI lines, each with the date range of
//                      the last EXT-X-DATERANGE before it (hls-parser keeps one per segment)
// hls-parser's "DATERANGE tags with the same CLASS should not overlap" compares every tag of a
// CLASS with every other, IDs ignored, so it refuses an interstitial's closing tag (same ID,
// CLASS and START-DATE as its opening tag, END-DATE added: one range, RFC 8216bis §4.4.5.1).
// The spec only forbids overlaps between different IDs: this script checks exactly that itself,
// and gives hls-parser the playlist with the later tags of an ID it already saw set aside.
// --parts-from-input DIR: the playlists in DIR are rewriter goldens whose EXT-X-PART lines are
// the packager input's, passed through byte for byte, so hls-parser's part-retention rule
// judges that input, not hlsplice: there, when hls-parser refuses only for that rule, the parts
// it names are dropped and the rest of the playlist must still parse strictly.
// Prints one line per failure and "N passed, N failed"; exits 1 if anything failed.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

import HlsParser from 'hls-parser';
import { M3U8Parser, PlaylistLevelType } from 'hls.js';
import { Parser } from 'm3u8-parser';

HlsParser.setOptions({ strictMode: true, silent: true });
/** hls-parser's message for RFC 8216bis §6.2.2's "EXT-X-PART tags SHOULD be removed …". */
const PART_RETENTION = 'Remove EXT-X-PART tags from the Playlist after they are greater than three target durations';
/** Goldens accepted by hls-parser once their input's old parts were set aside. */
let upstreamParts = 0;

// Golden inputs the rewriter must refuse (its output is the input unchanged): not playlists.
const EXPECTED_INVALID = new Set(['not_a_playlist.m3u8', 'bad_extinf.m3u8']);
const BASE_URL = 'http://127.0.0.1/live/stream/playlist.m3u8';

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

// hls.js logs through console when it warns; keep the output to our own lines.
const quiet = (fn) => {
  const saved = { log: console.log, warn: console.warn, info: console.info, debug: console.debug };
  console.warn = console.info = console.debug = () => {};
  try {
    return fn();
  } finally {
    Object.assign(console, saved);
  }
};

/** Marker tags of the text, per segment (in order of URI lines). */
function textSegments(text) {
  const segments = [];
  let tags = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      tags.push(line);
    } else {
      segments.push({ uri: line, tags });
      tags = [];
    }
  }
  return segments;
}

function attrOf(line, key) {
  const m = line.match(new RegExp(`(?:^|[:,])${key}=("[^"]*"|[^,]*)`));
  return m ? m[1].replace(/^"|"$/g, '') : undefined;
}

function checkHlsJs(name, text) {
  const isMultivariant = /^#EXT-X-STREAM-INF:/m.test(text);
  if (isMultivariant) {
    let parsed;
    try {
      parsed = quiet(() => M3U8Parser.parseMasterPlaylist(text, BASE_URL));
    } catch (err) {
      check(`${name} hls.js parse`, false, String(err));
      return;
    }
    check(
      `${name} hls.js parse`,
      !parsed.playlistParsingError && parsed.levels.length > 0,
      String(parsed.playlistParsingError ?? 'no levels'),
    );
    return;
  }
  let level;
  try {
    level = quiet(() =>
      M3U8Parser.parseLevelPlaylist(text, BASE_URL, 0, PlaylistLevelType.MAIN, 0, null),
    );
  } catch (err) {
    check(`${name} hls.js parse`, false, String(err));
    return;
  }
  const problem = level.playlistParsingError;
  check(
    `${name} hls.js parse`,
    !problem && level.fragments.length > 0,
    problem ? String(problem.message ?? problem) : 'no fragments',
  );

  const ids = new Map();
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith('#EXT-X-DATERANGE:')) continue;
    const id = attrOf(line, 'ID');
    const seen = ids.get(id) ?? { out: false, in: false };
    seen.out ||= line.includes('SCTE35-OUT=');
    seen.in ||= line.includes('SCTE35-IN=');
    ids.set(id, seen);
  }
  if (ids.size === 0) return;
  const why = [];
  for (const [id, seen] of ids) {
    const range = level.dateRanges[id];
    if (!range) {
      why.push(`hls.js dropped DATERANGE ${id}`);
      continue;
    }
    if (!range.isValid) why.push(`${id} invalid: ${range.invalidReason}`);
    if (seen.out && !range.attr['SCTE35-OUT']) why.push(`${id}: no SCTE35-OUT attribute`);
    if (seen.in && !range.attr['SCTE35-IN']) why.push(`${id}: no SCTE35-IN attribute`);
    if (seen.out && !(range.startDate instanceof Date && Number.isFinite(range.startDate.getTime()))) {
      why.push(`${id}: no start date`);
    }
  }
  check(`${name} hls.js daterange`, why.length === 0, why.join('; '));
}

function checkVideojs(name, text) {
  const parser = new Parser({ uri: BASE_URL });
  const warnings = [];
  parser.on('warn', (w) => warnings.push(w.message));
  try {
    parser.push(text);
    parser.end();
  } catch (err) {
    check(`${name} m3u8-parser`, false, String(err));
    return;
  }
  const manifest = parser.manifest;
  const why = warnings.map((w) => `warning: ${w}`);
  if (manifest.playlists && manifest.playlists.length > 0) {
    check(`${name} m3u8-parser`, why.length === 0, why.join('; '));
    return;
  }
  const expected = textSegments(text).filter((s) => !s.uri.startsWith('#'));
  const segments = manifest.segments ?? [];
  if (segments.length !== expected.length) {
    why.push(`${segments.length} segments, the text has ${expected.length}`);
  } else {
    segments.forEach((seg, i) => {
      const tags = expected[i].tags;
      const has = (prefix) => tags.some((t) => t === prefix || t.startsWith(`${prefix}:`));
      const pairs = [
        ['cueOut', '#EXT-X-CUE-OUT'],
        ['cueOutCont', '#EXT-X-CUE-OUT-CONT'],
        ['cueIn', '#EXT-X-CUE-IN'],
      ];
      for (const [field, tag] of pairs) {
        if ((seg[field] !== undefined) !== has(tag)) {
          why.push(`${expected[i].uri}: ${field}=${JSON.stringify(seg[field])} but ${tag} ${has(tag) ? 'present' : 'absent'}`);
        }
      }
    });
  }
  const ids = new Set(
    text
      .split(/\r?\n/)
      .filter((l) => l.startsWith('#EXT-X-DATERANGE:'))
      .map((l) => attrOf(l, 'ID')),
  );
  const parsedIds = new Set((manifest.dateRanges ?? []).map((d) => d.id));
  for (const id of ids) {
    if (!parsedIds.has(id)) why.push(`DATERANGE ${id} missing from dateRanges`);
  }
  check(`${name} m3u8-parser`, why.length === 0, why.join('; '));
}

/** `text` without the EXT-X-PART lines of the segments before the last three, counting the
 *  one in progress as hls-parser does (the parts its part-retention rule refuses). */
function withoutOldParts(text) {
  const lines = text.split(/\r?\n/);
  const isUri = (l) => l.trim() !== '' && !l.startsWith('#');
  const lastUri = lines.findLastIndex(isUri);
  const inProgress = lines
    .slice(lastUri + 1)
    .some((l) => l.startsWith('#EXT-X-PART:') || l.startsWith('#EXT-X-PRELOAD-HINT:'));
  const segments = lines.filter(isUri).length + (inProgress ? 1 : 0);
  let index = 0;
  return lines
    .filter((l) => {
      const keep = !(l.startsWith('#EXT-X-PART:') && index < segments - 3);
      if (isUri(l)) index += 1;
      return keep;
    })
    .join('\n');
}

/** The date ranges of `text` by ID: CLASS, start and end (ms; end from END-DATE, DURATION or
 *  PLANNED-DURATION of any of its tags, else its start). */
function rangesById(text) {
  const ranges = new Map();
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith('#EXT-X-DATERANGE:')) continue;
    const id = attrOf(line, 'ID');
    const range = ranges.get(id) ?? { cls: attrOf(line, 'CLASS'), start: undefined, end: undefined };
    const start = attrOf(line, 'START-DATE');
    if (start !== undefined) range.start = Date.parse(start);
    const end = attrOf(line, 'END-DATE');
    const duration = attrOf(line, 'DURATION') ?? attrOf(line, 'PLANNED-DURATION');
    if (end !== undefined) range.end = Date.parse(end);
    else if (duration !== undefined && range.end === undefined && range.start !== undefined) {
      range.end = range.start + Number(duration) * 1000;
    }
    ranges.set(id, range);
  }
  return ranges;
}

/** Date ranges of one CLASS with different IDs that overlap (RFC 8216bis §4.4.5.1 forbids it). */
function classOverlaps(text) {
  const list = [...rangesById(text).entries()].filter(([, r]) => r.cls !== undefined);
  const found = [];
  for (let i = 0; i < list.length; i += 1) {
    for (let j = i + 1; j < list.length; j += 1) {
      const [a, ra] = list[i];
      const [b, rb] = list[j];
      const endA = ra.end ?? ra.start;
      const endB = rb.end ?? rb.start;
      if (ra.cls === rb.cls && ra.start < endB && rb.start < endA) found.push(`${a} and ${b}`);
    }
  }
  return found;
}

/** `text` without the EXT-X-DATERANGE tags that repeat an ID seen before. */
function withoutRepeatedIds(text) {
  const seen = new Set();
  return text
    .split('\n')
    .filter((line) => {
      if (!line.startsWith('#EXT-X-DATERANGE:')) return true;
      const id = attrOf(line.replace(/\r$/, ''), 'ID');
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    })
    .join('\n');
}

function checkHlsParser(name, original, partsFromInput) {
  const overlaps = classOverlaps(original);
  if (overlaps.length > 0) {
    check(`${name} date ranges`, false, `same CLASS, overlapping: ${overlaps.join('; ')}`);
    return;
  }
  const text = withoutRepeatedIds(original);
  let parsed;
  try {
    parsed = HlsParser.parse(text);
  } catch (err) {
    if (!(partsFromInput && String(err.message).includes(PART_RETENTION))) {
      check(`${name} hls-parser`, false, String(err.message));
      return;
    }
    try {
      parsed = HlsParser.parse(withoutOldParts(text));
      upstreamParts += 1;
    } catch (err2) {
      check(`${name} hls-parser`, false, `${err2.message} (after setting aside the input's old parts)`);
      return;
    }
  }
  const why = [];
  if (!parsed.isMasterPlaylist) {
    const expected = textSegments(text);
    const segments = parsed.segments.filter((s) => s.uri);
    if (segments.length !== expected.length) {
      why.push(`${segments.length} segments with a URI, the text has ${expected.length}`);
    } else {
      // hls-parser keeps one date range per segment: the last EXT-X-DATERANGE before it.
      segments.forEach((seg, i) => {
        const last = expected[i].tags.filter((t) => t.startsWith('#EXT-X-DATERANGE:')).at(-1);
        const want = last === undefined ? undefined : attrOf(last, 'ID');
        const got = seg.dateRange ? seg.dateRange.id : undefined;
        if (want !== got) why.push(`${expected[i].uri}: date range ${got}, the text has ${want}`);
      });
    }
  }
  check(`${name} hls-parser`, why.length === 0, why.join('; '));
}

function files(root) {
  if (statSync(root).isDirectory()) {
    return readdirSync(root)
      .filter((f) => f.endsWith('.m3u8'))
      .sort()
      .map((f) => join(root, f));
  }
  return [root];
}

const roots = [];
const partsFromInput = new Set();
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--parts-from-input' && i + 1 < process.argv.length) {
    i += 1;
    partsFromInput.add(resolve(process.argv[i]));
    roots.push(process.argv[i]);
  } else if (arg.startsWith('--')) {
    roots.length = 0;
    break;
  } else {
    roots.push(arg);
  }
}
if (roots.length === 0) {
  console.log('usage: node check_playlists.mjs [--parts-from-input DIR]... PATH...');
  process.exit(2);
}
let skipped = 0;
for (const root of roots) {
  const list = files(root);
  check(`${root} has playlists`, list.length > 0, 'no .m3u8 files');
  for (const path of list) {
    const name = basename(path);
    if (EXPECTED_INVALID.has(name)) {
      skipped += 1;
      continue;
    }
    const text = readFileSync(path, 'utf8');
    checkHlsJs(name, text);
    checkVideojs(name, text);
    checkHlsParser(name, text, partsFromInput.has(resolve(root)));
  }
}
console.log(`hls.js/m3u8-parser/hls-parser: ${skipped} expected-invalid goldens skipped`);
if (partsFromInput.size > 0) {
  console.log(`hls-parser: ${upstreamParts} goldens strict once their input's parts older than three segments were set aside`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
