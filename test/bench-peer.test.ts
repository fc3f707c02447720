// The bench's PyTorch comparison (bench/lib/peer.js): the JSON-lines protocol against a fake server in this
// process, the interleaving order and the ratio math on made-up round times. No Python, no timing asserted;
// one test talks to the real bench/torch_bench.py server when /usr/bin/python3 can import torch.
import { EventEmitter } from 'events';
import { PassThrough, Writable } from 'stream';
import { spawnSync } from 'child_process';

const { lineSplitter, parseReply, Peer, startTorch, peerSide, compareRounds, interleave } = require('../bench/lib/peer');
const { DataCache } = require('../bench/lib/data');

// A fake server process: each request line goes to answer(), whose return value (an object, or a raw string)
// is written back as one line; undefined answers nothing.
function fakeProc(answer: (req: Record<string, unknown>) => unknown) {
  const proc = new EventEmitter() as EventEmitter & { stdin: Writable; stdout: PassThrough; requests: Record<string, unknown>[] };
  proc.stdout = new PassThrough();
  proc.requests = [];
  const feed = lineSplitter((line: string) => {
    const req = JSON.parse(line);
    proc.requests.push(req);
    if (req.op === 'quit') {
      setImmediate(() => proc.emit('exit', 0, null));
      return;
    }
    const r = answer(req);
    if (r !== undefined) proc.stdout.write(`${typeof r === 'string' ? r : JSON.stringify(r)}\n`);
  });
  proc.stdin = new Writable({ write(chunk, _enc, done) { feed(chunk.toString()); done(); } });
  return proc;
}

describe('bench PyTorch peer: protocol', () => {
  test('lineSplitter: lines split across chunks, several per chunk, CRLF and blank lines', () => {
    const lines: string[] = [];
    const feed = lineSplitter((l: string) => lines.push(l));
    feed('{"a":');
    feed('1}\n{"b":2}\r\n\n{"c"');
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    feed(':3}\n');
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  test('parseReply: ok objects pass, the server\'s error and malformed lines throw', () => {
    expect(parseReply('{"ok": true, "ns": 12.5}')).toEqual({ ok: true, ns: 12.5 });
    expect(() => parseReply('{"ok": false, "error": "KeyError: \'x\'"}')).toThrow(/torch peer: KeyError: 'x'/);
    expect(() => parseReply('{"ok": false}')).toThrow(/request failed/);
    expect(() => parseReply('Traceback (most recent call last):')).toThrow(/not JSON/);
    expect(() => parseReply('[1, 2]')).toThrow(/not a reply object/);
    expect(() => parseReply('{"ns": 3}')).toThrow(/not a reply object/);
    expect(() => parseReply('null')).toThrow(/not a reply object/);
  });

  test('Peer: hello, replies in request order, an error reply fails only its request, close sends quit', async () => {
    const proc = fakeProc((req) => (req.op === 'time' ? { ok: true, ns: Number(req.inner) * 10 }
      : req.op === 'bad' ? { ok: false, error: 'ValueError: unknown op \'bad\'' } : '{oops'));
    proc.stdout.write('{"ok": true, "version": "1.13.0"}\n');
    const peer = new Peer(proc);
    expect((await peer.hello).version).toBe('1.13.0');
    const [a, b, c, d] = await Promise.allSettled([peer.request({ op: 'time', inner: 1 }), peer.request({ op: 'bad' }),
      peer.request({ op: 'time', inner: 3 }), peer.request({ op: 'junk' })]);
    expect(a).toEqual({ status: 'fulfilled', value: { ok: true, ns: 10 } });
    expect(b.status === 'rejected' && b.reason.message).toMatch(/unknown op 'bad'/);
    expect(c).toEqual({ status: 'fulfilled', value: { ok: true, ns: 30 } });
    expect(d.status === 'rejected' && d.reason.message).toMatch(/not JSON/);
    await peer.close();
    expect(proc.requests.map((r) => r.op)).toEqual(['time', 'bad', 'time', 'junk', 'quit']);
    await expect(peer.request({ op: 'time', inner: 1 })).rejects.toThrow(/torch peer: closed/);
  });

  test('Peer: a server that dies fails the pending request and every later one', async () => {
    const proc = fakeProc(() => undefined); // never answers
    proc.stdout.write('{"ok": true}\n');
    const peer = new Peer(proc);
    await peer.hello;
    const pending = peer.request({ op: 'time', inner: 1 });
    proc.emit('exit', null, 'SIGKILL');
    await expect(pending).rejects.toThrow(/exited \(SIGKILL\)/);
    await expect(peer.request({ op: 'load' })).rejects.toThrow(/exited \(SIGKILL\)/);
  });

  test('Peer: a server that fails before its hello rejects the hello', async () => {
    const proc = fakeProc(() => undefined);
    const peer = new Peer(proc);
    proc.stdout.write('Traceback: ModuleNotFoundError: No module named \'torch\'\n');
    await expect(peer.hello).rejects.toThrow(/not JSON/);
  });
});

describe('bench PyTorch peer: interleaved rounds and the ratio', () => {
  test('compareRounds: median of the per-round ratios, robust to rounds where one side was disturbed', () => {
    const fl = Array.from({ length: 31 }, (_, i) => 100 + (i % 5));
    const torch = fl.map((t) => 3 * t);
    let r = compareRounds(fl, torch);
    expect(r.rounds).toBe(31);
    expect(r.ratio).toBeCloseTo(3, 12);
    expect(r.interval[0]).toBeCloseTo(3, 12);
    expect(r.interval[1]).toBeCloseTo(3, 12);
    expect(r.flNs).toBe(102);
    expect(r.otherNs).toBe(306);
    // a busy stretch slows both sides in the same rounds: the per-round ratio does not move
    const busyFl = fl.map((t, i) => (i >= 10 && i < 20 ? 10 * t : t));
    const busyTorch = torch.map((t, i) => (i >= 10 && i < 20 ? 10 * t : t));
    expect(compareRounds(busyFl, busyTorch).ratio).toBeCloseTo(3, 12);
    // one side hit in a few rounds: the median stays, the interval widens but keeps it
    const hit = torch.map((t, i) => (i % 10 === 3 ? 50 * t : t));
    r = compareRounds(fl, hit);
    expect(r.ratio).toBeCloseTo(3, 12);
    expect(r.interval[0]).toBeLessThanOrEqual(r.ratio);
    expect(r.interval[1]).toBeGreaterThanOrEqual(r.ratio);
    // too few rounds for the bootstrap: no interval
    expect(compareRounds([1, 2, 3], [2, 4, 6]).interval).toEqual([NaN, NaN]);
  });

  test('interleave: both sides calibrated once, then one sample each per round, the first side alternating', async () => {
    const order: string[] = [];
    const side = (name: string, ns: number, inner: number) => ({
      calibrate: async () => { order.push(`${name}:cal`); return inner; },
      sample: async (k: number) => { expect(k).toBe(inner); order.push(name); return ns; },
    });
    const r = await interleave(side('fl', 10, 7), side('pt', 40, 2), 4, 0, 0);
    expect(order).toEqual(['fl:cal', 'pt:cal', 'fl', 'pt', 'pt', 'fl', 'fl', 'pt', 'pt', 'fl']);
    expect(r.flTimes).toEqual([10, 10, 10, 10]);
    expect(r.otherTimes).toEqual([40, 40, 40, 40]);
    expect(r.ratio).toBe(4);
  });

  test('interleave: before every sample a pause, then untimed samples for warmMs (the other side\'s threads are done)', async () => {
    const calls: { at: number, k: number }[] = [];
    let k = 0;
    const side = { calibrate: async () => 1, sample: async () => { calls.push({ at: Date.now(), k: ++k }); return k; } };
    const t0 = Date.now();
    const r = await interleave(side, side, 3, 15, 6);
    // each timed sample follows a pause of 15 ms (setTimeout may fire a millisecond early) and >= 6 ms of untimed ones,
    // counted from the warm loop's own Date.now(): the first untimed call's clock may read a millisecond later
    const timedKs = [...r.flTimes, ...r.otherTimes].sort((a, b) => a - b);
    expect(timedKs.length).toBe(6);
    let prevEnd = t0;
    let prevK = 0;
    for (const tk of timedKs) {
      const untimed = calls.filter((c) => c.k > prevK && c.k < tk);
      expect(untimed.length).toBeGreaterThanOrEqual(1);
      expect(untimed[0].at - prevEnd).toBeGreaterThanOrEqual(13);
      expect(calls[tk - 1].at - untimed[0].at).toBeGreaterThanOrEqual(5);
      prevEnd = calls[tk - 1].at;
      prevK = tk;
    }
  });

  test('peerSide asks the server to calibrate and time the loaded case in its mode', async () => {
    const proc = fakeProc((req) => (req.op === 'calibrate' ? { ok: true, inner: 5 } : { ok: true, ns: 250 }));
    proc.stdout.write('{"ok": true}\n');
    const peer = new Peer(proc);
    await peer.hello;
    const s = peerSide(peer, 'withGrad', 2);
    expect(await s.calibrate()).toBe(5);
    expect(await s.sample(5)).toBe(250);
    expect(proc.requests).toEqual([{ op: 'calibrate', mode: 'withGrad', sampleMs: 2 }, { op: 'time', mode: 'withGrad', inner: 5 }]);
    await peer.close();
  });
});

const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('bench PyTorch peer: the real server', () => {
  (hasTorch ? test : test.skip)('bench/torch_bench.py loads a case, calibrates, times, reports errors and quits', async () => {
    const data = new DataCache();
    const peer = startTorch(1);
    try {
      const hello = await peer.hello;
      expect(hello.threads).toBe(1);
      await expect(peer.request({ op: 'time', mode: 'forward', inner: 1 })).rejects.toThrow(/no case loaded/);
      const gen = { kind: 'uniform', seed: 3, lo: 0, hi: 1 };
      const x = data.get(gen, 1000);
      const input = { file: data.file(gen, 1000), dtype: 'f32', shape: [1000], grad: true };
      // F.mse_loss(x, x) is 0 exactly, whatever the numbers
      const { value } = await peer.request({ op: 'load', case: { torch: 'F.mse_loss', inputs: [input, { ...input, grad: false }] } });
      expect(value).toBe(0);
      expect(x.length).toBe(1000);
      for (const mode of ['forward', 'withGrad']) {
        const inner = (await peer.request({ op: 'calibrate', mode, sampleMs: 0.2 })).inner;
        expect(inner).toBeGreaterThanOrEqual(1);
        expect((await peer.request({ op: 'time', mode, inner })).ns).toBeGreaterThan(0);
      }
      await expect(peer.request({ op: 'load', case: { torch: 'F.nothing', inputs: [] } })).rejects.toThrow(/no torch equivalent/);
    } finally {
      await peer.close();
      data.cleanup();
    }
  }, 60000);
});
