// TF 2.x Keras semantics: (yTrue, yPred, opts), reductions 'sum_over_batch_size' | 'sum' | 'none'.
export * from './regression';
export * from './classification';
export * from './margin';
export * from './sequence';
export * from './focal';
export * from './overlap';
export * from './metric';
export * as losses from './losses';
