'use strict';
// TensorFlow.js in Node on the WebAssembly backend (@tensorflow/tfjs-backend-wasm).
//
// How the .wasm file is found in Node: the backend's Emscripten glue (dist/tf-backend-wasm.node.js)
// reads the binary with fs.readFileSync from its own directory (scriptDirectory = __dirname);
// which of the three binaries it asks for depends on two feature flags:
//   WASM_HAS_SIMD_SUPPORT         WebAssembly.validate on a SIMD snippet: true on Node >= 16
//   WASM_HAS_MULTITHREAD_SUPPORT  hard-wired to false when IS_NODE (tfjs issue #3830); forcing it
//                                 on fails, because the pthread workers are started from blob:
//                                 URLs, which Node's worker_threads refuse (ERR_WORKER_PATH).
// So in Node the flavour is tfjs-backend-wasm-simd.wasm, one thread. We pass absolute paths with
// setWasmPaths (so it works from any cwd or bundle) and record the file actually read.
const fs = require('fs');
const path = require('path');

async function loadTfjs() {
  let tf;
  let wasm;
  try {
    tf = require('@tensorflow/tfjs');
    wasm = require('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return { tf: null, info: { available: false, note: `tfjs not installed (${e.code || e.message}); run npm install` } };
  }
  const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const names = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  const map = {};
  for (const n of names) map[n] = path.join(dir, n);
  wasm.setWasmPaths(map);

  const read = [];
  const orig = fs.readFileSync;
  fs.readFileSync = function (file, ...rest) {
    if (typeof file === 'string' && file.endsWith('.wasm')) read.push(file);
    return orig.call(this, file, ...rest);
  };
  let ok = false;
  let error = null;
  try {
    ok = await tf.setBackend('wasm');
    await tf.ready();
  } catch (e) {
    error = e && e.message ? e.message : String(e);
  } finally {
    fs.readFileSync = orig;
  }
  if (!ok || tf.getBackend() !== 'wasm')
    return { tf: null, info: { available: false, note: `tfjs wasm backend failed to initialize: ${error || 'unknown'}` } };

  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const file = read.length ? path.basename(read[read.length - 1]) : null;
  const flavour = file ? file.replace(/^tfjs-backend-wasm-?/, '').replace(/\.wasm$/, '') || 'plain' : 'unknown';
  return {
    tf,
    info: {
      available: true,
      version: tf.version.tfjs,
      backend: tf.getBackend(),
      wasmFile: file,
      flavour,
      simd,
      multithread: threads,
      threads: wasm.getThreadsCount(),
      note: threads ? '' : 'Node: tfjs disables WASM threads (IS_NODE), so tfjs-wasm runs on 1 thread',
    },
  };
}

module.exports = { loadTfjs };
