#include "CKernels.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#define CK_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#endif

// Register block: MR rows of A by NR columns of B. KC: depth of one packed block (a multiple of every group size).
// MC: rows of A met by each panel of B in turn.
enum { MR = 6, NR = 16, KC = 256, MC = 72 };

static size_t round_up(size_t value, size_t step) { return (value + step - 1) / step * step; }
static size_t min_size(size_t x, size_t y) { return x < y ? x : y; }

size_t ck_row_block(void) { return MR; }
size_t ck_panel_width(void) { return NR; }

int ck_path_supported(ck_path path) {
    switch (path) {
    case CK_PATH_PORTABLE: return 1;
#ifdef CK_X86
    case CK_PATH_AVX2: return __builtin_cpu_supports("avx2") ? 1 : 0;
    case CK_PATH_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    default: return 0;
    }
}

ck_path ck_best_path(void) {
    if (ck_path_supported(CK_PATH_VNNI)) return CK_PATH_VNNI;
    return ck_path_supported(CK_PATH_AVX2) ? CK_PATH_AVX2 : CK_PATH_PORTABLE;
}

// Packed layout, shared by the paths: consecutive k of one row of A (column of B) form a group of 4 bytes, a pair of
// int16 or (VNNI) a quad of 8-bit values, the unit one 32-bit lane of the micro-kernel multiplies. K is cut into
// blocks of KC; a block holds MR-row panels of A (NR-column panels of B); a panel holds its groups k-major, the
// groups of its rows (columns) side by side. Padding is zero. VNNI operands start with a head: the effective zero
// point (at byte 0; 64 bytes keep the rest aligned), then the sum of each padded row of A (column of B).
static size_t group_size(ck_path path) { return path == CK_PATH_VNNI ? 4 : 2; }

// Bytes of `lines` rows (columns) of packed data `depth` deep.
static size_t span(size_t lines, size_t depth, size_t group) { return lines * round_up(depth, group) * (4 / group); }

static size_t head_bytes(ck_path path, size_t lines_pad) {
    return path == CK_PATH_VNNI ? 64 + round_up(lines_pad * sizeof(int32_t), 64) : 0;
}

typedef struct {
    int32_t *zero, *sums;  // VNNI only
    uint8_t *data;
} packed_view;

static packed_view view(ck_path path, const void *packed, size_t lines_pad) {
    uint8_t *base = (uint8_t *)packed;
    packed_view v = {(int32_t *)base, (int32_t *)(base + 64), base + head_bytes(path, lines_pad)};
    return v;
}

size_t ck_packed_a_bytes(ck_path path, size_t m, size_t k) {
    size_t m_pad = round_up(m, MR);
    return head_bytes(path, m_pad) + span(m_pad, k, group_size(path));
}

size_t ck_packed_b_bytes(ck_path path, size_t k, size_t n) {
    size_t n_pad = round_up(n, NR);
    return head_bytes(path, n_pad) + span(n_pad, k, group_size(path));
}

static inline int16_t centred(uint8_t byte, int is_signed, int32_t zero) {
    return (int16_t)((is_signed ? (int32_t)(int8_t)byte : (int32_t)byte) - zero);
}

// VNNI wants A unsigned and B signed. Flipping the top bit maps int8 v to the uint8 v + 128 and uint8 v to the int8
// v - 128; the zero point moves by the same amount, so every centred value is unchanged.
static uint8_t flip_to(int want_signed, int is_signed) { return want_signed == is_signed ? 0 : 0x80; }

static int32_t moved_zero(int32_t zero, int want_signed, int is_signed) {
    return want_signed == is_signed ? zero : want_signed ? zero - 128 : zero + 128;
}

// Packs one row's kc values of a K block (src NULL: a padding row, zeros) into its pairs of a 16-bit panel.
static void pack_row_pairs(const uint8_t *src, size_t kc, int is_signed, int32_t zero, int16_t *slots) {
    for (size_t kk = 0; kk < round_up(kc, 2); kk++)
        slots[kk / 2 * 2 * MR + kk % 2] = src && kk < kc ? centred(src[kk], is_signed, zero) : 0;
}

// Packs one row's kc values of a K block (src NULL: a padding row, zeros) into its quads of a VNNI panel; returns
// their sum.
static uint32_t pack_row_quads(const uint8_t *src, size_t kc, uint8_t flip, uint8_t *slots) {
    uint32_t sum = 0;
    for (size_t kk = 0; kk < kc; kk += 4, slots += 4 * MR) {
        uint8_t quad[4] = {0};
        for (size_t q = 0; src && q < 4 && kk + q < kc; q++) quad[q] = src[kk + q] ^ flip;
        sum += (uint32_t)quad[0] + quad[1] + quad[2] + quad[3];
        memcpy(slots, quad, sizeof quad);
    }
    return sum;
}

void ck_pack_a(ck_path path, const uint8_t *a, int a_signed, int32_t a_zero, size_t m, size_t k,
               size_t row_begin, size_t row_end, void *packed) {
    size_t g = group_size(path), m_pad = round_up(m, MR);
    int vnni = path == CK_PATH_VNNI;
    uint8_t flip = flip_to(0, a_signed);
    packed_view v = view(path, packed, m_pad);
    if (vnni && row_begin == 0) *v.zero = moved_zero(a_zero, 0, a_signed);
    for (size_t r0 = row_begin; r0 < row_end; r0 += MR) {
        for (size_t rr = 0; rr < MR; rr++) {
            const uint8_t *src = r0 + rr < row_end ? a + (r0 + rr) * k : NULL;
            uint32_t sum = 0;
            for (size_t k0 = 0; k0 < k; k0 += KC) {
                size_t kc = min_size(k - k0, KC);
                uint8_t *panel = v.data + span(m_pad, k0, g) + span(r0, kc, g);
                const uint8_t *block = src ? src + k0 : NULL;
                if (vnni) sum += pack_row_quads(block, kc, flip, panel + 4 * rr);
                else pack_row_pairs(block, kc, a_signed, a_zero, (int16_t *)panel + 2 * rr);
            }
            if (vnni) v.sums[r0 + rr] = (int32_t)sum;
        }
    }
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

// Writes NR quads (rows[0][j], .., rows[depth-1][j]) with the top bit flipped by `flip`, zeros past depth or cols.
static void pack_quad_portable(const uint8_t *rows, size_t stride, size_t depth, size_t cols, uint8_t flip,
                               uint8_t *out) {
    for (size_t jj = 0; jj < NR; jj++)
        for (size_t q = 0; q < 4; q++) out[4 * jj + q] = jj < cols && q < depth ? rows[q * stride + jj] ^ flip : 0;
}

// The whole-quad case: a 4 x 16 byte transpose.
static void pack_quad_sse(const uint8_t *rows, size_t stride, uint8_t flip, uint8_t *out) {
    __m128i f = _mm_set1_epi8((char)flip), r[4];
    for (int q = 0; q < 4; q++) r[q] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(rows + q * stride)), f);
    __m128i lo01 = _mm_unpacklo_epi8(r[0], r[1]), hi01 = _mm_unpackhi_epi8(r[0], r[1]);
    __m128i lo23 = _mm_unpacklo_epi8(r[2], r[3]), hi23 = _mm_unpackhi_epi8(r[2], r[3]);
    _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi16(lo01, lo23));          // columns 0-3
    _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi16(lo01, lo23));   // 4-7
    _mm_storeu_si128((__m128i *)(out + 32), _mm_unpacklo_epi16(hi01, hi23));   // 8-11
    _mm_storeu_si128((__m128i *)(out + 48), _mm_unpackhi_epi16(hi01, hi23));   // 12-15
}

// Packs B's quads panel by panel, summing each column with vpdpbusd by ones (exact: no saturation).
CK_VNNI
static void pack_b_vnni(const uint8_t *b, int b_signed, int32_t b_zero, size_t k, size_t n,
                        size_t col_begin, size_t col_end, void *packed) {
    size_t n_pad = round_up(n, NR);
    uint8_t flip = flip_to(1, b_signed);
    packed_view v = view(CK_PATH_VNNI, packed, n_pad);
    if (col_begin == 0) *v.zero = moved_zero(b_zero, 1, b_signed);
    __m512i ones = _mm512_set1_epi8(1);
    for (size_t j0 = col_begin; j0 < col_end; j0 += NR) {
        size_t cols = min_size(n - j0, NR);
        __m512i sums = _mm512_setzero_si512();
        for (size_t k0 = 0; k0 < k; k0 += KC) {
            size_t kc = min_size(k - k0, KC);
            uint8_t *out = v.data + span(n_pad, k0, 4) + span(j0, kc, 4);
            for (size_t kk = 0; kk < kc; kk += 4, out += 4 * NR) {
                const uint8_t *rows = b + (k0 + kk) * n + j0;
                if (cols == NR && kc - kk >= 4) pack_quad_sse(rows, n, flip, out);
                else pack_quad_portable(rows, n, min_size(kc - kk, 4), cols, flip, out);
                sums = _mm512_dpbusd_epi32(sums, ones, _mm512_loadu_si512(out));
            }
        }
        _mm512_storeu_si512(v.sums + j0, sums);
    }
}
#endif

void ck_pack_b(ck_path path, const uint8_t *b, int b_signed, int32_t b_zero, size_t k, size_t n,
               size_t col_begin, size_t col_end, void *packed) {
#ifdef CK_X86
    if (path == CK_PATH_VNNI) {
        pack_b_vnni(b, b_signed, b_zero, k, n, col_begin, col_end, packed);
        return;
    }
#endif
    size_t n_pad = round_up(n, NR);
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        size_t kc = min_size(k - k0, KC);
        for (size_t j0 = col_begin; j0 < col_end; j0 += NR) {
            int16_t *out = (int16_t *)((uint8_t *)packed + span(n_pad, k0, 2) + span(j0, kc, 2));
            size_t cols = min_size(n - j0, NR);
            for (size_t kk = 0; kk < kc; kk += 2, out += 2 * NR) {
                const uint8_t *even = b + (k0 + kk) * n + j0;
                const uint8_t *odd = kk + 1 < kc ? even + n : NULL;
#ifdef CK_X86
                if (path == CK_PATH_AVX2 && odd && cols == NR) {
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

// One MR x NR tile of C for one K block.
typedef struct {
    size_t groups;          // k groups (pairs or quads) in the block
    size_t ldc, rows, cols; // row stride of C; rows x cols of the tile are real
    int accumulate;         // add to C (every K block after the first) instead of overwriting it
    // VNNI: the operands' sums and effective zero points, the tile's first row and column, and K.
    const int32_t *row_sums, *col_sums;
    int32_t a_zero, b_zero;
    size_t row, col, k;
} tile_job;

// Stores (or adds to C) an MR x NR tile of which rows x cols are real.
static void store_tile(const int32_t tile[MR][NR], int32_t *c, const tile_job *t) {
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t j = 0; j < t->cols; j++) {
            int32_t *out = c + r * t->ldc + j;
            // Unsigned addition: wraps modulo 2^32 without undefined behaviour.
            *out = t->accumulate ? (int32_t)((uint32_t)*out + (uint32_t)tile[r][j]) : tile[r][j];
        }
    }
}

static void micro_portable(const uint8_t *a_bytes, const uint8_t *b_bytes, int32_t *c, const tile_job *t) {
    const int16_t *a = (const int16_t *)a_bytes, *b = (const int16_t *)b_bytes;
    int32_t tile[MR][NR];
    memset(tile, 0, sizeof tile);
    for (size_t p = 0; p < t->groups; p++) {
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
    store_tile((const int32_t (*)[NR])tile, c, t);
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
        __m256i *row = (__m256i *)(c + (r) * t->ldc);                                       \
        if (t->accumulate) {                                                                \
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
static void micro_avx2(const uint8_t *a_bytes, const uint8_t *b_bytes, int32_t *c, const tile_job *t) {
    const int16_t *a = (const int16_t *)a_bytes, *b = (const int16_t *)b_bytes;
    __m256i acc00 = _mm256_setzero_si256(), acc01 = acc00, acc10 = acc00, acc11 = acc00, acc20 = acc00,
            acc21 = acc00, acc30 = acc00, acc31 = acc00, acc40 = acc00, acc41 = acc00, acc50 = acc00, acc51 = acc00;
    for (size_t p = 0; p < t->groups; p++) {
        __m256i b0 = _mm256_loadu_si256((const __m256i *)b);
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(b + 16));
        CK_ROW(0); CK_ROW(1); CK_ROW(2); CK_ROW(3); CK_ROW(4); CK_ROW(5);
        a += 2 * MR;
        b += 2 * NR;
    }
    if (t->rows == MR && t->cols == NR) {
        CK_STORE(0); CK_STORE(1); CK_STORE(2); CK_STORE(3); CK_STORE(4); CK_STORE(5);
        return;
    }
    int32_t tile[MR][NR];
    CK_SPILL(0); CK_SPILL(1); CK_SPILL(2); CK_SPILL(3); CK_SPILL(4); CK_SPILL(5);
    store_tile((const int32_t (*)[NR])tile, c, t);
}

// vpdpbusd adds four products u x s (each within -32640..32385) to an int32 lane modulo 2^32 (no saturation), so
// every lane is exact modulo 2^32 for any K; the correction is exact modulo 2^32 too:
// sum (u - za)(s - zb) = sum u s - zb sum u - za sum s + K za zb.
// The accumulators start at the correction (first K block) or at C; masks cover edge tiles.
CK_VNNI
static void micro_vnni(const uint8_t *a, const uint8_t *b, int32_t *c, const tile_job *t) {
    __mmask16 cols = (__mmask16)((1u << t->cols) - 1);
    __m512i acc[MR];
    if (t->accumulate) {
        for (size_t r = 0; r < MR; r++)
            acc[r] = r < t->rows ? _mm512_maskz_loadu_epi32(cols, c + r * t->ldc) : _mm512_setzero_si512();
    } else {
        uint32_t za = (uint32_t)t->a_zero, zb = (uint32_t)t->b_zero;
        __m512i col_term = _mm512_mullo_epi32(_mm512_set1_epi32((int32_t)(0u - za)),
                                              _mm512_loadu_si512(t->col_sums + t->col));
        for (size_t r = 0; r < MR; r++) {
            uint32_t row_term = (uint32_t)t->k * za * zb - zb * (uint32_t)t->row_sums[t->row + r];
            acc[r] = _mm512_add_epi32(col_term, _mm512_set1_epi32((int32_t)row_term));
        }
    }
    for (size_t q = 0; q < t->groups; q++, a += 4 * MR, b += 4 * NR) {
        __m512i quads = _mm512_loadu_si512(b);
        for (size_t r = 0; r < MR; r++) {
            int32_t bits;
            memcpy(&bits, a + 4 * r, sizeof bits);  // row r's quad
            acc[r] = _mm512_dpbusd_epi32(acc[r], _mm512_set1_epi32(bits), quads);
        }
    }
    for (size_t r = 0; r < t->rows; r++) _mm512_mask_storeu_epi32(c + r * t->ldc, cols, acc[r]);
}
#endif

typedef void (*micro_kernel)(const uint8_t *, const uint8_t *, int32_t *, const tile_job *);

static micro_kernel select_micro(ck_path path) {
#ifdef CK_X86
    if (path == CK_PATH_VNNI) return micro_vnni;
    if (path == CK_PATH_AVX2) return micro_avx2;
#endif
    return micro_portable;
}

void ck_gemm(ck_path path, const void *packed_a, const void *packed_b, size_t m, size_t k, size_t n, int32_t *c,
             size_t row_begin, size_t row_end, size_t col_begin, size_t col_end) {
    micro_kernel micro = select_micro(path);
    size_t g = group_size(path), m_pad = round_up(m, MR), n_pad = round_up(n, NR);
    packed_view pa = view(path, packed_a, m_pad), pb = view(path, packed_b, n_pad);
    tile_job t = {.ldc = n, .k = k};
    if (path == CK_PATH_VNNI) {
        t.row_sums = pa.sums;
        t.col_sums = pb.sums;
        t.a_zero = *pa.zero;
        t.b_zero = *pb.zero;
    }
    // MC rows of A (in L2) meet each NR-column panel of B in turn; each tile of C goes through every K block before
    // the next, so C leaves the cache once instead of once per block (C exceeds L2 at 1024^2).
    for (size_t i0 = row_begin; i0 < row_end; i0 += MC) {
        size_t rows = min_size(row_end - i0, MC);
        for (size_t j0 = col_begin; j0 < col_end; j0 += NR) {
            t.col = j0;
            t.cols = min_size(col_end - j0, NR);
            for (size_t k0 = 0; k0 < k; k0 += KC) {
                size_t kc = min_size(k - k0, KC);
                t.groups = round_up(kc, g) / g;
                t.accumulate = k0 > 0;
                const uint8_t *a_block = pa.data + span(m_pad, k0, g), *panel = pb.data + span(n_pad, k0, g) + span(j0, kc, g);
                for (size_t r0 = 0; r0 < rows; r0 += MR) {
                    t.row = i0 + r0;
                    t.rows = min_size(rows - r0, MR);
                    micro(a_block + span(t.row, kc, g), panel, c + t.row * n + j0, &t);
                }
            }
        }
    }
}
