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
        for (int v = 0; v < nv; v++) a[i][v] = wasm_f32x4_add(a[i][v], wasm_f32x4_mul(s, d[v]));
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

#define BLOCK(CB, NV) filter_block(xc, dc, o, CB, NV, ci_count, co_count, oh0, oh1, ow0, ow1, x_row, x_step, dy_row)

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
            for (; co0 + 8 <= co_count; co0 += 8) {
              const float *dc = dt + co0;
              float *o = ot + ci0 * co_count + co0;
              switch (cb) {
                case 4: BLOCK(4, 2); break;
                case 3: BLOCK(3, 2); break;
                case 2: BLOCK(2, 2); break;
                default: BLOCK(1, 2); break;
              }
            }
            if (co0 + 4 <= co_count) {
              const float *dc = dt + co0;
              float *o = ot + ci0 * co_count + co0;
              switch (cb) {
                case 4: BLOCK(4, 1); break;
                case 3: BLOCK(3, 1); break;
                case 2: BLOCK(2, 1); break;
                default: BLOCK(1, 1); break;
              }
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
