// Page-side scaffolding shared by the players (loaded before the player's own script): one muted
// <video>, what the run saw (playback progress, errors, warnings) and the two functions the
// harness calls through playwright:
//   window.startPlayer({ url, lowLatency, cueStyle })  resolves once currentTime has advanced
//                                                      0.5 s, or with the error that stopped it
//   window.observe()                                   a plain snapshot of what the run saw
// Each player script sets window.playerAdapter = { name, version(), supported(), mode(lowLatency),
// start(run), snapshot(run) } before the harness calls startPlayer.
'use strict';

(() => {
  const MAX_MESSAGES = 20;
  let run = null;

  function note(list, what) {
    if (list.length < MAX_MESSAGES) list.push(String(what));
  }

  window.startPlayer = (opts) => new Promise((resolve) => {
    const adapter = window.playerAdapter;
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    video.autoplay = true;
    video.width = 320;
    video.height = 180;
    document.body.append(video);
    run = {
      opts,
      video,
      version: adapter.version(),
      mode: adapter.mode(opts.lowLatency),
      supported: adapter.supported(),
      startTime: null,
      startedAt: null,
      // [Date.now(), currentTime] pairs, one a second, to see that playback kept advancing.
      progress: [],
      fatal: null,
      errors: [],
      warnings: [],
      note,
      player: null,
    };
    if (!run.supported) {
      resolve(window.observe());
      return;
    }
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      resolve(window.observe());
    };
    run.fail = (what) => {
      if (run.fatal === null) run.fatal = String(what);
      done();
    };
    video.addEventListener('playing', () => {
      if (run.startTime === null) {
        run.startTime = video.currentTime;
        run.startedAt = Date.now();
      }
    });
    video.addEventListener('error', () => {
      const e = video.error;
      run.fail(`<video> error ${e ? `${e.code}: ${e.message}` : ''}`);
    });
    setInterval(() => {
      run.progress.push([Date.now(), video.currentTime]);
      if (run.progress.length > 600) run.progress.shift();
      if (run.startTime !== null && video.currentTime - run.startTime >= 0.5) done();
    }, 250);
    try {
      adapter.start(run);
    } catch (e) {
      run.fail(`${adapter.name} threw: ${e && e.stack ? e.stack.split('\n')[0] : e}`);
    }
  });

  window.observe = () => {
    const adapter = window.playerAdapter;
    const { opts, video, player, fail, note: _note, ...plain } = run;
    let specific = {};
    try {
      specific = adapter.snapshot(run);
    } catch (e) {
      specific = { snapshotError: String(e) };
    }
    return JSON.parse(JSON.stringify({
      ...plain,
      player: adapter.name,
      now: Date.now(),
      currentTime: video.currentTime,
      ...specific,
    }));
  };
})();
