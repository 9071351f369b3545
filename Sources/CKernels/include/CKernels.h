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

// Packs columns [col_begin, col_end) of row-major B [k, n] (int8 when b_signed, else uint8) minus b_zero into
// column panels. col_begin must be a multiple of ck_panel_width(); threads may pack disjoint column ranges.
void ck_pack_b(const uint8_t *b, int b_signed, int32_t b_zero, size_t k, size_t n,
               size_t col_begin, size_t col_end, int16_t *packed, int allow_avx2);

// The geometry of one (image, group) of a 2-D convolution.
typedef struct {
    size_t channels, height, width;          // of this group's input planes
    size_t kernel_height, kernel_width;
    size_t pad_top, pad_left, stride_height, stride_width, dilation_height, dilation_width;
    size_t out_height, out_width;
} ck_conv_shape;

// Lowers (im2col) rows [row_begin, row_end) of one image and group into `lowered` [k, n], k = channels x
// kernel_height x kernel_width (row (c, ky, kx)), n = out_height x out_width (column (oy, ox)):
// x[c][oy x stride_h - pad_top + ky x dilation_h][ox x stride_w - pad_left + kx x dilation_w], or pad_byte (the
// input zero point, so that it centres to zero) outside the input. x points at the group's first plane.
void ck_im2col(const uint8_t *x, uint8_t pad_byte, const ck_conv_shape *shape,
               size_t row_begin, size_t row_end, uint8_t *lowered);

// Row-block height of packed A: thread splits over rows must fall on multiples of it.
size_t ck_row_block(void);

// Panel width of packed B: thread splits over columns must fall on multiples of it.
size_t ck_panel_width(void);

// Number of int16 elements of A packed by ck_pack_a.
size_t ck_packed_a_count(size_t m, size_t k);

// Packs rows [row_begin, row_end) of row-major A [m, k] (int8 when a_signed, else uint8) minus a_zero into row
// micro-panels. row_begin must be a multiple of ck_row_block(); threads may pack disjoint row ranges.
void ck_pack_a(const uint8_t *a, int a_signed, int32_t a_zero, size_t m, size_t k,
               size_t row_begin, size_t row_end, int16_t *packed);

// Writes rows [row_begin, row_end) and columns [col_begin, col_end) of C (row-major, n columns, k > 0) from packed
// A and B. row_begin must be a multiple of ck_row_block(), col_begin of ck_panel_width(). With allow_avx2 = 0 the
// portable micro-kernel runs even on an AVX2 CPU (tests compare both).
void ck_gemm(const int16_t *packed_a, const int16_t *packed_b, size_t m, size_t k, size_t n, int32_t *c,
             size_t row_begin, size_t row_end, size_t col_begin, size_t col_end, int allow_avx2);

// 1 when this CPU runs the AVX2 micro-kernel.
int ck_cpu_has_avx2(void);

#endif
