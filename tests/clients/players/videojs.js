// video.js adapter (node_modules/video.js/dist/video.min.js, with its built-in VHS). With
// useCueTags, VHS adds a metadata TextTrack labelled 'ad-cues' (playlist-controller.js) and, on
// every playlist refresh, builds cues from the main media playlist's CUE tags (ad-cue-tags.js):
// a cue starts at a segment with #EXT-X-CUE-OUT:<duration> (adEndTime = start + parseFloat of
// the value), or at one with #EXT-X-CUE-OUT-CONT:<elapsed>/<total> when its start is out of the
// window, and ends at #EXT-X-CUE-IN. A cue is found again on the next refresh by its
// adStartTime/adEndTime, so a value VHS cannot parse (NaN) adds a new cue on every refresh.
//
// VHS 3 has no LL-HLS (docs/supported-features.md: "on the roadmap, but not currently
// available"); with its experimental `llhls` option on (the default) it starts an LL-HLS stream
// at a part that is not independent and never plays. With `llhls: false` it drops the parts,
// hints and server control from what it parses and plays an LL-HLS stream's full segments as
// live HLS, which is how video.js users play such streams: the adapter always does that.
'use strict';

const finite = (x) => (Number.isFinite(x) ? x : String(x));

window.playerAdapter = {
  name: 'video.js',
  version: () => {
    const vhs = videojs.VhsHandler && videojs.VhsHandler.version
      ? videojs.VhsHandler.version()['@videojs/http-streaming'] : '?';
    return `${videojs.VERSION} (VHS ${vhs})`;
  },
  supported: () => Boolean(window.MediaSource),
  mode: (lowLatency) => (lowLatency ? 'full segments only: VHS plays no LL-HLS' : ''),
  start(run) {
    run.adCues = [];
    run.video.className = 'video-js';
    const player = videojs(run.video, {
      muted: true,
      autoplay: 'muted',
      html5: {
        vhs: { useCueTags: true, overrideNative: true, llhls: false },
        nativeAudioTracks: false,
        nativeVideoTracks: false,
      },
    });
    run.player = player;
    const seen = new WeakMap();
    const watch = (track) => {
      if (track.label !== 'ad-cues') return;
      // Cues of a disabled track are not readable; 'hidden' keeps them out of the picture.
      track.mode = 'hidden';
      run.adCueTrack = track;
    };
    const tracks = player.textTracks();
    for (let i = 0; i < tracks.length; i++) watch(tracks[i]);
    tracks.addEventListener('addtrack', (e) => watch(e.track));
    run.collectCues = () => {
      const cues = run.adCueTrack && run.adCueTrack.cues;
      if (!cues) return;
      for (let i = 0; i < cues.length; i++) {
        const cue = cues[i];
        if (!seen.has(cue)) {
          seen.set(cue, run.adCues.length);
          // What VHS read from the tag that opened the cue, before a CUE-IN moves its end.
          run.adCues.push({
            firstSeen: Date.now(),
            announcedAdStartTime: finite(cue.adStartTime),
            announcedAdEndTime: finite(cue.adEndTime),
          });
        }
        Object.assign(run.adCues[seen.get(cue)], {
          startTime: finite(cue.startTime),
          endTime: finite(cue.endTime),
          adStartTime: finite(cue.adStartTime),
          adEndTime: finite(cue.adEndTime),
          text: cue.text,
        });
      }
    };
    run.cueTimer = setInterval(run.collectCues, 200);
    player.on('error', () => {
      const e = player.error();
      run.fail(`video.js error ${e ? `${e.code}: ${e.message}` : ''}`);
    });
    player.src({ src: run.opts.url, type: 'application/x-mpegURL' });
    player.play().catch((e) => run.note(run.warnings, 'player.play(): ' + e));
  },
  snapshot(run) {
    if (run.collectCues) run.collectCues();
    return { adCueTrack: Boolean(run.adCueTrack), adCues: run.adCues || [] };
  },
};
