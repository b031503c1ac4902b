/*
 * The convolution kernels of training, channels-last, in one source for two builds (vector.h):
 * WebAssembly SIMD on the TF.js wasm heap (build.sh; nothing here may use the shadow stack or
 * static data, which would live in TF.js's memory) and native AVX2 (lib/model/native/).
 *
 * conv2d: y[b,oh,ow,co] = sum over (kh,kw,ci) of x[b, oh*sh + kh*dh - top, ow*sw + kw*dw - left, ci]
 *   * w[kh,kw,ci,co], taps outside x skipped, summed tap by tap and channel by channel
 *   (XNNPACK's order).
 * conv2d_filter_grad: dW[kh,kw,ci,co] = sum over (b,oh,ow) of
 *   x[b, oh*sh + kh*dh - top, ow*sw + kw*dw - left, ci] * dy[b,oh,ow,co].
 * conv2d_input_grad (dilation 1): dx[b,i,j,ci] = sum over the taps (kh,kw) that reach (i,j)
 *   from an output cell (i + top - kh = oh*sh, j + left - kw = ow*sw) and over co of
 *   dy[b,oh,ow,co] * w[kh,kw,ci,co].
 * matmul: out[i,j] = sum over k of a[i,k] * b[k,j], or of a[i,k] * b[j,k] (transpose_b): the
 *   fully connected layers and their input gradient.
 */
#include "vector.h"
#include "convolutions.h"

/*
 * The register block's inner product over one tap: for each of `count` channels, VW * nv filter
 * floats (contiguous; the next channel's `w_step` floats on) times each of np pixels' value of
 * that channel (`pixel` floats apart in `src`), added to a[p][v] in channel order.
 */
INLINE void accumulate_tap(vec_t a[4][2], int np, int nv, const float *src, int pixel, const float *w, int w_step, int count) {
  for (int c = 0; c < count; c++, w += w_step) {
    vec_t f[2];
    for (int v = 0; v < nv; v++) f[v] = vload(w + VW * v);
    for (int p = 0; p < np; p++) {
      const vec_t s = vbroadcast(src + p * pixel + c);
      for (int v = 0; v < nv; v++) a[p][v] = madd(s, f[v], a[p][v]);
    }
  }
}

/*
 * A filter's columns (or rows) regrouped so that a register block reads them contiguously:
 * `from` is [taps][inner][outer]; block (o0, width bw) of the outer index lands at
 * o0 * taps * inner, laid out [tap][inner][bw]. Blocks of 2 VW, then one of VW, then single ones.
 */
INLINE void pack_blocks(const float *from, float *to, int taps, int inner, int outer, int transpose) {
  const int end2 = outer - outer % (2 * VW), end1 = outer - end2 >= VW ? end2 + VW : end2;
  for (int o = 0; o < outer; o++) {
    const int first = o < end2 ? o - o % (2 * VW) : o < end1 ? end2 : o, bw = o < end2 ? 2 * VW : o < end1 ? VW : 1;
    for (int t = 0; t < taps; t++)
      for (int i = 0; i < inner; i++)
        to[first * taps * inner + (t * inner + i) * bw + o - first] = transpose ? from[(t * outer + o) * inner + i] : from[(t * inner + i) * outer + o];
  }
}

/* ---- Conv2D: one pass per block of 2 VW output channels (then VW, then single ones), its
   filter columns packed [tap][ci][width]; register blocks of 4 neighbouring output pixels
   that see the same taps, one pixel at a time elsewhere (the borders of unpadded reads). ---- */

INLINE void conv_block(const float *xp, const float *wp, float *yp, int np, int nv, int kh0, int kh1, int kw0, int kw1, int kernel_w,
                       int ci_count, int co_count, int x_tap_h, int x_tap_w, int x_pixel) {
  vec_t a[4][2];
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) a[p][v] = vzero();
  for (int kh = kh0; kh < kh1; kh++) {
    for (int kw = kw0; kw < kw1; kw++) {
      const float *xt = xp + kh * x_tap_h + kw * x_tap_w;
      accumulate_tap(a, np, nv, xt, x_pixel, wp + (kh * kernel_w + kw) * ci_count * VW * nv, VW * nv, ci_count);
    }
  }
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) vstore(yp + p * co_count + VW * v, a[p][v]);
}

INLINE float conv_scalar(const float *xp, const float *wp, int kh0, int kh1, int kw0, int kw1, int kernel_w, int ci_count, int x_tap_h,
                         int x_tap_w) {
  float acc = 0.0f;
  for (int kh = kh0; kh < kh1; kh++)
    for (int kw = kw0; kw < kw1; kw++) {
      const float *xt = xp + kh * x_tap_h + kw * x_tap_w;
      const float *wt = wp + (kh * kernel_w + kw) * ci_count;
      for (int ci = 0; ci < ci_count; ci++) acc += xt[ci] * wt[ci];
    }
  return acc;
}

/* Output rows from..to-1 (of batch * out_height) for the channels co0.. (nv vectors, or one when nv is 0). */
INLINE void conv_pass(const float *x, const float *packed, float *y, int nv, int co0, const conv_shape *s, int from, int to) {
  const int width = s->width, ci_count = s->ci_count, co_count = s->co_count, kernel_w = s->kernel_w;
  const int x_tap_h = s->dilation_h * width * ci_count, x_tap_w = s->dilation_w * ci_count, x_pixel = s->stride_w * ci_count;
  const float *wp = packed + co0 * s->kernel_h * kernel_w * ci_count;
  for (int row = from; row < to; row++) {
    const int b = row / s->out_height, oh = row % s->out_height;
    const int ih = oh * s->stride_h - s->top;
    const int kh0 = first_inside(ih, s->dilation_h), kh1 = min_i(s->kernel_h, end_inside(ih, s->dilation_h, s->height));
    float *yr = y + row * s->out_width * co_count + co0;
    for (int ow = 0; ow < s->out_width;) {
      const int iw = ow * s->stride_w - s->left;
      const int kw0 = first_inside(iw, s->dilation_w), kw1 = min_i(kernel_w, end_inside(iw, s->dilation_w, width));
      int np = 1;
      if (nv > 0 && ow + 4 <= s->out_width) {
        const int iw3 = iw + 3 * s->stride_w;
        if (first_inside(iw3, s->dilation_w) == kw0 && min_i(kernel_w, end_inside(iw3, s->dilation_w, width)) == kw1) np = 4;
      }
      float *yp = yr + ow * co_count;
      const float *xp = x + ((b * s->height + ih) * width + iw) * ci_count;
      if (nv == 0) {
        yp[0] = kh0 < kh1 && kw0 < kw1 ? conv_scalar(xp, wp, kh0, kh1, kw0, kw1, kernel_w, ci_count, x_tap_h, x_tap_w) : 0.0f;
      } else if (np == 4) {
        if (nv == 2) conv_block(xp, wp, yp, 4, 2, kh0, kh1, kw0, kw1, kernel_w, ci_count, co_count, x_tap_h, x_tap_w, x_pixel);
        else conv_block(xp, wp, yp, 4, 1, kh0, kh1, kw0, kw1, kernel_w, ci_count, co_count, x_tap_h, x_tap_w, x_pixel);
      } else {
        if (nv == 2) conv_block(xp, wp, yp, 1, 2, kh0, kh1, kw0, kw1, kernel_w, ci_count, co_count, x_tap_h, x_tap_w, x_pixel);
        else conv_block(xp, wp, yp, 1, 1, kh0, kh1, kw0, kw1, kernel_w, ci_count, co_count, x_tap_h, x_tap_w, x_pixel);
      }
      ow += np;
    }
  }
}

UNIT_FN void conv2d_pack(const float *w, float *packed, const conv_shape *s) {
  pack_blocks(w, packed, s->kernel_h * s->kernel_w, s->ci_count, s->co_count, 0);
}

UNIT_FN void conv2d_rows(const float *x, const float *packed, float *y, const conv_shape *s, int from, int to) {
  const int end2 = s->co_count - s->co_count % (2 * VW), end1 = s->co_count - end2 >= VW ? end2 + VW : end2;
  int co0 = 0;
  for (; co0 < end2; co0 += 2 * VW) conv_pass(x, packed, y, 2, co0, s, from, to);
  if (co0 < end1) {
    conv_pass(x, packed, y, 1, co0, s, from, to);
    co0 += VW;
  }
  for (; co0 < s->co_count; co0++) conv_pass(x, packed, y, 0, co0, s, from, to);
}

/* ---- Conv2DBackpropFilter: register blocks of 4 input channels x 2 VW output channels; the
   (b,oh,ow) sum runs in chunks of `rows` output rows of one sample, so a chunk's dy and x rows
   stay in cache while every filter tap visits them. ---- */

/* cb (1..4) input channels x nv (1 or 2) vectors of VW output channels, over one chunk. */
INLINE void filter_block(const float *x, const float *dy, float *out, int cb, int nv, int co_count, int oh0, int oh1, int ow0, int ow1,
                         int x_row, int x_step, int dy_row) {
  vec_t a[4][2];
  for (int i = 0; i < cb; i++)
    for (int v = 0; v < nv; v++) a[i][v] = vload(out + i * co_count + VW * v);
  for (int oh = oh0; oh < oh1; oh++) {
    const float *xp = x + (oh - oh0) * x_row;
    const float *dp = dy + (oh - oh0) * dy_row;
    for (int ow = ow0; ow < ow1; ow++) {
      vec_t d[2];
      for (int v = 0; v < nv; v++) d[v] = vload(dp + VW * v);
      for (int i = 0; i < cb; i++) {
        const vec_t s = vbroadcast(xp + i);
        for (int v = 0; v < nv; v++) a[i][v] = madd(s, d[v], a[i][v]);
      }
      xp += x_step;
      dp += co_count;
    }
  }
  for (int i = 0; i < cb; i++)
    for (int v = 0; v < nv; v++) vstore(out + i * co_count + VW * v, a[i][v]);
}

/* The scalar remainder: output channels co0..co_count-1 (fewer than VW). */
INLINE void filter_tail(const float *x, const float *dy, float *out, int cb, int co0, int co_count, int oh0, int oh1, int ow0, int ow1,
                        int x_row, int x_step, int dy_row) {
  for (int i = 0; i < cb; i++) {
    for (int co = co0; co < co_count; co++) {
      float acc = out[i * co_count + co];
      for (int oh = oh0; oh < oh1; oh++) {
        const float *xp = x + (oh - oh0) * x_row + i;
        const float *dp = dy + (oh - oh0) * dy_row + co;
        for (int ow = ow0; ow < ow1; ow++) acc += xp[(ow - ow0) * x_step] * dp[(ow - ow0) * co_count];
      }
      out[i * co_count + co] = acc;
    }
  }
}

#define BLOCK(CB, NV) filter_block(xc, dt + co0, ot + co0, CB, NV, co_count, oh0, oh1, ow0, ow1, x_row, x_step, dy_row)
/* The block of output channels co0.. for cb input channels, cb and nv constants so that the
   accumulators stay in registers. */
#define BLOCKS(NV)                  \
  do {                              \
    switch (cb) {                   \
      case 4: BLOCK(4, NV); break;  \
      case 3: BLOCK(3, NV); break;  \
      case 2: BLOCK(2, NV); break;  \
      default: BLOCK(1, NV); break; \
    }                               \
  } while (0)

UNIT_FN int filter_grad_units(const conv_shape *s) { return s->kernel_h * s->kernel_w * ((s->ci_count + 3) / 4); }

UNIT_FN void filter_grad_run(const float *x, const float *dy, float *dw, const conv_shape *s, int from, int to) {
  const int ci_count = s->ci_count, co_count = s->co_count, width = s->width, blocks = (ci_count + 3) / 4;
  const int x_step = s->stride_w * ci_count, x_row = s->stride_h * width * ci_count, dy_row = s->out_width * co_count;
  for (int b = 0; b < s->batch; b++) {
    for (int r0 = 0; r0 < s->out_height; r0 += s->rows) {
      const int r1 = min_i(s->out_height, r0 + s->rows);
      for (int unit = from; unit < to; unit++) {
        const int kh = unit / (s->kernel_w * blocks), kw = unit / blocks % s->kernel_w, ci0 = unit % blocks * 4;
        const int off_h = kh * s->dilation_h - s->top;
        const int oh0 = max_i(r0, first_inside(off_h, s->stride_h));
        const int oh1 = min_i(r1, end_inside(off_h, s->stride_h, s->height));
        if (oh0 >= oh1) continue;
        const int off_w = kw * s->dilation_w - s->left;
        const int ow0 = first_inside(off_w, s->stride_w);
        const int ow1 = min_i(s->out_width, end_inside(off_w, s->stride_w, width));
        if (ow0 >= ow1) continue;
        const float *xc = x + ((b * s->height + oh0 * s->stride_h + off_h) * width + ow0 * s->stride_w + off_w) * ci_count + ci0;
        const float *dt = dy + ((b * s->out_height + oh0) * s->out_width + ow0) * co_count;
        float *ot = dw + ((kh * s->kernel_w + kw) * ci_count + ci0) * co_count;
        const int cb = min_i(4, ci_count - ci0);
        int co0 = 0;
        for (; co0 + 2 * VW <= co_count; co0 += 2 * VW) BLOCKS(2);
        if (co0 + VW <= co_count) {
          BLOCKS(1);
          co0 += VW;
        }
        if (co0 < co_count) filter_tail(xc, dt, ot, cb, co0, co_count, oh0, oh1, ow0, ow1, x_row, x_step, dy_row);
      }
    }
  }
}

/* ---- Conv2DBackpropInput: gathered per input pixel, so a stride adds no zeros to multiply;
   the filter first transposed so that each block of input channels is contiguous. Register
   blocks of 4 pixels one stride apart (the same taps, neighbouring output cells) x 2 VW input
   channels where every tap of all 4 is inside dy; one pixel at a time elsewhere. ---- */

INLINE void input_grad_block(const float *dy, const float *wt, float *dx, int np, int nv, int ci0, int i, int j, int b, const conv_shape *s) {
  const int co_count = s->co_count, kernel_w = s->kernel_w, stride_h = s->stride_h, stride_w = s->stride_w;
  vec_t a[4][2];
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) a[p][v] = vzero();
  for (int kh = (i + s->top) % stride_h; kh < s->kernel_h; kh += stride_h) {
    const int oh = (i + s->top - kh) / stride_h;
    if (oh < 0) break;
    if (oh >= s->out_height) continue;
    for (int kw = (j + s->left) % stride_w; kw < kernel_w; kw += stride_w) {
      const int ow = (j + s->left - kw) / stride_w;
      if (ow < 0) break;
      if (ow + np > s->out_width) continue; /* a block only comes here when all its taps are inside */
      const float *dp = dy + ((b * s->out_height + oh) * s->out_width + ow) * co_count;
      const float *wp = wt + ci0 * s->kernel_h * kernel_w * co_count + (kh * kernel_w + kw) * co_count * VW * nv;
      accumulate_tap(a, np, nv, dp, co_count, wp, VW * nv, co_count);
    }
  }
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) vstore(dx + ((b * s->height + i) * s->width + j + p * stride_w) * s->ci_count + ci0 + VW * v, a[p][v]);
}

INLINE void input_grad_scalar(const float *dy, const float *wt, float *dx, int ci0, int i, int j, int b, const conv_shape *s) {
  const int co_count = s->co_count, kernel_w = s->kernel_w, stride_h = s->stride_h, stride_w = s->stride_w;
  for (int ci = ci0; ci < s->ci_count; ci++) {
    float acc = 0.0f;
    for (int kh = (i + s->top) % stride_h; kh < s->kernel_h; kh += stride_h) {
      const int oh = (i + s->top - kh) / stride_h;
      if (oh < 0) break;
      if (oh >= s->out_height) continue;
      for (int kw = (j + s->left) % stride_w; kw < kernel_w; kw += stride_w) {
        const int ow = (j + s->left - kw) / stride_w;
        if (ow < 0) break;
        if (ow >= s->out_width) continue;
        const float *dp = dy + ((b * s->out_height + oh) * s->out_width + ow) * co_count;
        const float *wp = wt + (ci * s->kernel_h * kernel_w + kh * kernel_w + kw) * co_count;
        for (int co = 0; co < co_count; co++) acc += dp[co] * wp[co];
      }
    }
    dx[((b * s->height + i) * s->width + j) * s->ci_count + ci] = acc;
  }
}

/* Whether every tap of the pixels j, j + sw, ..., j + (np-1) sw reaches an output cell in row range. */
INLINE int all_taps_inside(int j, int np, const conv_shape *s) {
  for (int kw = (j + s->left) % s->stride_w; kw < s->kernel_w; kw += s->stride_w) {
    const int ow = (j + s->left - kw) / s->stride_w;
    if (ow < 0 || ow + np > s->out_width) return 0;
  }
  return 1;
}

/*
 * Input rows from..to-1 (of batch * height) for input channels ci0.. (nv vectors, or one at a
 * time from ci0 to the end when nv is 0). Passes run one channel block at a time so that the
 * block's filter rows stay in cache while dy streams by (the paper's 3x3 layers have 9.4 MB filters).
 */
INLINE void input_grad_pass(const float *dy, const float *wt, float *dx, int nv, int ci0, const conv_shape *s, int from, int to) {
  const int width = s->width, stride_w = s->stride_w;
  for (int row = from; row < to; row++) {
    const int b = row / s->height, i = row % s->height;
    for (int phase = 0; phase < stride_w; phase++) {
      for (int j = phase; j < width;) {
        const int np = nv > 0 && j + 3 * stride_w < width && all_taps_inside(j, 4, s) ? 4 : 1;
        if (nv == 0) input_grad_scalar(dy, wt, dx, ci0, i, j, b, s);
        else if (np == 4) {
          if (nv == 2) input_grad_block(dy, wt, dx, 4, 2, ci0, i, j, b, s);
          else input_grad_block(dy, wt, dx, 4, 1, ci0, i, j, b, s);
        } else {
          if (nv == 2) input_grad_block(dy, wt, dx, 1, 2, ci0, i, j, b, s);
          else input_grad_block(dy, wt, dx, 1, 1, ci0, i, j, b, s);
        }
        j += np * stride_w;
      }
    }
  }
}

UNIT_FN void input_grad_pack(const float *w, float *wt, const conv_shape *s) {
  pack_blocks(w, wt, s->kernel_h * s->kernel_w, s->co_count, s->ci_count, 1);
}

UNIT_FN void input_grad_rows(const float *dy, const float *wt, float *dx, const conv_shape *s, int from, int to) {
  const int ci_count = s->ci_count, end2 = ci_count - ci_count % (2 * VW);
  int ci0 = 0;
  for (; ci0 < end2; ci0 += 2 * VW) input_grad_pass(dy, wt, dx, 2, ci0, s, from, to);
  if (ci0 + VW <= ci_count) {
    input_grad_pass(dy, wt, dx, 1, ci0, s, from, to);
    ci0 += VW;
  }
  if (ci0 < ci_count) input_grad_pass(dy, wt, dx, 0, ci0, s, from, to);
}

/* ---- MatMul: out[i,j] = a[i,:] . b[:,j] (a 1 x 1 convolution of m pixels: register blocks of
   4 rows x 2 VW columns read b unpacked, row by row), or a[i,:] . b[j,:] with b transposed
   (dot products of contiguous rows, VW lanes summed pairwise at the end). Units are blocks of
   2 VW columns, so that threads read disjoint parts of b, the weights. ---- */

INLINE void matmul_block(const float *a, const float *b, float *out, int np, int nv, int k_count, int n_count) {
  vec_t acc[4][2];
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) acc[p][v] = vzero();
  accumulate_tap(acc, np, nv, a, k_count, b, n_count, k_count);
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) vstore(out + p * n_count + VW * v, acc[p][v]);
}

INLINE float matmul_scalar(const float *a, const float *b, int k_count, int b_step) {
  float acc = 0.0f;
  for (int k = 0; k < k_count; k++) acc += a[k] * b[k * b_step];
  return acc;
}

/* a[i,:] . b[j,:] for np (1..4) rows of a. */
INLINE void matmul_rows_dot(const float *a, const float *bj, float *out, int np, int k_count, int n_count) {
  vec_t acc[4];
  for (int p = 0; p < np; p++) acc[p] = vzero();
  const int k_end = k_count - k_count % VW;
  for (int k = 0; k < k_end; k += VW) {
    const vec_t bv = vload(bj + k);
    for (int p = 0; p < np; p++) acc[p] = madd(vload(a + p * k_count + k), bv, acc[p]);
  }
  for (int p = 0; p < np; p++) {
    float sum = vsum(acc[p]);
    for (int k = k_end; k < k_count; k++) sum += a[p * k_count + k] * bj[k];
    out[p * n_count] = sum;
  }
}

UNIT_FN int matmul_units(int n_count) { return (n_count + 2 * VW - 1) / (2 * VW); }

UNIT_FN void matmul_run(const float *a, const float *b, float *out, int m_count, int k_count, int n_count, int transpose_b, int from, int to) {
  for (int unit = from; unit < to; unit++) {
    const int j0 = unit * 2 * VW, j1 = min_i(n_count, j0 + 2 * VW);
    for (int i0 = 0; i0 < m_count; i0 += 4) {
      const int np = min_i(4, m_count - i0);
      const float *ai = a + i0 * k_count;
      float *oi = out + i0 * n_count;
      if (transpose_b) {
        for (int j = j0; j < j1; j++) {
          switch (np) {
            case 4: matmul_rows_dot(ai, b + j * k_count, oi + j, 4, k_count, n_count); break;
            case 3: matmul_rows_dot(ai, b + j * k_count, oi + j, 3, k_count, n_count); break;
            case 2: matmul_rows_dot(ai, b + j * k_count, oi + j, 2, k_count, n_count); break;
            default: matmul_rows_dot(ai, b + j * k_count, oi + j, 1, k_count, n_count); break;
          }
        }
        continue;
      }
      int j = j0;
      if (j1 - j == 2 * VW) {
        if (np == 4) matmul_block(ai, b + j, oi + j, 4, 2, k_count, n_count);
        else
          for (int p = 0; p < np; p++) matmul_block(ai + p * k_count, b + j, oi + p * n_count + j, 1, 2, k_count, n_count);
        j += 2 * VW;
      } else if (j1 - j >= VW) {
        if (np == 4) matmul_block(ai, b + j, oi + j, 4, 1, k_count, n_count);
        else
          for (int p = 0; p < np; p++) matmul_block(ai + p * k_count, b + j, oi + p * n_count + j, 1, 1, k_count, n_count);
        j += VW;
      }
      for (; j < j1; j++)
        for (int p = 0; p < np; p++) oi[p * n_count + j] = matmul_scalar(ai + p * k_count, b + j, k_count, n_count);
    }
  }
}

#if defined(__wasm__)
/* The WebAssembly exports: every unit in one call. */
#define SHAPE(ROWS)                                                                                                                       \
  const conv_shape s = {batch, height, width, ci_count, out_height, out_width, co_count, kernel_h, kernel_w, stride_h, stride_w, dilation_h, \
                        dilation_w, top, left, ROWS}

EXPORT("conv2d")
void conv2d(const float *x, const float *w, float *y, float *packed, int batch, int height, int width, int ci_count, int out_height,
            int out_width, int co_count, int kernel_h, int kernel_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int top,
            int left) {
  SHAPE(1);
  conv2d_pack(w, packed, &s);
  conv2d_rows(x, packed, y, &s, 0, batch * out_height);
}

/* dW must be zero on entry. */
EXPORT("conv2d_filter_grad")
void conv2d_filter_grad(const float *x, const float *dy, float *dw, int batch, int height, int width, int ci_count, int out_height,
                        int out_width, int co_count, int kernel_h, int kernel_w, int stride_h, int stride_w, int dilation_h, int dilation_w,
                        int top, int left, int rows) {
  SHAPE(rows);
  filter_grad_run(x, dy, dw, &s, 0, filter_grad_units(&s));
}

EXPORT("conv2d_input_grad")
void conv2d_input_grad(const float *dy, const float *w, float *dx, float *wt, int batch, int height, int width, int ci_count,
                       int out_height, int out_width, int co_count, int kernel_h, int kernel_w, int stride_h, int stride_w, int top,
                       int left) {
  const int dilation_h = 1, dilation_w = 1;
  SHAPE(1);
  input_grad_pack(w, wt, &s);
  input_grad_rows(dy, wt, dx, &s, 0, batch * height);
}

EXPORT("matmul")
void matmul(const float *a, const float *b, float *out, int m_count, int k_count, int n_count, int transpose_b) {
  matmul_run(a, b, out, m_count, k_count, n_count, transpose_b, 0, matmul_units(n_count));
}
#endif
