'use strict';
// The bench modes that run instead of the throughput tables: --busy, --cluster, --sweep, --files.
module.exports = {
  busy: require('./busy'),
  cluster: require('./cluster'),
  sweep: require('./sweep'),
  files: require('./files'),
};
