'use strict';
// CPU time used by other processes while the bench runs (Linux): the machine's busy time from
// /proc/stat minus this process and its waited-for children (/proc/self/stat). A busy machine
// makes every figure noisy, and parallel regions suffer most (a descheduled worker stalls the
// whole region for a time slice), so the report says how busy it was.
const fs = require('fs');

// CPU ticks (utime + stime) of a process that is ours but not waited for (the PyTorch server), 0 once gone.
function ticksOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
    return f[11] + f[12];
  } catch {
    return 0;
  }
}

function read(pids) {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] || 0);
    const self = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    // fields after the name: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
    const own = f[11] + f[12] + f[13] + f[14] + pids.reduce((t, pid) => t + ticksOf(pid), 0);
    return { busy, own, t: Date.now() };
  } catch {
    return null;
  }
}

/**
 * start(pids?) -> stop() -> { otherCores, loadavg } (otherCores: average cores busy with other work than this
 * process, its waited-for children and the processes `pids`).
 */
function start(pids = []) {
  const a = read(pids);
  const loadStart = safeLoadavg();
  return function stop() {
    const b = read(pids);
    if (!a || !b) return { otherCores: null, loadavgStart: loadStart, loadavgEnd: safeLoadavg() };
    const ticks = 100; // USER_HZ
    const wall = (b.t - a.t) / 1000;
    const other = Math.max(0, (b.busy - a.busy) - (b.own - a.own)) / ticks;
    return { otherCores: wall > 0 ? other / wall : null, loadavgStart: loadStart, loadavgEnd: safeLoadavg() };
  };
}

function safeLoadavg() {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  } catch {
    return null;
  }
}

module.exports = { start };
