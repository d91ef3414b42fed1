// Shaka Player adapter (node_modules/shaka-player/dist/shaka-player.compiled.js). Shaka's HLS
// parser turns each EXT-X-DATERANGE into a timeline region (lib/hls/hls_parser.js,
// processDateRangeTags_): schemeIdUri is the tag's CLASS or 'com.apple.quicktime.HLS', startTime
// is START-DATE minus the presentation's initial program date time (seconds), endTime comes from
// END-DATE, else DURATION, else PLANNED-DURATION, and values holds the other attributes
// (SCTE35-OUT among them). Each region is announced once by 'timelineregionadded'.
//
// HLS Interstitials: Shaka 5.2 plays them itself (lib/ads/interstitial_ad_manager.js, on by
// default: a date range of CLASS com.apple.hls.interstitial reaches AdManager.onHLSMetadata). With
// no ad container it plays the ads in the same <video>. The adapter records the ad manager's
// events (ad-break-started, ad-started, ad-complete, ad-stopped, ad-break-ended, errors) and,
// while an ad plays, its duration and remaining time every 250 ms.
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
    run.ads = { events: [], samples: [] };
    const adManager = player.getAdManager();
    let currentAd = null;
    for (const type of ['ad-break-started', 'ad-started', 'ad-first-quartile', 'ad-midpoint',
      'ad-complete', 'ad-stopped', 'ad-break-ended', 'ad-error', 'ad-recoverable-error',
      'ad-content-pause-requested', 'ad-content-resume-requested']) {
      adManager.addEventListener(type, (event) => {
        if (type === 'ad-started') currentAd = event.ad || null;
        if (type === 'ad-stopped' || type === 'ad-break-ended') currentAd = null;
        if (run.ads.events.length >= 60) return;
        const ad = event.ad;
        run.ads.events.push({
          type,
          at: Date.now(),
          videoTime: run.video.currentTime,
          uri: ad && ad.getMediaUrl ? ad.getMediaUrl() : null,
          position: ad && ad.getPositionInSequence ? ad.getPositionInSequence() : null,
          sequence: ad && ad.getSequenceLength ? ad.getSequenceLength() : null,
        });
      });
    }
    run.adTimer = setInterval(() => {
      if (!currentAd || run.ads.samples.length >= 120) return;
      run.ads.samples.push([Date.now(), currentAd.getDuration(), currentAd.getRemainingTime(),
        run.video.currentTime]);
    }, 250);
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
      ads: run.ads || null,
    };
  },
};
