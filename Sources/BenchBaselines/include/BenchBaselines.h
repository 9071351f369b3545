#include "crypto_baseline.h"
#include "rocksdb_baseline.h"
