'use strict';
// CPU-bound child processes that keep the other cores busy (bench --busy). Each child spins and
// gives its event loop a turn every 20 ms, so it exits as soon as the parent disconnects (the
// parent exited, crashed or was killed by a signal); the parent also kills them when it exits.
const { fork } = require('child_process');

const HOG_SOURCE = __filename;
const live = new Set();
let handlersInstalled = false;

function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch { /* already gone */ }
  }
  live.clear();
}

// Normal ends and uncaught errors emit 'exit'. Signals (Ctrl-C) are left to their default, which
// ends the bench at once even inside a long synchronous measurement (a JS signal handler would wait
// for it); the hogs then see the IPC channel close and exit.
function installHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAll);
}

/** Starts `count` spinning processes; resolves to stop() once all of them spin. */
async function start(count) {
  installHandlers();
  const children = [];
  for (let k = 0; k < count; k++) {
    const child = fork(HOG_SOURCE, ['--hog'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    live.add(child);
    child.on('exit', () => live.delete(child));
    children.push(new Promise((resolve, reject) => {
      child.once('message', () => resolve(child));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`bench: a CPU hog exited early (code ${code})`)));
    }));
  }
  const started = await Promise.all(children);
  return function stop() {
    for (const child of started) {
      child.removeAllListeners('exit');
      try {
        child.kill('SIGKILL');
      } catch { /* already gone */ }
      live.delete(child);
    }
  };
}

/** Pids of the hogs still running (tests). */
function pids() {
  return [...live].map((c) => c.pid);
}

if (require.main === module && process.argv.includes('--hog')) {
  process.on('disconnect', () => process.exit(0));
  let sink = 0;
  const spin = () => {
    const end = Date.now() + 20;
    while (Date.now() < end) sink += Math.sqrt(sink + 1);
    setImmediate(spin);
  };
  process.send('spinning');
  spin();
}

module.exports = { start, pids, killAll };
