// hls.js adapter (node_modules/hls.js/dist/hls.min.js): attaches hls.js to the run's <video>
// (lowLatencyMode for LL-HLS) and keeps, per EXT-X-DATERANGE ID, the date range as the newest
// LEVEL_UPDATED shows it — hls.js merges the tags that share an ID across refreshes, so once the
// break's IN is published the range carries DURATION and END-DATE beside SCTE35-OUT.
//
// HLS Interstitials (hls.js 1.6+, src/controller/interstitials-controller.ts): it keeps the
// asset lists hls.js loaded (ASSET_LIST_LOADED), INTERSTITIAL_STARTED / _ENDED, and per asset
// INTERSTITIAL_ASSET_STARTED / _ENDED with the asset player's startPosition (hls.js starts a
// player joining mid-break inside the asset in progress) and its currentTime sampled every
// 250 ms (the asset plays), and INTERSTITIALS_PRIMARY_RESUMED (back to the live stream).
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
    run.interstitials = { lists: [], started: [], ended: [], assets: [], resumed: [] };
    const playing = [];
    const ints = run.interstitials;
    hls.on(Hls.Events.ASSET_LIST_LOADED, (_e, data) => {
      if (ints.lists.length >= 20) return;
      ints.lists.push({
        id: data.event.identifier,
        at: Date.now(),
        assets: (data.assetListResponse.ASSETS || []).map((a) => ({ uri: a.URI, duration: a.DURATION })),
      });
    });
    hls.on(Hls.Events.INTERSTITIAL_STARTED, (_e, data) => {
      if (ints.started.length < 20) ints.started.push({ id: data.event.identifier, at: Date.now() });
    });
    hls.on(Hls.Events.INTERSTITIAL_ENDED, (_e, data) => {
      if (ints.ended.length < 20) ints.ended.push({ id: data.event.identifier, at: Date.now() });
    });
    hls.on(Hls.Events.INTERSTITIALS_PRIMARY_RESUMED, () => {
      if (ints.resumed.length < 20) ints.resumed.push({ at: Date.now(), primaryTime: run.video.currentTime });
    });
    hls.on(Hls.Events.INTERSTITIAL_ASSET_STARTED, (_e, data) => {
      if (ints.assets.length >= 40) return;
      const player = data.player;
      const asset = {
        id: data.event.identifier,
        index: data.assetListIndex,
        uri: data.asset.uri,
        startedAt: Date.now(),
        endedAt: null,
        startPosition: player && player.hls ? player.hls.config.startPosition : null,
        times: [],
      };
      ints.assets.push(asset);
      playing.push({ player, asset });
    });
    hls.on(Hls.Events.INTERSTITIAL_ASSET_ENDED, (_e, data) => {
      const asset = ints.assets.find((a) => a.id === data.event.identifier &&
        a.index === data.assetListIndex && a.endedAt === null);
      if (asset) asset.endedAt = Date.now();
    });
    hls.on(Hls.Events.INTERSTITIAL_ASSET_ERROR, (_e, data) => {
      run.note(run.warnings, 'INTERSTITIAL_ASSET_ERROR ' + (data.error ? data.error.message : data.details));
    });
    run.assetTimer = setInterval(() => {
      for (const { player, asset } of playing) {
        if (asset.endedAt !== null || !player || player.destroyed || asset.times.length >= 60) continue;
        asset.times.push([Date.now(), player.currentTime]);
      }
    }, 250);
    hls.on(Hls.Events.LEVEL_UPDATED, (_e, data) => {
      run.levelUpdates += 1;
      const ranges = data.details.dateRanges || {};
      for (const id of Object.keys(ranges)) {
        const range = ranges[id];
        const attr = range.attr || {};
        const before = run.dateRanges[id];
        run.dateRanges[id] = {
          firstSeen: before ? before.firstSeen : Date.now(),
          // How the range looked the first time: the OUT alone, before the IN was merged in.
          first: before ? before.first : {
            duration: attr.DURATION ?? null,
            endDate: attr['END-DATE'] ?? null,
            scte35In: Boolean(attr['SCTE35-IN']),
          },
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
      interstitials: run.interstitials || null,
    };
  },
};
