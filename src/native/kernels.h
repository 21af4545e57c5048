/*
 * kdp-edge native kernels: the FULLY_CONNECTED ops of the runtime in C with intrinsics, one variant per
 * instruction set, selected at load (kdp_native.c). Every variant computes the same integers as the
 * TypeScript reference and the WASM kernels (src/planner/runtime/reference-kernels.ts,
 * src/wasm/kdp_kernels*.ts): same accumulation, same requantization, same rounding.
 *
 * Layouts (packed by src/planner/runtime/native-layout.ts at prepare, living in the caller's arena):
 *   int8 weights: raw int8, [outPad/16][inPad/4][16 outputs][4 inputs], inPad = inDim rounded up to 8,
 *                 outPad to 16, zero-padded.
 *   int8 bias:    outPad int32 = bias − (zx + X_OFFSET)·Σ_k w[o][k] (the input zero point and, on x86,
 *                 the +128 that turns the activations into the unsigned operand of vpmaddubsw/vpdpbusd).
 *   xp scratch:   the op's input rows, inPad bytes each: x ^ 0x80 (x86, = x + 128 as u8) or x (arm64),
 *                 zero-padded; written by the kernel itself.
 *   f32 weights:  the WASM kernel's [outPad/8][inDim][8] (zero-padded outputs), bias outPad f32.
 *
 * Float FC: per output, acc = 0; acc = acc + x_i·w_i in input order (separate multiply and add, no FMA:
 * built with -ffp-contract=off); acc + bias; clamp with NaN passing through — the WASM kernel's exact
 * order, so fp32 results are bit-identical to it as well.
 */
#ifndef KDP_KERNELS_H
#define KDP_KERNELS_H
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#define KDP_X86 1
#define KDP_X_OFFSET 128
#else
#define KDP_X86 0
#define KDP_X_OFFSET 0
#endif

enum { KDP_OP_FC_Q8 = 1, KDP_OP_FC_F32 = 2 };

/* one bound FULLY_CONNECTED: pointers into the arena, resolved once at bind */
typedef struct {
  int32_t kind;
  const int8_t *x;   /* int8 or f32 input rows */
  uint8_t *xp;       /* int8: padded input scratch */
  const void *w;
  const void *bias;  /* int32 (int8 op) or f32 (f32 op); f32 op: NULL when the op has none */
  void *y;
  int32_t rows, inDim, inPad, outDim;
  /* int8 requantization: fpScale != 0 → XNNPACK fp32 path; else TFLite fixed point (mult, shift) */
  int32_t mult, shift, outZp, lo, hi;
  float fpScale;
  /* weights all in [-32, 31]: the AVX2 kernel may add two vpmaddubsw results in 16 bits */
  int32_t i6;
  /* f32 clamp (fused activation) */
  float flo, fhi;
} kdp_op;

typedef void (*kdp_fc_fn)(const kdp_op *op);

typedef struct {
  const char *name;     /* e.g. "avx512vnni" */
  const char *insn;     /* the instruction the int8 kernel is built on */
  kdp_fc_fn fc_q8;
  kdp_fc_fn fc_f32;
  int (*supported)(void);
} kdp_isa;

/* all variants compiled for this architecture, best first; the last one is the portable C kernel */
extern const kdp_isa kdp_isas[];
extern const int kdp_isa_count;

/* shared scalar pieces (kernels_scalar.c) */
int32_t kdp_mulq(int32_t acc, int32_t mult, int32_t shift);
int8_t kdp_requant1(int32_t acc, const kdp_op *op);
void kdp_fc_q8_scalar(const kdp_op *op);
void kdp_fc_f32_scalar(const kdp_op *op);
void kdp_pack_x_scalar(const kdp_op *op);
int kdp_always(void);

#endif
