'use strict';
// Aligned plain-text tables and number formatting.

function sig(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 10 ** digits) return Math.round(x).toString();
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  return x.toFixed(Math.min(decimals, 6));
}

function ratio(a, b) {
  if (!a || !b) return '-';
  return `${sig(a / b, 3)}x`;
}

function pct(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '-';
  return `${(100 * x).toFixed(0)}%`;
}

/** columns: [{ title, align: 'l'|'r' }], rows: arrays of strings. */
function table(columns, rows) {
  const widths = columns.map((c, k) => Math.max(c.title.length, ...rows.map((r) => String(r[k]).length)));
  const cell = (v, k) => {
    const s = String(v);
    return columns[k].align === 'l' ? s.padEnd(widths[k]) : s.padStart(widths[k]);
  };
  const lines = [];
  lines.push(columns.map((c, k) => cell(c.title, k)).join('  ').trimEnd());
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) lines.push(r.map(cell).join('  ').trimEnd());
  return lines.join('\n');
}

module.exports = { sig, ratio, pct, table };
