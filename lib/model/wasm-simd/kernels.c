/*
 * Training kernels in WebAssembly SIMD that run on the TF.js wasm backend's own heap (this
 * module imports its memory: no copies). Built by lib/model/wasm-simd/build.sh into
 * kernels-wasm.ts; nothing here may use the shadow stack or static data, which would live in
 * TF.js's memory (build.sh checks the binary for both).
 *
 * conv2d_filter_grad: dW[kh,kw,ci,co] = sum over (b,oh,ow) of
 *   x[b, oh*sh + kh*dh - top, ow*sw + kw*dw - left, ci] * dy[b,oh,ow,co],
 * taps outside x skipped (zero padding). Register blocks of 4 input channels x 8 output
 * channels; the (b,oh,ow) sum runs in chunks of `rows` output rows of one sample, so a chunk's
 * dy and x rows stay in cache while every filter tap visits them. dW must be zero on entry.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define INLINE static inline __attribute__((always_inline))

/*
 * a * b + c. Built twice (build.sh): plain SIMD rounds the product, then the sum; with
 * RELAXED_SIMD it is relaxed_madd, which V8 compiles to one fused multiply-add where the CPU
 * has FMA (one rounding; the same result on every run of one machine).
 */
#ifdef RELAXED_SIMD
typedef float f32x4_t __attribute__((__vector_size__(16), __aligned__(16)));
INLINE v128_t madd(v128_t a, v128_t b, v128_t c) {
  return (v128_t)__builtin_wasm_relaxed_madd_f32x4((f32x4_t)a, (f32x4_t)b, (f32x4_t)c);
}
#else
INLINE v128_t madd(v128_t a, v128_t b, v128_t c) { return wasm_f32x4_add(c, wasm_f32x4_mul(a, b)); }
#endif

INLINE int min_i(int a, int b) { return a < b ? a : b; }
INLINE int max_i(int a, int b) { return a > b ? a : b; }
/* The first o >= 0 with o*s + off >= 0. */
INLINE int first_inside(int off, int s) { return off >= 0 ? 0 : (-off + s - 1) / s; }
/* One past the last o with o*s + off < n. */
INLINE int end_inside(int off, int s, int n) { return n - off <= 0 ? 0 : (n - off - 1) / s + 1; }

/* cb (1..4) input channels x nv (1 or 2) vectors of 4 output channels, over one chunk. */
INLINE void filter_block(const float *x, const float *dy, float *out, int cb, int nv, int ci_count, int co_count,
                         int oh0, int oh1, int ow0, int ow1, int x_row, int x_step, int dy_row) {
  v128_t a[4][2];
  for (int i = 0; i < cb; i++)
    for (int v = 0; v < nv; v++) a[i][v] = wasm_v128_load(out + i * co_count + 4 * v);
  for (int oh = oh0; oh < oh1; oh++) {
    const float *xp = x + (oh - oh0) * x_row;
    const float *dp = dy + (oh - oh0) * dy_row;
    for (int ow = ow0; ow < ow1; ow++) {
      v128_t d[2];
      for (int v = 0; v < nv; v++) d[v] = wasm_v128_load(dp + 4 * v);
      for (int i = 0; i < cb; i++) {
        v128_t s = wasm_v128_load32_splat(xp + i);
        for (int v = 0; v < nv; v++) a[i][v] = madd(s, d[v], a[i][v]);
      }
      xp += x_step;
      dp += co_count;
    }
  }
  for (int i = 0; i < cb; i++)
    for (int v = 0; v < nv; v++) wasm_v128_store(out + i * co_count + 4 * v, a[i][v]);
}

/* The scalar remainder: output channels co0..co_count-1 (fewer than 4). */
INLINE void filter_tail(const float *x, const float *dy, float *out, int cb, int co0, int co_count,
                        int oh0, int oh1, int ow0, int ow1, int x_row, int x_step, int dy_row) {
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

#define BLOCK(CB, NV) filter_block(xc, dt + co0, ot + ci0 * co_count + co0, CB, NV, ci_count, co_count, oh0, oh1, ow0, ow1, x_row, x_step, dy_row)
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

EXPORT("conv2d_filter_grad")
void conv2d_filter_grad(const float *x, const float *dy, float *dw, int batch, int height, int width, int ci_count,
                        int out_height, int out_width, int co_count, int kernel_h, int kernel_w, int stride_h,
                        int stride_w, int dilation_h, int dilation_w, int top, int left, int rows) {
  const int x_step = stride_w * ci_count;
  const int x_row = stride_h * width * ci_count;
  const int dy_row = out_width * co_count;
  for (int b = 0; b < batch; b++) {
    for (int r0 = 0; r0 < out_height; r0 += rows) {
      const int r1 = min_i(out_height, r0 + rows);
      for (int kh = 0; kh < kernel_h; kh++) {
        const int off_h = kh * dilation_h - top;
        const int oh0 = max_i(r0, first_inside(off_h, stride_h));
        const int oh1 = min_i(r1, end_inside(off_h, stride_h, height));
        if (oh0 >= oh1) continue;
        for (int kw = 0; kw < kernel_w; kw++) {
          const int off_w = kw * dilation_w - left;
          const int ow0 = first_inside(off_w, stride_w);
          const int ow1 = min_i(out_width, end_inside(off_w, stride_w, width));
          if (ow0 >= ow1) continue;
          const float *xt = x + ((b * height + oh0 * stride_h + off_h) * width + ow0 * stride_w + off_w) * ci_count;
          const float *dt = dy + ((b * out_height + oh0) * out_width + ow0) * co_count;
          float *ot = dw + (kh * kernel_w + kw) * ci_count * co_count;
          for (int ci0 = 0; ci0 < ci_count; ci0 += 4) {
            const int cb = min_i(4, ci_count - ci0);
            const float *xc = xt + ci0;
            int co0 = 0;
            for (; co0 + 8 <= co_count; co0 += 8) BLOCKS(2);
            if (co0 + 4 <= co_count) {
              BLOCKS(1);
              co0 += 4;
            }
            if (co0 < co_count) {
              filter_tail(xc, dt, ot + ci0 * co_count, cb, co0, co_count, oh0, oh1, ow0, ow1, x_row, x_step, dy_row);
            }
          }
        }
      }
    }
  }
}

/*
 * Local response normalisation over the channels of each pixel, as TF.js defines it:
 * y[c] = x[c] * n[c]^-beta, n[c] = bias + alpha * (sum of x[c']^2 over |c' - c| <= radius), for
 * beta = 3/4 (the network's; the caller runs TF.js's own kernel for any other):
 * n^-3/4 = 1 / (sqrt(n) * sqrt(sqrt(n))). Each pixel's squares sit in scratch between `radius`
 * zeros on either side, so every window is 2 * radius + 1 unaligned loads of 4 channels, summed
 * from the lowest channel up as in the cpu backend. Channels past the last multiple of 4 take
 * the same sums one at a time.
 */
INLINE v128_t pow_minus_three_quarters4(v128_t n) {
  const v128_t r = wasm_f32x4_sqrt(n);
  return wasm_f32x4_div(wasm_f32x4_splat(1.0f), wasm_f32x4_mul(r, wasm_f32x4_sqrt(r)));
}
INLINE float pow_minus_three_quarters(float n) {
  const float r = __builtin_sqrtf(n);
  return 1.0f / (r * __builtin_sqrtf(r));
}

/* Sum of the window around c..c+3 of a zero-padded row (`row` points at channel 0). */
INLINE v128_t window_sum4(const float *row, int c, int radius) {
  v128_t s = wasm_v128_load(row + c - radius);
  for (int j = 1 - radius; j <= radius; j++) s = wasm_f32x4_add(s, wasm_v128_load(row + c + j));
  return s;
}
INLINE float window_sum(const float *row, int c, int radius) {
  float s = row[c - radius];
  for (int j = 1 - radius; j <= radius; j++) s += row[c + j];
  return s;
}

/* Zeroes a padded row and returns the position of its channel 0. */
INLINE float *padded_row(float *at, int channels, int radius) {
  for (int i = 0; i < channels + 2 * radius + 4; i++) at[i] = 0.0f;
  return at + radius;
}

/* scratch: channels + 2 * radius + 4 floats. */
EXPORT("lrn")
void lrn(const float *x, float *y, float *scratch, int pixels, int channels, int radius, float bias, float alpha) {
  float *sq = padded_row(scratch, channels, radius);
  const int vec_end = channels & ~3;
  const v128_t bias4 = wasm_f32x4_splat(bias), alpha4 = wasm_f32x4_splat(alpha);
  for (int p = 0; p < pixels; p++, x += channels, y += channels) {
    for (int c = 0; c < channels; c++) sq[c] = x[c] * x[c];
    for (int c = 0; c < vec_end; c += 4) {
      const v128_t n = wasm_f32x4_add(bias4, wasm_f32x4_mul(alpha4, window_sum4(sq, c, radius)));
      wasm_v128_store(y + c, wasm_f32x4_mul(wasm_v128_load(x + c), pow_minus_three_quarters4(n)));
    }
    for (int c = vec_end; c < channels; c++) y[c] = x[c] * pow_minus_three_quarters(bias + alpha * window_sum(sq, c, radius));
  }
}

/*
 * Its gradient: dx[k] = dy[k] * n[k]^-beta - 2 alpha beta x[k] * (sum over |o - k| <= radius of
 * t[o]), t[o] = dy[o] y[o] / n[o] (the cpu backend's sum, regrouped).
 * scratch: 3 * (channels + 2 * radius + 4) floats.
 */
EXPORT("lrn_grad")
void lrn_grad(const float *x, const float *y, const float *dy, float *dx, float *scratch, int pixels, int channels, int radius,
              float bias, float alpha) {
  const int row = channels + 2 * radius + 4;
  float *sq = padded_row(scratch, channels, radius);
  float *t = padded_row(scratch + row, channels, radius);
  float *power = scratch + 2 * row;
  const int vec_end = channels & ~3;
  const float scale = -2.0f * alpha * 0.75f;
  const v128_t bias4 = wasm_f32x4_splat(bias), alpha4 = wasm_f32x4_splat(alpha), scale4 = wasm_f32x4_splat(scale);
  for (int p = 0; p < pixels; p++, x += channels, y += channels, dy += channels, dx += channels) {
    for (int c = 0; c < channels; c++) sq[c] = x[c] * x[c];
    for (int c = 0; c < vec_end; c += 4) {
      const v128_t n = wasm_f32x4_add(bias4, wasm_f32x4_mul(alpha4, window_sum4(sq, c, radius)));
      wasm_v128_store(power + c, pow_minus_three_quarters4(n));
      wasm_v128_store(t + c, wasm_f32x4_div(wasm_f32x4_mul(wasm_v128_load(dy + c), wasm_v128_load(y + c)), n));
    }
    for (int c = vec_end; c < channels; c++) {
      const float n = bias + alpha * window_sum(sq, c, radius);
      power[c] = pow_minus_three_quarters(n);
      t[c] = dy[c] * y[c] / n;
    }
    for (int k = 0; k < vec_end; k += 4) {
      const v128_t own = wasm_f32x4_mul(wasm_v128_load(dy + k), wasm_v128_load(power + k));
      const v128_t cross = wasm_f32x4_mul(wasm_f32x4_mul(scale4, wasm_v128_load(x + k)), window_sum4(t, k, radius));
      wasm_v128_store(dx + k, wasm_f32x4_add(own, cross));
    }
    for (int k = vec_end; k < channels; k++) dx[k] = dy[k] * power[k] + scale * x[k] * window_sum(t, k, radius);
  }
}

/*
 * The temporal stream's input from one quantised flow sample (lib/model/input.ts writeExample
 * does the same in JavaScript): planar uint8 [channels][rows][cols] cropped at (top, left) to
 * size x size, rows read bottom-up when `flip`, decoded as offset[c] + q * step[c] (the caller
 * folds the flip's negated y channels into offset and step) and written channels-last. Blocks
 * of 4 pixels x 4 channels: four 32-bit loads, one byte shuffle that transposes them, widening
 * to floats, four stores of 4 channels each.
 */
EXPORT("prepare_flow")
void prepare_flow(const unsigned char *flow, const float *offset, const float *step, float *out, int channels, int rows, int cols,
                  int size, int top, int left, int flip) {
  const int plane = rows * cols;
  const int vec_c = channels & ~3, vec_x = size & ~3;
  for (int y = 0; y < size; y++) {
    const unsigned char *row = flow + (top + (flip ? size - 1 - y : y)) * cols + left;
    float *o = out + y * size * channels;
    for (int c = 0; c < vec_c; c += 4) {
      const v128_t off = wasm_v128_load(offset + c), st = wasm_v128_load(step + c);
      const unsigned char *p0 = row + c * plane;
      for (int x = 0; x < vec_x; x += 4) {
        unsigned int q[4];
        for (int i = 0; i < 4; i++) __builtin_memcpy(&q[i], p0 + i * plane + x, 4);
        const v128_t by_channel = wasm_u32x4_make(q[0], q[1], q[2], q[3]);
        const v128_t by_pixel = wasm_i8x16_shuffle(by_channel, by_channel, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        const v128_t lo = wasm_u16x8_extend_low_u8x16(by_pixel), hi = wasm_u16x8_extend_high_u8x16(by_pixel);
        const v128_t px[4] = {wasm_u32x4_extend_low_u16x8(lo), wasm_u32x4_extend_high_u16x8(lo), wasm_u32x4_extend_low_u16x8(hi),
                              wasm_u32x4_extend_high_u16x8(hi)};
        for (int i = 0; i < 4; i++)
          wasm_v128_store(o + (x + i) * channels + c, wasm_f32x4_add(off, wasm_f32x4_mul(wasm_f32x4_convert_u32x4(px[i]), st)));
      }
      for (int x = vec_x; x < size; x++)
        for (int i = 0; i < 4; i++) o[x * channels + c + i] = offset[c + i] + (float)p0[i * plane + x] * step[c + i];
    }
    for (int c = vec_c; c < channels; c++) {
      const unsigned char *p = row + c * plane;
      for (int x = 0; x < size; x++) o[x * channels + c] = offset[c] + (float)p[x] * step[c];
    }
  }
}

/*
 * MaxPoolGrad: for every output cell and channel, the window's first maximum in row-major order
 * (as the cpu backend; it matters after a ReLU, in windows of zeros) receives dy. 4 channels
 * at a time: per lane the best value and its index. dx must be zero on entry.
 */
EXPORT("max_pool_grad")
void max_pool_grad(const float *x, const float *dy, float *dx, int batch, int height, int width, int channels, int out_height,
                   int out_width, int filter_h, int filter_w, int stride_h, int stride_w, int top, int left) {
  const int vec_c = channels & ~3;
  const v128_t lanes = wasm_i32x4_make(0, 1, 2, 3);
  for (int b = 0; b < batch; b++) {
    const int xb = b * height * width * channels;
    for (int r = 0; r < out_height; r++) {
      const int r0 = r * stride_h - top;
      const int r_from = max_i(0, r0), r_to = min_i(height, r0 + filter_h);
      for (int q = 0; q < out_width; q++) {
        const int q0 = q * stride_w - left;
        const int q_from = max_i(0, q0), q_to = min_i(width, q0 + filter_w);
        const float *g = dy + ((b * out_height + r) * out_width + q) * channels;
        for (int c = 0; c < vec_c; c += 4) {
          v128_t best = wasm_f32x4_splat(-__builtin_inff());
          v128_t at = wasm_i32x4_splat(-1);
          for (int i = r_from; i < r_to; i++) {
            for (int j = q_from; j < q_to; j++) {
              const int k = xb + (i * width + j) * channels + c;
              const v128_t v = wasm_v128_load(x + k);
              const v128_t higher = wasm_f32x4_gt(v, best);
              best = wasm_v128_bitselect(v, best, higher);
              at = wasm_v128_bitselect(wasm_i32x4_add(wasm_i32x4_splat(k), lanes), at, higher);
            }
          }
          int where[4];
          wasm_v128_store(where, at);
          for (int l = 0; l < 4; l++)
            if (where[l] >= 0) dx[where[l]] += g[c + l];
        }
        for (int c = vec_c; c < channels; c++) {
          float best = -__builtin_inff();
          int at = -1;
          for (int i = r_from; i < r_to; i++) {
            for (int j = q_from; j < q_to; j++) {
              const int k = xb + (i * width + j) * channels + c;
              if (x[k] > best) {
                best = x[k];
                at = k;
              }
            }
          }
          if (at >= 0) dx[at] += g[c];
        }
      }
    }
  }
}

/*
 * The register block's inner product over one tap: for each of `count` channels, 4 * nv filter
 * floats (packed contiguous, 4 * nv per channel) times each of np pixels' value of that channel
 * (`pixel` floats apart in `src`), added to a[p][v] in channel order.
 */
INLINE void accumulate_tap(v128_t a[4][2], int np, int nv, const float *src, int pixel, const float *w, int count) {
  for (int c = 0; c < count; c++, w += 4 * nv) {
    v128_t f[2];
    for (int v = 0; v < nv; v++) f[v] = wasm_v128_load(w + 4 * v);
    for (int p = 0; p < np; p++) {
      const v128_t s = wasm_v128_load32_splat(src + p * pixel + c);
      for (int v = 0; v < nv; v++) a[p][v] = madd(s, f[v], a[p][v]);
    }
  }
}

/*
 * Conv2DBackpropInput (dilation 1): dx[b,i,j,ci] = sum over the taps (kh,kw) that reach (i,j)
 * from an output cell (i + top - kh = oh*sh, j + left - kw = ow*sw) and over co of
 * dy[b,oh,ow,co] * w[kh,kw,ci,co]. Gathered per input pixel, so a stride adds no zeros to
 * multiply. The filter is first copied to wt, each block of input channels contiguous.
 * Register blocks of 4 pixels one stride apart (the same taps, neighbouring output cells) x 8
 * input channels where every tap of all 4 is inside dy; one pixel at a time elsewhere.
 */
INLINE void input_grad_block(const float *dy, const float *wt, float *dx, int np, int nv, int ci0, int i, int j, int b, int height,
                             int width, int ci_count, int out_height, int out_width, int co_count, int kernel_h, int kernel_w,
                             int stride_h, int stride_w, int top, int left) {
  v128_t a[4][2];
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) a[p][v] = wasm_f32x4_splat(0.0f);
  for (int kh = (i + top) % stride_h; kh < kernel_h; kh += stride_h) {
    const int oh = (i + top - kh) / stride_h;
    if (oh < 0) break;
    if (oh >= out_height) continue;
    for (int kw = (j + left) % stride_w; kw < kernel_w; kw += stride_w) {
      const int ow = (j + left - kw) / stride_w;
      if (ow < 0) break;
      if (ow + np > out_width) continue; /* a block only comes here when all its taps are inside */
      const float *dp = dy + ((b * out_height + oh) * out_width + ow) * co_count;
      const float *wp = wt + ci0 * kernel_h * kernel_w * co_count + (kh * kernel_w + kw) * co_count * 4 * nv;
      accumulate_tap(a, np, nv, dp, co_count, wp, co_count);
    }
  }
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) wasm_v128_store(dx + ((b * height + i) * width + j + p * stride_w) * ci_count + ci0 + 4 * v, a[p][v]);
}

INLINE void input_grad_scalar(const float *dy, const float *wt, float *dx, int ci0, int i, int j, int b, int height, int width,
                              int ci_count, int out_height, int out_width, int co_count, int kernel_h, int kernel_w, int stride_h,
                              int stride_w, int top, int left) {
  for (int ci = ci0; ci < ci_count; ci++) {
    float acc = 0.0f;
    for (int kh = (i + top) % stride_h; kh < kernel_h; kh += stride_h) {
      const int oh = (i + top - kh) / stride_h;
      if (oh < 0) break;
      if (oh >= out_height) continue;
      for (int kw = (j + left) % stride_w; kw < kernel_w; kw += stride_w) {
        const int ow = (j + left - kw) / stride_w;
        if (ow < 0) break;
        if (ow >= out_width) continue;
        const float *dp = dy + ((b * out_height + oh) * out_width + ow) * co_count;
        const float *wp = wt + (ci * kernel_h * kernel_w + kh * kernel_w + kw) * co_count;
        for (int co = 0; co < co_count; co++) acc += dp[co] * wp[co];
      }
    }
    dx[((b * height + i) * width + j) * ci_count + ci] = acc;
  }
}

#define INPUT_GRAD(NP, NV, CI0) \
  input_grad_block(dy, wt, dx, NP, NV, CI0, i, j, b, height, width, ci_count, out_height, out_width, co_count, kernel_h, kernel_w, stride_h, stride_w, top, left)

/* Whether every tap of the pixels j, j + sw, ..., j + (np-1) sw reaches an output cell in row range. */
INLINE int all_taps_inside(int j, int np, int out_width, int kernel_w, int stride_w, int left) {
  for (int kw = (j + left) % stride_w; kw < kernel_w; kw += stride_w) {
    const int ow = (j + left - kw) / stride_w;
    if (ow < 0 || ow + np > out_width) return 0;
  }
  return 1;
}

/*
 * One pass over every input pixel for input channels ci0.. (nv vectors, or one at a time from
 * ci0 to the end when nv is 0). Passes run one channel block at a time so that the block's
 * filter rows stay in cache while dy streams by (the paper's 3x3 layers have 9.4 MB filters).
 */
INLINE void input_grad_pass(const float *dy, const float *wt, float *dx, int nv, int ci0, int batch, int height, int width, int ci_count,
                            int out_height, int out_width, int co_count, int kernel_h, int kernel_w, int stride_h, int stride_w, int top,
                            int left) {
  for (int b = 0; b < batch; b++) {
    for (int i = 0; i < height; i++) {
      for (int phase = 0; phase < stride_w; phase++) {
        for (int j = phase; j < width;) {
          const int np = nv > 0 && j + 3 * stride_w < width && all_taps_inside(j, 4, out_width, kernel_w, stride_w, left) ? 4 : 1;
          if (nv == 0) {
            input_grad_scalar(dy, wt, dx, ci0, i, j, b, height, width, ci_count, out_height, out_width, co_count, kernel_h, kernel_w,
                              stride_h, stride_w, top, left);
          } else if (np == 4) {
            if (nv == 2) INPUT_GRAD(4, 2, ci0);
            else INPUT_GRAD(4, 1, ci0);
          } else {
            if (nv == 2) INPUT_GRAD(1, 2, ci0);
            else INPUT_GRAD(1, 1, ci0);
          }
          j += np * stride_w;
        }
      }
    }
  }
}

EXPORT("conv2d_input_grad")
void conv2d_input_grad(const float *dy, const float *w, float *dx, float *wt, int batch, int height, int width, int ci_count,
                       int out_height, int out_width, int co_count, int kernel_h, int kernel_w, int stride_h, int stride_w, int top,
                       int left) {
  /* Each channel block's filter rows contiguous: block (ci0, width bw) at ci0 * taps * co_count,
     laid out [tap][co][bw]. Blocks of 8, then one of 4, then single channels, as the passes. */
  const int taps = kernel_h * kernel_w, end8 = ci_count & ~7, end4 = ci_count - end8 >= 4 ? end8 + 4 : end8;
  for (int ci = 0; ci < ci_count; ci++) {
    const int first = ci < end8 ? ci & ~7 : ci < end4 ? end8 : ci, bw = ci < end8 ? 8 : ci < end4 ? 4 : 1;
    for (int t = 0; t < taps; t++)
      for (int co = 0; co < co_count; co++) wt[first * taps * co_count + (t * co_count + co) * bw + ci - first] = w[(t * ci_count + ci) * co_count + co];
  }
  int ci0 = 0;
  for (; ci0 + 8 <= ci_count; ci0 += 8)
    input_grad_pass(dy, wt, dx, 2, ci0, batch, height, width, ci_count, out_height, out_width, co_count, kernel_h, kernel_w, stride_h,
                    stride_w, top, left);
  if (ci0 + 4 <= ci_count) {
    input_grad_pass(dy, wt, dx, 1, ci0, batch, height, width, ci_count, out_height, out_width, co_count, kernel_h, kernel_w, stride_h,
                    stride_w, top, left);
    ci0 += 4;
  }
  if (ci0 < ci_count)
    input_grad_pass(dy, wt, dx, 0, ci0, batch, height, width, ci_count, out_height, out_width, co_count, kernel_h, kernel_w, stride_h,
                    stride_w, top, left);
}

/*
 * Conv2D, channels-last: y[b,oh,ow,co] = sum over (kh,kw,ci) of
 * x[b, oh*sh + kh*dh - top, ow*sw + kw*dw - left, ci] * w[kh,kw,ci,co], taps outside x skipped,
 * summed tap by tap and channel by channel (XNNPACK's order). One pass per block of 8 output
 * channels (then one of 4, then single ones), its filter columns packed [tap][ci][width] in
 * `packed`; register blocks of 4 neighbouring output pixels that see the same taps, one pixel
 * at a time elsewhere (the borders of padded layers).
 */
INLINE void conv_block(const float *xp, const float *wp, float *yp, int np, int nv, int kh0, int kh1, int kw0, int kw1, int kernel_w,
                       int ci_count, int co_count, int x_tap_h, int x_tap_w, int x_pixel) {
  v128_t a[4][2];
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) a[p][v] = wasm_f32x4_splat(0.0f);
  for (int kh = kh0; kh < kh1; kh++) {
    for (int kw = kw0; kw < kw1; kw++) {
      const float *xt = xp + kh * x_tap_h + kw * x_tap_w;
      accumulate_tap(a, np, nv, xt, x_pixel, wp + (kh * kernel_w + kw) * ci_count * 4 * nv, ci_count);
    }
  }
  for (int p = 0; p < np; p++)
    for (int v = 0; v < nv; v++) wasm_v128_store(yp + p * co_count + 4 * v, a[p][v]);
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

INLINE void conv_pass(const float *x, const float *packed, float *y, int nv, int co0, int batch, int height, int width, int ci_count,
                      int out_height, int out_width, int co_count, int kernel_h, int kernel_w, int stride_h, int stride_w, int dilation_h,
                      int dilation_w, int top, int left) {
  const int x_tap_h = dilation_h * width * ci_count, x_tap_w = dilation_w * ci_count, x_pixel = stride_w * ci_count;
  const float *wp = packed + co0 * kernel_h * kernel_w * ci_count;
  for (int b = 0; b < batch; b++) {
    for (int oh = 0; oh < out_height; oh++) {
      const int ih = oh * stride_h - top;
      const int kh0 = first_inside(ih, dilation_h), kh1 = min_i(kernel_h, end_inside(ih, dilation_h, height));
      float *yr = y + (b * out_height + oh) * out_width * co_count + co0;
      for (int ow = 0; ow < out_width;) {
        const int iw = ow * stride_w - left;
        const int kw0 = first_inside(iw, dilation_w), kw1 = min_i(kernel_w, end_inside(iw, dilation_w, width));
        int np = 1;
        if (nv > 0 && ow + 4 <= out_width) {
          const int iw3 = iw + 3 * stride_w;
          if (first_inside(iw3, dilation_w) == kw0 && min_i(kernel_w, end_inside(iw3, dilation_w, width)) == kw1) np = 4;
        }
        float *yp = yr + ow * co_count;
        const float *xp = x + ((b * height + ih) * width + iw) * ci_count;
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
}

/*
 * x with `top`, `bottom`, `left` and `right` zero rows and columns around each sample, for
 * Conv2D on padded layers: with the zeros in memory every output pixel's taps lie inside, so
 * the register blocks of 4 pixels run at the borders too (adding 0 * w changes no sum).
 */
EXPORT("pad_input")
void pad_input(const float *x, float *out, int batch, int height, int width, int channels, int top, int bottom, int left,
               int right) {
  const int out_height = height + top + bottom, row = width * channels, out_row = (width + left + right) * channels;
  for (int b = 0; b < batch; b++) {
    for (int r = 0; r < out_height; r++) {
      float *o = out + (b * out_height + r) * out_row;
      const int ir = r - top;
      if (ir < 0 || ir >= height) {
        for (int i = 0; i < out_row; i++) o[i] = 0.0f;
        continue;
      }
      const float *xr = x + (b * height + ir) * row;
      for (int i = 0; i < left * channels; i++) o[i] = 0.0f;
      for (int i = 0; i < row; i++) o[left * channels + i] = xr[i];
      for (int i = (left + width) * channels; i < out_row; i++) o[i] = 0.0f;
    }
  }
}

EXPORT("conv2d")
void conv2d(const float *x, const float *w, float *y, float *packed, int batch, int height, int width, int ci_count, int out_height,
            int out_width, int co_count, int kernel_h, int kernel_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int top,
            int left) {
  const int taps = kernel_h * kernel_w, end8 = co_count & ~7, end4 = co_count - end8 >= 4 ? end8 + 4 : end8;
  for (int co = 0; co < co_count; co++) {
    const int first = co < end8 ? co & ~7 : co < end4 ? end8 : co, bw = co < end8 ? 8 : co < end4 ? 4 : 1;
    for (int t = 0; t < taps; t++)
      for (int ci = 0; ci < ci_count; ci++) packed[first * taps * ci_count + (t * ci_count + ci) * bw + co - first] = w[(t * ci_count + ci) * co_count + co];
  }
#define CONV_PASS(NV, CO0) \
  conv_pass(x, packed, y, NV, CO0, batch, height, width, ci_count, out_height, out_width, co_count, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, top, left)
  int co0 = 0;
  for (; co0 < end8; co0 += 8) CONV_PASS(2, co0);
  if (co0 < end4) { CONV_PASS(1, co0); co0 += 4; }
  for (; co0 < co_count; co0++) CONV_PASS(0, co0);
#undef CONV_PASS
}
