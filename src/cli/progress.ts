// The progress bar: on stderr, only when stderr is a terminal (rows done, rows/s, ETA; cli-progress).
// Nothing at all is written to stderr otherwise.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export class Progress {
  private bar: Any = null;
  private done = 0;
  private last = 0;
  private readonly t0 = Date.now();
  constructor(private readonly total: number, wanted: boolean) {
    if (!wanted || !process.stderr.isTTY || total === 0) return;
    let cliProgress: Any;
    try {
       
      cliProgress = require('cli-progress');
    } catch {
      return; // an install without it: no bar
    }
    this.bar = new cliProgress.SingleBar({
      stream: process.stderr,
      format: '{bar} {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    this.bar.start(total, 0, { speed: '0' });
  }
  tick(rows: number): void {
    this.done += rows;
    if (!this.bar) return;
    const now = Date.now();
    if (now - this.last < 100 && this.done < this.total) return;
    this.last = now;
    const speed = this.done / Math.max(1e-3, (now - this.t0) / 1000);
    this.bar.update(this.done, { speed: speed >= 1e6 ? `${(speed / 1e6).toFixed(2)}M` : speed >= 1e3 ? `${(speed / 1e3).toFixed(1)}k` : speed.toFixed(0) });
  }
  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
