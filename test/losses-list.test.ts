// fastloss.losses(): one entry per loss of the torch and keras namespaces, read from the definitions the
// losses run on. Checked against behaviour: the default reduction is what a call without one returns,
// each listed default gives the same bits as leaving the option out, arguments and reductions match.
import * as fastloss from '../src';
import { fixtureFiles, readCases } from './helpers/fixtures';
import { lossByName } from './helpers/losses';
import { callArgs, Case } from './helpers/parity';

const infos = fastloss.losses();

function firstCase(name: string): Case {
  const file = fixtureFiles().find((f) => f.loss === name)!;
  return readCases<Case>(file)[0];
}

test('every loss once, with its framework, function name and class', () => {
  const names = infos.map((i) => i.name);
  expect(new Set(names).size).toBe(names.length);
  const exported = ['torch', 'keras'].flatMap((ns) =>
    Object.entries((fastloss as unknown as Record<string, Record<string, { lossName?: string }>>)[ns])
      .filter(([key]) => key !== 'nn' && key !== 'losses').map(([key, v]) => { expect(v.lossName).toBe(`${ns}.${key}`); return `${ns}.${key}`; }));
  expect(names.sort()).toEqual(exported.sort());
  for (const i of infos) {
    expect(i.name).toBe(`${i.framework}.${i.function}`);
    expect(i.reductions).toContain(i.defaultReduction);
    expect(i.reductions).toContain('none');
  }
  const ce = infos.find((i) => i.name === 'torch.crossEntropy')!;
  expect(ce).toEqual({
    name: 'torch.crossEntropy', framework: 'torch', function: 'crossEntropy', className: 'CrossEntropyLoss',
    arguments: [{ name: 'input', type: 'Float32Array', grad: true }, { name: 'target', type: 'Float32Array | Int32Array', grad: false }],
    options: [{ name: 'weight' }, { name: 'ignoreIndex', default: -100 }, { name: 'labelSmoothing', default: 0 }],
    reductions: ['mean', 'sum', 'none'], defaultReduction: 'mean',
  });
  expect(infos.find((i) => i.name === 'torch.sigmoidFocalLoss')!.defaultReduction).toBe('none');
  expect(infos.find((i) => i.name === 'torch.klDiv')!.reductions).toContain('batchmean');
});

test.each(infos.map((i) => i.name))('%s: the listed defaults and default reduction are what a call does', (name) => {
  const info = infos.find((i) => i.name === name)!;
  const loss = lossByName(name);
  const c = firstCase(name);
  const { arrays, opts } = callArgs(c);
  expect(arrays.length).toBe(info.arguments.length);
  const rest = { ...opts };
  delete rest.reduction;
  const plain = loss(...arrays, rest);
  expect(plain instanceof Float32Array).toBe(info.defaultReduction === 'none');
  const explicit = loss(...arrays, { ...rest, reduction: info.defaultReduction });
  expect(explicit).toEqual(plain);
  // every option with a listed default: passing the default changes nothing
  const defaults = Object.fromEntries(info.options.filter((o) => 'default' in o).map((o) => [o.name, o.default]));
  const unset = Object.fromEntries(Object.entries(rest).filter(([k]) => !(k in defaults)));
  expect(loss(...arrays, { ...unset, ...defaults })).toEqual(loss(...arrays, unset));
});
