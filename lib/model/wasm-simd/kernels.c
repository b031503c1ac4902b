/*
 * The other training kernels in WebAssembly SIMD (LRN and its gradient, the flow input,
 * max-pool gradient) that run on the TF.js wasm backend's own heap (this module imports its
 * memory: no copies); the convolutions are in convolutions.c. Built by build.sh into
 * kernels-wasm.ts; nothing here may use the shadow stack or static data, which would live in
 * TF.js's memory (build.sh checks the binary for both).
 */
#include "vector.h"

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
