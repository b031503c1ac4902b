/*
 * The convolution kernels' shapes and their work split into independent units (output rows,
 * or filter taps x input-channel blocks): each unit writes its own outputs and sums them in the
 * same order however the units are shared among threads, so any thread count gives the same
 * bits. The WebAssembly build runs every unit in one call (convolutions.c's exports); the
 * native one shares them among threads (lib/model/native/addon.c).
 */
#ifndef CONVOLUTIONS_H
#define CONVOLUTIONS_H

typedef struct {
  int batch, height, width, ci_count, out_height, out_width, co_count, kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w,
      top, left;
  int rows; /* filter gradient: output rows per chunk of the (b, oh, ow) sum */
} conv_shape;

#if defined(__wasm__)
#define UNIT_FN static inline __attribute__((always_inline))
#else
#define UNIT_FN
/* Conv2D: pack the filter once, then output rows b * out_height. */
void conv2d_pack(const float *w, float *packed, const conv_shape *s);
void conv2d_rows(const float *x, const float *packed, float *y, const conv_shape *s, int from, int to);
/* Conv2DBackpropFilter: units are (kh, kw, block of 4 input channels); dw zero on entry. */
int filter_grad_units(const conv_shape *s);
void filter_grad_run(const float *x, const float *dy, float *dw, const conv_shape *s, int from, int to);
/* Conv2DBackpropInput: transpose the filter once, then input rows b * height. */
void input_grad_pack(const float *w, float *wt, const conv_shape *s);
void input_grad_rows(const float *dy, const float *wt, float *dx, const conv_shape *s, int from, int to);
/* MatMul: units are blocks of 2 VW output columns. */
int matmul_units(int n_count);
void matmul_run(const float *a, const float *b, float *out, int m_count, int k_count, int n_count, int transpose_b, int from, int to);
#endif

#endif
