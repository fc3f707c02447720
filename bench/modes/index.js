'use strict';
// The bench modes that run instead of the throughput tables: --busy, --cluster, --sweep, --tfjs, --files.
module.exports = {
  busy: require('./busy'),
  cluster: require('./cluster'),
  sweep: require('./sweep'),
  tfjs: require('./tfjs'),
  files: require('./files'),
};
