#!/usr/bin/env node
'use strict';
// llvm-mca bottleneck summary of the hot loops of the compute-bound kernels (issue 12):
// compiles scripts/mca/loops.cpp with -S and the flags CMakeLists.txt gives the ISA level (the
// kernels' own code, inlined into one wrapper per loop), takes the largest innermost loop of each
// wrapper and runs llvm-mca-19 on it for each -mcpu, printing IPC, block reciprocal throughput
// (cycles per loop iteration), cycles per element and the most loaded resources.
// usage: node scripts/mca.js [--level avx512|avx2] [--mcpu sapphirerapids,znver4,...] [--loop xent,...] [--asm]
// Needs g++ and llvm-mca-19 (Debian: apt-get install -y llvm-19; llvm 14 has no znver4 model).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.join(__dirname, '..');
const LOOPS = {
  xent: { define: 'MCA_XENT', what: 'crossEntropy long row: sum exp(x - max) (Xent::expSum, forward)' },
  xentgrad: { define: 'MCA_XENTGRAD', what: 'crossEntropy long row with gradient: sum exp(x - max), stored into g (Xent::expSum; splitRows chunks, probability targets)' },
  xentfused: { define: 'MCA_XENTFUSED', what: 'crossEntropy long row: sum exp(x - max), the next row\'s max in the same loop (Xent::rowsFused, forward)' },
  xentgradfused: { define: 'MCA_XENTGRADFUSED', what: 'crossEntropy long row with gradient: exp(x - max) stored into g and summed, the next row\'s max in the same loop (Xent::rowsFused)' },
  xentgradscale: { define: 'MCA_XENTGRADSCALE', what: 'crossEntropy long row with gradient: exp(x - max) stored into g and summed, the next row\'s max and the previous row\'s rescale in the same loop (Xent::rowsFused, index targets)' },
  exp: { define: 'MCA_PRIM=exp', what: 'vmath::exp summed in 16 float lanes (probe.exp)' },
  expNonPositive: { define: 'MCA_PRIM=expNonPositive', what: 'vmath::expNonPositive (probe.expNonPositive)' },
  expInRange: { define: 'MCA_PRIM=expInRange', what: 'vmath::expInRange (probe.expInRange)' },
  log: { define: 'MCA_PRIM=log', what: 'vmath::log (probe.log)' },
  logPositive: { define: 'MCA_PRIM=logPositive', what: 'vmath::logPositive (probe.logPositive)' },
  log1p: { define: 'MCA_PRIM=log1p', what: 'vmath::log1p (probe.log1p)' },
  log1pPositive: { define: 'MCA_PRIM=log1pPositive', what: 'vmath::log1pPositive (probe.log1pPositive)' },
  tanh: { define: 'MCA_PRIM=tanh', what: 'vmath::tanh (probe.tanh)' },
  poisson: { define: 'MCA_POISSON', first: true, what: 'torch.poissonNllLoss forward (sumLoop over PoissonLogInput::loss: blockSum, the losses pass of fast(): expInRange and the range key)' },
  poissongrad: { define: 'MCA_POISSONGRAD', first: true, what: 'torch.poissonNllLoss with gradient (sumGradLoop over PoissonLogInput::both: blockSum, the losses pass of fast())' },
  kldiv: { define: 'MCA_KLDIV', what: 'torch.klDiv forward (sumLoop over KlDiv::loss: blockSum, the losses pass)' },
  kldivgrad: { define: 'MCA_KLDIVGRAD', what: 'torch.klDiv with gradient (sumGradLoop over KlDiv: blockSum, the losses pass)' },
  msle: { define: 'MCA_MSLE', what: 'keras.meanSquaredLogarithmicError forward (sumLoop over SquaredLogError::loss)' },
  mslegrad: { define: 'MCA_MSLEGRAD', what: 'keras.meanSquaredLogarithmicError with gradient (sumGradLoop over SquaredLogError)' },
  logcosh: { define: 'MCA_LOGCOSH', what: 'keras.logCosh forward (sumLoop over LogCosh)' },
  logcoshgrad: { define: 'MCA_LOGCOSHGRAD', what: 'keras.logCosh with gradient (sumGradLoop over LogCosh::both)' },
  bcelogits: { define: 'MCA_BCELOGITS', what: 'torch.binaryCrossEntropyWithLogits forward (sumLoop over BceWithLogits::loss)' },
  kcat: { define: 'MCA_KCAT', what: 'keras.categoricalCrossentropy probabilities, long row forward (catLongRow)' },
  kcatgrad: { define: 'MCA_KCATGRAD', what: 'keras.categoricalCrossentropy probabilities, long row gradient pass 1 (catLongRow)' },
  focal: { define: 'MCA_FOCAL', what: 'keras.categoricalFocalCrossentropy probabilities, long row forward (focalProbRow)' },
  focalgrad: { define: 'MCA_FOCALGRAD', what: 'keras.categoricalFocalCrossentropy probabilities, long row with gradient (focalProbRow)' },
  kbce: { define: 'MCA_KBCE', what: 'keras.binaryCrossentropy probabilities forward (sumLoop over KerasBce)' },
  kbcegrad: { define: 'MCA_KBCEGRAD', what: 'keras.binaryCrossentropy probabilities with gradient (sumGradLoop over KerasBce)' },
  kbcehard: { define: 'MCA_KBCEHARD', what: 'keras.binaryCrossentropy probabilities, hard labels, forward (sumLoop over KerasBceHard)' },
  kbcehardgrad: { define: 'MCA_KBCEHARDGRAD', what: 'keras.binaryCrossentropy probabilities, hard labels, with gradient (sumGradLoop over KerasBceHard)' },
};

function parseArgs(argv) {
  const o = { level: 'avx512', mcpus: ['sapphirerapids', 'icelake-server', 'znver4'], loops: Object.keys(LOOPS), asm: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--level') o.level = argv[++i];
    else if (a === '--mcpu') o.mcpus = argv[++i].split(',');
    else if (a === '--loop') o.loops = argv[++i].split(',');
    else if (a === '--asm') o.asm = true;
    else throw new Error(`mca: unknown option ${a}`);
  }
  return o;
}

// ISA_FLAGS_<level> from CMakeLists.txt, plus the flags every kernel object gets there.
function isaFlags(level) {
  const cmake = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  const m = cmake.match(new RegExp(`set\\(ISA_FLAGS_${level}\\s*([^)]*)\\)`));
  if (!m) throw new Error(`mca: no ISA_FLAGS_${level} in CMakeLists.txt`);
  const common = cmake.match(/\$\{ISA_FLAGS_\$\{level\}\}([^)]*)\)/);
  return ['-O3', ...m[1].replace(/"/g, '').split(/\s+/).filter(Boolean),
    ...(common ? common[1].split(/\s+/).filter(Boolean) : [])];
}

// The innermost loops of function `fn` in GCC's assembly: a label followed, later, by a jump back to it
// with no other label jumped back to inside. Returns arrays of instruction lines.
function innerLoops(asm, fn) {
  const lines = asm.split('\n');
  const start = lines.findIndex((l) => l === `${fn}:`);
  if (start < 0) throw new Error(`mca: ${fn} not in the assembly`);
  let end = lines.findIndex((l, k) => k > start && l.startsWith(`\t.size\t${fn},`));
  if (end < 0) end = lines.length;
  const body = lines.slice(start + 1, end);
  const labelAt = new Map();
  body.forEach((l, k) => { const m = l.match(/^(\.L\w+):/); if (m) labelAt.set(m[1], k); });
  const loops = [];
  body.forEach((l, k) => {
    const m = l.match(/^\tj\w+\t(\.L\w+)$/);
    if (!m || !labelAt.has(m[1]) || labelAt.get(m[1]) >= k) return;
    const from = labelAt.get(m[1]);
    const insts = body.slice(from + 1, k + 1).filter((s) => /^\t[a-z]/.test(s) && !/^\t\./.test(s));
    const innerLabels = body.slice(from + 1, k).filter((s) => /^\.L\w+:/.test(s));
    loops.push({ insts, nested: innerLabels.length > 0 });
  });
  return loops.filter((x) => !x.nested);
}

// Elements per iteration: the vector width of the widest float memory operand (zmm 16, ymm 8, xmm 4
// floats) times the distinct displacements of the most used base(index) pair (an unrolled loop).
function elementsPerIteration(insts) {
  const mem = insts.filter((s) => /^\tv\w+\t-?\w*\(%\w+(,%\w+(,\d)?)?\)/.test(s) && /%[xyz]mm/.test(s));
  const w = mem.some((s) => s.includes('%zmm')) ? 16 : mem.some((s) => s.includes('%ymm')) ? 8 : 4;
  const offsets = new Map();
  for (const s of mem) {
    const m = s.match(/\t(-?\w*)\((%\w+(?:,%\w+(?:,\d)?)?)\)/);
    if (/%r[is]p/.test(m[2])) continue; // constants and spills
    if (!offsets.has(m[2])) offsets.set(m[2], new Set());
    offsets.get(m[2]).add(m[1]);
  }
  const unroll = Math.max(1, ...[...offsets.values()].map((v) => v.size));
  return w * unroll;
}

function summarize(out, elements) {
  const num = (re) => { const m = out.match(re); return m ? Number(m[1]) : NaN; };
  const iterations = num(/Iterations:\s+(\d+)/);
  const cycles = num(/Total Cycles:\s+(\d+)/);
  const uops = num(/Total uOps:\s+(\d+)/);
  const ipc = num(/IPC:\s+([\d.]+)/);
  const rthroughput = num(/Block RThroughput:\s+([\d.]+)/);
  // Resource pressure per iteration: header line of resource names, then the values line.
  const rp = out.split('\n');
  const k = rp.findIndex((l) => l.startsWith('Resource pressure per iteration:'));
  let top = [];
  if (k >= 0) {
    const names = rp[k + 1].trim().split(/\s+/);
    const vals = rp[k + 2].trim().split(/\s+/).map(Number);
    const legend = new Map();
    for (const l of rp) {
      const m = l.match(/^\[(\w+(?:\.\d+)?)\]\s+-\s+(\S+)/);
      if (m) legend.set(`[${m[1]}]`, m[2]);
    }
    top = names.map((n, i) => ({ n: legend.get(n) || n, v: vals[i] })).filter((x) => Number.isFinite(x.v))
      .sort((a, b) => b.v - a.v).slice(0, 3);
  }
  const bottleneck = (out.match(/Cycles with backend pressure increase \[ ([\d.]+)% \]/) || [])[1];
  const limiter = [];
  for (const m of out.matchAll(/^\s+(Resource Pressure|Data Dependencies):?\s+\[ ([\d.]+)% \]/gm)) limiter.push(`${m[1]} ${m[2]}%`);
  const perIter = cycles / iterations;
  return { uopsPerIter: uops / iterations, ipc, rthroughput, cyclesPerIter: perIter, cyclesPerElement: perIter / elements,
    top, backendPressure: bottleneck, limiter };
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const flags = isaFlags(o.level);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-mca-'));
  console.log(`llvm-mca-19 of the hot loops, ISA level ${o.level} (g++ ${flags.join(' ')})`);
  try {
    for (const name of o.loops) {
      const loop = LOOPS[name];
      if (!loop) throw new Error(`mca: unknown loop ${name} (${Object.keys(LOOPS).join(', ')})`);
      const sFile = path.join(tmp, `${name}.s`);
      execFileSync('g++', ['-std=c++17', ...flags, `-DFASTLOSS_ISA_NS=isa_${o.level}`, `-D${loop.define}`,
        `-I${path.join(root, 'binding', 'kernels')}`, '-S', '-o', sFile, path.join(__dirname, 'mca', 'loops.cpp')]);
      const loops = innerLoops(fs.readFileSync(sFile, 'utf8'), 'mcaLoop');
      if (!loops.length) throw new Error(`mca: no loop found for ${name}`);
      // the main vector loop: the largest of those using the level's widest registers (not a scalar remainder);
      // `first`: the first of them (an op's fast() loop, before the op's own loop for out-of-range blocks)
      const reg = o.level === 'avx512' ? '%zmm' : o.level === 'avx2' ? '%ymm' : '%xmm';
      const vector = loops.filter((l) => l.insts.some((s) => s.includes(reg)));
      const hot = loop.first && vector.length ? vector[0]
        : (vector.length ? vector : loops).reduce((a, b) => (b.insts.length > a.insts.length ? b : a));
      const elements = elementsPerIteration(hot.insts);
      const loopFile = path.join(tmp, `${name}.loop.s`);
      fs.writeFileSync(loopFile, `${hot.insts.join('\n')}\n`);
      console.log(`\n${name}: ${loop.what}\n  ${hot.insts.length} instructions per iteration, ${elements} elements`);
      if (o.asm) console.log(hot.insts.join('\n'));
      for (const mcpu of o.mcpus) {
        const out = execFileSync('llvm-mca-19', [`-mcpu=${mcpu}`, '-iterations=200', '-bottleneck-analysis', loopFile],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        const s = summarize(out, elements);
        console.log(`  ${mcpu.padEnd(15)} uops/it ${s.uopsPerIter.toFixed(1).padStart(5)}  IPC ${s.ipc.toFixed(2)}  ` +
          `block RThroughput ${s.rthroughput.toFixed(1).padStart(5)}  cycles/it ${s.cyclesPerIter.toFixed(1).padStart(5)}  ` +
          `cycles/el ${s.cyclesPerElement.toFixed(2)}\n  ${''.padEnd(15)} busiest: ${s.top.map((t) => `${t.n} ${t.v}`).join(', ')}` +
          (s.limiter.length ? `; cycles with backend pressure ${s.backendPressure}%: ${s.limiter.join(', ')}` : ''));
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
