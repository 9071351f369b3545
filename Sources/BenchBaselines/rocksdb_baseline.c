#include "rocksdb_baseline.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (double)spec.tv_sec + (double)spec.tv_nsec / 1e9;
}

static int failed(const char *what, char *error) {
    if (error == NULL) return 0;
    fprintf(stderr, "rocksdb baseline %s: %s\n", what, error);
    rocksdb_free(error);
    return 1;
}

/* The same settings as AssayRocksDB's DatabaseOptions, so the two runs differ only in the wrapper. */
static rocksdb_options_t *baseline_options(rocksdb_cache_t *cache, rocksdb_block_based_table_options_t *table) {
    rocksdb_options_t *options = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(options, 1);
    rocksdb_options_set_create_missing_column_families(options, 1);
    rocksdb_options_set_max_background_jobs(options, 2);
    rocksdb_options_set_keep_log_file_num(options, 4);
    rocksdb_block_based_options_set_block_cache(table, cache);
    rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom_full(10.0));
    rocksdb_options_set_block_based_table_factory(options, table);
    return options;
}

static int put_all(rocksdb_t *db, const uint8_t *keys, size_t key_count, size_t key_len,
                   const uint8_t *value, size_t value_len, size_t batch_size) {
    rocksdb_writeoptions_t *write_options = rocksdb_writeoptions_create();
    rocksdb_writebatch_t *batch = rocksdb_writebatch_create();
    char *error = NULL;
    for (size_t first = 0; first < key_count && error == NULL; first += batch_size) {
        size_t end = first + batch_size < key_count ? first + batch_size : key_count;
        rocksdb_writebatch_clear(batch);
        for (size_t index = first; index < end; index++) {
            rocksdb_writebatch_put(batch, (const char *)keys + index * key_len, key_len,
                                   (const char *)value, value_len);
        }
        rocksdb_write(db, write_options, batch, &error);
    }
    rocksdb_writebatch_destroy(batch);
    rocksdb_writeoptions_destroy(write_options);
    return failed("write", error);
}

static int get_all(rocksdb_t *db, const uint8_t *keys, size_t key_len,
                   const uint32_t *get_order, size_t get_count) {
    rocksdb_readoptions_t *read_options = rocksdb_readoptions_create();
    char *error = NULL;
    size_t found = 0;
    for (size_t index = 0; index < get_count && error == NULL; index++) {
        const char *key = (const char *)keys + (size_t)get_order[index] * key_len;
        rocksdb_pinnableslice_t *slice = rocksdb_get_pinned(db, read_options, key, key_len, &error);
        if (slice != NULL) {
            found++;
            rocksdb_pinnableslice_destroy(slice);
        }
    }
    rocksdb_readoptions_destroy(read_options);
    if (failed("get", error)) return 1;
    if (found != get_count) {
        fprintf(stderr, "rocksdb baseline get: found %zu of %zu keys\n", found, get_count);
        return 1;
    }
    return 0;
}

int rocksdb_baseline_run(const char *dir, const uint8_t *keys, size_t key_count, size_t key_len,
                         const uint8_t *value, size_t value_len, size_t batch_size,
                         const uint32_t *get_order, size_t get_count,
                         double *put_seconds, double *get_seconds) {
    rocksdb_cache_t *cache = rocksdb_cache_create_lru((size_t)64 << 20);
    rocksdb_block_based_table_options_t *table = rocksdb_block_based_options_create();
    rocksdb_options_t *options = baseline_options(cache, table);
    char *error = NULL;
    rocksdb_t *db = rocksdb_open(options, dir, &error);
    int status = failed("open", error) ? -1 : 0;
    if (status == 0) {
        double start = now_seconds();
        status = put_all(db, keys, key_count, key_len, value, value_len, batch_size) ? -1 : 0;
        *put_seconds = now_seconds() - start;
    }
    if (status == 0) {
        double start = now_seconds();
        status = get_all(db, keys, key_len, get_order, get_count) ? -1 : 0;
        *get_seconds = now_seconds() - start;
    }
    if (db != NULL) rocksdb_close(db);
    rocksdb_options_destroy(options);
    rocksdb_block_based_options_destroy(table);
    rocksdb_cache_destroy(cache);
    return status;
}
