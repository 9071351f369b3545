#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

// Exact 8-bit integer matrix product C[M,N] = sum_k (A[m,k] - za)(B[k,n] - zb) modulo 2^32.
// Operands are widened to int16 with the zero point subtracted (values in -255..255) and multiplied in pairs
// with 32-bit sums (AVX2 vpmaddwd or plain C): every product and pair sum is exact, so the result is the same
// bits as any other exact evaluation. Uses AVX2 when the CPU has it, a portable loop otherwise.

// Number of int16 elements of B packed by ck_pack_b.
size_t ck_packed_b_count(size_t k, size_t n);

// Packs row-major B [k, n] (int8 when b_signed, else uint8) minus b_zero into column panels.
void ck_pack_b(const uint8_t *b, int b_signed, int32_t b_zero, size_t k, size_t n, int16_t *packed);

// Number of int16 elements of the per-thread scratch buffer ck_gemm needs.
size_t ck_scratch_count(void);

// Panel width of packed B: thread splits over columns must fall on multiples of it.
size_t ck_panel_width(void);

// Writes C rows [row_begin, row_end) and columns [col_begin, col_end) of C (row-major, n columns).
// col_begin must be a multiple of ck_panel_width(). A is row-major [m, k]. With allow_avx2 = 0 the portable
// micro-kernel runs even on an AVX2 CPU (tests compare both).
void ck_gemm(const uint8_t *a, int a_signed, int32_t a_zero, size_t k, size_t n,
             const int16_t *packed_b, int32_t *c,
             size_t row_begin, size_t row_end, size_t col_begin, size_t col_end, int16_t *scratch,
             int allow_avx2);

// 1 when this CPU runs the AVX2 micro-kernel.
int ck_cpu_has_avx2(void);

#endif
