#ifndef ASSAY_CRYPTO_BASELINE_H
#define ASSAY_CRYPTO_BASELINE_H

#include <stddef.h>
#include <stdint.h>

/* Direct loops over libsecp256k1 and OpenSSL's libcrypto, doing exactly the job of the AssayCrypto call they are
   compared with. Setup (context, key pair, digest fetch) happens once before the loop, as it does in the wrapper.
   Each returns how many iterations succeeded, so the caller can check the loop did real work. */

/* BIP-340 signatures of `message`, each with 32 fresh bytes of RAND_bytes as auxiliary randomness. */
long crypto_baseline_sign(const uint8_t secret[32], const uint8_t *message, size_t length, long count);

/* Parses the x-only public key and verifies the signature, every iteration. */
long crypto_baseline_verify(const uint8_t public_key[32], const uint8_t signature[64],
                            const uint8_t *message, size_t length, long count);

/* SHA-256 through EVP with the EVP_MD fetched once and one EVP_MD_CTX reused; the last digest goes to `digest`. */
long crypto_baseline_sha256(const uint8_t *data, size_t length, long count, uint8_t digest[32]);

#endif
