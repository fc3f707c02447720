// Issue 8, "wrong results and broken promises": each in a fresh process (none should crash, but a
// wrong check could turn into one). The memory kept alive by the last call is in leak.test.ts.
import { dec, expectClean, expectNamedError, Outcome, runChild, ChildResult, CHILD_RNG } from './helpers/child';
import { isaLevels } from './helpers/parity';

const RNG = CHILD_RNG;

function run(code: string, opts: Parameters<typeof runChild>[1] = {}): ChildResult {
  const r = runChild(RNG + code, opts);
  expectClean(r);
  expect(r.result).toBeDefined();
  return r;
}

describe('keras.binaryCrossentropy (and every keras loss on the same data) is thread-count independent', () => {
  test.each(isaLevels())('[%s] 1, 2, 3 (and 5, 8 where allowed) threads give the same bits', (level) => {
    const r = run(`
      const res = {};
      const shapes = [[2400, 4], [9000, 4], [1, 40000], [40000, 1], [600, 100]];
      const cases = [];
      for (const shape of shapes) {
        const n = shape[0] * shape[1];
        const yt = rnd(n, n + 1, 0, 1).map((v) => (v > 0.5 ? 1 : 0)), yp = rnd(n, n + 2, 0, 1), logits = rnd(n, n + 3, -6, 6);
        const w = rnd(shape[0], n + 4, 0, 2);
        for (const [name, pred] of [['binaryCrossentropy', yp], ['binaryFocalCrossentropy', yp], ['meanSquaredLogarithmicError', yp], ['logCosh', logits]])
          for (const opts of [{}, { sampleWeight: w }, { fromLogits: true }, { fromLogits: true, sampleWeight: w, labelSmoothing: 0.1 }, { reduction: 'none' }, { reduction: 'sum', sampleWeight: w }]) {
            if (opts.fromLogits !== undefined && name !== 'binaryCrossentropy' && name !== 'binaryFocalCrossentropy') continue;
            if (opts.labelSmoothing !== undefined && name !== 'binaryCrossentropy' && name !== 'binaryFocalCrossentropy') continue;
            cases.push([name + ' ' + JSON.stringify(shape) + ' ' + JSON.stringify({ ...opts, sampleWeight: opts.sampleWeight ? 'w' : undefined }),
              () => { const o = { ...opts, shape }; const f = keras[name](yt, opts.fromLogits ? logits : pred, o); const g = keras[name].withGrad(yt, opts.fromLogits ? logits : pred, o); return [f, g.loss, g.grad]; }]);
          }
      }
      const bits = (v) => v instanceof Float32Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : String(Object.is(v, -0) ? '-0' : v);
      const differ = [];
      // 5 and 8 only where the thread bound allows them (it may be the CPU count)
      const counts = [1, 2, 3, 5, 8].filter((t) => { try { fl.setNumThreads(t); return true; } catch { return false; } });
      for (const [label, f] of cases) {
        let ref = null;
        for (const t of counts) {
          fl.setNumThreads(t);
          const got = f().map(bits).join('|');
          if (ref === null) ref = got;
          else if (got !== ref) { differ.push(label + ' threads ' + t); }
        }
      }
      report({ checked: cases.length * (counts.length - 1), counts, differ });`, { env: { FASTLOSS_ISA: level }, timeout: 120000 });
    const o = r.result as { checked: number; counts: number[]; differ: string[] };
    expect(o.counts.slice(0, 3)).toEqual([1, 2, 3]);
    expect(o.checked).toBeGreaterThan(100);
    expect(o.differ).toEqual([]);
  });
});

describe('outputs overlapping inputs through another SharedArrayBuffer object over the same memory', () => {
  test('structuredClone(sab): crossEntropy.withGrad with grad aliasing input gives a RangeError naming opts.out', () => {
    const r = run(`
      const n = 20000;
      const sab = new SharedArrayBuffer(4 * n);
      const input = new Float32Array(sab); input.set(rnd(n, 1));
      const alias = new Float32Array(structuredClone(sab));
      const before = Buffer.from(sab).toString('base64');
      const t = new Int32Array([7]);
      const res = {
        same: alias.buffer === input.buffer,
        ce: outcome(() => torch.crossEntropy.withGrad(input, t, { shape: [1, n], out: { grad: alias } })),
        mseNone: outcome(() => torch.mseLoss(input, rnd(n, 2), { reduction: 'none', out: alias })),
        mseTarget: outcome(() => torch.mseLoss.backward(rnd(n, 2), input, { out: alias })),
        kerasLoss: outcome(() => keras.meanSquaredError.withGrad(input, rnd(n, 3), { shape: [n, 1], reduction: 'none', out: { loss: new Float32Array(structuredClone(sab), 0, n) } })),
        outs: outcome(() => { const s2 = new SharedArrayBuffer(4 * n); const a = new Float32Array(s2); const b = new Float32Array(structuredClone(s2)); return torch.mseLoss.withGrad(rnd(n, 4), rnd(n, 5), { reduction: 'none', out: { loss: a, grad: b } }); }),
        async: null,
      };
      torch.crossEntropy.withGradAsync(input, t, { shape: [1, n], out: { grad: alias } }).then((v) => ({ ok: true, value: 0 }), (e) => ({ ok: false, type: e.constructor.name, message: e.message })).then((a) => {
        res.async = a;
        res.unchanged = Buffer.from(sab).toString('base64') === before;
        report(res);
      });`);
    const o = r.result as Record<string, Outcome> & { same: boolean; unchanged: boolean };
    expect(o.same).toBe(false);
    expectNamedError(o.ce, 'torch.crossEntropy', 'opts.out', ['RangeError']);
    expectNamedError(o.mseNone, 'torch.mseLoss', 'opts.out', ['RangeError']);
    expectNamedError(o.mseTarget, 'torch.mseLoss', 'opts.out', ['RangeError']);
    expectNamedError(o.kerasLoss, 'keras.meanSquaredError', 'opts.out', ['RangeError']);
    expectNamedError(o.outs, 'torch.mseLoss', 'opts.out', ['RangeError']);
    expectNamedError(o.async, 'torch.crossEntropy', 'opts.out', ['RangeError']);
    expect(o.unchanged).toBe(true);
  });

  test('non-overlapping parts of one SharedArrayBuffer through two objects are still accepted', () => {
    const r = run(`
      const n = 1000;
      const sab = new SharedArrayBuffer(8 * n);
      const input = new Float32Array(sab, 0, n); input.set(rnd(n, 1));
      const out = new Float32Array(structuredClone(sab), 4 * n, n);
      report(outcome(() => torch.mseLoss(input, rnd(n, 2), { reduction: 'none', out }).length));`);
    expect(dec((r.result as { value: unknown }).value)).toBe(1000);
  });
});

describe('options that overflow float32 are rejected, not silently changed', () => {
  const cases: [string, string, string, string][] = [
    ['torch.tripletMarginLoss', '[a, a, a]', 'margin', '1e300'],
    ['torch.tripletMarginLoss', '[a, a, a]', 'margin', '-1e300'],
    ['torch.tripletMarginLoss', '[a, a, a]', 'eps', '1e300'],
    ['torch.tripletMarginLoss', '[a, a, a]', 'p', '1e300'],
    ['torch.marginRankingLoss', '[a, a, pm]', 'margin', '1e300'],
    ['torch.hingeEmbeddingLoss', '[a, pm]', 'margin', '1e300'],
    ['torch.cosineEmbeddingLoss', '[a, a, pm1]', 'margin', '1e300'],
    ['torch.multiMarginLoss', '[a, idx]', 'margin', '1e300'],
    ['torch.huberLoss', '[a, a]', 'delta', '1e-300'],
    ['torch.huberLoss', '[a, a]', 'delta', '1e300'],
    ['torch.smoothL1Loss', '[a, a]', 'beta', '1e300'],
    ['keras.huber', '[a, a]', 'delta', '1e300'],
    ['torch.sigmoidFocalLoss', '[a, a]', 'alpha', '1e300'],
    ['torch.poissonNllLoss', '[a, a]', 'eps', '1e-300'],
    ['torch.gaussianNllLoss', '[a, a, a]', 'eps', '1e-300'],
  ];
  test.each(cases)('%s %s: opts.%s = %s gives a RangeError naming the option', (name, args, opt, v) => {
    const r = run(`
      const a = rnd(8, 1, 0.1, 2), pm = new Float32Array(8).fill(1), pm1 = new Float32Array([1]), idx = new Int32Array([1]);
      const [ns, f] = ${JSON.stringify(name)}.split('.');
      report({ f: outcome(() => fl[ns][f](...${args}, { ${opt}: ${v} })), g: outcome(() => fl[ns][f].withGrad(...${args}, { ${opt}: ${v} })) });`);
    const o = r.result as Record<string, Outcome>;
    expectNamedError(o.f, name, `opts.${opt}`, ['RangeError']);
    expectNamedError(o.g, name, `opts.${opt}`, ['RangeError']);
  });
});

describe('errors that named nothing', () => {
  test('a Proxy of a Float32Array or Object.create(Float32Array.prototype): a TypeError naming the argument, in every call mode', () => {
    const r = run(`(async () => {
      const x = rnd(4, 1), y = rnd(4, 2);
      const fakes = { proxy: () => new Proxy(new Float32Array(4), {}), create: () => Object.create(Float32Array.prototype), proxyI: () => new Proxy(new Int32Array(1), {}) };
      const res = {};
      for (const [kind, fake] of Object.entries(fakes)) {
        const f32 = kind === 'proxyI' ? () => new Proxy(new Float32Array(4), { get: (t, k) => t[k] }) : fake;
        const modes = {
          call: (a, b, o) => torch.mseLoss(a, b, o), backward: (a, b, o) => torch.mseLoss.backward(a, b, o), withGrad: (a, b, o) => torch.mseLoss.withGrad(a, b, o),
        };
        for (const [m, call] of Object.entries(modes)) {
          res[kind + ' input ' + m] = [outcome(() => call(f32(), y)), 'torch.mseLoss', 'input'];
          res[kind + ' target ' + m] = [outcome(() => call(x, f32())), 'torch.mseLoss', 'target'];
        }
        res[kind + ' out'] = [outcome(() => torch.mseLoss(x, y, { reduction: 'none', out: f32() })), 'torch.mseLoss', 'opts.out'];
        res[kind + ' grad out'] = [outcome(() => torch.mseLoss.backward(x, y, { out: f32() })), 'torch.mseLoss', 'opts.out'];
        res[kind + ' gradOutput'] = [outcome(() => torch.mseLoss.backward(x, y, { reduction: 'none', gradOutput: f32() })), 'torch.mseLoss', 'opts.gradOutput'];
        res[kind + ' sampleWeight'] = [outcome(() => keras.meanSquaredError(x, y, { shape: [4, 1], sampleWeight: f32() })), 'keras.meanSquaredError', 'opts.sampleWeight'];
        res[kind + ' weight'] = [outcome(() => torch.crossEntropy(x, new Int32Array([1]), { weight: f32() })), 'torch.crossEntropy', 'opts.weight'];
        res[kind + ' index target'] = [outcome(() => torch.nllLoss(x, kind === 'create' ? Object.create(Int32Array.prototype) : new Proxy(new Int32Array(1), {}))), 'torch.nllLoss', 'target'];
        res[kind + ' async'] = [await outcomeAsync(() => torch.mseLoss.async(f32(), y)), 'torch.mseLoss', 'input'];
        res[kind + ' withGradAsync'] = [await outcomeAsync(() => keras.logCosh.withGradAsync(x, f32())), 'keras.logCosh', 'yPred'];
      }
      report(res);
    })();`);
    const o = r.result as Record<string, [Outcome, string, string]>;
    expect(Object.keys(o).length).toBeGreaterThan(30);
    const bad: string[] = [];
    for (const [k, [out, fn, arg]] of Object.entries(o)) {
      try {
        expectNamedError(out, fn, arg, ['TypeError']);
      } catch {
        bad.push(`${k}: ${out.ok ? 'returned a result' : `${out.type}: ${out.message}`}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test("shape [2**40, 0] with reduction 'none' names the function and opts.shape", () => {
    const r = run(`
      const e = new Float32Array(0);
      report({ mse: outcome(() => torch.mseLoss(e, e, { shape: [2 ** 40, 0], reduction: 'none' })),
               keras: outcome(() => keras.meanSquaredError(e, e, { shape: [2 ** 40, 0], reduction: 'none' })),
               trip: outcome(() => torch.tripletMarginLoss(e, e, e, { shape: [2 ** 40, 0], reduction: 'none' })) });`, { timeout: 20000 });
    const o = r.result as Record<string, Outcome>;
    expectNamedError(o.mse, 'torch.mseLoss', 'opts.shape', ['RangeError']);
    expectNamedError(o.keras, 'keras.meanSquaredError', 'opts.shape', ['RangeError']);
    expectNamedError(o.trip, 'torch.tripletMarginLoss', 'opts.shape', ['RangeError']);
  });

  test('a BigInt in shape names opts.shape and shows the value with its n suffix', () => {
    const r = run(`
      const a = rnd(12, 1);
      report({ both: outcome(() => torch.mseLoss(a, a, { shape: [3n, 4n] })), one: outcome(() => keras.meanSquaredError(a, a, { shape: [3, 4n] })) });`);
    const o = r.result as Record<string, Outcome>;
    expectNamedError(o.both, 'torch.mseLoss', 'opts.shape');
    expect((o.both as { message: string }).message).toMatch(/3n/);
    expectNamedError(o.one, 'keras.meanSquaredError', 'opts.shape');
    expect((o.one as { message: string }).message).toMatch(/4n/);
  });

  test("setNumThreads('2') is a TypeError that shows it was a string", () => {
    const r = run(`report(outcome(() => fl.setNumThreads('2')))`);
    const o = r.result as Outcome;
    expectNamedError(o, 'setNumThreads', 'n', ['TypeError']);
    expect((o as { message: string }).message).toMatch(/string|'2'|"2"/);
  });

  test("an invalid FASTLOSS_ISA ('avx9') is an Error about FASTLOSS_ISA, not 'not built for this platform'", () => {
    const r = runChild(`report(outcome(() => require(__dist)))`, { noLoad: true, env: { FASTLOSS_ISA: 'avx9' } });
    expect(r.signal).toBeNull();
    const o = r.result as Outcome;
    expect(o.ok).toBe(false);
    const msg = (o as { message: string }).message;
    expect(msg).toMatch(/FASTLOSS_ISA/);
    expect(msg).toMatch(/avx9/);
    expect(msg).not.toMatch(/not built for this platform|npm rebuild/);
  });

  test('an empty FASTLOSS_ISA is treated as unset', () => {
    const unset = run(`report(fl.info().isa)`, { env: { FASTLOSS_ISA: undefined } });
    const empty = runChild(`report(outcome(() => require(__dist).info().isa))`, { noLoad: true, env: { FASTLOSS_ISA: '' } });
    expect(empty.signal).toBeNull();
    expect(empty.result).toEqual({ ok: true, value: unset.result });
  });
});
