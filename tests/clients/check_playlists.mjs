#!/usr/bin/env node
// Player-side oracle for hlsplice playlists, with hls.js (its M3U8Parser, through the ESM import)
// and videojs m3u8-parser.
//
// Usage: node check_playlists.mjs PATH...   (files or directories of .m3u8)
//
// Checks, per playlist:
//   hls.js parse       parseLevelPlaylist / parseMasterPlaylist without a parsing error
//   hls.js daterange   every EXT-X-DATERANGE ID is kept by hls.js and isValid; each one that
//                      carries SCTE35-OUT / SCTE35-IN in the text has it in hls.js's attributes
//   m3u8-parser        no warnings; as many segments as URI lines; CUE-OUT / CUE-OUT-CONT /
//                      CUE-IN seen on exactly the segments that carry them in the text;
//                      dateRanges has every DATERANGE ID
// Prints one line per failure and "N passed, N failed"; exits 1 if anything failed.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

import { M3U8Parser, PlaylistLevelType } from 'hls.js';
import { Parser } from 'm3u8-parser';

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

function files(root) {
  if (statSync(root).isDirectory()) {
    return readdirSync(root)
      .filter((f) => f.endsWith('.m3u8'))
      .sort()
      .map((f) => join(root, f));
  }
  return [root];
}

const roots = process.argv.slice(2);
if (roots.length === 0) {
  console.log('usage: node check_playlists.mjs PATH...');
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
  }
}
console.log(`hls.js/m3u8-parser: ${skipped} expected-invalid goldens skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
