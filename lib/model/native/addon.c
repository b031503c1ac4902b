/*
 * Node-API module over the native build of lib/model/wasm-simd/convolutions.c (AVX2 + FMA)
 * and of adam.c: the convolutions read and write the TF.js wasm heap in place (its
 * WebAssembly.Memory buffer, with byte offsets for pointers), Adam any Float32Arrays; both share
 * their work among `threads` POSIX threads. Built at install by build-native.ts; this file is
 * compiled without AVX so that `available` can run on any x86-64 CPU and say no.
 */
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include "../wasm-simd/convolutions.h"
#include "adam.h"

#define MAX_THREADS 64
#define MAX_ARGS 24

typedef struct {
  napi_env env;
  uint8_t *heap;
  size_t length;
  napi_value argv[MAX_ARGS];
  size_t argc;
} call_t;

static napi_value fail(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

/* Reads the heap buffer (argument 0) and checks the argument count. */
static int open_call(napi_env env, napi_callback_info info, call_t *c, size_t expected) {
  c->env = env;
  c->argc = MAX_ARGS;
  void *data;
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok || c->argc != expected) {
    fail(env, "native kernels: wrong number of arguments");
    return 0;
  }
  if (napi_get_arraybuffer_info(env, c->argv[0], &data, &c->length) != napi_ok) {
    fail(env, "native kernels: argument 0 must be the heap's ArrayBuffer");
    return 0;
  }
  c->heap = data;
  return 1;
}

static int int_arg(call_t *c, size_t i, int minimum, int *out) {
  int32_t v;
  if (napi_get_value_int32(c->env, c->argv[i], &v) != napi_ok || v < minimum) {
    fail(c->env, "native kernels: a shape argument is not an integer in range");
    return 0;
  }
  *out = v;
  return 1;
}

/* A float array of `count` floats at the byte offset in argument i, inside the heap and aligned. */
static float *region(call_t *c, size_t i, int64_t count) {
  int64_t offset;
  if (napi_get_value_int64(c->env, c->argv[i], &offset) != napi_ok || offset < 0 || offset % 4 != 0 || count < 0 ||
      (uint64_t)offset + (uint64_t)count * 4 > c->length) {
    fail(c->env, "native kernels: a tensor lies outside the heap");
    return NULL;
  }
  return (float *)(c->heap + offset);
}

/* The shape from arguments first.. in conv_shape's order (`dilated`: with the two dilations). */
static int shape_args(call_t *c, size_t first, int dilated, int rows, conv_shape *s) {
  int *fields[] = {&s->batch, &s->height, &s->width, &s->ci_count, &s->out_height, &s->out_width, &s->co_count, &s->kernel_h,
                   &s->kernel_w, &s->stride_h, &s->stride_w, &s->dilation_h, &s->dilation_w, &s->top, &s->left, &s->rows};
  s->dilation_h = s->dilation_w = s->rows = 1;
  size_t at = first;
  for (int f = 0; f < 16; f++) {
    if ((f == 11 || f == 12) && !dilated) continue;
    if (f == 15 && !rows) continue;
    if (!int_arg(c, at++, f >= 13 && f <= 14 ? 0 : 1, fields[f])) return 0;
  }
  return 1;
}

typedef struct {
  void (*run)(const void *job, int64_t from, int64_t to);
  const void *job;
  int64_t from, to;
} part_t;

static void *run_part(void *p) {
  part_t *part = p;
  part->run(part->job, part->from, part->to);
  return NULL;
}

/* units split into `threads` contiguous ranges; this thread runs the first. */
static void share(void (*run)(const void *, int64_t, int64_t), const void *job, int64_t units, int threads) {
  if (threads > units) threads = units;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads <= 1) {
    run(job, 0, units);
    return;
  }
  part_t parts[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (int t = 0; t < threads; t++) parts[t] = (part_t){run, job, units * t / threads, units * (t + 1) / threads};
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&ids[t], NULL, run_part, &parts[t]) == 0;
  run_part(&parts[0]);
  for (int t = 1; t < threads; t++) {
    if (started[t]) pthread_join(ids[t], NULL);
    else run_part(&parts[t]); /* no thread to be had: run its share here */
  }
}

typedef struct {
  const float *a, *b;
  float *out;
  conv_shape s;
} job_t;

static void conv_job(const void *j, int64_t from, int64_t to) {
  const job_t *job = j;
  conv2d_rows(job->a, job->b, job->out, &job->s, (int)from, (int)to);
}
static void filter_job(const void *j, int64_t from, int64_t to) {
  const job_t *job = j;
  filter_grad_run(job->a, job->b, job->out, &job->s, (int)from, (int)to);
}
static void input_job(const void *j, int64_t from, int64_t to) {
  const job_t *job = j;
  input_grad_rows(job->a, job->b, job->out, &job->s, (int)from, (int)to);
}

static int64_t image(int b, int h, int w, int c) { return (int64_t)b * h * w * c; }

/* conv2d(heap, x, w, y, packed, batch, height, width, ci, outHeight, outWidth, co, kh, kw, sh, sw, dh, dw, top, left, threads) */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  call_t c;
  job_t job;
  int threads;
  if (!open_call(env, info, &c, 21) || !shape_args(&c, 5, 1, 0, &job.s) || !int_arg(&c, 20, 1, &threads)) return NULL;
  const conv_shape *s = &job.s;
  const int64_t filter = image(s->kernel_h, s->kernel_w, s->ci_count, s->co_count);
  const float *x = region(&c, 1, image(s->batch, s->height, s->width, s->ci_count)), *w = region(&c, 2, filter);
  float *y = region(&c, 3, image(s->batch, s->out_height, s->out_width, s->co_count)), *packed = region(&c, 4, filter);
  if (!x || !w || !y || !packed) return NULL;
  conv2d_pack(w, packed, s);
  job.a = x, job.b = packed, job.out = y;
  share(conv_job, &job, s->batch * s->out_height, threads);
  return NULL;
}

/* filterGrad(heap, x, dy, dw, batch, height, width, ci, outHeight, outWidth, co, kh, kw, sh, sw, dh, dw, top, left, rows, threads); dw zero on entry */
static napi_value filter_grad(napi_env env, napi_callback_info info) {
  call_t c;
  job_t job;
  int threads;
  if (!open_call(env, info, &c, 21) || !shape_args(&c, 4, 1, 1, &job.s) || !int_arg(&c, 20, 1, &threads)) return NULL;
  const conv_shape *s = &job.s;
  const float *x = region(&c, 1, image(s->batch, s->height, s->width, s->ci_count));
  const float *dy = region(&c, 2, image(s->batch, s->out_height, s->out_width, s->co_count));
  float *dw = region(&c, 3, image(s->kernel_h, s->kernel_w, s->ci_count, s->co_count));
  if (!x || !dy || !dw) return NULL;
  job.a = x, job.b = dy, job.out = dw;
  share(filter_job, &job, filter_grad_units(s), threads);
  return NULL;
}

/* inputGrad(heap, dy, w, dx, wt, batch, height, width, ci, outHeight, outWidth, co, kh, kw, sh, sw, top, left, threads) */
static napi_value input_grad(napi_env env, napi_callback_info info) {
  call_t c;
  job_t job;
  int threads;
  if (!open_call(env, info, &c, 19) || !shape_args(&c, 5, 0, 0, &job.s) || !int_arg(&c, 18, 1, &threads)) return NULL;
  const conv_shape *s = &job.s;
  const int64_t filter = image(s->kernel_h, s->kernel_w, s->ci_count, s->co_count);
  const float *dy = region(&c, 1, image(s->batch, s->out_height, s->out_width, s->co_count)), *w = region(&c, 2, filter);
  float *dx = region(&c, 3, image(s->batch, s->height, s->width, s->ci_count)), *wt = region(&c, 4, filter);
  if (!dy || !w || !dx || !wt) return NULL;
  input_grad_pack(w, wt, s);
  job.a = dy, job.b = wt, job.out = dx;
  share(input_job, &job, s->batch * s->height, threads);
  return NULL;
}

typedef struct {
  const float *a, *b;
  float *out;
  int m, k, n, transpose_b;
} matmul_job;

static void matmul_part(const void *j, int64_t from, int64_t to) {
  const matmul_job *job = j;
  matmul_run(job->a, job->b, job->out, job->m, job->k, job->n, job->transpose_b, (int)from, (int)to);
}

/* matmul(heap, a, b, out, m, k, n, transposeB, threads): out[m,n] = a[m,k] b[k,n], or b[n,k] transposed */
static napi_value matmul(napi_env env, napi_callback_info info) {
  call_t c;
  matmul_job job;
  int threads;
  if (!open_call(env, info, &c, 9) || !int_arg(&c, 4, 1, &job.m) || !int_arg(&c, 5, 1, &job.k) || !int_arg(&c, 6, 1, &job.n) ||
      !int_arg(&c, 7, 0, &job.transpose_b) || !int_arg(&c, 8, 1, &threads))
    return NULL;
  job.a = region(&c, 1, (int64_t)job.m * job.k);
  job.b = region(&c, 2, (int64_t)job.k * job.n);
  job.out = region(&c, 3, (int64_t)job.m * job.n);
  if (!job.a || !job.b || !job.out) return NULL;
  share(matmul_part, &job, matmul_units(job.n), threads);
  return NULL;
}

static float *floats_arg(call_t *c, size_t i, size_t *length) {
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(c->env, c->argv[i], &type, length, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
    fail(c->env, "native kernels: expected a Float32Array");
    return NULL;
  }
  return data;
}

static int double_arg(call_t *c, size_t i, double *out) {
  if (napi_get_value_double(c->env, c->argv[i], out) != napi_ok) {
    fail(c->env, "native kernels: expected a number");
    return 0;
  }
  return 1;
}

static void adam_part(const void *job, int64_t from, int64_t to) { adam_update(job, from, to); }

/* adam(x, grad, m, v, out, decay, beta1, beta2, epsilon, stepSize, correction2, threads): five Float32Arrays of one length (out may be x) */
static napi_value adam(napi_env env, napi_callback_info info) {
  call_t c = {.env = env, .argc = MAX_ARGS};
  if (napi_get_cb_info(env, info, &c.argc, c.argv, NULL, NULL) != napi_ok || c.argc != 12) return fail(env, "native kernels: wrong number of arguments");
  size_t n[5];
  float *a[5];
  for (int k = 0; k < 5; k++)
    if (!(a[k] = floats_arg(&c, (size_t)k, &n[k]))) return NULL;
  for (int k = 1; k < 5; k++)
    if (n[k] != n[0]) return fail(env, "native kernels: Adam's arrays differ in length");
  adam_job job = {.x = a[0], .grad = a[1], .m = a[2], .v = a[3], .out = a[4]};
  double *params[] = {&job.decay, &job.beta1, &job.beta2, &job.epsilon, &job.step_size, &job.correction2};
  int threads;
  for (int k = 0; k < 6; k++)
    if (!double_arg(&c, (size_t)(5 + k), params[k])) return NULL;
  if (!int_arg(&c, 11, 1, &threads)) return NULL;
  /* below about 64 K weights a thread costs more than it saves */
  share(adam_part, &job, (int64_t)n[0], n[0] < 65536 ? 1 : threads);
  return NULL;
}

/* Whether this CPU runs the AVX2 + FMA kernels. */
static napi_value available(napi_env env, napi_callback_info info) {
  (void)info;
  __builtin_cpu_init();
  napi_value result;
  napi_get_boolean(env, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"), &result);
  return result;
}

NAPI_MODULE_INIT() {
  const napi_property_descriptor functions[] = {
      {"available", NULL, available, NULL, NULL, NULL, napi_default, NULL},
      {"conv2d", NULL, conv2d, NULL, NULL, NULL, napi_default, NULL},
      {"filterGrad", NULL, filter_grad, NULL, NULL, NULL, napi_default, NULL},
      {"inputGrad", NULL, input_grad, NULL, NULL, NULL, napi_default, NULL},
      {"adam", NULL, adam, NULL, NULL, NULL, napi_default, NULL},
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}
