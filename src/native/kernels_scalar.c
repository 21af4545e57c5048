/* Portable C kernels: the fallback variant on CPUs without the SIMD extensions below, and the oracle the
 * SIMD variants are checked against in check_kernels.c (which runs without Node, e.g. under qemu). */
#include <string.h>
#include "kernels.h"

int kdp_always(void) { return 1; }

/* TFLite MultiplyByQuantizedMultiplier (double rounding), as src/wasm/lib/requant.ts mulQ */
int32_t kdp_mulq(int32_t acc, int32_t mult, int32_t shift) {
  int left = shift > 0 ? shift : 0;
  int right = shift > 0 ? 0 : -shift;
  int32_t a = (int32_t)((uint32_t)acc << left);
  int32_t hi;
  if (a == INT32_MIN && mult == INT32_MIN) {
    hi = INT32_MAX;
  } else {
    int64_t ab = (int64_t)a * (int64_t)mult;
    int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
    hi = (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C division truncates toward zero, like i64.div_s */
  }
  int32_t mask = (int32_t)((1u << right) - 1u);
  int32_t rem = hi & mask;
  int32_t thr = (mask >> 1) + (hi < 0 ? 1 : 0);
  return (hi >> right) + (rem > thr ? 1 : 0);
}

/* requantize one accumulator (bias already added) and clamp; nearbyintf rounds half to even */
int8_t kdp_requant1(int32_t acc, const kdp_op *op) {
  int32_t v;
  if (op->fpScale != 0.0f) {
    float f = (float)acc * op->fpScale;
    float lo = (float)(op->lo - op->outZp), hi = (float)(op->hi - op->outZp);
    f = f < lo ? lo : f > hi ? hi : f;
    /* |f| <= 255: the 1.5·2^23 add rounds to nearest even in the current (default) mode */
    volatile float t = f + 12582912.0f;
    v = (int32_t)(t - 12582912.0f) + op->outZp;
  } else {
    v = kdp_mulq(acc, op->mult, op->shift) + op->outZp;
    v = v < op->lo ? op->lo : v > op->hi ? op->hi : v;
  }
  return (int8_t)v;
}

void kdp_pack_x_scalar(const kdp_op *op) {
  for (int r = 0; r < op->rows; r++) {
    const int8_t *src = op->x + (size_t)r * op->inDim;
    uint8_t *dst = op->xp + (size_t)r * op->inPad;
    for (int i = 0; i < op->inDim; i++) dst[i] = (uint8_t)src[i] ^ (KDP_X86 ? 0x80 : 0);
    memset(dst + op->inDim, 0, (size_t)(op->inPad - op->inDim));
  }
}

void kdp_fc_q8_scalar(const kdp_op *op) {
  kdp_pack_x_scalar(op);
  const int8_t *w = (const int8_t *)op->w;
  const int32_t *bias = (const int32_t *)op->bias;
  int8_t *y = (int8_t *)op->y;
  for (int r = 0; r < op->rows; r++) {
    const uint8_t *xr = op->xp + (size_t)r * op->inPad;
    for (int o = 0; o < op->outDim; o++) {
      const int8_t *wo = w + (size_t)(o >> 4) * op->inPad * 16 + (o & 15) * 4;
      uint32_t acc = 0; /* modular, like the SIMD lanes */
      for (int i = 0; i < op->inPad; i++) {
        int32_t xv = KDP_X86 ? (int32_t)xr[i] : (int32_t)(int8_t)xr[i];
        acc += (uint32_t)(xv * (int32_t)wo[(i >> 2) * 64 + (i & 3)]);
      }
      acc += (uint32_t)bias[o];
      y[(size_t)r * op->outDim + o] = kdp_requant1((int32_t)acc, op);
    }
  }
}

void kdp_fc_f32_scalar(const kdp_op *op) {
  const float *x = (const float *)op->x;
  const float *w = (const float *)op->w;
  const float *b = (const float *)op->bias;
  float *y = (float *)op->y;
  for (int r = 0; r < op->rows; r++) {
    for (int o = 0; o < op->outDim; o++) {
      const float *wo = w + (size_t)(o >> 3) * op->inDim * 8 + (o & 7);
      float acc = 0.0f;
      for (int i = 0; i < op->inDim; i++) acc = acc + x[(size_t)r * op->inDim + i] * wo[(size_t)i * 8];
      if (b) acc = acc + b[o];
      acc = op->flo > acc ? op->flo : acc; /* NaN passes, as pmax/pmin in WASM */
      acc = op->fhi < acc ? op->fhi : acc;
      y[(size_t)r * op->outDim + o] = acc;
    }
  }
}
