/* x86-64 variants, each compiled for its instruction set with a per-function target attribute, so one
 * binary serves every CPU and kdp_native.c picks at load with cpuid (__builtin_cpu_supports):
 *   avx512vnni  vpdpbusd zmm: 64 u8×s8 MACs into 16 int32 per instruction (8 rows × 32 outputs a tile)
 *   avxvnni     vpdpbusd ymm (VEX): 32 MACs per instruction (4 rows × 16 outputs)
 *   avx2        6-bit weights: two vpmaddubsw (16 MACs each) added in int16, one vpmaddwd to widen;
 *               8-bit weights: sign-extended to int16, vpmaddwd (16 MACs)
 * The activations are the unsigned operand: x ^ 0x80 = x + 128 in [0, 255], undone in the bias. */
#include "kernels.h"
#if KDP_X86
#include <immintrin.h>
#include <string.h>

#define T_VNNI512 __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
#define T_AVXVNNI __attribute__((target("avx2,avxvnni")))
#define T_AVX2 __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

static int has_vnni512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512vnni");
}
static int has_avxvnni(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni"); }
static int has_avx2(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2"); }

static inline int32_t ld32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

/* ---- input packing: xp = x ^ 0x80, zero-padded to inPad ---- */
T_AVX2 static void pack_x_avx2(const kdp_op *op) {
  const __m256i flip = _mm256_set1_epi8((char)0x80);
  for (int r = 0; r < op->rows; r++) {
    const uint8_t *src = (const uint8_t *)op->x + (size_t)r * op->inDim;
    uint8_t *dst = op->xp + (size_t)r * op->inPad;
    int i = 0;
    for (; i + 32 <= op->inDim; i += 32) _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), flip));
    for (; i < op->inDim; i++) dst[i] = src[i] ^ 0x80;
    for (; i < op->inPad; i++) dst[i] = 0;
  }
}

/* ---- 256-bit requantization of 16 outputs (two vectors of 8 int32, bias added) and the int8 store ---- */
/* constants in registers: the int8 stores may alias anything (char type), so reading them from *op
 * after each store would reload and re-broadcast them every time */
typedef struct { __m256 scale, lo, hi; __m256i zp; const int32_t *bias; int8_t *y; size_t yStride; int outDim; int fp; } rq256;

T_AVX2 INLINE rq256 rq256_of(const kdp_op *op) {
  rq256 q = { _mm256_set1_ps(op->fpScale), _mm256_set1_ps((float)(op->lo - op->outZp)), _mm256_set1_ps((float)(op->hi - op->outZp)),
              _mm256_set1_epi32(op->outZp), (const int32_t *)op->bias, (int8_t *)op->y, (size_t)op->outDim, op->outDim, op->fpScale != 0.0f };
  return q;
}
T_AVX2 INLINE __m256i rq8_avx2(__m256i acc, const rq256 *q) {
  __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), q->scale);
  f = _mm256_min_ps(_mm256_max_ps(f, q->lo), q->hi);
  return _mm256_add_epi32(_mm256_cvtps_epi32(f), q->zp); /* cvtps: nearest even */
}
/* row r (absolute), outputs o..o+15 */
T_AVX2 INLINE void store16_avx2(__m256i a, __m256i b, size_t r, int o, const rq256 *q, const kdp_op *op) {
  const int32_t *bias = q->bias;
  int8_t *y = q->y + r * q->yStride;
  a = _mm256_add_epi32(a, _mm256_loadu_si256((const __m256i *)(bias + o)));
  b = _mm256_add_epi32(b, _mm256_loadu_si256((const __m256i *)(bias + o + 8)));
  int n = q->outDim - o < 16 ? q->outDim - o : 16;
  if (!q->fp) {
    int32_t t[16];
    _mm256_storeu_si256((__m256i *)t, a);
    _mm256_storeu_si256((__m256i *)(t + 8), b);
    for (int k = 0; k < n; k++) y[o + k] = kdp_requant1(t[k], op);
    return;
  }
  __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(rq8_avx2(a, q), rq8_avx2(b, q)), 0xD8);
  __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
  if (n == 16) _mm_storeu_si128((__m128i *)(y + o), bytes);
  else { int8_t t[16]; _mm_storeu_si128((__m128i *)t, bytes); memcpy(y + o, t, (size_t)n); }
}

/* ================= AVX-512 VNNI ================= */
/* requantization constants in registers: the int8 stores may alias anything (char type), so reading
 * them from *op after each store would reload and re-broadcast them every time */
typedef struct { __m512 scale, lo, hi; __m512i zp; int outDim; int fp; } rq512;

T_VNNI512 INLINE rq512 rq512_of(const kdp_op *op) {
  rq512 q = { _mm512_set1_ps(op->fpScale), _mm512_set1_ps((float)(op->lo - op->outZp)), _mm512_set1_ps((float)(op->hi - op->outZp)),
              _mm512_set1_epi32(op->outZp), op->outDim, op->fpScale != 0.0f };
  return q;
}

T_VNNI512 INLINE void store16_512(__m512i acc, const int32_t *bias, int8_t *y, int o, const rq512 *q, const kdp_op *op) {
  acc = _mm512_add_epi32(acc, _mm512_loadu_si512(bias + o));
  int n = q->outDim - o < 16 ? q->outDim - o : 16;
  if (!q->fp) {
    int32_t t[16];
    _mm512_storeu_si512(t, acc);
    for (int k = 0; k < n; k++) y[o + k] = kdp_requant1(t[k], op);
    return;
  }
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), q->scale);
  f = _mm512_min_ps(_mm512_max_ps(f, q->lo), q->hi);
  __m128i bytes = _mm512_cvtsepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(f), q->zp));
  if (n == 16) _mm_storeu_si128((__m128i *)(y + o), bytes);
  else _mm_mask_storeu_epi8(y + o, (__mmask16)((1u << n) - 1u), bytes);
}

/* R rows × G groups of 16 outputs; R, G are constants at every call site, so the arrays live in registers */
T_VNNI512 INLINE void tile_512(const kdp_op *op, int r0, int g0, int R, int G) {
  const size_t inPad = (size_t)op->inPad, gBytes = inPad * 16;
  const int ks = op->inPad >> 2;
  const uint8_t *xr = op->xp + (size_t)r0 * inPad;
  const int8_t *w = (const int8_t *)op->w + (size_t)g0 * gBytes;
  const int32_t *bias = (const int32_t *)op->bias;
  int8_t *y = (int8_t *)op->y + (size_t)r0 * op->outDim;
  const size_t yStride = (size_t)op->outDim;
  const rq512 q = rq512_of(op);
  __m512i acc[8][4];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int g = 0; g < G; g++) acc[r][g] = _mm512_setzero_si512();
  for (int k = 0; k < ks; k++) {
    __m512i wv[4];
#pragma GCC unroll 4
    for (int g = 0; g < G; g++) wv[g] = _mm512_loadu_si512(w + (size_t)g * gBytes + (size_t)k * 64);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      __m512i xb = _mm512_set1_epi32(ld32(xr + (size_t)r * inPad + (size_t)k * 4));
#pragma GCC unroll 4
      for (int g = 0; g < G; g++) acc[r][g] = _mm512_dpbusd_epi32(acc[r][g], xb, wv[g]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int g = 0; g < G; g++)
      store16_512(acc[r][g], bias, y + (size_t)r * yStride, (g0 + g) * 16, &q, op);
}

T_VNNI512 static void fc_q8_vnni512(const kdp_op *op) {
  pack_x_avx2(op);
  const int groups = (op->outDim + 15) >> 4;
  int r = 0;
  for (; r + 8 <= op->rows; r += 8) {
    int g = 0;
    for (; g + 2 <= groups; g += 2) tile_512(op, r, g, 8, 2);
    if (g < groups) tile_512(op, r, g, 8, 1);
  }
  for (; r + 4 <= op->rows; r += 4) {
    int g = 0;
    for (; g + 4 <= groups; g += 4) tile_512(op, r, g, 4, 4);
    for (; g < groups; g++) tile_512(op, r, g, 4, 1);
  }
  for (; r < op->rows; r++) {
    int g = 0;
    for (; g + 4 <= groups; g += 4) tile_512(op, r, g, 1, 4);
    for (; g < groups; g++) tile_512(op, r, g, 1, 1);
  }
}

/* ================= AVX-VNNI (VEX vpdpbusd on 256 bits) ================= */
T_AVXVNNI INLINE void tile_avxvnni(const kdp_op *op, int r0, int g, int R) {
  const size_t inPad = (size_t)op->inPad, gBytes = inPad * 16;
  const int ks = op->inPad >> 2;
  const uint8_t *xr = op->xp + (size_t)r0 * inPad;
  const int8_t *w = (const int8_t *)op->w + (size_t)g * gBytes;
  const rq256 q = rq256_of(op);
  __m256i lo[4], hi[4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) { lo[r] = _mm256_setzero_si256(); hi[r] = _mm256_setzero_si256(); }
  for (int k = 0; k < ks; k++) {
    __m256i wl = _mm256_loadu_si256((const __m256i *)(w + (size_t)k * 64));
    __m256i wh = _mm256_loadu_si256((const __m256i *)(w + (size_t)k * 64 + 32));
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      __m256i xb = _mm256_set1_epi32(ld32(xr + (size_t)r * inPad + (size_t)k * 4));
      lo[r] = _mm256_dpbusd_avx_epi32(lo[r], xb, wl);
      hi[r] = _mm256_dpbusd_avx_epi32(hi[r], xb, wh);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) store16_avx2(lo[r], hi[r], (size_t)(r0 + r), g * 16, &q, op);
}

T_AVXVNNI static void fc_q8_avxvnni(const kdp_op *op) {
  pack_x_avx2(op);
  const int groups = (op->outDim + 15) >> 4;
  int r = 0;
  for (; r + 4 <= op->rows; r += 4)
    for (int g = 0; g < groups; g++) tile_avxvnni(op, r, g, 4);
  for (; r < op->rows; r++)
    for (int g = 0; g < groups; g++) tile_avxvnni(op, r, g, 1);
}

/* ================= AVX2 ================= */
/* 6-bit weights: |u8·s8 pair| ≤ 2·255·32 = 16320, so two vpmaddubsw results add in int16 without
 * saturation and one vpmaddwd with ones widens 32 MACs (the relaxed-SIMD WASM kernel's trick). */
T_AVX2 INLINE void tile_avx2_i6(const kdp_op *op, int r0, int g, int R) {
  const size_t inPad = (size_t)op->inPad, gBytes = inPad * 16;
  const int ks = op->inPad >> 2;
  const uint8_t *xr = op->xp + (size_t)r0 * inPad;
  const int8_t *w = (const int8_t *)op->w + (size_t)g * gBytes;
  const __m256i ones = _mm256_set1_epi16(1);
  const rq256 q = rq256_of(op);
  __m256i lo[4], hi[4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) { lo[r] = _mm256_setzero_si256(); hi[r] = _mm256_setzero_si256(); }
  for (int k = 0; k < ks; k += 2) { /* ks is even: inPad is a multiple of 8 */
    const int8_t *pw = w + (size_t)k * 64;
    __m256i wl0 = _mm256_loadu_si256((const __m256i *)pw), wh0 = _mm256_loadu_si256((const __m256i *)(pw + 32));
    __m256i wl1 = _mm256_loadu_si256((const __m256i *)(pw + 64)), wh1 = _mm256_loadu_si256((const __m256i *)(pw + 96));
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const uint8_t *px = xr + (size_t)r * inPad + (size_t)k * 4;
      __m256i x0 = _mm256_set1_epi32(ld32(px)), x1 = _mm256_set1_epi32(ld32(px + 4));
      lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(x0, wl0), _mm256_maddubs_epi16(x1, wl1)), ones));
      hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(x0, wh0), _mm256_maddubs_epi16(x1, wh1)), ones));
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) store16_avx2(lo[r], hi[r], (size_t)(r0 + r), g * 16, &q, op);
}

/* 8-bit weights: vpmaddubsw could saturate (255·128·2 > 32767), so widen both to int16 and use
 * vpmaddwd; accumulators hold pairs (output o: inputs 0-1, 2-3), summed with vphaddd at the end. */
T_AVX2 INLINE void tile_avx2_i8(const kdp_op *op, int r0, int g, int R) {
  const size_t inPad = (size_t)op->inPad, gBytes = inPad * 16;
  const int ks = op->inPad >> 2;
  const uint8_t *xr = op->xp + (size_t)r0 * inPad;
  const int8_t *w = (const int8_t *)op->w + (size_t)g * gBytes;
  const rq256 q = rq256_of(op);
  __m256i acc[2][4];
#pragma GCC unroll 2
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) acc[r][q] = _mm256_setzero_si256();
  for (int k = 0; k < ks; k++) {
    __m256i wv[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) wv[q] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + (size_t)k * 64 + q * 16)));
#pragma GCC unroll 2
    for (int r = 0; r < R; r++) {
      __m256i xb = _mm256_cvtepu8_epi16(_mm_set1_epi32(ld32(xr + (size_t)r * inPad + (size_t)k * 4)));
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) acc[r][q] = _mm256_add_epi32(acc[r][q], _mm256_madd_epi16(xb, wv[q]));
    }
  }
#pragma GCC unroll 2
  for (int r = 0; r < R; r++) {
    /* acc[q] lanes: o(4q):01, o(4q):23, o(4q+1):01, o(4q+1):23 | o(4q+2)…, o(4q+3)… */
    __m256i a = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][0], acc[r][1]), 0xD8);
    __m256i b = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[r][2], acc[r][3]), 0xD8);
    store16_avx2(a, b, (size_t)(r0 + r), g * 16, &q, op);
  }
}

T_AVX2 static void fc_q8_avx2(const kdp_op *op) {
  pack_x_avx2(op);
  const int groups = (op->outDim + 15) >> 4;
  int r = 0;
  if (op->i6) {
    for (; r + 4 <= op->rows; r += 4) for (int g = 0; g < groups; g++) tile_avx2_i6(op, r, g, 4);
    for (; r < op->rows; r++) for (int g = 0; g < groups; g++) tile_avx2_i6(op, r, g, 1);
  } else {
    for (; r + 2 <= op->rows; r += 2) for (int g = 0; g < groups; g++) tile_avx2_i8(op, r, g, 2);
    for (; r < op->rows; r++) for (int g = 0; g < groups; g++) tile_avx2_i8(op, r, g, 1);
  }
}

/* ---- f32: 8 outputs per vector on the WASM layout; mul then add (no FMA) for identical rounding ---- */
T_AVX2 INLINE void tile_f32(const kdp_op *op, int r0, int g0, int R, int G) {
  const size_t inDim = (size_t)op->inDim, gFloats = inDim * 8;
  const float *x = (const float *)op->x + (size_t)r0 * inDim;
  const float *w = (const float *)op->w + (size_t)g0 * gFloats;
  __m256 acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int g = 0; g < G; g++) acc[r][g] = _mm256_setzero_ps();
  for (size_t i = 0; i < inDim; i++) {
    __m256 wv[4];
#pragma GCC unroll 4
    for (int g = 0; g < G; g++) wv[g] = _mm256_loadu_ps(w + (size_t)g * gFloats + i * 8);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      __m256 xb = _mm256_broadcast_ss(x + (size_t)r * inDim + i);
#pragma GCC unroll 4
      for (int g = 0; g < G; g++) acc[r][g] = _mm256_add_ps(acc[r][g], _mm256_mul_ps(xb, wv[g]));
    }
  }
  const __m256 lo = _mm256_set1_ps(op->flo), hi = _mm256_set1_ps(op->fhi);
  const float *b = (const float *)op->bias;
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    float *y = (float *)op->y + (size_t)(r0 + r) * op->outDim;
#pragma GCC unroll 4
    for (int g = 0; g < G; g++) {
      int o = (g0 + g) * 8;
      __m256 v = acc[r][g];
      if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + o));
      v = _mm256_min_ps(hi, _mm256_max_ps(lo, v)); /* max(lo, v) returns v when v is NaN */
      if (o + 8 <= op->outDim) _mm256_storeu_ps(y + o, v);
      else { float t[8]; _mm256_storeu_ps(t, v); memcpy(y + o, t, (size_t)(op->outDim - o) * 4); }
    }
  }
}

T_AVX2 static void fc_f32_avx2(const kdp_op *op) {
  const int groups = (op->outDim + 7) >> 3;
  int r = 0;
  for (; r + 4 <= op->rows; r += 4) {
    int g = 0;
    for (; g + 2 <= groups; g += 2) tile_f32(op, r, g, 4, 2);
    if (g < groups) tile_f32(op, r, g, 4, 1);
  }
  for (; r < op->rows; r++) {
    int g = 0;
    for (; g + 4 <= groups; g += 4) tile_f32(op, r, g, 1, 4);
    for (; g < groups; g++) tile_f32(op, r, g, 1, 1);
  }
}

const kdp_isa kdp_isas[] = {
  { "avx512vnni", "vpdpbusd (zmm, AVX-512 VNNI)", fc_q8_vnni512, fc_f32_avx2, has_vnni512 },
  { "avxvnni", "vpdpbusd (ymm, AVX-VNNI)", fc_q8_avxvnni, fc_f32_avx2, has_avxvnni },
  { "avx2", "vpmaddubsw (6-bit weights) / vpmaddwd", fc_q8_avx2, fc_f32_avx2, has_avx2 },
  { "scalar", "portable C", kdp_fc_q8_scalar, kdp_fc_f32_scalar, kdp_always },
};
const int kdp_isa_count = sizeof kdp_isas / sizeof kdp_isas[0];
#endif
