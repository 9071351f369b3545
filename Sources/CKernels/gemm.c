#include "CKernels.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#endif

// Register block: MR rows of A by NR columns of B. KC: depth of one packed block (even). MC: rows of A met by
// each panel of B in turn.
enum { MR = 6, NR = 16, KC = 256, MC = 72 };

static size_t round_up(size_t value, size_t step) { return (value + step - 1) / step * step; }

size_t ck_row_block(void) { return MR; }
size_t ck_panel_width(void) { return NR; }
size_t ck_packed_a_count(size_t m, size_t k) { return round_up(m, MR) * round_up(k, 2); }
size_t ck_packed_b_count(size_t k, size_t n) { return round_up(k, 2) * round_up(n, NR); }

static inline int16_t centred(uint8_t byte, int is_signed, int32_t zero) {
    return (int16_t)((is_signed ? (int32_t)(int8_t)byte : (int32_t)byte) - zero);
}

// Writes NR interleaved pairs (even[j], odd[j]) centred by `zero`; odd == NULL packs zeros in the odd slots.
static void pack_pair_portable(const uint8_t *even, const uint8_t *odd, size_t cols, int is_signed, int32_t zero,
                               int16_t *out) {
    for (size_t jj = 0; jj < NR; jj++) {
        out[2 * jj] = jj < cols ? centred(even[jj], is_signed, zero) : 0;
        out[2 * jj + 1] = jj < cols && odd ? centred(odd[jj], is_signed, zero) : 0;
    }
}

#ifdef CK_X86
__attribute__((target("avx2")))
static void pack_pair_avx2(const uint8_t *even, const uint8_t *odd, int is_signed, int32_t zero, int16_t *out) {
    __m128i e8 = _mm_loadu_si128((const __m128i *)even), o8 = _mm_loadu_si128((const __m128i *)odd);
    __m256i e = is_signed ? _mm256_cvtepi8_epi16(e8) : _mm256_cvtepu8_epi16(e8);
    __m256i o = is_signed ? _mm256_cvtepi8_epi16(o8) : _mm256_cvtepu8_epi16(o8);
    __m256i z = _mm256_set1_epi16((int16_t)zero);
    e = _mm256_sub_epi16(e, z);
    o = _mm256_sub_epi16(o, z);
    // unpack works within 128-bit lanes: lo = pairs 0-3 | 8-11, hi = pairs 4-7 | 12-15.
    __m256i lo = _mm256_unpacklo_epi16(e, o), hi = _mm256_unpackhi_epi16(e, o);
    _mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(lo, hi, 0x20));
    _mm256_storeu_si256((__m256i *)(out + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
}
#endif

// Layout: K blocks of KC rows; inside a block, NR-column panels; inside a panel, pairs of rows (k, k+1) with the
// two values of each column adjacent, so one 32-bit lane holds the pair vpmaddwd multiplies. Padding is zero.
void ck_pack_b(const uint8_t *b, int b_signed, int32_t b_zero, size_t k, size_t n,
               size_t col_begin, size_t col_end, int16_t *packed, int allow_avx2) {
#ifdef CK_X86
    int avx2 = allow_avx2 && ck_cpu_has_avx2();
#endif
    size_t n_pad = round_up(n, NR);
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        size_t kc = k - k0 < KC ? k - k0 : KC;
        size_t kc_pad = round_up(kc, 2);
        for (size_t j0 = col_begin; j0 < col_end; j0 += NR) {
            int16_t *out = packed + k0 * n_pad + j0 * kc_pad;
            size_t cols = n - j0 < NR ? n - j0 : NR;
            for (size_t kk = 0; kk < kc; kk += 2, out += 2 * NR) {
                const uint8_t *even = b + (k0 + kk) * n + j0;
                const uint8_t *odd = kk + 1 < kc ? even + n : NULL;
#ifdef CK_X86
                if (avx2 && odd && cols == NR) {
                    pack_pair_avx2(even, odd, b_signed, b_zero, out);
                    continue;
                }
#endif
                pack_pair_portable(even, odd, cols, b_signed, b_zero, out);
            }
        }
    }
}

void ck_im2col(const uint8_t *x, uint8_t pad_byte, const ck_conv_shape *s,
               size_t row_begin, size_t row_end, uint8_t *lowered) {
    size_t kernel_area = s->kernel_height * s->kernel_width;
    size_t n = s->out_height * s->out_width;
    for (size_t row = row_begin; row < row_end; row++) {
        size_t channel = row / kernel_area, ky = row % kernel_area / s->kernel_width, kx = row % s->kernel_width;
        const uint8_t *plane = x + channel * s->height * s->width;
        uint8_t *out = lowered + row * n;
        // Input column of output column ox, offset by pad_left to stay unsigned: inside when in
        // [pad_left, pad_left + width). The inside output columns form one range [ox_begin, ox_end).
        size_t x_offset = kx * s->dilation_width;
        size_t ox_begin = x_offset >= s->pad_left ? 0 : (s->pad_left - x_offset + s->stride_width - 1) / s->stride_width;
        size_t limit = s->pad_left + s->width;  // first input column past the right edge
        size_t ox_end = x_offset >= limit ? 0 : (limit - x_offset + s->stride_width - 1) / s->stride_width;
        if (ox_end > s->out_width) ox_end = s->out_width;
        if (ox_begin > ox_end) ox_begin = ox_end;
        for (size_t oy = 0; oy < s->out_height; oy++, out += s->out_width) {
            size_t y = oy * s->stride_height + ky * s->dilation_height;
            if (y < s->pad_top || y >= s->pad_top + s->height) {
                memset(out, pad_byte, s->out_width);
                continue;
            }
            const uint8_t *source = plane + (y - s->pad_top) * s->width;
            memset(out, pad_byte, ox_begin);
            if (s->stride_width == 1) {
                memcpy(out + ox_begin, source + ox_begin + x_offset - s->pad_left, ox_end - ox_begin);
            } else {
                for (size_t ox = ox_begin; ox < ox_end; ox++)
                    out[ox] = source[ox * s->stride_width + x_offset - s->pad_left];
            }
            memset(out + ox_end, pad_byte, s->out_width - ox_end);
        }
    }
}

// Layout: K blocks of KC columns; inside a block, MR-row micro-panels; inside a micro-panel, pairs of columns
// (k, k+1) of each row adjacent, so one 32-bit load holds the pair the micro-kernel broadcasts. Padding is zero.
void ck_pack_a(const uint8_t *a, int a_signed, int32_t a_zero, size_t m, size_t k,
               size_t row_begin, size_t row_end, int16_t *packed) {
    size_t m_pad = round_up(m, MR);
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        size_t kc = k - k0 < KC ? k - k0 : KC;
        size_t kc_pad = round_up(kc, 2);
        for (size_t r0 = row_begin; r0 < row_end; r0 += MR) {
            int16_t *panel = packed + k0 * m_pad + r0 * kc_pad;
            for (size_t rr = 0; rr < MR; rr++) {
                int16_t *lane = panel + rr * 2;
                if (r0 + rr >= row_end) {
                    for (size_t kk = 0; kk < kc_pad; kk++) lane[(kk / 2) * 2 * MR + (kk % 2)] = 0;
                    continue;
                }
                const uint8_t *src = a + (r0 + rr) * k + k0;
                for (size_t kk = 0; kk < kc; kk++) lane[(kk / 2) * 2 * MR + (kk % 2)] = centred(src[kk], a_signed, a_zero);
                if (kc < kc_pad) lane[(kc / 2) * 2 * MR + 1] = 0;
            }
        }
    }
}

// Stores (or adds to C, for every K block after the first) an MR x NR tile of which rows x cols are real.
static void store_tile(const int32_t tile[MR][NR], int32_t *c, size_t ldc, int accumulate, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < cols; j++) {
            // Unsigned addition: wraps modulo 2^32 without undefined behaviour.
            c[r * ldc + j] = accumulate ? (int32_t)((uint32_t)c[r * ldc + j] + (uint32_t)tile[r][j]) : tile[r][j];
        }
    }
}

static void micro_portable(size_t pairs, const int16_t *a, const int16_t *b, int32_t *c, size_t ldc,
                           int accumulate, size_t rows, size_t cols) {
    int32_t tile[MR][NR];
    memset(tile, 0, sizeof tile);
    for (size_t t = 0; t < pairs; t++) {
        for (size_t r = 0; r < MR; r++) {
            int32_t a0 = a[r * 2], a1 = a[r * 2 + 1];
            for (size_t j = 0; j < NR; j++) {
                int32_t pair = a0 * b[j * 2] + a1 * b[j * 2 + 1];  // |pair| <= 2 * 255 * 255: exact
                tile[r][j] = (int32_t)((uint32_t)tile[r][j] + (uint32_t)pair);
            }
        }
        a += 2 * MR;
        b += 2 * NR;
    }
    store_tile((const int32_t (*)[NR])tile, c, ldc, accumulate, rows, cols);
}

#ifdef CK_X86
#define CK_ROW(r)                                                              \
    do {                                                                       \
        int32_t bits;                                                          \
        memcpy(&bits, a + 2 * (r), sizeof bits); /* one (k, k+1) pair */       \
        __m256i pair = _mm256_set1_epi32(bits);                                \
        acc##r##0 = _mm256_add_epi32(acc##r##0, _mm256_madd_epi16(pair, b0));  \
        acc##r##1 = _mm256_add_epi32(acc##r##1, _mm256_madd_epi16(pair, b1));  \
    } while (0)

#define CK_STORE(r)                                                                         \
    do {                                                                                    \
        __m256i *row = (__m256i *)(c + (r) * ldc);                                          \
        if (accumulate) {                                                                   \
            acc##r##0 = _mm256_add_epi32(acc##r##0, _mm256_loadu_si256(row));               \
            acc##r##1 = _mm256_add_epi32(acc##r##1, _mm256_loadu_si256(row + 1));           \
        }                                                                                   \
        _mm256_storeu_si256(row, acc##r##0);                                                \
        _mm256_storeu_si256(row + 1, acc##r##1);                                            \
    } while (0)

#define CK_SPILL(r)                                                                         \
    do {                                                                                    \
        _mm256_storeu_si256((__m256i *)tile[r], acc##r##0);                                 \
        _mm256_storeu_si256((__m256i *)(tile[r] + 8), acc##r##1);                           \
    } while (0)

__attribute__((target("avx2")))
static void micro_avx2(size_t pairs, const int16_t *a, const int16_t *b, int32_t *c, size_t ldc,
                       int accumulate, size_t rows, size_t cols) {
    __m256i acc00 = _mm256_setzero_si256(), acc01 = acc00, acc10 = acc00, acc11 = acc00, acc20 = acc00,
            acc21 = acc00, acc30 = acc00, acc31 = acc00, acc40 = acc00, acc41 = acc00, acc50 = acc00, acc51 = acc00;
    for (size_t t = 0; t < pairs; t++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 16));
        CK_ROW(0); CK_ROW(1); CK_ROW(2); CK_ROW(3); CK_ROW(4); CK_ROW(5);
        a += 2 * MR;
        b += 2 * NR;
    }
    if (rows == MR && cols == NR) {
        CK_STORE(0); CK_STORE(1); CK_STORE(2); CK_STORE(3); CK_STORE(4); CK_STORE(5);
        return;
    }
    int32_t tile[MR][NR];
    CK_SPILL(0); CK_SPILL(1); CK_SPILL(2); CK_SPILL(3); CK_SPILL(4); CK_SPILL(5);
    store_tile((const int32_t (*)[NR])tile, c, ldc, accumulate, rows, cols);
}
#endif

typedef void (*micro_kernel)(size_t, const int16_t *, const int16_t *, int32_t *, size_t, int, size_t, size_t);

int ck_cpu_has_avx2(void) {
#ifdef CK_X86
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

static micro_kernel select_micro(int allow_avx2) {
#ifdef CK_X86
    if (allow_avx2 && ck_cpu_has_avx2()) return micro_avx2;
#endif
    return micro_portable;
}

void ck_gemm(const int16_t *packed_a, const int16_t *packed_b, size_t m, size_t k, size_t n, int32_t *c,
             size_t row_begin, size_t row_end, size_t col_begin, size_t col_end, int allow_avx2) {
    micro_kernel micro = select_micro(allow_avx2);
    size_t m_pad = round_up(m, MR), n_pad = round_up(n, NR);
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        size_t kc = k - k0 < KC ? k - k0 : KC;
        size_t kc_pad = round_up(kc, 2);
        const int16_t *a_block = packed_a + k0 * m_pad, *b_block = packed_b + k0 * n_pad;
        // MC rows of A (in L2) meet each NR-column panel of B (in L1) in turn.
        for (size_t i0 = row_begin; i0 < row_end; i0 += MC) {
            size_t rows = row_end - i0 < MC ? row_end - i0 : MC;
            for (size_t j0 = col_begin; j0 < col_end; j0 += NR) {
                const int16_t *panel = b_block + j0 * kc_pad;
                size_t cols = col_end - j0 < NR ? col_end - j0 : NR;
                for (size_t r0 = 0; r0 < rows; r0 += MR) {
                    size_t tile_rows = rows - r0 < MR ? rows - r0 : MR;
                    micro(kc_pad / 2, a_block + (i0 + r0) * kc_pad, panel, c + (i0 + r0) * n + j0, n, k0 > 0,
                          tile_rows, cols);
                }
            }
        }
    }
}
