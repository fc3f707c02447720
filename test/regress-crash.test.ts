// Issue 8, crash scenarios 1-8 and 10, and the native fast path (11): each runs in a fresh Node
// process (test/helpers/child.ts), so a SIGSEGV, an abort or a sanitizer report fails the test
// instead of killing jest, and the test then checks the outcome the API contract asks for: the
// right value, or a TypeError / RangeError whose message starts with the function's name and
// names the argument.
// Worker teardown (scenario 9) is in regress-teardown.test.ts, the wrong results in
// regress-results.test.ts.
import { ChildResult, dec, expectClean, expectNamedError, Outcome, runChild, CHILD_RNG } from './helpers/child';
import { isaLevels } from './helpers/parity';

const RNG = CHILD_RNG;

function run(code: string, opts: Parameters<typeof runChild>[1] = {}): ChildResult {
  const r = runChild(RNG + code, opts);
  expectClean(r);
  return r;
}

function results(r: ChildResult): Record<string, Outcome> {
  expect(r.result).toBeDefined();
  return r.result as Record<string, Outcome>;
}

function value(o: Outcome): unknown {
  if (!o.ok) throw new Error(`expected a result, got ${o.type}: ${o.message}`);
  return dec(o.value);
}

/** A result equal to `want`, or a TypeError/RangeError from `fn` naming `arg`. */
function valueOrNamedError(o: Outcome, want: unknown, fn: string, arg: string | RegExp): void {
  if (o.ok) expect(dec(o.value)).toEqual(want);
  else expectNamedError(o, fn, arg);
}

describe('1. shape read twice (getter on a shape entry)', () => {
  test('keras.meanSquaredError: the shape is read once; no out-of-bounds read', () => {
    const r = run(`
      const mk = () => { const shape = [1, 4]; let k = 0; Object.defineProperty(shape, 0, { get: () => (k++ === 0 ? 1 : 1 << 26) }); return shape; };
      const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array(4);
      report({
        sync: outcome(() => keras.meanSquaredError(a, b, { shape: mk() })),
        none: outcome(() => keras.meanSquaredError(a, b, { shape: mk(), reduction: 'none' })),
        grad: outcome(() => keras.meanSquaredError.backward(a, b, { shape: mk() })),
        torch: outcome(() => torch.mseLoss(a, b, { shape: mk() })),
      });`);
    const o = results(r);
    valueOrNamedError(o.sync, 7.5, 'keras.meanSquaredError', 'opts.shape');
    valueOrNamedError(o.none, [7.5], 'keras.meanSquaredError', 'opts.shape');
    valueOrNamedError(o.grad, [-0.5, -1, -1.5, -2], 'keras.meanSquaredError', 'opts.shape');
    valueOrNamedError(o.torch, 7.5, 'torch.mseLoss', 'opts.shape');
  });

  test('async: the shape is read once', () => {
    const r = run(`(async () => {
      const shape = [1, 4]; let k = 0; Object.defineProperty(shape, 0, { get: () => (k++ === 0 ? 1 : 1 << 26) });
      const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array(4);
      report({ a: await outcomeAsync(() => keras.meanSquaredError.withGradAsync(a, b, { shape })) });
    })();`);
    const o = results(r);
    valueOrNamedError(o.a, { loss: 7.5, grad: [-0.5, -1, -1.5, -2] }, 'keras.meanSquaredError', 'opts.shape');
  });
});

describe('2. re-entrant call from an option getter', () => {
  test('a getter on out that runs a big call does not corrupt the heap, and the result is right', () => {
    const r = run(`
      const a4 = new Float32Array([1, 2, 3, 4]), b4 = new Float32Array(4);
      const big = new Float32Array(4 << 20).fill(0.5);
      const o = outcome(() => keras.meanSquaredError(a4, b4, { shape: [1, 4], reduction: 'none',
        get out() { keras.meanSquaredError(big, big, { shape: [1 << 20, 4] }); return undefined; } }));
      // and the heap is still usable
      const after = outcome(() => keras.meanSquaredError(a4, b4, { shape: [2, 2], reduction: 'none' }));
      report({ o, after });`);
    const o = results(r);
    expect(value(o.o)).toEqual([7.5]);
    expect(value(o.after)).toEqual([2.5, 12.5]);
  });

  test('tripletMarginLoss with a re-entrant getter on swap returns the same value as without it', () => {
    const r = run(`
      const a = new Float32Array([0, 0, 1, 1]), p = new Float32Array([1, 0, 1, 2]), n = new Float32Array([3, 0, 1, 1.5]);
      const plain = outcome(() => torch.tripletMarginLoss(a, p, n, { margin: 5, shape: [2, 2] }));
      const reentrant = outcome(() => torch.tripletMarginLoss(a, p, n, { margin: 5, shape: [2, 2], get swap() { torch.mseLoss(a, p); return false; } }));
      const reentrantGrad = outcome(() => torch.tripletMarginLoss.withGrad(a, p, n, { margin: 5, shape: [2, 2],
        get swap() { keras.logCosh(a, p, { shape: [2, 2], reduction: 'none' }); return false; } }));
      const plainGrad = outcome(() => torch.tripletMarginLoss.withGrad(a, p, n, { margin: 5, shape: [2, 2] }));
      report({ plain, reentrant, reentrantGrad, plainGrad });`);
    const o = results(r);
    // float64 reference: d(x, y) = ||x - y + eps||_2, loss = mean(max(0, margin + d(a, p) - d(a, n)))
    const eps = 1e-6;
    const d = (x: number[], y: number[]) => Math.sqrt(x.reduce((s, xi, i) => s + (xi - y[i] + eps) ** 2, 0));
    const rows = [[[0, 0], [1, 0], [3, 0]], [[1, 1], [1, 2], [1, 1.5]]];
    const want = rows.reduce((s, [a, p, n]) => s + Math.max(0, 5 + d(a, p) - d(a, n)), 0) / 2;
    const plain = value(o.plain) as number;
    expect(Math.abs(plain - want)).toBeLessThan(1e-6 * want);
    expect(value(o.reentrant)).toBe(plain);
    expect(value(o.reentrantGrad)).toEqual(value(o.plainGrad));
  });

  test('re-entrant getters on every option of a few losses leave the results unchanged', () => {
    const r = run(`
      const x = rnd(64, 1), y = rnd(64, 2, 0.01, 0.99), w = rnd(8, 3, 0.5, 1.5), t = new Int32Array(8).map((_, i) => i % 8);
      const big = rnd(1 << 18, 4);
      const disturb = () => { torch.huberLoss.withGrad(big, big, { delta: 3, reduction: 'none' }); keras.logCosh(big, big, { shape: [1 << 12, 64] }); };
      const cases = [
        ['keras.meanSquaredError', [y, x], { shape: [8, 8], sampleWeight: w, reduction: 'sum' }],
        ['keras.binaryFocalCrossentropy', [y, y], { shape: [8, 8], gamma: 1.5, alpha: 0.3, applyClassBalancing: true, labelSmoothing: 0.1 }],
        ['torch.huberLoss', [x, y], { delta: 0.5, reduction: 'none', shape: [8, 8] }],
        ['torch.crossEntropy', [x, t], { shape: [8, 8], weight: w, labelSmoothing: 0.2, ignoreIndex: 3 }],
        ['torch.tripletMarginLoss', [x, y, rnd(64, 5)], { shape: [8, 8], margin: 2, p: 1.5, eps: 1e-3, swap: true }],
        ['torch.multiMarginLoss', [x, t], { shape: [8, 8], p: 2, margin: 0.7, weight: w }],
        ['keras.cosineSimilarity', [y, x], { shape: [8, 8], axis: 0, sampleWeight: w }],
      ];
      const out = {};
      for (const [name, args, opts] of cases) {
        const [ns, f] = name.split('.');
        const loss = fl[ns][f];
        for (const mode of ['call', 'withGrad']) {
          const call = (o) => mode === 'call' ? loss(...args, o) : loss.withGrad(...args, o);
          const plain = outcome(() => call(opts));
          for (const key of Object.keys(opts)) {
            const o = { ...opts };
            delete o[key];
            Object.defineProperty(o, key, { enumerable: true, get() { disturb(); return opts[key]; } });
            out[name + ' ' + mode + ' ' + key] = { plain, got: outcome(() => call(o)) };
          }
        }
      }
      report(out);`);
    const o = results(r);
    expect(Object.keys(o).length).toBeGreaterThan(40);
    const differ: string[] = [];
    for (const [k, v] of Object.entries(o as unknown as Record<string, { plain: Outcome; got: Outcome }>)) {
      if (!v.plain.ok) throw new Error(`${k}: the plain call failed: ${v.plain.message}`);
      if (JSON.stringify(v.plain) !== JSON.stringify(v.got)) differ.push(`${k}: ${JSON.stringify(v.got).slice(0, 120)}`);
    }
    expect(differ).toEqual([]);
  });
});

describe('3. a typed array whose length lies', () => {
  test('class Liar / defineProperty(length): the real length or a named error, no out-of-bounds read', () => {
    const r = run(`
      class Liar extends Float32Array { get length() { return 1 << 24; } }
      class Liar5 extends Float32Array { get length() { return 5; } }
      const lie = (a, n) => { Object.defineProperty(a, 'length', { value: n }); return a; };
      const a = new Float32Array([1, 2, 3, 4]);
      const t = new Int32Array([0, 1]);
      report({
        liarBoth: outcome(() => keras.meanSquaredError(Liar.from([0, 0, 0, 0]), Liar.from([1, 2, 3, 4]))),
        liarOne: outcome(() => keras.meanSquaredError(new Float32Array(4), Liar.from([1, 2, 3, 4]))),
        small: outcome(() => keras.meanSquaredError(Liar5.from([0, 0, 0, 0]), Liar5.from([1, 2, 3, 4]))),
        defineBoth: outcome(() => keras.meanSquaredError(lie(new Float32Array(4), 1 << 24), lie(a.slice(), 1 << 24))),
        ce: outcome(() => torch.crossEntropy(Liar.from([0, 0, 0, 0, 1, 1, 1, 1]), t)),
        ceDefine: outcome(() => torch.crossEntropy(lie(Float32Array.from([0, 0, 0, 0, 1, 1, 1, 1]), 1 << 24), t)),
        ceTarget: outcome(() => torch.crossEntropy(new Float32Array(8), lie(new Int32Array([0, 1]), 1 << 22))),
        outLiar: outcome(() => torch.mseLoss(a, a.map(() => 0), { reduction: 'none', out: new Liar(4) })),
        gradLiar: outcome(() => torch.mseLoss.backward(a, a.map(() => 0), { out: lie(new Float32Array(4), 1 << 24) })),
      });`);
    const o = results(r);
    const names = /yTrue|yPred/;
    valueOrNamedError(o.liarBoth, 7.5, 'keras.meanSquaredError', names);
    valueOrNamedError(o.liarOne, 7.5, 'keras.meanSquaredError', names);
    valueOrNamedError(o.small, 7.5, 'keras.meanSquaredError', names);
    valueOrNamedError(o.defineBoth, 7.5, 'keras.meanSquaredError', names);
    const ce = Math.log(4);  // uniform logits, 2 rows of 4 classes
    for (const k of ['ce', 'ceDefine', 'ceTarget']) {
      const v = o[k];
      if (v.ok) expect(Math.abs((dec(v.value) as number) - ce)).toBeLessThan(1e-6);
      else expectNamedError(v, 'torch.crossEntropy', /input|target/);
    }
    valueOrNamedError(o.outLiar, [1, 4, 9, 16], 'torch.mseLoss', 'opts.out');
    valueOrNamedError(o.gradLiar, [0.5, 1, 1.5, 2], 'torch.mseLoss', 'opts.out');
  });
});

describe('4. resizable ArrayBuffer shrunk during a call', () => {
  test('sync, via a getter on out: a named error (or refusal), no out-of-bounds read', () => {
    const r = run(`
      const N = 1 << 16;
      const mk = (tracking) => { const rab = new ArrayBuffer(4 * N, { maxByteLength: 4 * N }); const x = tracking ? new Float32Array(rab) : new Float32Array(rab, 0, N); x.set(rnd(N, 1)); return [rab, x]; };
      const y = rnd(N, 2);
      const res = {};
      for (const tracking of [true, false]) {
        let [rab, x] = mk(tracking);
        res['none' + tracking] = outcome(() => torch.mseLoss(x, y, { reduction: 'none', get out() { rab.resize(0); return undefined; } }));
        [rab, x] = mk(tracking);
        res['grad' + tracking] = outcome(() => torch.mseLoss.withGrad(x, y, { get out() { rab.resize(0); return undefined; } }));
        [rab, x] = mk(tracking);
        res['keras' + tracking] = outcome(() => keras.logCosh(y, x, { shape: [N / 16, 16], get sampleWeight() { rab.resize(4); return undefined; } }));
        // the out buffer itself shrinks while it is being validated
        const orab = new ArrayBuffer(4 * N, { maxByteLength: 4 * N });
        const out = tracking ? new Float32Array(orab) : new Float32Array(orab, 0, N);
        res['out' + tracking] = outcome(() => torch.mseLoss(y, y, { reduction: 'none', out, get shape() { orab.resize(0); return [N]; } }));
      }
      report(res);`);
    const o = results(r);
    for (const t of ['true', 'false']) {
      expectNamedError(o[`none${t}`], 'torch.mseLoss', 'input');
      expectNamedError(o[`grad${t}`], 'torch.mseLoss', 'input');
      expectNamedError(o[`keras${t}`], 'keras.logCosh', 'yPred');
      expectNamedError(o[`out${t}`], 'torch.mseLoss', 'opts.out');
    }
  });

  test('async: rab.resize(0) right after the call starts: the right value (inputs copied) or a named rejection', () => {
    const r = run(`(async () => {
      const N = 1 << 22;
      const data = rnd(N, 1), y = rnd(N, 2);
      const want = torch.mseLoss(data, y);
      const wantNone = torch.mseLoss(data, y, { reduction: 'none' });
      const res = {};
      for (const mode of ['mean', 'none', 'withGrad']) {
        const rab = new ArrayBuffer(4 * N, { maxByteLength: 4 * N });
        const x = new Float32Array(rab); x.set(data);
        const p = mode === 'withGrad' ? outcomeAsync(() => torch.mseLoss.withGradAsync(x, y)) : outcomeAsync(() => torch.mseLoss.async(x, y, { reduction: mode }));
        rab.resize(0);
        global.gc();
        const o = await p;
        res[mode] = o.ok ? { ok: true, same: mode === 'mean' ? o.value === want : mode === 'none' ? o.value.len === N && o.value.arr.every((v, i) => v === wantNone[i]) : o.value.obj.loss === want } : o;
      }
      report(res);
    })();`, { flags: ['--expose-gc'] });
    const o = results(r);
    for (const mode of ['mean', 'none', 'withGrad']) {
      const v = o[mode] as unknown as { ok: boolean; same?: boolean } & Outcome;
      if (v.ok) expect({ mode, same: v.same }).toEqual({ mode, same: true });
      else expectNamedError(v, 'torch.mseLoss', 'input');
    }
  });
});

describe('5. buffer transferred away during an async call', () => {
  test('out transferred + gc(): no use-after-free; resolves, or rejects with a TypeError naming opts.out', () => {
    const r = run(`(async () => {
      const shape = [16, 1 << 20], N = 16 << 20;
      const yt = rnd(N, 1), yp = rnd(N, 2);
      const res = {};
      for (let rep = 0; rep < 3; rep++) {
        const out = new Float32Array(16);
        const p = outcomeAsync(() => keras.logCosh.async(yt, yp, { shape, reduction: 'none', out }));
        structuredClone(out.buffer, { transfer: [out.buffer] });
        global.gc();
        res['none' + rep] = await p;
        const grad = new Float32Array(N);
        const q = outcomeAsync(() => keras.logCosh.withGradAsync(yt, yp, { shape, out: { grad } }));
        structuredClone(grad.buffer, { transfer: [grad.buffer] });
        global.gc();
        res['grad' + rep] = await q;
      }
      report(res);
    })();`, { flags: ['--expose-gc'] });
    const o = results(r);
    for (const [k, v] of Object.entries(o)) {
      if (v.ok) continue;  // resolved (the backing memory was kept alive)
      expectNamedError(v, 'keras.logCosh', 'opts.out', ['TypeError']);
      expect(k).toBeDefined();
    }
  });

  test('an input transferred + gc(): resolves with the value of the data at call time, or rejects naming it', () => {
    const r = run(`(async () => {
      const shape = [16, 1 << 20], N = 16 << 20;
      const res = {};
      for (const which of ['yTrue', 'yPred']) {
        const yt = rnd(N, 1), yp = rnd(N, 2);
        const want = keras.logCosh(yt, yp, { shape });
        const p = outcomeAsync(() => keras.logCosh.withGradAsync(yt, yp, { shape }));
        const victim = which === 'yTrue' ? yt : yp;
        structuredClone(victim.buffer, { transfer: [victim.buffer] });
        global.gc();
        const o = await p;
        res[which] = o.ok ? { ok: true, same: o.value.obj.loss === want } : o;
      }
      report(res);
    })();`, { flags: ['--expose-gc'] });
    const o = results(r);
    for (const which of ['yTrue', 'yPred']) {
      const v = o[which] as unknown as { ok: boolean; same?: boolean } & Outcome;
      if (v.ok) expect({ which, same: v.same }).toEqual({ which, same: true });
      else expectNamedError(v, 'keras.logCosh', which, ['TypeError']);
    }
  });
});

describe('6. class indices validated, then read again', () => {
  test('async nllLoss.withGradAsync whose target JS rewrites while it runs: the value at call time or a named RangeError', () => {
    const r = run(`(async () => {
      const rows = 1 << 22, C = 4;
      const x = rnd(rows * C, 1);
      const res = {};
      for (const [name, bad] of [['big', 1 << 30], ['negative', -(1 << 30)]]) {
        const t = new Int32Array(rows).map((_, i) => i % C);
        const want = torch.nllLoss(x, t, { shape: [rows, C] });
        const p = outcomeAsync(() => torch.nllLoss.withGradAsync(x, t, { shape: [rows, C] }));
        t.fill(bad);
        const o = await p;
        res[name] = o.ok ? { ok: true, same: o.value.obj.loss === want } : o;
      }
      // crossEntropy / sparse / multiMargin / multilabelMargin, async, same pattern
      const small = 1 << 18;
      const xs = rnd(small * C, 2);
      const mkT = () => new Int32Array(small).map((_, i) => i % C);
      const cases = [
        ['ce', () => { const t = mkT(); return [t, torch.crossEntropy(xs, t, { shape: [small, C] }), torch.crossEntropy.withGradAsync(xs, t, { shape: [small, C] })]; }],
        ['scce', () => { const t = mkT(); return [t, keras.sparseCategoricalCrossentropy(t, xs, { shape: [small, C], fromLogits: true }), keras.sparseCategoricalCrossentropy.withGradAsync(t, xs, { shape: [small, C], fromLogits: true })]; }],
        ['mm', () => { const t = mkT(); return [t, torch.multiMarginLoss(xs, t, { shape: [small, C] }), torch.multiMarginLoss.withGradAsync(xs, t, { shape: [small, C] })]; }],
        ['mlm', () => { const t = new Int32Array(small * C).map((_, i) => (i % C === 0 ? 1 : -1)); return [t, torch.multilabelMarginLoss(xs, t, { shape: [small, C] }), torch.multilabelMarginLoss.withGradAsync(xs, t, { shape: [small, C] })]; }],
      ];
      for (const [name, mk] of cases) {
        let t, want, p;
        const started = outcome(() => { [t, want, p] = mk(); });
        if (!started.ok) { res[name] = started; continue; }
        t.fill(1 << 30);
        const o = await outcomeAsync(() => p);
        res[name] = o.ok ? { ok: true, same: o.value.obj.loss === want } : o;
      }
      report(res);
    })();`, { timeout: 120000 });
    const o = results(r);
    const fnOf: Record<string, [string, string]> = {
      big: ['torch.nllLoss', 'target'], negative: ['torch.nllLoss', 'target'], ce: ['torch.crossEntropy', 'target'],
      scce: ['keras.sparseCategoricalCrossentropy', 'yTrue'], mm: ['torch.multiMarginLoss', 'target'], mlm: ['torch.multilabelMarginLoss', 'target'],
    };
    for (const [k, [fn, arg]] of Object.entries(fnOf)) {
      const v = o[k] as unknown as { ok: boolean; same?: boolean } & Outcome;
      if (v.ok) expect({ k, same: v.same }).toEqual({ k, same: true });
      else expectNamedError(v, fn, arg, ['RangeError']);
    }
  });

  test('SharedArrayBuffer class indices rewritten by another thread during sync calls: a number or a named RangeError, never a crash', () => {
    const r = run(`
      const { Worker } = require('worker_threads');
      const rows = 1 << 14, C = 8;
      const sab = new SharedArrayBuffer(4 * rows * C);
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const w = new Worker(\`
        const { workerData } = require('worker_threads');
        const t = new Int32Array(workerData.sab), flag = new Int32Array(workerData.flag), C = workerData.C;
        const bad = [1 << 30, -(1 << 30), 2147483647, -2147483648, C];
        let k = 0;
        while (Atomics.load(flag, 0) === 0) { t.fill(bad[k++ % bad.length]); for (let i = 0; i < t.length; i++) t[i] = i % C; }
      \`, { eval: true, workerData: { sab, flag: flag.buffer, C } });
      const x = rnd(rows * C, 1);
      const tRows = new Int32Array(sab, 0, rows), tFull = new Int32Array(sab);
      const calls = {
        nll: () => torch.nllLoss.withGrad(x, tRows, { shape: [rows, C] }),
        ce: () => torch.crossEntropy.withGrad(x, tRows, { shape: [rows, C], reduction: 'none' }),
        scce: () => keras.sparseCategoricalCrossentropy.withGrad(tRows, x, { shape: [rows, C], fromLogits: true }),
        mm: () => torch.multiMarginLoss.withGrad(x, tRows, { shape: [rows, C] }),
        mlm: () => torch.multilabelMarginLoss.withGrad(x, tFull, { shape: [rows, C] }),
      };
      const res = {};
      const t0 = Date.now();
      for (const [name, f] of Object.entries(calls)) {
        const tally = { ok: 0, named: 0, other: [] };
        const until = Date.now() + 1500;
        while (Date.now() < until) {
          const o = outcome(f);
          if (o.ok) tally.ok++;
          else if (o.type === 'RangeError' && /^(torch|keras)\\.\\w+: (target|yTrue)/.test(o.message)) tally.named++;
          else if (tally.other.length < 3) tally.other.push(o.type + ': ' + o.message);
        }
        res[name] = tally;
      }
      Atomics.store(flag, 0, 1);
      w.terminate().then(() => report(res));`, { timeout: 120000 });
    const o = results(r) as unknown as Record<string, { ok: number; named: number; other: string[] }>;
    for (const [name, t] of Object.entries(o)) {
      expect({ name, other: t.other }).toEqual({ name, other: [] });
      expect(t.ok + t.named).toBeGreaterThan(0);
    }
  });
});

describe('7. empty input with a huge shape', () => {
  const rowLosses: [string, number][] = [
    ['torch.tripletMarginLoss', 3], ['torch.multilabelSoftMarginLoss', 2], ['keras.categoricalCrossentropy', 2],
    ['keras.categoricalHinge', 2], ['keras.cosineSimilarity', 2], ['keras.meanSquaredError', 2], ['torch.mseLoss', 2],
  ];
  test.each(rowLosses)('%s: shapes beyond 2^40 elements or 2^24 empty rows ([2^30, 0], [2^28, 0] too) give a RangeError naming opts.shape, at once', (name, nArgs) => {
    const r = run(`
      const [ns, f] = ${JSON.stringify(name)}.split('.');
      const loss = fl[ns][f];
      const e = new Float32Array(0);
      const args = Array(${nArgs}).fill(e);
      const res = {};
      for (const [label, shape] of [['2^53', [2 ** 53, 0]], ['2^40', [2 ** 40, 0]], ['2^40x2^40', [2 ** 40, 2 ** 40, 0]],
        ['0x2^40x2^40', [0, 2 ** 40, 2 ** 40]], ['2^30', [2 ** 30, 0]], ['2^28', [2 ** 28, 0]]]) {
        for (const reduction of ['sum', 'none']) {
          const t0 = Date.now();
          const o = outcome(() => loss(...args, { shape, reduction }));
          const g = outcome(() => loss.withGrad(...args, { shape, reduction }));
          res[label + ' ' + reduction] = { o, g, ms: Date.now() - t0 };
        }
      }
      report(res);`, { timeout: 10000 });
    const o = results(r) as unknown as Record<string, { o: Outcome; g: Outcome; ms: number }>;
    for (const [label, v] of Object.entries(o)) {
      expectNamedError(v.o, name, 'opts.shape', ['RangeError']);
      expectNamedError(v.g, name, 'opts.shape', ['RangeError']);
      expect({ label, slow: v.ms > 1000 * (process.env.FASTLOSS_ADDON ? 4 : 1) }).toEqual({ label, slow: false });
    }
  });

  test('torch.multilabelMarginLoss and keras sparse: huge empty shapes give a RangeError naming opts.shape', () => {
    const r = run(`
      const e = new Float32Array(0), ei = new Int32Array(0);
      report({
        mlm: outcome(() => torch.multilabelMarginLoss(e, ei, { shape: [2 ** 40, 0] })),
        mlm30: outcome(() => torch.multilabelMarginLoss(e, ei, { shape: [2 ** 30, 0], reduction: 'none' })),
        ce: outcome(() => torch.crossEntropy(e, e, { shape: [2 ** 40, 0] })),
        bce: outcome(() => torch.binaryCrossEntropyWithLogits(e, e, { shape: [2 ** 53, 0], reduction: 'none' })),
      });`, { timeout: 10000 });
    const o = results(r);
    expectNamedError(o.mlm, 'torch.multilabelMarginLoss', 'opts.shape', ['RangeError']);
    expectNamedError(o.mlm30, 'torch.multilabelMarginLoss', 'opts.shape', ['RangeError']);
    expectNamedError(o.ce, 'torch.crossEntropy', 'opts.shape', ['RangeError']);
    expectNamedError(o.bce, 'torch.binaryCrossEntropyWithLogits', 'opts.shape', ['RangeError']);
  });

  test('modest empty shapes still work: [1000, 0] triplet rows each give the margin', () => {
    const r = run(`
      const e = new Float32Array(0);
      report({ mean: outcome(() => torch.tripletMarginLoss(e, e, e, { shape: [1000, 0] })),
               none: outcome(() => torch.tripletMarginLoss(e, e, e, { shape: [3, 0], reduction: 'none' })),
               keras: outcome(() => keras.meanSquaredError(e, e, { shape: [1000, 0] })) });`);
    const o = results(r);
    expect(value(o.mean)).toBe(1);
    expect(value(o.none)).toEqual([1, 1, 1]);
    expect(typeof value(o.keras)).toBe('number');
  });
});

/** multilabel margin loss in float64 (PyTorch's formula): rows of C, targets read up to the first -1. */
function multilabelMargin64(x: Float32Array, t: Int32Array, C: number): { loss: number; grad: number[] } {
  const N = x.length / C;
  let total = 0;
  const grad = new Array<number>(x.length).fill(0);
  for (let r = 0; r < N; r++) {
    const isT = new Array<boolean>(C).fill(false);
    const ys: number[] = [];
    for (let j = 0; j < C; j++) { const y = t[r * C + j]; if (y < 0) break; ys.push(y); isT[y] = true; }
    let s = 0;
    for (const y of ys) {
      for (let i = 0; i < C; i++) {
        if (isT[i]) continue;
        const z = 1 - (x[r * C + y] - x[r * C + i]);
        if (z > 0) { s += z; grad[r * C + y] -= 1 / (C * N); grad[r * C + i] += 1 / (C * N); }
      }
    }
    total += s / C;
  }
  return { loss: total / N, grad };
}

describe('8. torch.multilabelMarginLoss on long rows (miscompiled mixed simd reduction)', () => {
  const configs: [number, number][] = [[1, 15], [3, 16], [2, 17], [2, 31], [4, 32], [3, 33], [2, 64], [2, 1024], [1, 4096]];
  test.each(isaLevels())('[%s] forward, withGrad, backward and withGradAsync agree with float64, repeatedly', (level) => {
    const r = run(`(async () => {
      const res = [];
      for (const [N, C] of ${JSON.stringify(configs)}) {
        const x = rnd(N * C, N * 1000 + C);
        const t = new Int32Array(N * C).fill(-1);
        for (let r = 0; r < N; r++) { const k = 1 + ((r * 7 + C) % Math.min(C - 1, 9)); for (let j = 0; j < k; j++) t[r * C + j] = (j + r * 3) % C; }
        const shape = [N, C];
        const calls = [];
        for (let rep = 0; rep < 3; rep++) {
          calls.push({ f: outcome(() => torch.multilabelMarginLoss(x, t, { shape })), wg: outcome(() => torch.multilabelMarginLoss.withGrad(x, t, { shape })),
                       b: outcome(() => torch.multilabelMarginLoss.backward(x, t, { shape })), a: await outcomeAsync(() => torch.multilabelMarginLoss.withGradAsync(x, t, { shape })) });
        }
        res.push({ N, C, x: Array.from(x), t: Array.from(t), calls });
      }
      report(res);
    })();`, { env: { FASTLOSS_ISA: level }, timeout: 120000 });
    const cases = r.result as { N: number; C: number; x: number[]; t: number[]; calls: Record<string, Outcome>[] }[];
    const bad: string[] = [];
    for (const c of cases) {
      const t = Int32Array.from(c.t);
      for (let r = 0; r < c.N; r++) {  // dedupe so the reference and the kernel see the same set
        const seen = new Set<number>();
        for (let j = 0; j < c.C && t[r * c.C + j] >= 0; j++) {
          if (seen.has(t[r * c.C + j])) throw new Error(`test data has a duplicate target at C=${c.C}`);
          seen.add(t[r * c.C + j]);
        }
      }
      const want = multilabelMargin64(Float32Array.from(c.x), t, c.C);
      const close = (v: number) => Math.abs(v - want.loss) <= 1e-5 * Math.abs(want.loss) + 1e-7;
      const gradClose = (g: number[]) => g.length === want.grad.length && g.every((v, i) => Math.abs(v - want.grad[i]) <= 1e-6 + 1e-5 * Math.abs(want.grad[i]));
      c.calls.forEach((call, rep) => {
        const tag = `[${c.N}, ${c.C}] rep ${rep}`;
        const f = value(call.f) as number;
        const wg = value(call.wg) as { loss: number; grad: number[] };
        const a = value(call.a) as { loss: number; grad: number[] };
        const b = value(call.b) as number[];
        if (!close(f)) bad.push(`${tag} forward ${f} vs ${want.loss}`);
        if (!close(wg.loss)) bad.push(`${tag} withGrad.loss ${wg.loss} vs ${want.loss}`);
        if (!close(a.loss)) bad.push(`${tag} withGradAsync.loss ${a.loss} vs ${want.loss}`);
        if (!gradClose(wg.grad)) bad.push(`${tag} withGrad.grad differs`);
        if (!gradClose(b)) bad.push(`${tag} backward differs`);
        if (!gradClose(a.grad)) bad.push(`${tag} withGradAsync.grad differs`);
      });
    }
    expect(bad).toEqual([]);
  });
});

describe('10. thread count bounds', () => {
  test('setNumThreads rejects 1e9, 2**31 and strings; accepts small integers', () => {
    const r = run(`
      report({
        huge: outcome(() => fl.setNumThreads(1e9)),
        pow31: outcome(() => fl.setNumThreads(2 ** 31)),
        str: outcome(() => fl.setNumThreads('2')),
        two: outcome(() => { fl.setNumThreads(2); return fl.getNumThreads(); }),
        after: outcome(() => { try { fl.setNumThreads(2 ** 31); } catch {} return fl.getNumThreads(); }),
      });`);
    const o = results(r);
    expectNamedError(o.huge, 'setNumThreads', 'n', ['RangeError']);
    expectNamedError(o.pow31, 'setNumThreads', 'n', ['RangeError']);
    expectNamedError(o.str, 'setNumThreads', 'n', ['TypeError']);
    expect((o.str as { message: string }).message).toMatch(/string|'2'|"2"/);
    expect(value(o.two)).toBe(2);
    expect(value(o.after)).toBe(2);
  });

  test('a big call after setNumThreads(max allowed) never leases more threads than the bound', () => {
    const r = run(`
      const os = require('os');
      const cpus = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
      let max = 0;
      for (const n of [4 * cpus, 2 * cpus, cpus]) { try { fl.setNumThreads(n); max = n; break; } catch {} }
      const { native } = require(require('path').join(__dist, '..', 'core', 'native.js'));
      native.takePeakThreads();
      const a = rnd(1 << 22, 1);
      torch.mseLoss(a, a);
      report({ cpus, max, peak: native.takePeakThreads(), huge: outcome(() => fl.setNumThreads(1 << 20)) });`);
    const o = r.result as { cpus: number; max: number; peak: number; huge: Outcome };
    expect(o.max).toBeGreaterThanOrEqual(o.cpus);
    expect(o.peak).toBeLessThanOrEqual(o.max);
    expectNamedError(o.huge, 'setNumThreads', 'n', ['RangeError']);
  });

  const plain = () => {
    const r = run(`report(fl.getNumThreads())`, { env: { FASTLOSS_NUM_THREADS: undefined } });
    return r.result as number;
  };
  test.each(['99999999999', '1e9', '3abc', '-2', '0', 'abc', '2.5'])('FASTLOSS_NUM_THREADS=%s is rejected with a message naming the variable', (v) => {
    const dflt = plain();
    const r = runChild(`report(outcome(() => fl.getNumThreads()))`, { env: { FASTLOSS_NUM_THREADS: v } });
    // Either the load fails with an error naming the variable, or a warning names it and the default applies.
    const stderr = r.stderr + (r.result && !(r.result as Outcome).ok ? (r.result as { message: string }).message : '');
    expect(r.signal).toBeNull();
    expect(stderr).toMatch(/FASTLOSS_NUM_THREADS/);
    if (r.status === 0 && r.result && (r.result as Outcome).ok) expect(value(r.result as Outcome)).toBe(dflt);
  });

  test('FASTLOSS_NUM_THREADS=1 and =2 still work', () => {
    for (const v of ['1', '2']) {
      const r = run(`report(fl.getNumThreads())`, { env: { FASTLOSS_NUM_THREADS: v } });
      expect(r.result).toBe(Number(v));
    }
  });
});

describe('11. the native fast path (setPlan / runPlan) called directly with bad arguments', () => {
  test('wrong types and counts, short / detached / resized / shared buffers, overlaps, unset slots: errors thrown, no buffer written', () => {
    const r = run(`
      const { native, params, setRawCall, FLAG_LOSS, FLAG_GRAD, FLAG_HAS_OUT, FLAG_HAS_GRAD_OUT } =
        require(require('path').join(__dist, '..', 'core', 'native.js'));
      const R = native.reductions;
      // runPlan leaves a reduced loss in params[paramSlots.result] and returns undefined
      const runPlan = (...a) => { const r = native.runPlan(...a); return r === undefined ? params[native.paramSlots.result] : r; };
      const x = Float32Array.from({ length: 8 }, (_, i) => i / 4), y = new Float32Array(8).fill(0.5);
      const out = new Float32Array(8).fill(7), g = new Float32Array(8).fill(7), pair = new Float32Array(16).fill(7);
      const watched = [x, y, out, g, pair];
      // outcome(f), and whether f left every caller buffer as it was.
      const check = (f) => {
        const before = watched.map((a) => Array.from(a));
        const o = outcome(f);
        return { ...o, untouched: watched.every((a, k) => a.every((v, i) => Object.is(v, before[k][i]))) };
      };
      const detached = () => { const a = new Float32Array(8); structuredClone(a.buffer, { transfer: [a.buffer] }); return a; };
      const rab = new ArrayBuffer(32, { maxByteLength: 64 });
      const tracking = new Float32Array(rab), fixed = new Float32Array(rab, 0, 8);
      rab.resize(28);
      const sab = new SharedArrayBuffer(64);
      const shared = new Float32Array(sab, 0, 8).fill(0.5), sharedAlias = new Float32Array(sab, 16, 8);
      const o = {};
      setRawCall('torch.mseLoss', { flags: FLAG_LOSS, reduction: R.mean, shape: [8] });
      o.mean = outcome(() => { native.setPlan(10, params, 0); return runPlan(10, x, y); });
      // setPlan
      o.setNoArgs = check(() => native.setPlan());
      o.setTwoArgs = check(() => native.setPlan(12, params));
      o.setSlotString = check(() => native.setPlan('12', params, 0));
      o.setSlotHigh = check(() => native.setPlan(4097, params, 0));
      o.setSlotNegative = check(() => native.setPlan(-1, params, 0));
      o.setFloat32Record = check(() => native.setPlan(12, new Float32Array(params.length), 0));
      o.setArrayRecord = check(() => native.setPlan(12, Array.from(params), 0));
      o.setShortRecord = check(() => native.setPlan(12, params.subarray(0, native.paramCount - 1), 0));
      o.setMaskNegative = check(() => native.setPlan(12, params, -1));
      o.setMaskHigh = check(() => native.setPlan(12, params, 1 << native.maxInputs));
      o.setBadKernel = check(() => { const p = Float64Array.from(params); p[0] = 1e9; native.setPlan(10, p, 0); });
      o.setNaNFlags = check(() => { const p = Float64Array.from(params); p[1] = NaN; native.setPlan(10, p, 0); });
      o.keptAfterFailedSet = check(() => runPlan(10, x, y));
      o.neverSet = check(() => runPlan(12, x, y));
      // runPlan: the slot
      o.runNoArgs = check(() => runPlan());
      o.runSlotString = check(() => runPlan('10', x, y));
      o.runSlotNaN = check(() => runPlan(NaN, x, y));
      o.runSlotNegative = check(() => runPlan(-1, x, y));
      o.runSlotHuge = check(() => runPlan(2 ** 40, x, y));
      o.runSlotUnset = check(() => runPlan(4096, x, y));
      // runPlan: the arrays
      o.tooManyArgs = check(() => runPlan(10, x, y, x, y, x, y, x, y, x, y, x, y, x, y, x, y));
      o.missing = check(() => runPlan(10, x));
      o.short = check(() => runPlan(10, x, y.subarray(1)));
      o.long = check(() => runPlan(10, x, new Float32Array(9)));
      o.detached = check(() => runPlan(10, x, detached()));
      o.resizedTracking = check(() => runPlan(10, x, tracking));
      o.resizedOutOfBounds = check(() => runPlan(10, x, fixed));
      o.shared = check(() => runPlan(10, x, shared));
      o.float64 = check(() => runPlan(10, x, new Float64Array(8)));
      o.float64Short = check(() => runPlan(10, x, new Float64Array(3)));
      o.uint8 = check(() => runPlan(10, x, new Uint8Array(32)));
      o.dataView = check(() => runPlan(10, x, new DataView(new ArrayBuffer(32))));
      o.number = check(() => runPlan(10, x, 3));
      // 'none' with out and grad; gradOutput
      setRawCall('torch.mseLoss', { flags: FLAG_LOSS | FLAG_GRAD | FLAG_HAS_OUT, reduction: R.none, shape: [8], gradCount: 1 });
      native.setPlan(20, params, 0);
      o.outsOverlap = check(() => runPlan(20, x, y, pair.subarray(0, 8), pair.subarray(4, 12)));
      o.outOverlapsInput = check(() => runPlan(20, x, y, x, g));
      o.sharedOutsOverlap = check(() => runPlan(20, x, y, shared, sharedAlias));
      o.gradMissing = check(() => runPlan(20, x, y, out));
      o.outShort = check(() => runPlan(20, x, y, new Float32Array(7), g));
      o.outDetached = check(() => runPlan(20, x, y, detached(), g));
      o.outFloat64 = check(() => runPlan(20, x, y, new Float64Array(8), new Float32Array(8)));
      setRawCall('torch.mseLoss', { flags: FLAG_GRAD | FLAG_HAS_GRAD_OUT, reduction: R.none, shape: [8], gradCount: 1 });
      native.setPlan(21, params, 0);
      o.gradOutputDetached = check(() => runPlan(21, x, y, g, detached()));
      o.gradOutputShort = check(() => runPlan(21, x, y, g, new Float32Array(3)));
      o.gradOutputOverlaps = check(() => runPlan(21, x, y, g, g));
      // nllLoss: the mask says the target is an Int32Array, the call passes a Float32Array (and the reverse)
      setRawCall('torch.nllLoss', { flags: FLAG_LOSS, reduction: R.mean, shape: [4, 2], scalars: [-100] });
      native.setPlan(30, params, 2);
      native.setPlan(31, params, 0);
      o.maskIntGotFloat = check(() => runPlan(30, new Float32Array(8), Float32Array.of(1e30, -1e30, 3, 0.5)));
      o.maskFloatGotInt = outcome(() => runPlan(31, new Float32Array(8), Int32Array.of(0, 1, 0, 1)));
      report(o);`);
    const o = results(r) as Record<string, Outcome & { untouched?: boolean }>;
    const mean = 3.75 / 8;  // mean over i < 8 of (i / 4 - 1 / 2)^2, exact in float32
    expect(value(o.mean)).toBe(mean);
    const expectError = (k: string, type: string, message: RegExp) => {
      const c = o[k];
      expect({ k, ok: c.ok, untouched: c.untouched }).toEqual({ k, ok: false, untouched: true });
      if (!c.ok) expect({ k, type: c.type, message: c.message }).toEqual({ k, type, message: expect.stringMatching(message) });
    };
    const setUsage = /^fastloss: setPlan takes a slot from 0 to 4096, a Float64Array/;
    for (const k of ['setNoArgs', 'setTwoArgs', 'setSlotString', 'setSlotHigh', 'setSlotNegative', 'setFloat32Record',
      'setArrayRecord', 'setShortRecord', 'setMaskNegative', 'setMaskHigh']) expectError(k, 'TypeError', setUsage);
    expectError('setBadKernel', 'RangeError', /^fastloss: malformed call parameters/);
    expectError('setNaNFlags', 'RangeError', /^fastloss: malformed call parameters/);
    expect(value(o.keptAfterFailedSet)).toBe(mean);
    for (const k of ['neverSet', 'runNoArgs', 'runSlotString', 'runSlotNaN', 'runSlotNegative', 'runSlotHuge', 'runSlotUnset'])
      expectError(k, 'RangeError', /^fastloss: runPlan: no plan in that slot$/);
    expect(value(o.tooManyArgs)).toBe(mean);
    expectError('missing', 'TypeError', /^torch\.mseLoss: input 1 is required/);
    expectError('short', 'RangeError', /^torch\.mseLoss: input 1 has length 7; shape \[8\] needs 8/);
    expectError('long', 'RangeError', /^torch\.mseLoss: input 1 has length 9; shape \[8\] needs 8/);
    expectError('detached', 'TypeError', /^torch\.mseLoss: input 1 is backed by a detached ArrayBuffer/);
    expectError('resizedTracking', 'RangeError', /^torch\.mseLoss: input 1 has length 7; shape \[8\] needs 8/);
    expectError('resizedOutOfBounds', 'RangeError', /^torch\.mseLoss: input 1 has length 0; shape \[8\] needs 8/);
    expect(value(o.shared)).toBe(mean);
    // runPlan reads a view as bytes / 4 elements: a Float64Array's length misses the plan, so run()'s full check names it
    expectError('float64', 'TypeError', /^torch\.mseLoss: input 1 has the wrong element type/);
    expectError('float64Short', 'TypeError', /^torch\.mseLoss: input 1 has the wrong element type/);
    // 32 bytes are 8 four-byte elements to runPlan: read inside the view, a number (the facade never passes one)
    expect(typeof value(o.uint8)).toBe('number');
    expect(typeof value(o.dataView)).toBe('number');  // its 32 bytes, likewise
    expectError('number', 'TypeError', /^torch\.mseLoss: input 1 must be a typed array/);
    expectError('outsOverlap', 'RangeError', /^torch\.mseLoss: output 1 overlaps another output in memory/);
    expectError('outOverlapsInput', 'RangeError', /^torch\.mseLoss: output 0 overlaps input 0 in memory/);
    expectError('sharedOutsOverlap', 'RangeError', /^torch\.mseLoss: output 1 overlaps another output in memory/);
    expectError('gradMissing', 'TypeError', /^torch\.mseLoss: grad 0 is required/);
    expectError('outShort', 'RangeError', /^torch\.mseLoss: opts\.out has length 7; shape \[8\] needs 8/);
    expectError('outDetached', 'TypeError', /^torch\.mseLoss: opts\.out is backed by a detached ArrayBuffer/);
    expectError('outFloat64', 'TypeError', /^torch\.mseLoss: opts\.out has the wrong element type/);
    expectError('gradOutputDetached', 'TypeError', /^torch\.mseLoss: gradOutput 0 is backed by a detached ArrayBuffer/);
    expectError('gradOutputShort', 'RangeError', /^torch\.mseLoss: gradOutput 0 has length 3; shape \[8\] needs 8/);
    expectError('gradOutputOverlaps', 'RangeError', /^torch\.mseLoss: output 1 overlaps gradOutput in memory/);
    expectError('maskIntGotFloat', 'RangeError', /^torch\.nllLoss: /);
    expect(o.maskFloatGotInt.ok).toBe(true);
  });
});

describe('12. file mappings (mapFile; issue 14): bad arguments, lost pages, foreign SIGBUS', () => {
  const onLinux = process.platform === 'linux' ? test : test.skip;
  const nat = `const { native } = require(require('path').join(__dist, '..', 'core', 'native.js'));
      const fs = require('fs'), os = require('os'), path = require('path');
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-map-crash-')), 'f.bin');
      fs.writeFileSync(file, Buffer.from(new Float32Array(1 << 18).fill(1).buffer));
      const fd = fs.openSync(file, 'r');`;

  test('bad arguments: TypeError / RangeError naming the function and argument', () => {
    const r = run(`${nat}
      const m = native.mapFile(fd, 0, 4096);
      report({
        fdType: outcome(() => native.mapFile('3', 0, 1)),
        fdNeg: outcome(() => native.mapFile(-1, 0, 1)),
        offFrac: outcome(() => native.mapFile(fd, 0.5, 1)),
        offHuge: outcome(() => native.mapFile(fd, 2 ** 60, 1)),
        lenZero: outcome(() => native.mapFile(fd, 0, 0)),
        lenNaN: outcome(() => native.mapFile(fd, 0, NaN)),
        window: outcome(() => native.mapFile(fd, 0, 1, new ArrayBuffer(8))),
        windowSmall: m === null ? { ok: false, type: 'RangeError', message: 'mapFile: length (no mmap here)' } : outcome(() => native.mapFile(fd, 0, 1 << 30, m[0])),
        unmapOther: outcome(() => native.unmapFile(new ArrayBuffer(8))),
        unmapNone: outcome(() => native.unmapFile()),
        checkOther: outcome(() => native.mapCheck(new Uint8Array(8).buffer, fd)),
        badFd: outcome(() => native.mapFile(1 << 30, 0, 4096)),
        keepType: m === null ? { ok: false, type: 'TypeError', message: 'unmapFile: keep (no mmap here)' } : outcome(() => native.unmapFile(m[0], 'yes')),
      });`);
    const o = results(r);
    expectNamedError(o.fdType, 'mapFile', 'fd');
    expectNamedError(o.fdNeg, 'mapFile', 'fd');
    expectNamedError(o.offFrac, 'mapFile', 'offset');
    expectNamedError(o.offHuge, 'mapFile', 'offset');
    expectNamedError(o.lenZero, 'mapFile', 'length');
    expectNamedError(o.lenNaN, 'mapFile', 'length');
    expectNamedError(o.window, 'mapFile', 'window');
    expectNamedError(o.windowSmall, 'mapFile', 'length');
    expectNamedError(o.unmapOther, 'unmapFile', 'buffer');
    expectNamedError(o.unmapNone, 'unmapFile', 'buffer');
    expectNamedError(o.checkOther, 'mapCheck', 'buffer');
    expectNamedError(o.keepType, 'unmapFile', 'keep');
    expect(value(o.badFd)).toBeNull(); // not mappable: the caller reads instead
  });

  onLinux('pages past the end of the file, a file cut while mapped, reads on every thread: zeros and the flag, no crash', () => {
    const r = run(`${nat}
      const [past] = native.mapFile(fd, 1 << 24, 1 << 20); // entirely past the end
      const a = new Uint8Array(past);
      let s = 0; for (let i = 0; i < a.length; i += 4096) s += a[i]; // SIGBUS: read as zeros
      const [ab, skew] = native.mapFile(fd, 4096, (1 << 20) - 4096);
      const v = new Float32Array(ab, skew, ((1 << 20) - 4096) / 4);
      fs.truncateSync(file, 8192);
      const loss = torch.mseLoss(v, new Float32Array(v.length), { threads: 2, reduction: 'sum' });
      const before = native.mapCheck(ab, fd);
      const remapped = native.mapFile(fd, 0, 4096, ab); // a remap clears the flag
      report({ s, pastCheck: native.mapCheck(past, fd), loss, before, after: native.mapCheck(ab, fd), same: remapped[0] === ab,
        unmapped: native.unmapFile(ab), again: native.unmapFile(ab), length: v.length, checkDetached: outcome(() => native.mapCheck(ab, fd)) });`);
    const o = results(r) as unknown as Record<string, unknown>;
    expect(o.s).toBe(0);
    expect(o.pastCheck).toBe(-1);
    expect(o.before).toBe(-1);
    expect(o.after).toBe(8192);
    expect(o.same).toBe(true);
    // 4096 bytes of ones survive the cut (bytes 4096..8191 of the file).
    expect(dec(o.loss)).toBe(1024);
    expect(o.unmapped).toBe(true);
    expect(o.again).toBe(false);
    expect(o.length).toBe(0);
    expectNamedError(o.checkDetached as Outcome, 'mapCheck', 'buffer');
  });

  onLinux('unmapFile(buffer, true) keeps the window attached: the file released, zeros, a later mapFile into it reads again', () => {
    const r = run(`${nat}
      const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith(file)).length;
      const [ab, skew] = native.mapFile(fd, 4096, 8192);
      const v = new Float32Array(ab, skew, 2048);
      const before = [v[0], v[2047], maps()];
      fs.truncateSync(file, 4096); // the mapped bytes are gone: a read faults (SIGBUS, zeros, the flag)
      let s = 0; for (let i = 0; i < v.length; i += 1024) s += v[i];
      const flagged = native.mapCheck(ab, fd);
      const kept = native.unmapFile(ab, true);
      const after = { length: v.length, sum: v.reduce((a, b) => a + b, 0), maps: maps(), check: native.mapCheck(ab, fd) };
      fs.writeFileSync(file, Buffer.from(new Float32Array(1 << 12).fill(2).buffer));
      const again = native.mapFile(fd, 4096, 4096, ab);
      const w = new Float32Array(again[0], again[1], 1024);
      report({ before, s, flagged, kept, after, same: again[0] === ab, first: w[0], last: w[1023], check: native.mapCheck(ab, fd),
        released: native.unmapFile(ab), length: w.length });`);
    expect(results(r)).toEqual({
      before: [1, 1, 1], s: 0, flagged: -1, kept: true,
      after: { length: 2048, sum: 0, maps: 0, check: 4096 }, // attached, zeros, no file pages, the flag cleared
      same: true, first: 2, last: 2, check: 16384, released: true, length: 0,
    });
  });

  onLinux('a view of a mapped window as an output (read-only memory): a TypeError naming it, nothing written, no crash', () => {
    const r = run(`${nat}
      const [ab, skew] = native.mapFile(fd, 0, 1 << 20);
      const n = 1 << 16;
      const view = new Float32Array(ab, skew, n); // the file's ones
      const part = new Float32Array(ab, skew + 4 * 100, 8); // a small view inside the window
      const x = new Float32Array(n).fill(3), y = new Float32Array(n);
      const out = {
        none: outcome(() => torch.mseLoss(x, y, { reduction: 'none', out: view, threads: 2 })),
        small: outcome(() => torch.mseLoss(x.subarray(0, 8), y.subarray(0, 8), { reduction: 'none', out: part })),
        grad: outcome(() => torch.mseLoss.withGrad(x, y, { out: { grad: view } })),
        backward: outcome(() => keras.meanSquaredError.backward(y, x, { out: view })),
      };
      let asyncOutcome;
      torch.mseLoss.async(x, y, { reduction: 'none', out: view }).then(
        () => { asyncOutcome = { ok: true }; },
        (e) => { asyncOutcome = { ok: false, type: e.constructor.name, message: e.message }; },
      ).then(() => {
        const read = { first: view[0], last: view[n - 1], partFirst: part[0] };
        native.unmapFile(ab, true); // a kept (pooled) window: still read-only
        const kept = outcome(() => torch.mseLoss(x, y, { reduction: 'none', out: new Float32Array(ab, 0, n) }));
        report({ ...out, async: asyncOutcome, kept, ...read });
      });`);
    const o = results(r) as unknown as Record<string, Outcome & { message?: string }> & { first: number; last: number; partFirst: number };
    for (const k of ['none', 'small', 'async', 'kept']) {
      expectNamedError(o[k], 'torch.mseLoss', 'opts.out', ['TypeError']);
      expect(o[k].message).toMatch(/mapped file \(read-only\)/);
    }
    expectNamedError(o.grad, 'torch.mseLoss', 'opts.out.grad', ['TypeError']);
    expectNamedError(o.backward, 'keras.meanSquaredError', 'opts.out', ['TypeError']);
    expect([o.first, o.last, o.partFirst]).toEqual([1, 1, 1]); // nothing written
  });

  onLinux('a buffer given to structuredClone with transfer stays readable, and unmapFile after it is harmless', () => {
    const r = run(`${nat}
      const [ab, skew] = native.mapFile(fd, 0, 4096);
      const moved = structuredClone(ab, { transfer: [ab] }); // Node copies external buffers (or detaches them)
      const unmapped = native.unmapFile(ab);
      report({ first: new Float32Array(moved, skew, 1)[0], unmapped: typeof unmapped });`);
    expect(results(r)).toEqual({ first: 1, unmapped: 'boolean' });
  });

  onLinux('a SIGBUS that is not ours still ends the process as without fastloss', () => {
    const r = runChild(`${nat}
      native.mapFile(fd, 0, 4096); // installs the handler
      process.kill(process.pid, 'SIGBUS');
      setTimeout(() => report('survived'), 200);`);
    expect(r.signal).toBe('SIGBUS');
    expect(r.result).toBeUndefined();
  });
});

describe('13. runPlan (the fast path) given any view, directly', () => {
  // plannedArrayArg reads an array's bytes as bytes / 4 elements: whatever the view, the kernel
  // reads and writes inside it, or the call gets run()'s error.
  test('views of other types, offsets, shrunk resizable buffers, shared memory: a number or an error, no crash', () => {
    const r = run(`
      const { native, params, setRawCall, FLAG_LOSS, FLAG_GRAD } = require(__dist.replace(/index\\.js$/, 'core/native.js'));
      const x = new Float32Array(8).fill(1);
      const rab = new ArrayBuffer(32, { maxByteLength: 64 });
      const tracking = new Float32Array(rab);
      const fixed = new Float32Array(rab, 0, 8);
      rab.resize(16);  // fixed is out of bounds now, tracking has 4 elements
      const views = () => ({ u8: new Uint8Array(32), u8end: new Uint8Array(new ArrayBuffer(40), 8), f64: new Float64Array(4),
        dv: new DataView(new ArrayBuffer(32)), tracking, fixed, big: new BigInt64Array(4), sab: new Float32Array(new SharedArrayBuffer(32)),
        atEnd: new Float32Array(new ArrayBuffer(32), 32), obj: {}, num: 5 });
      const o = {};
      setRawCall('torch.mseLoss', { flags: FLAG_LOSS, reduction: 1, shape: [8] });
      native.setPlan(4091, params, 0);
      for (const [k, v] of Object.entries(views())) o['in_' + k] = outcome(() => native.runPlan(4091, x, v));
      setRawCall('torch.mseLoss', { flags: FLAG_GRAD, reduction: 1, shape: [8], gradCount: 1 });
      native.setPlan(4092, params, 0);
      for (const [k, v] of Object.entries(views())) o['grad_' + k] = outcome(() => { native.runPlan(4092, x, x.map(() => 0), v); return 0; });
      report(o);`);
    const o = results(r);
    expect(Object.keys(o)).toHaveLength(22);
    for (const [k, v] of Object.entries(o)) {
      if (!v.ok) expect(`${k}: ${v.type}: ${v.message}`).toMatch(/: (TypeError|RangeError): (torch\.mseLoss|fastloss): /);
    }
    for (const k of ['u8', 'u8end', 'f64', 'dv', 'sab']) expect([k, o[`in_${k}`].ok, o[`grad_${k}`].ok]).toEqual([k, true, true]);
    for (const k of ['tracking', 'fixed', 'atEnd', 'obj', 'num']) expect([k, o[`in_${k}`].ok]).toEqual([k, false]);
  });
});
