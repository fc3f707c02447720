// PyTorch semantics: (input, target, opts), reductions 'mean' | 'sum' | 'none'.
export * from './regression';
export * from './classification';
export * from './margin';
export * from './sequence';
export * as nn from './nn';
