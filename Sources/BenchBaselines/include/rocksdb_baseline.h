#ifndef ASSAY_ROCKSDB_BASELINE_H
#define ASSAY_ROCKSDB_BASELINE_H

#include <stddef.h>
#include <stdint.h>

/// RocksDB driven straight through its C API, the baseline the Swift store is measured against.
/// Creates a database in `dir` with the options RocksDBStore uses, puts `key_count` keys of `key_len`
/// bytes (packed in `keys`) with `value`, `batch_size` per unsynced write batch, then reads back
/// `get_count` of them in the order of `get_order` (indices into `keys`).
/// Returns 0 and the two durations in seconds, or -1 after printing RocksDB's error to stderr.
int rocksdb_baseline_run(const char *dir, const uint8_t *keys, size_t key_count, size_t key_len,
                         const uint8_t *value, size_t value_len, size_t batch_size,
                         const uint32_t *get_order, size_t get_count,
                         double *put_seconds, double *get_seconds);

#endif
