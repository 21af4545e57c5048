/* arm64 variants (Raspberry Pi 5's Cortex-A76, Jetson Orin's A78AE: both have dotprod; Pi 4's A72 has
 * plain NEON only). Picked at load from getauxval(AT_HWCAP):
 *   neon-dotprod  sdot (by element): 16 s8×s8 MACs into 4 int32 per instruction (4 rows × 16 outputs)
 *   neon          smull/smull2 + sadalp: 8 MACs per multiply (2 rows × 16 outputs)
 * Both take the activations as they are (int8 × int8 needs no offset); the bias carries −zx·Σw. */
#include "kernels.h"
#if defined(__aarch64__)
#include <arm_neon.h>
#include <string.h>
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

#define INLINE static inline __attribute__((always_inline))
#define T_DOT __attribute__((target("arch=armv8.2-a+dotprod")))

static int has_dotprod(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
static int has_neon(void) { return 1; } /* Advanced SIMD is mandatory on arm64 */

static void pack_x_copy(const kdp_op *op) {
  for (int r = 0; r < op->rows; r++) {
    uint8_t *dst = op->xp + (size_t)r * op->inPad;
    memcpy(dst, op->x + (size_t)r * op->inDim, (size_t)op->inDim);
    memset(dst + op->inDim, 0, (size_t)(op->inPad - op->inDim));
  }
}

/* constants in registers: the int8 stores may alias anything (char type), so reading them from *op
 * after each store would reload them every time */
typedef struct { float32x4_t scale, lo, hi; int32x4_t zp; const int32_t *bias; int8_t *y; size_t yStride; int outDim; int fp; } rqn;

INLINE rqn rqn_of(const kdp_op *op) {
  rqn q = { vdupq_n_f32(op->fpScale), vdupq_n_f32((float)(op->lo - op->outZp)), vdupq_n_f32((float)(op->hi - op->outZp)), vdupq_n_s32(op->outZp),
            (const int32_t *)op->bias, (int8_t *)op->y, (size_t)op->outDim, op->outDim, op->fpScale != 0.0f };
  return q;
}

/* requantize 4 outputs (bias added) to int32 lanes */
INLINE int32x4_t rq4(int32x4_t acc, const rqn *q) {
  float32x4_t f = vmulq_f32(vcvtq_f32_s32(acc), q->scale);
  f = vminq_f32(vmaxq_f32(f, q->lo), q->hi);
  return vaddq_s32(vcvtnq_s32_f32(f), q->zp); /* fcvtns: nearest, ties to even */
}

/* 16 outputs of row r as 4 int32x4 (bias not yet added) → int8 store */
INLINE void store16(int32x4_t a0, int32x4_t a1, int32x4_t a2, int32x4_t a3, size_t r, int o, const rqn *q, const kdp_op *op) {
  const int32_t *bias = q->bias + o;
  int8_t *y = q->y + r * q->yStride;
  a0 = vaddq_s32(a0, vld1q_s32(bias)); a1 = vaddq_s32(a1, vld1q_s32(bias + 4));
  a2 = vaddq_s32(a2, vld1q_s32(bias + 8)); a3 = vaddq_s32(a3, vld1q_s32(bias + 12));
  int n = q->outDim - o < 16 ? q->outDim - o : 16;
  if (!q->fp) {
    int32_t t[16];
    vst1q_s32(t, a0); vst1q_s32(t + 4, a1); vst1q_s32(t + 8, a2); vst1q_s32(t + 12, a3);
    for (int k = 0; k < n; k++) y[o + k] = kdp_requant1(t[k], op);
    return;
  }
  int16x8_t lo = vcombine_s16(vqmovn_s32(rq4(a0, q)), vqmovn_s32(rq4(a1, q)));
  int16x8_t hi = vcombine_s16(vqmovn_s32(rq4(a2, q)), vqmovn_s32(rq4(a3, q)));
  int8x16_t bytes = vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi));
  if (n == 16) vst1q_s8(y + o, bytes);
  else { int8_t t[16]; vst1q_s8(t, bytes); memcpy(y + o, t, (size_t)n); }
}

/* ================= NEON dotprod ================= */
T_DOT INLINE void tile_dot(const kdp_op *op, int r0, int g, int R) {
  const size_t inPad = (size_t)op->inPad, gBytes = inPad * 16;
  const int8_t *xr = (const int8_t *)op->xp + (size_t)r0 * inPad;
  const int8_t *w = (const int8_t *)op->w + (size_t)g * gBytes;
  const rqn q = rqn_of(op);
  int32x4_t acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) acc[r][q] = vdupq_n_s32(0);
  for (size_t i = 0; i < inPad; i += 8) { /* two 4-input steps per 8-byte input load */
    const int8_t *pw = w + i * 16;
    int8x16_t w0[4], w1[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) { w0[q] = vld1q_s8(pw + q * 16); w1[q] = vld1q_s8(pw + 64 + q * 16); }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      int8x8_t xv = vld1_s8(xr + (size_t)r * inPad + i);
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) {
        acc[r][q] = vdotq_lane_s32(acc[r][q], w0[q], xv, 0);
        acc[r][q] = vdotq_lane_s32(acc[r][q], w1[q], xv, 1);
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) store16(acc[r][0], acc[r][1], acc[r][2], acc[r][3], (size_t)(r0 + r), g * 16, &q, op);
}

T_DOT static void fc_q8_dot(const kdp_op *op) {
  pack_x_copy(op);
  const int groups = (op->outDim + 15) >> 4;
  int r = 0;
  for (; r + 4 <= op->rows; r += 4) for (int g = 0; g < groups; g++) tile_dot(op, r, g, 4);
  for (; r < op->rows; r++) for (int g = 0; g < groups; g++) tile_dot(op, r, g, 1);
}

/* ================= plain NEON ================= */
/* weights of 4 outputs × 4 inputs per register; smull gives outputs (0,1) × 4 products in int16
 * (|s8·s8| ≤ 16384), sadalp adds pairs into int32 lanes (o0:01, o0:23, o1:01, o1:23), addp at the end */
INLINE void tile_neon(const kdp_op *op, int r0, int g, int R) {
  const size_t inPad = (size_t)op->inPad, gBytes = inPad * 16;
  const uint8_t *xr = op->xp + (size_t)r0 * inPad;
  const int8_t *w = (const int8_t *)op->w + (size_t)g * gBytes;
  const rqn q = rqn_of(op);
  int32x4_t acc[2][8];
#pragma GCC unroll 2
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) acc[r][q] = vdupq_n_s32(0);
  for (size_t i = 0; i < inPad; i += 4) {
    int8x16_t wv[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) wv[q] = vld1q_s8(w + i * 16 + q * 16);
#pragma GCC unroll 2
    for (int r = 0; r < R; r++) {
      uint32_t x4; memcpy(&x4, xr + (size_t)r * inPad + i, 4);
      int8x16_t xb = vreinterpretq_s8_u32(vdupq_n_u32(x4));
#pragma GCC unroll 4
      for (int q = 0; q < 4; q++) {
        acc[r][2 * q] = vpadalq_s16(acc[r][2 * q], vmull_s8(vget_low_s8(wv[q]), vget_low_s8(xb)));
        acc[r][2 * q + 1] = vpadalq_s16(acc[r][2 * q + 1], vmull_high_s8(wv[q], xb));
      }
    }
  }
#pragma GCC unroll 2
  for (int r = 0; r < R; r++)
    store16(vpaddq_s32(acc[r][0], acc[r][1]), vpaddq_s32(acc[r][2], acc[r][3]), vpaddq_s32(acc[r][4], acc[r][5]), vpaddq_s32(acc[r][6], acc[r][7]),
      (size_t)(r0 + r), g * 16, &q, op);
}

static void fc_q8_neon(const kdp_op *op) {
  pack_x_copy(op);
  const int groups = (op->outDim + 15) >> 4;
  int r = 0;
  for (; r + 2 <= op->rows; r += 2) for (int g = 0; g < groups; g++) tile_neon(op, r, g, 2);
  for (; r < op->rows; r++) for (int g = 0; g < groups; g++) tile_neon(op, r, g, 1);
}

/* ---- f32 on the WASM layout: vmulq then vaddq (no fmla), 8 outputs = 2 registers per group ---- */
INLINE void tile_f32(const kdp_op *op, int r0, int g0, int R, int G) {
  const size_t inDim = (size_t)op->inDim, gFloats = inDim * 8;
  const float *x = (const float *)op->x + (size_t)r0 * inDim;
  const float *w = (const float *)op->w + (size_t)g0 * gFloats;
  float32x4_t acc[4][4];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 4
    for (int h = 0; h < 2 * G; h++) acc[r][h] = vdupq_n_f32(0.0f);
  for (size_t i = 0; i < inDim; i++) {
    float32x4_t wv[4];
#pragma GCC unroll 2
    for (int g = 0; g < G; g++) { wv[2 * g] = vld1q_f32(w + (size_t)g * gFloats + i * 8); wv[2 * g + 1] = vld1q_f32(w + (size_t)g * gFloats + i * 8 + 4); }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      float32x4_t xb = vdupq_n_f32(x[(size_t)r * inDim + i]);
#pragma GCC unroll 4
      for (int h = 0; h < 2 * G; h++) acc[r][h] = vaddq_f32(acc[r][h], vmulq_f32(xb, wv[h]));
    }
  }
  const float32x4_t lo = vdupq_n_f32(op->flo), hi = vdupq_n_f32(op->fhi);
  const float *b = (const float *)op->bias;
#pragma GCC unroll 4
  for (int r = 0; r < R; r++) {
    float *y = (float *)op->y + (size_t)(r0 + r) * op->outDim;
#pragma GCC unroll 4
    for (int h = 0; h < 2 * G; h++) {
      int o = g0 * 8 + h * 4;
      float32x4_t v = acc[r][h];
      if (b) v = vaddq_f32(v, vld1q_f32(b + o));
      /* lo > v ? lo : v, then hi < v ? hi : v: NaN passes like WASM pmax/pmin */
      v = vbslq_f32(vcgtq_f32(lo, v), lo, v);
      v = vbslq_f32(vcltq_f32(hi, v), hi, v);
      if (o + 4 <= op->outDim) vst1q_f32(y + o, v);
      else if (o < op->outDim) { float t[4]; vst1q_f32(t, v); memcpy(y + o, t, (size_t)(op->outDim - o) * 4); }
    }
  }
}

static void fc_f32_neon(const kdp_op *op) {
  const int groups = (op->outDim + 7) >> 3;
  int r = 0;
  for (; r + 4 <= op->rows; r += 4) {
    int g = 0;
    for (; g + 2 <= groups; g += 2) tile_f32(op, r, g, 4, 2);
    if (g < groups) tile_f32(op, r, g, 4, 1);
  }
  for (; r < op->rows; r++) for (int g = 0; g < groups; g++) tile_f32(op, r, g, 1, 1);
}

const kdp_isa kdp_isas[] = {
  { "neon-dotprod", "sdot (NEON dotprod)", fc_q8_dot, fc_f32_neon, has_dotprod },
  { "neon", "smull + sadalp (NEON)", fc_q8_neon, fc_f32_neon, has_neon },
  { "scalar", "portable C", kdp_fc_q8_scalar, kdp_fc_f32_scalar, kdp_always },
};
const int kdp_isa_count = sizeof kdp_isas / sizeof kdp_isas[0];
#elif !KDP_X86
const kdp_isa kdp_isas[] = { { "scalar", "portable C", kdp_fc_q8_scalar, kdp_fc_f32_scalar, kdp_always } };
const int kdp_isa_count = 1;
#endif
