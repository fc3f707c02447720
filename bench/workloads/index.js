'use strict';
// Every workload file in this folder (except common.js and this one), regression first.
const fs = require('fs');
const path = require('path');

function loadWorkloads() {
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.js') && f !== 'index.js' && f !== 'common.js')
    .sort((a, b) => (a === 'regression.js' ? -1 : b === 'regression.js' ? 1 : a.localeCompare(b)));
  const all = [];
  for (const f of files) {
    const list = require(path.join(__dirname, f));
    for (const w of list) all.push({ file: f, ...w });
  }
  return all;
}

module.exports = { loadWorkloads };
