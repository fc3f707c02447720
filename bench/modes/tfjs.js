'use strict';
// --tfjs: ms per training step of a small tfjs-layers model (Dense IN -> HIDDEN tanh -> C) where the
// loss matters (batch 4096, C = 100), with tfjs' own loss and with fastloss/tfjs's, on the tfjs CPU
// and wasm backends; and the loss alone (value and gradient with respect to the predictions,
// tf.valueAndGrad), which is what the adapter replaces. A step is model.trainOnBatch (SGD).
const path = require('path');
const { median, now, quantile } = require('../lib/harness');
const { sig, ratio, table } = require('../lib/format');
const { rng } = require('../lib/random');

const root = path.join(__dirname, '..', '..');
const IN = 8;
const HIDDEN = 16;

/** The compared losses: tfjs' own (what a tfjs user writes) and fastloss/tfjs's. */
function lossCases(tf, fl) {
  return [
    { name: 'categoricalCrossentropy fromLogits', activation: 'linear', target: 'onehot',
      tfjs: { label: 'tf.losses.softmaxCrossEntropy', fn: (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred) },
      fastloss: { label: 'keras.categoricalCrossentropy({ fromLogits: true })', fn: fl.keras.categoricalCrossentropy({ fromLogits: true }) } },
    { name: 'categoricalCrossentropy (softmax output)', activation: 'softmax', target: 'onehot',
      tfjs: { label: "'categoricalCrossentropy'", fn: 'categoricalCrossentropy' },
      fastloss: { label: 'keras.categoricalCrossentropy()', fn: fl.keras.categoricalCrossentropy() } },
    { name: 'meanSquaredError', activation: 'linear', target: 'real',
      tfjs: { label: "'meanSquaredError'", fn: 'meanSquaredError' },
      fastloss: { label: 'keras.meanSquaredError()', fn: fl.keras.meanSquaredError() } },
  ];
}

// The loss functions tfjs-layers resolves a string to, for the loss-alone timing.
function lossFunction(tf, fn) {
  if (typeof fn === 'function') return fn;
  if (fn === 'categoricalCrossentropy') return (yTrue, yPred) => tf.mean(tf.metrics.categoricalCrossentropy(yTrue, yPred));
  if (fn === 'meanSquaredError') return (yTrue, yPred) => tf.mean(tf.metrics.meanSquaredError(yTrue, yPred));
  throw new Error(`bench --tfjs: no loss-alone form of ${fn}`);
}

function makeData(tf, batch, C, target, seed) {
  const next = rng(seed);
  const x = tf.tensor2d(Float32Array.from({ length: batch * IN }, () => next() * 2 - 1), [batch, IN]);
  let y;
  if (target === 'onehot') {
    const labels = tf.tensor1d(Int32Array.from({ length: batch }, () => Math.floor(next() * C)), 'int32');
    y = tf.tidy(() => tf.oneHot(labels, C).toFloat());
    labels.dispose();
  } else {
    y = tf.tensor2d(Float32Array.from({ length: batch * C }, () => next() * 2 - 1), [batch, C]);
  }
  return { x, y };
}

function makeModel(tf, C, activation) {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: HIDDEN, inputShape: [IN], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tf.layers.dense({ units: C, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

/** ms per call of an async or sync step: warmups, then single calls timed until the budget is spent. */
async function timeSteps(step, cfg) {
  for (let i = 0; i < cfg.warmups; i++) await step();
  const ms = [];
  const end = now() + cfg.budgetMs * 1e6;
  while (ms.length < cfg.minCalls || (now() < end && ms.length < cfg.maxCalls)) {
    const t = now();
    await step();
    ms.push((now() - t) / 1e6);
  }
  return { median: median(ms), p90: quantile(ms, 0.9), calls: ms.length };
}

async function loadBackends(tf, log) {
  const backends = ['cpu'];
  try {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    wasm.setWasmPaths(Object.fromEntries(['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']
      .map((f) => [f, path.join(dir, f)])));
    if (await tf.setBackend('wasm')) backends.push('wasm');
    else log('  --tfjs: the wasm backend did not initialize; CPU only');
  } catch (e) {
    log(`  --tfjs: no wasm backend (${e.message}); CPU only`);
  }
  return backends;
}

async function runTfjs(opts, log) {
  const tf = require('@tensorflow/tfjs');
  tf.env().set('PROD', true);
  const fl = require(path.join(root, 'dist', 'tfjs'));
  const fastloss = require(path.join(root, 'dist'));
  const batch = opts.quick ? 1024 : 4096;
  const C = 100;
  const cfg = opts.quick
    ? { warmups: 2, minCalls: 5, maxCalls: 30, budgetMs: 500 }
    : { warmups: 3, minCalls: 15, maxCalls: 200, budgetMs: 3000 };
  const backends = await loadBackends(tf, log);
  const rows = [];
  for (const backend of backends) {
    await tf.setBackend(backend);
    await tf.ready();
    for (const c of lossCases(tf, fl)) {
      if (opts.filters.length && !opts.filters.some((f) => c.name.includes(f))) continue;
      log(`  --tfjs ${backend}: ${c.name}, batch ${batch}, C = ${C}`);
      const { x, y } = makeData(tf, batch, C, c.target, 7);
      const row = { backend, loss: c.name, batch, C, model: `Dense ${IN}->${HIDDEN} tanh->${C} ${c.activation}` };
      for (const side of ['tfjs', 'fastloss']) {
        const m = makeModel(tf, C, c.activation);
        const optimizer = tf.train.sgd(0.01);
        m.compile({ optimizer, loss: c[side].fn });
        const step = await timeSteps(() => m.trainOnBatch(x, y), cfg);
        // The loss alone: value and gradient with respect to fixed predictions.
        const pred = tf.tidy(() => m.predict(x));
        const fn = lossFunction(tf, c[side].fn);
        const alone = await timeSteps(() => tf.tidy(() => {
          const { value, grad } = tf.valueAndGrad((p) => fn(y, p))(pred);
          grad.dataSync();
          return value.dataSync()[0];
        }), cfg);
        row[side] = { label: c[side].label, step, alone };
        pred.dispose();
        m.dispose();
        optimizer.dispose();
      }
      tf.dispose([x, y]);
      rows.push(row);
    }
  }
  return { tfjs: tf.version.tfjs, backends, threads: fastloss.getNumThreads(), cfg, rows };
}

function printTfjs(rep) {
  const ms = (v) => sig(v, 3);
  const out = [];
  out.push(`tfjs ${rep.tfjs} training steps (model.trainOnBatch, SGD) and the loss alone (tf.valueAndGrad wrt the predictions), ` +
    `ms median (p90); fastloss ${rep.threads} threads; x = tfjs / fastloss`);
  out.push(table(
    [{ title: 'backend', align: 'l' }, { title: 'loss', align: 'l' }, { title: 'batch x C' },
      { title: 'step tfjs' }, { title: 'step fastloss' }, { title: 'x' },
      { title: 'loss tfjs' }, { title: 'loss fastloss' }, { title: 'x' }],
    rep.rows.map((r) => [r.backend, r.loss, `${r.batch} x ${r.C}`,
      `${ms(r.tfjs.step.median)} (${ms(r.tfjs.step.p90)})`, `${ms(r.fastloss.step.median)} (${ms(r.fastloss.step.p90)})`,
      ratio(r.tfjs.step.median, r.fastloss.step.median),
      `${ms(r.tfjs.alone.median)} (${ms(r.tfjs.alone.p90)})`, `${ms(r.fastloss.alone.median)} (${ms(r.fastloss.alone.p90)})`,
      ratio(r.tfjs.alone.median, r.fastloss.alone.median)])));
  out.push(`tfjs losses: ${[...new Set(rep.rows.map((r) => `${r.loss}: ${r.tfjs.label} vs fastloss/tfjs ${r.fastloss.label}`))].join('; ')}`);
  return out.join('\n');
}

module.exports = { runTfjs, printTfjs };
