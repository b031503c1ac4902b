/*
 * The vector type the convolution kernels are written in, for both of their builds:
 * - WebAssembly (build.sh): 128-bit SIMD, VW = 4 floats; madd is a multiply, then an add, or
 *   with RELAXED_SIMD relaxed_madd, which V8 compiles to one fused multiply-add where the CPU
 *   has FMA (one rounding; the same result on every run of one machine);
 * - native x86-64 (lib/model/native/build-native.ts): AVX2 + FMA, VW = 8 floats, madd one
 *   vfmadd. Scalar code is built without contraction there (-ffp-contract=off), as in wasm,
 *   so a sum's rounding depends only on the vector width, never on the compiler.
 */
#ifndef VECTOR_H
#define VECTOR_H

#define INLINE static inline __attribute__((always_inline))

#if defined(__wasm__)
#include <wasm_simd128.h>
#define EXPORT(name) __attribute__((export_name(name)))
#define VW 4
typedef v128_t vec_t;
INLINE vec_t vload(const float *p) { return wasm_v128_load(p); }
INLINE void vstore(float *p, vec_t v) { wasm_v128_store(p, v); }
INLINE vec_t vbroadcast(const float *p) { return wasm_v128_load32_splat(p); }
INLINE vec_t vzero(void) { return wasm_f32x4_splat(0.0f); }
/* The lanes' sum, pairwise. */
INLINE float vsum(vec_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) + (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}
#ifdef RELAXED_SIMD
typedef float f32x4_t __attribute__((__vector_size__(16), __aligned__(16)));
INLINE vec_t madd(vec_t a, vec_t b, vec_t c) { return (vec_t)__builtin_wasm_relaxed_madd_f32x4((f32x4_t)a, (f32x4_t)b, (f32x4_t)c); }
#else
INLINE vec_t madd(vec_t a, vec_t b, vec_t c) { return wasm_f32x4_add(c, wasm_f32x4_mul(a, b)); }
#endif
#else
#include <immintrin.h>
#define VW 8
typedef __m256 vec_t;
INLINE vec_t vload(const float *p) { return _mm256_loadu_ps(p); }
INLINE void vstore(float *p, vec_t v) { _mm256_storeu_ps(p, v); }
INLINE vec_t vbroadcast(const float *p) { return _mm256_broadcast_ss(p); }
INLINE vec_t vzero(void) { return _mm256_setzero_ps(); }
INLINE vec_t madd(vec_t a, vec_t b, vec_t c) { return _mm256_fmadd_ps(a, b, c); }
/* The lanes' sum, pairwise (the 128-bit build's order within each half). */
INLINE float vsum(vec_t v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  const float l = (_mm_cvtss_f32(lo) + _mm_cvtss_f32(_mm_shuffle_ps(lo, lo, 1))) + (_mm_cvtss_f32(_mm_shuffle_ps(lo, lo, 2)) + _mm_cvtss_f32(_mm_shuffle_ps(lo, lo, 3)));
  const float h = (_mm_cvtss_f32(hi) + _mm_cvtss_f32(_mm_shuffle_ps(hi, hi, 1))) + (_mm_cvtss_f32(_mm_shuffle_ps(hi, hi, 2)) + _mm_cvtss_f32(_mm_shuffle_ps(hi, hi, 3)));
  return l + h;
}
#endif

INLINE int min_i(int a, int b) { return a < b ? a : b; }
INLINE int max_i(int a, int b) { return a > b ? a : b; }
/* The first o >= 0 with o*s + off >= 0. */
INLINE int first_inside(int off, int s) { return off >= 0 ? 0 : (-off + s - 1) / s; }
/* One past the last o with o*s + off < n. */
INLINE int end_inside(int off, int s, int n) { return n - off <= 0 ? 0 : (n - off - 1) / s + 1; }

#endif
