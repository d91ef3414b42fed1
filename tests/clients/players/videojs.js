// video.js adapter (node_modules/video.js/dist/video.min.js, with its built-in VHS). With
// useCueTags, VHS adds a metadata TextTrack labelled 'ad-cues' (playlist-controller.js) and, on
// every playlist refresh, builds cues from the main media playlist's CUE tags (ad-cue-tags.js,
// updateAdCues): a cue starts at a segment with #EXT-X-CUE-OUT:<duration> (adEndTime = start +
// parseFloat of the value), or at one with #EXT-X-CUE-OUT-CONT:<elapsed>/<total> when its start
// is out of the window, and ends at #EXT-X-CUE-IN. A cue is found again on the next refresh by
// its media time (findAdCue at the segment's start plus half its duration), so a value VHS
// cannot parse (NaN) adds a new cue on every refresh.
//
// VHS's media time for a refresh is not always the one it gave the same segments before.
// handleUpdatedMediaPlaylist (playlist-controller.js) calls updateAdCues_ before it hands the new
// playlist to the segment loader, and updateAdCues_ counts the new playlist's segments from
// this.seekable().start(0): the seekable range of the last 'syncinfoupdate', which is the start of
// the previous video playlist or of the newest audio playlist, whichever is later
// (computeFinalSeekable_). So the first segment of the new playlist gets the media time of a
// segment one or two before it, or its own when the audio playlist was refreshed in between: the
// skew changes by a whole segment from one refresh to the next (a refresh that finds two new
// segments, the audio refresh landing before or after the video's). When the skew grows by more
// than half a segment, findAdCue misses the cue it made from the same CUE-OUT and VHS adds a
// second one, earlier by a segment; a CUE-IN read with another skew than the CUE-OUT moves the
// cue's end by a segment (seen: two cues 11.987 and 10.995 for one 8 s break, a cue of 9.005 s).
//
// So the adapter hooks updateAdCues_ and, per refresh, walks the playlist as VHS does (same
// offset, same sums). Each new cue is tied to the segment that opened it: the tag, its media
// sequence number and its EXT-X-PROGRAM-DATE-TIME (m3u8-parser carries one on every segment, as
// programDateTime). Each end is tied to the CUE-IN segment VHS ended the cue at in a refresh (the
// end need not move: read with the skew of the CUE-OUT, the CUE-IN lands on the announced end).
// Each of those places carries VHS's skew at that refresh: the media time it gave the segment
// minus the segment's start in its own media-sequence timeline (segment.syncInfo, which the
// segment loader sets right after). play.mjs then counts the cues by their program time.
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
    run.vhsHook = 'not yet installed (no VHS playlist controller)';
    const watch = (track) => {
      if (track.label !== 'ad-cues') return;
      // Cues of a disabled track are not readable; 'hidden' keeps them out of the picture.
      track.mode = 'hidden';
      run.adCueTrack = track;
    };
    const tracks = player.textTracks();
    for (let i = 0; i < tracks.length; i++) watch(tracks[i]);
    tracks.addEventListener('addtrack', (e) => watch(e.track));
    const entries = new WeakMap();
    run.collectCues = () => {
      const cues = run.adCueTrack && run.adCueTrack.cues;
      if (!cues) return;
      for (let i = 0; i < cues.length; i++) {
        const cue = cues[i];
        let entry = entries.get(cue);
        if (!entry) {
          // A cue the hook did not see being made: no opener, no program time.
          entry = { firstSeen: Date.now(), opener: null, announced: null, programStart: null, ins: [] };
          entries.set(cue, entry);
          run.adCues.push(entry);
        }
        Object.assign(entry, {
          startTime: finite(cue.startTime),
          endTime: finite(cue.endTime),
          adStartTime: finite(cue.adStartTime),
          adEndTime: finite(cue.adEndTime),
          text: cue.text,
        });
      }
    };
    const hookVhs = (pc) => {
      if (typeof pc.updateAdCues_ !== 'function' || !pc.cueTagsTrack_ || typeof pc.seekable !== 'function') {
        run.vhsHook = 'VHS playlistController_ has no updateAdCues_, cueTagsTrack_ or seekable (not VHS 3.17?)';
        return;
      }
      const updateAdCues = pc.updateAdCues_;
      pc.updateAdCues_ = function hookedUpdateAdCues(media) {
        const seekable = this.seekable();
        const offset = seekable.length ? seekable.start(0) : 0;
        const track = this.cueTagsTrack_;
        const known = new Set();
        for (let i = 0; i < track.cues.length; i++) known.add(track.cues[i]);
        updateAdCues.call(this, media);
        const segments = media.segments || [];
        // The media time updateAdCues gives each segment: the same start, the same sums.
        const times = [];
        let mediaTime = offset;
        for (const segment of segments) {
          times.push(mediaTime);
          mediaTime += segment.duration;
        }
        const at = (k) => ({
          msn: media.mediaSequence + k,
          programDateTime: Number.isFinite(segments[k].programDateTime) ? segments[k].programDateTime : null,
          mediaTime: times[k],
          duration: segments[k].duration,
          segment: segments[k],
        });
        const touched = [];
        for (let i = 0; i < track.cues.length; i++) {
          const cue = track.cues[i];
          let entry = entries.get(cue);
          if (!known.has(cue) && !entry) {
            const k = segments.findIndex((s, j) => times[j] === cue.startTime && ('cueOut' in s || 'cueOutCont' in s));
            entry = { firstSeen: Date.now(), opener: null, announced: null, programStart: null, ins: [] };
            let announced = NaN;
            if (k >= 0) {
              const s = segments[k];
              const opened = at(k);
              // What VHS read from the tag, by its own formulas (ad-cue-tags.js).
              entry.opener = 'cueOut' in s ? `#EXT-X-CUE-OUT:${s.cueOut}` : `#EXT-X-CUE-OUT-CONT:${s.cueOutCont}`;
              announced = 'cueOut' in s ? parseFloat(s.cueOut) : s.cueOutCont.split('/').map(parseFloat)[1];
              entry.announced = finite(announced);
              entry.openedAt = opened;
              touched.push(opened);
              // adStartTime - startTime is 0 at a CUE-OUT and minus the elapsed time at a CONT.
              entry.programStart = opened.programDateTime === null ? null
                : opened.programDateTime + (cue.adStartTime - cue.startTime) * 1000;
            }
            entry.lastAdEndTime = cue.adStartTime + announced;
            entries.set(cue, entry);
            run.adCues.push(entry);
          }
          if (!entry) continue;
          // updateAdCues ends a cue at a CUE-IN, at that segment's media time; with the same skew
          // as when it opened, that is the very end it announced, so look for the CUE-IN there.
          const k = segments.findIndex((s, j) => 'cueIn' in s && times[j] === cue.adEndTime);
          const moved = !Object.is(cue.adEndTime, entry.lastAdEndTime);
          entry.lastAdEndTime = cue.adEndTime;
          const last = entry.ins[entry.ins.length - 1];
          if (k >= 0 && !(last && last.msn === media.mediaSequence + k && last.mediaTime === times[k])) {
            const ended = at(k);
            entry.ins.push(ended);
            touched.push(ended);
          } else if (k < 0 && moved) {
            // An end moved elsewhere than to a CUE-IN of this refresh: no program time.
            entry.ins.push({ msn: null, programDateTime: null, mediaTime: cue.adEndTime, skew: null });
          }
        }
        // The segment loader sets each segment's syncInfo (its start in VHS's media-sequence
        // timeline) once updateAdCues is done, in the same handleUpdatedMediaPlaylist call.
        Promise.resolve().then(() => {
          for (const place of touched) {
            const info = place.segment && place.segment.syncInfo;
            place.skew = info && Number.isFinite(info.start) ? place.mediaTime - info.start : null;
            delete place.segment;
          }
        });
        run.collectCues();
      };
      run.vhsHook = 'installed';
    };
    const findVhs = setInterval(() => {
      const tech = player.tech({ IWillNotUseThisInPlugins: true });
      const pc = tech && tech.vhs && tech.vhs.playlistController_;
      if (!pc) return;
      clearInterval(findVhs);
      hookVhs(pc);
    }, 20);
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
    return { adCueTrack: Boolean(run.adCueTrack), adCues: run.adCues || [], vhsHook: run.vhsHook };
  },
};
