// Shaka Player adapter (node_modules/shaka-player/dist/shaka-player.compiled.js). Shaka's HLS
// parser turns each EXT-X-DATERANGE into a timeline region (lib/hls/hls_parser.js,
// processDateRangeTags_): schemeIdUri is the tag's CLASS or 'com.apple.quicktime.HLS', startTime
// is START-DATE minus the presentation's initial program date time (seconds), endTime comes from
// END-DATE, else DURATION, else PLANNED-DURATION, and values holds the other attributes
// (SCTE35-OUT among them). Each region is announced once by 'timelineregionadded'.
'use strict';

const finite = (x) => (Number.isFinite(x) ? x : String(x));

window.playerAdapter = {
  name: 'Shaka Player',
  version: () => shaka.Player.version,
  supported: () => {
    shaka.polyfill.installAll();
    return shaka.Player.isBrowserSupported();
  },
  mode: (lowLatency) => (lowLatency ? 'streaming.lowLatencyMode' : ''),
  start(run) {
    run.regions = [];
    const player = new shaka.Player();
    run.player = player;
    player.addEventListener('error', (event) => {
      const e = event.detail || {};
      run.fail(`Shaka error ${e.code} (category ${e.category}, severity ${e.severity})`
        + (e.data && e.data.length ? `: ${JSON.stringify(e.data).slice(0, 300)}` : ''));
    });
    player.addEventListener('timelineregionadded', (event) => {
      const r = event.detail;
      if (run.regions.length >= 50) return;
      run.regions.push({
        seenAt: Date.now(),
        schemeIdUri: r.schemeIdUri,
        id: r.id,
        startTime: finite(r.startTime),
        endTime: finite(r.endTime),
        keys: (r.values || []).map((v) => v.key),
      });
    });
    player.configure({ streaming: { lowLatencyMode: run.opts.lowLatency } });
    player
      .attach(run.video)
      .then(() => player.load(run.opts.url))
      .then(() => run.video.play())
      .catch((e) => run.fail(`load: ${e && e.code ? `Shaka error ${e.code}` : e}`));
  },
  snapshot(run) {
    const start = run.player ? run.player.getPresentationStartTimeAsDate() : null;
    return {
      regions: run.regions || [],
      presentationStart: start ? start.getTime() : null,
      isLive: run.player ? run.player.isLive() : null,
    };
  },
};
