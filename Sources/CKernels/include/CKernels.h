#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

// Exact 8-bit integer matrix product C[M,N] = sum_k (A[m,k] - za)(B[k,n] - zb) modulo 2^32, in one of three paths
// that give the same bits (wrap-around addition is associative and commutative, and no path rounds or saturates):
// - CK_PATH_PORTABLE and CK_PATH_AVX2: operands widened to int16 with the zero point subtracted (-255..255),
//   multiplied in (k, k+1) pairs with 32-bit pair sums (plain C, or AVX2 vpmaddwd).
// - CK_PATH_VNNI: A made unsigned and B signed 8-bit by flipping the top bit where needed (a value v of the other
//   signedness becomes v +- 128, which moves the zero point by as much), multiplied in quads of k by AVX-512
//   vpdpbusd without saturation; the zero points come back through an exact correction from row sums of A and
//   column sums of B.
// The caller packs A and B for a path and multiplies with the same path.
typedef enum { CK_PATH_PORTABLE = 0, CK_PATH_AVX2 = 1, CK_PATH_VNNI = 2 } ck_path;

// 1 when this CPU runs `path`.
int ck_path_supported(ck_path path);

// The fastest path this CPU runs.
ck_path ck_best_path(void);

// Row-block height of packed A: thread splits over rows must fall on multiples of it.
size_t ck_row_block(void);

// Panel width of packed B: thread splits over columns must fall on multiples of it.
size_t ck_panel_width(void);

// Bytes of A [m, k] and B [k, n] packed for `path`.
size_t ck_packed_a_bytes(ck_path path, size_t m, size_t k);
size_t ck_packed_b_bytes(ck_path path, size_t k, size_t n);

// Packs rows [row_begin, row_end) of row-major A [m, k] (int8 when a_signed, else uint8, zero point a_zero) for
// `path`. row_begin must be a multiple of ck_row_block(); threads may pack disjoint row ranges.
void ck_pack_a(ck_path path, const uint8_t *a, int a_signed, int32_t a_zero, size_t m, size_t k,
               size_t row_begin, size_t row_end, void *packed);

// Packs columns [col_begin, col_end) of row-major B [k, n] (int8 when b_signed, else uint8, zero point b_zero) for
// `path`. col_begin must be a multiple of ck_panel_width(); threads may pack disjoint column ranges.
void ck_pack_b(ck_path path, const uint8_t *b, int b_signed, int32_t b_zero, size_t k, size_t n,
               size_t col_begin, size_t col_end, void *packed);

// Writes rows [row_begin, row_end) and columns [col_begin, col_end) of C (row-major, n columns, k > 0) from A and B
// packed for `path`. row_begin must be a multiple of ck_row_block(), col_begin of ck_panel_width().
void ck_gemm(ck_path path, const void *packed_a, const void *packed_b, size_t m, size_t k, size_t n, int32_t *c,
             size_t row_begin, size_t row_end, size_t col_begin, size_t col_end);

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

#endif
