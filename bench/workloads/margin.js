'use strict';
// Margin and embedding losses (PyTorch): cosine embedding, triplet margin, multi-class margin.
// Until fastloss has them, run.js skips these with a note (or runs the other columns with
// --include-missing).
const { shapes, normal, classes, sign } = require('./common');

const COS_EPS = 1e-12; // ATen cosine_embedding_loss EPSILON
const PAIRWISE_EPS = 1e-6; // F.pairwise_distance eps (triplet_margin_loss default)

module.exports = [
  {
    name: 'torch.cosineEmbeddingLoss',
    family: 'margin',
    bound: 'memory',
    cases: shapes([[65536, 256]]),
    inputs: (c) => [
      { name: 'input1', gen: normal(1), length: c.n, shape: c.shape, grad: true },
      { name: 'input2', gen: normal(2), length: c.n, shape: c.shape, grad: true },
      { name: 'target', gen: sign(8), length: c.shape[0], shape: [c.shape[0]] },
    ],
    opts: (c) => ({ shape: c.shape }),
    // cos = <a,b> / sqrt((|a|^2 + eps)(|b|^2 + eps)); y = 1: 1 - cos, y = -1: max(0, cos - margin), margin 0
    js: {
      forward([a, b, y], c) {
        const [N, D] = c.shape;
        let total = 0;
        for (let r = 0, o = 0; r < N; r++, o += D) {
          let dot = 0;
          let m1 = COS_EPS;
          let m2 = COS_EPS;
          for (let j = o; j < o + D; j++) {
            dot += a[j] * b[j];
            m1 += a[j] * a[j];
            m2 += b[j] * b[j];
          }
          const cos = dot / Math.sqrt(m1 * m2);
          total += y[r] > 0 ? 1 - cos : Math.max(0, cos);
        }
        return total / N;
      },
      withGrad([a, b, y], [ga, gb], c) {
        const [N, D] = c.shape;
        const k = 1 / N;
        let total = 0;
        for (let r = 0, o = 0; r < N; r++, o += D) {
          let dot = 0;
          let m1 = COS_EPS;
          let m2 = COS_EPS;
          for (let j = o; j < o + D; j++) {
            dot += a[j] * b[j];
            m1 += a[j] * a[j];
            m2 += b[j] * b[j];
          }
          const denom = Math.sqrt(m1 * m2);
          const cos = dot / denom;
          let dcos; // dL/dcos
          if (y[r] > 0) {
            total += 1 - cos;
            dcos = -k;
          } else {
            total += Math.max(0, cos);
            dcos = cos > 0 ? k : 0;
          }
          for (let j = o; j < o + D; j++) {
            ga[j] = dcos * (b[j] / denom - (cos * a[j]) / m1);
            gb[j] = dcos * (a[j] / denom - (cos * b[j]) / m2);
          }
        }
        return total / N;
      },
    },
    tfjs: {
      loss(tf, a, b, y) {
        const dot = tf.sum(tf.mul(a, b), -1);
        const m1 = tf.add(tf.sum(tf.square(a), -1), COS_EPS);
        const m2 = tf.add(tf.sum(tf.square(b), -1), COS_EPS);
        const cos = tf.div(dot, tf.sqrt(tf.mul(m1, m2)));
        return tf.mean(tf.where(tf.greater(y, 0), tf.sub(1, cos), tf.relu(cos)));
      },
    },
    torch: 'F.cosine_embedding_loss',
  },
  {
    name: 'torch.tripletMarginLoss',
    family: 'margin',
    bound: 'memory',
    cases: shapes([[65536, 256]]),
    inputs: (c) => [
      { name: 'anchor', gen: normal(1), length: c.n, shape: c.shape, grad: true },
      { name: 'positive', gen: normal(2), length: c.n, shape: c.shape, grad: true },
      { name: 'negative', gen: normal(9), length: c.n, shape: c.shape, grad: true },
    ],
    opts: (c) => ({ shape: c.shape }),
    // max(d(a,p) - d(a,n) + margin, 0), d(u,v) = |u - v + eps|_2, margin 1
    js: {
      forward([a, p, n], c) {
        const [N, D] = c.shape;
        let total = 0;
        for (let r = 0, o = 0; r < N; r++, o += D) {
          let sp = 0;
          let sn = 0;
          for (let j = o; j < o + D; j++) {
            const dp = a[j] - p[j] + PAIRWISE_EPS;
            const dn = a[j] - n[j] + PAIRWISE_EPS;
            sp += dp * dp;
            sn += dn * dn;
          }
          total += Math.max(Math.sqrt(sp) - Math.sqrt(sn) + 1, 0);
        }
        return total / N;
      },
      withGrad([a, p, n], [ga, gp, gn], c) {
        const [N, D] = c.shape;
        const k = 1 / N;
        let total = 0;
        for (let r = 0, o = 0; r < N; r++, o += D) {
          let sp = 0;
          let sn = 0;
          for (let j = o; j < o + D; j++) {
            const dp = a[j] - p[j] + PAIRWISE_EPS;
            const dn = a[j] - n[j] + PAIRWISE_EPS;
            sp += dp * dp;
            sn += dn * dn;
          }
          const dap = Math.sqrt(sp);
          const dan = Math.sqrt(sn);
          const l = dap - dan + 1;
          if (l > 0) {
            total += l;
            const kp = k / dap;
            const kn = k / dan;
            for (let j = o; j < o + D; j++) {
              const dp = a[j] - p[j] + PAIRWISE_EPS;
              const dn = a[j] - n[j] + PAIRWISE_EPS;
              ga[j] = kp * dp - kn * dn;
              gp[j] = -kp * dp;
              gn[j] = kn * dn;
            }
          } else {
            ga.fill(0, o, o + D);
            gp.fill(0, o, o + D);
            gn.fill(0, o, o + D);
          }
        }
        return total / N;
      },
    },
    tfjs: {
      loss(tf, a, p, n) {
        const dap = tf.norm(tf.add(tf.sub(a, p), PAIRWISE_EPS), 'euclidean', -1);
        const dan = tf.norm(tf.add(tf.sub(a, n), PAIRWISE_EPS), 'euclidean', -1);
        return tf.mean(tf.relu(tf.add(tf.sub(dap, dan), 1)));
      },
    },
    torch: 'F.triplet_margin_loss',
  },
  {
    name: 'torch.multiMarginLoss',
    family: 'margin',
    bound: 'memory',
    cases: shapes([[16384, 1000]]),
    inputs: (c) => [
      { name: 'input', gen: normal(1), length: c.n, shape: c.shape, grad: true },
      { name: 'target', gen: classes(6, c.shape[1]), length: c.shape[0], shape: [c.shape[0]] },
    ],
    opts: (c) => ({ shape: c.shape }),
    // l_r = sum_{j != y} max(0, margin - x[y] + x[j]) / C, p = 1, margin 1
    js: {
      forward([x, y], c) {
        const [N, C] = c.shape;
        let total = 0;
        for (let r = 0, o = 0; r < N; r++, o += C) {
          const t = y[r];
          const xy = x[o + t];
          let s = 0;
          for (let j = 0; j < C; j++) {
            const z = 1 - xy + x[o + j];
            if (j !== t && z > 0) s += z;
          }
          total += s / C;
        }
        return total / N;
      },
      withGrad([x, y], [g], c) {
        const [N, C] = c.shape;
        const k = 1 / (N * C);
        let total = 0;
        for (let r = 0, o = 0; r < N; r++, o += C) {
          const t = y[r];
          const xy = x[o + t];
          let s = 0;
          let active = 0;
          for (let j = 0; j < C; j++) {
            const z = 1 - xy + x[o + j];
            if (j !== t && z > 0) {
              s += z;
              active++;
              g[o + j] = k;
            } else {
              g[o + j] = 0;
            }
          }
          g[o + t] = -k * active;
          total += s / C;
        }
        return total / N;
      },
    },
    tfjs: {
      prepare: (tf, [x, y], c) => [x, tf.oneHot(y, c.shape[1]).toFloat()],
      loss(tf, x, onehot) {
        const xy = tf.sum(tf.mul(x, onehot), -1, true);
        const m = tf.mul(tf.relu(tf.add(tf.sub(1, xy), x)), tf.sub(1, onehot));
        return tf.mean(tf.mean(m, -1));
      },
    },
    torch: 'F.multi_margin_loss',
  },
];
