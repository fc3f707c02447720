// Loads the addon: build/Release (a source build) first, then prebuilds/ (node-gyp-build's lookup).
import * as fs from 'fs';
import * as path from 'path';

export type AnyTypedArray = Float32Array | Int32Array;
type Slot = AnyTypedArray | null | undefined;

export interface ParamSlots {
  kernel: number;
  flags: number;
  reduction: number;
  gradScale: number;
  gradCount: number;
  ndim: number;
  dims: number;
  scalars: number;
  /** The call's thread count (0: the default). */
  threads: number;
  /** After the call record (= paramCount): where runPlan leaves a reduced loss. */
  result: number;
}

export interface NativeInfo {
  /** The SIMD level in use: one of isaLevels. */
  isa: string;
  /** The best level this CPU supports. */
  cpuIsa: string;
  /** The levels this binary holds kernels for, lowest first. */
  builtIsa: string[];
  /** Every level fastloss knows, lowest first (binding/kernels/isa_levels.def). */
  isaLevels: string[];
  threads: number;
  /** The most threads setNumThreads / FASTLOSS_NUM_THREADS accept: 4 x the CPUs this process may use. */
  maxThreads: number;
  /** Why FASTLOSS_NUM_THREADS (or the OpenMP default) was not used as given; null when it was. */
  threadsWarning: string | null;
  openmp: string;
  /** Helper threads of fastloss's pool started so far (started on demand, up to maxThreads - 1). */
  poolThreads: number;
  /** Parallel regions so far that waited for a descheduled helper (a busy machine); each one makes the calls of the next 20 ms to 2 s run on their calling thread. */
  poolStalls: number;
  /** Chunks of parallel regions run by pool helpers so far (the rest ran on the calling threads). */
  poolHelperChunks: number;
}

export interface NativeAddon {
  kernels: Record<string, number>;
  /** Input slots per kernel: f Float32Array, i Int32Array, x either; upper case optional. */
  signatures: Record<string, string>;
  /** Element counts per slot from the shape (binding/kernels/extents.h), checked before every call. */
  extents: Record<string, string>;
  /** The names of each kernel's scalar parameters, in slot order (binding/kernels/params.h). */
  params: Record<string, string[]>;
  flags: { wantLoss: number; wantGrad: number; hasOut: number; hasGradOut: number; freshOut: number; reportParts: number };
  reductions: { none: number; mean: number; sum: number; batchmean: number };
  /** Most arrays one run() takes, and kernel inputs among them. */
  maxArgs: number;
  maxInputs: number;
  /** Scalar parameter slots per call. */
  maxParams: number;
  paramCount: number;
  maxDims: number;
  paramSlots: ParamSlots;
  /** Binds the Float64Array (paramCount + 1 values) every later run() reads its kernel, flags, shape and scalars from. */
  bindParams(params: Float64Array): void;
  /** Arguments: the kernel's inputs in slot order, then out, the gradients, gradOutput (as flagged). */
  run(...arrays: Slot[]): number;
  runAsync(...arrays: Slot[]): Promise<number>;
  /**
   * Checks a call record (params' layout) once and keeps it in `slot` for runPlan; bit s of intMask: input s is an
   * Int32Array; bit s of absentMask: optional input s is absent (runPlan takes no argument for it); lengths[s]:
   * input s's element count in every call (-1: any the shape takes).
   */
  setPlan(slot: number, record: Float64Array, intMask: number, absentMask?: number, lengths?: number[]): void;
  /**
   * run() with the record kept in `slot` (params are not read). Each array's length is checked against
   * the shape and its ArrayBuffer as run() does, but its element type is the record's (the facade checks brands).
   * A reduced loss goes to params[paramSlots.result] (returns undefined: no number boxed per call); an input
   * of another element count than setPlan's lengths returns false, nothing run (the caller's miss).
   */
  runPlan(slot: number, ...arrays: Slot[]): undefined | false;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  info(): NativeInfo;
  setIsa(level: string): string;
  takePeakThreads(): number;
  /** Testing hook: false keeps regions threaded after a stall (no contention backoff). */
  setContentionBackoff(enabled: boolean): void;
  /**
   * Maps bytes [offset, offset + length) of a file read-only: [the pages as an ArrayBuffer, offset's byte skew
   * in it], or null when they cannot be mapped (not Linux, not mappable, too many mappings). With `window` (a
   * buffer of an earlier call, large enough) the bytes replace its content in place and it is returned.
   */
  mapFile(fd: number, offset: number, length: number, window?: ArrayBuffer): [ArrayBuffer, number] | null;
  /**
   * Releases a mapFile buffer's file pages (zero pages instead) and detaches it, or with `keep` leaves it attached
   * as a window for a later mapFile; false if already detached.
   */
  unmapFile(buffer: ArrayBuffer, keep?: boolean): boolean;
  /**
   * -1 if a read of a mapFile buffer's current window hit pages the file no longer backs (they read as zeros),
   * else the size of fd's file (-2: unknown, ask fs.fstat).
   */
  mapCheck(buffer: ArrayBuffer, fd: number): number;
  /** Live mapFile mappings. */
  mappedCount(): number;
}

const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };

const root = path.join(__dirname, '..', '..');
const buildCommand = `node ${JSON.stringify(path.join(root, 'scripts', 'build-from-source.js'))}`;
const buildNeeds = 'needs CMake >= 3.15, a C++17 compiler and OpenMP';
// Debian/Ubuntu package names; RHEL/Fedora and Alpine call them libgomp and libstdc++.
const LIB_PACKAGES: Record<string, string> = {
  'libgomp.so.1': 'libgomp1 (Debian/Ubuntu; libgomp on RHEL/Fedora and Alpine)',
  'libstdc++.so.6': 'libstdc++6 (Debian/Ubuntu; libstdc++ on RHEL/Fedora and Alpine)',
  'libgcc_s.so.1': 'libgcc-s1 (Debian/Ubuntu; libgcc on RHEL/Fedora and Alpine)',
};
const GLIBC_LIBS = /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|ld-linux[^/]*\.so\.\d)$/;

/** The platform node-gyp-build looks for: `linux-x64 (glibc)`, with the C library's version when known. */
function platformTag(): string {
  const platform = process.env.npm_config_platform || process.platform;
  const arch = process.env.npm_config_arch || process.arch;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const libc = process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const glibc = libc === 'glibc' && header?.glibcVersionRuntime ? ` ${header.glibcVersionRuntime}` : '';
  return `${platform}-${arch} (${libc}${glibc})`;
}

function noBuildError(): Error {
  let shipped: string[] = [];
  try {
    shipped = fs.readdirSync(path.join(root, 'prebuilds')).flatMap((d) =>
      fs.readdirSync(path.join(root, 'prebuilds', d)).filter((f) => f.endsWith('.node'))
        .map((f) => { const libc = /\.(glibc|musl)\.node$/.exec(f); return libc ? `${d} (${libc[1]})` : d; }));
  } catch { /* no prebuilds/ */ }
  return new Error(`fastloss: no prebuilt binary for ${platformTag()} (this package has prebuilds for ` +
    `${shipped.length ? shipped.join(', ') : 'no platform'}) and no build from source in ${path.join(root, 'build', 'Release')}. ` +
    `Build it from source (${buildNeeds}): ${buildCommand}`);
}

/** Why a found addon did not load, in terms a user can act on. */
function loadError(e: unknown, file: string): Error {
  const why = e instanceof Error ? e.message : String(e);
  if (why.startsWith('fastloss:')) return e as Error;  // the addon's own init (e.g. a bad FASTLOSS_ISA)
  // glibc: "libgomp.so.1: cannot open shared object file"; musl: "Error loading shared library libgomp.so.1: ..."
  const missing = /([\w.+-]+\.so(?:\.\d+)*): cannot open shared object file/.exec(why) ??
    /Error loading shared library ([\w.+-]+\.so(?:\.\d+)*)/.exec(why);
  if (missing && GLIBC_LIBS.test(missing[1]))
    return new Error(`fastloss: ${file} is built for glibc, but ${missing[1]} is missing here (${platformTag()}; ` +
      `musl?). Build it from source (${buildNeeds}): ${buildCommand}`, { cause: e });
  if (missing) {
    const pkg = LIB_PACKAGES[missing[1]];
    return new Error(`fastloss: ${missing[1]} not found: ${pkg ? `install ${pkg}` : 'install the package that provides it'} ` +
      `(needed by ${file})`, { cause: e });
  }
  const version = /version `((?:GLIBC|GLIBCXX|CXXABI)_[\d.]+)' not found/.exec(why);
  if (version)
    return new Error(`fastloss: ${file} needs ${version[1]}, newer than this system's C/C++ runtime (${platformTag()}). ` +
      `Build it from source (${buildNeeds}): ${buildCommand}`, { cause: e });
  // glibc says "cannot open shared object file" of the addon itself when it is for another machine.
  if (/wrong ELF class|Exec format error|invalid ELF header/.test(why) || why.includes(`${file}: cannot open shared object file`))
    return new Error(`fastloss: ${file} is not built for ${platformTag()}. Build it from source (${buildNeeds}): ${buildCommand}`,
      { cause: e });
  return new Error(`fastloss: could not load ${file}: ${why}`, { cause: e });
}

function loadAddon(): NativeAddon {
  // FASTLOSS_ADDON: path of a fastloss.node to load instead (the sanitizer build in CI).
  const override = process.env.FASTLOSS_ADDON;
  if (override) return require(path.resolve(override)) as NativeAddon;
  // build/Release (a source build) first, then prebuilds/<platform>-<arch>/ matching libc.
  let file: string;
  try {
    file = nodeGypBuild.resolve(root);
  } catch {
    throw noBuildError();
  }
  try {
    return require(file) as NativeAddon;
  } catch (e) {
    throw loadError(e, file);
  }
}

// A plain-object copy: the addon's exports object is in dictionary mode (27 properties set one by
// one), so every `native.runPlan` load was a LoadIC call (~80 instructions a small call); the copy
// has fast properties, and tests may still replace a function on it.
export const native: NativeAddon = { ...loadAddon() };

/** The one params buffer of this environment (layout: binding/kernels/loss_args.h), and runPlan's result slot. */
export const params: Float64Array = new Float64Array(native.paramCount + 1);
native.bindParams(params);
export const SLOT = native.paramSlots;

// The wire constants of the call protocol, as the addon defines them (binding/kernels/loss_args.h).
export const FLAG_LOSS = native.flags.wantLoss;
export const FLAG_GRAD = native.flags.wantGrad;
export const FLAG_HAS_OUT = native.flags.hasOut;
export const FLAG_HAS_GRAD_OUT = native.flags.hasGradOut;
/** Shifted by the output slot (0 'out', 1 + k gradient k): allocated for this call. */
export const FLAG_FRESH_OUT = native.flags.freshOut;

/**
 * Fills params for a direct native.run() of one kernel (tests and the benchmark; the facade
 * does this itself). The arrays then go to run() in the kernel's slot order, followed by `out`,
 * the gradients and gradOutput as `flags` says.
 */
export function setRawCall(kernel: string, call: { flags: number; reduction: number; shape: readonly number[];
  gradCount?: number; gradScale?: number; scalars?: readonly number[] }): void {
  const id = native.kernels[kernel];
  if (id === undefined) throw new Error(`fastloss: no kernel ${kernel}`);
  params.fill(0);
  params[SLOT.kernel] = id;
  params[SLOT.flags] = call.flags;
  params[SLOT.reduction] = call.reduction;
  params[SLOT.gradCount] = call.gradCount ?? 0;
  params[SLOT.gradScale] = call.gradScale ?? 1;
  params[SLOT.ndim] = call.shape.length;
  call.shape.forEach((d, k) => { params[SLOT.dims + k] = d; });
  (call.scalars ?? []).forEach((v, k) => { params[SLOT.scalars + k] = v; });
}
