// hls.js adapter (node_modules/hls.js/dist/hls.min.js): attaches hls.js to the run's <video>
// (lowLatencyMode for LL-HLS) and keeps, per EXT-X-DATERANGE ID, the date range as the newest
// LEVEL_UPDATED shows it — hls.js merges the tags that share an ID across refreshes, so once the
// break's IN is published the range carries DURATION and END-DATE beside SCTE35-OUT.
'use strict';

window.playerAdapter = {
  name: 'hls.js',
  version: () => Hls.version,
  supported: () => Hls.isSupported(),
  mode: (lowLatency) => (lowLatency ? 'lowLatencyMode' : ''),
  start(run) {
    const hls = new Hls({ lowLatencyMode: run.opts.lowLatency, debug: false });
    run.player = hls;
    run.dateRanges = {};
    run.levelUpdates = 0;
    run.fragsBuffered = 0;
    hls.on(Hls.Events.LEVEL_UPDATED, (_e, data) => {
      run.levelUpdates += 1;
      const ranges = data.details.dateRanges || {};
      for (const id of Object.keys(ranges)) {
        const range = ranges[id];
        const attr = range.attr || {};
        const before = run.dateRanges[id];
        run.dateRanges[id] = {
          firstSeen: before ? before.firstSeen : Date.now(),
          valid: range.isValid,
          startDate: attr['START-DATE'] ?? null,
          endDate: attr['END-DATE'] ?? null,
          duration: attr.DURATION ?? null,
          plannedDuration: attr['PLANNED-DURATION'] ?? null,
          scte35Out: Boolean(attr['SCTE35-OUT']),
          scte35In: Boolean(attr['SCTE35-IN']),
        };
      }
    });
    hls.on(Hls.Events.FRAG_BUFFERED, () => {
      run.fragsBuffered += 1;
    });
    hls.on(Hls.Events.ERROR, (_e, data) => {
      const what = data.type + '/' + data.details + (data.reason ? ' (' + data.reason + ')' : '')
        + (data.error && data.error.message ? ': ' + data.error.message : '')
        + (data.frag ? ' [' + data.frag.type + ' fragment ' + data.frag.sn
          + (data.part ? ' part ' + data.part.index : '') + ' at ' + data.frag.start.toFixed(3) + ']' : '');
      if (data.fatal) {
        run.fail(what);
      } else {
        run.note(run.warnings, what);
      }
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      run.video.play().catch((e) => run.note(run.warnings, 'video.play(): ' + e));
    });
    hls.loadSource(run.opts.url);
    hls.attachMedia(run.video);
  },
  snapshot(run) {
    return {
      dateRanges: run.dateRanges || {},
      levelUpdates: run.levelUpdates || 0,
      fragsBuffered: run.fragsBuffered || 0,
    };
  },
};
