#include "crypto_baseline.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

static secp256k1_context *randomized_context(void) {
    secp256k1_context *context = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    unsigned char seed[32];
    if (context != NULL && RAND_bytes(seed, sizeof seed) == 1) {
        (void)secp256k1_context_randomize(context, seed);
    }
    return context;
}

long crypto_baseline_sign(const uint8_t secret[32], const uint8_t *message, size_t length, long count) {
    secp256k1_context *context = randomized_context();
    secp256k1_keypair keypair;
    long done = 0;
    if (context == NULL || secp256k1_keypair_create(context, &keypair, secret) != 1) goto out;
    for (long i = 0; i < count; i++) {
        unsigned char aux[32];
        unsigned char signature[64];
        if (RAND_bytes(aux, sizeof aux) != 1) break;
        secp256k1_schnorrsig_extraparams params = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
        params.ndata = aux;
        done += secp256k1_schnorrsig_sign_custom(context, signature, message, length, &keypair, &params);
    }
out:
    if (context != NULL) secp256k1_context_destroy(context);
    return done;
}

long crypto_baseline_verify(const uint8_t public_key[32], const uint8_t signature[64],
                            const uint8_t *message, size_t length, long count) {
    secp256k1_context *context = randomized_context();
    long done = 0;
    if (context == NULL) return 0;
    for (long i = 0; i < count; i++) {
        secp256k1_xonly_pubkey parsed;
        if (secp256k1_xonly_pubkey_parse(context, &parsed, public_key) != 1) break;
        done += secp256k1_schnorrsig_verify(context, signature, message, length, &parsed);
    }
    secp256k1_context_destroy(context);
    return done;
}

long crypto_baseline_sha256(const uint8_t *data, size_t length, long count, uint8_t digest[32]) {
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    long done = 0;
    if (md == NULL || context == NULL) goto out;
    for (long i = 0; i < count; i++) {
        unsigned int size = 0;
        if (EVP_DigestInit_ex2(context, md, NULL) != 1 || EVP_DigestUpdate(context, data, length) != 1 ||
            EVP_DigestFinal_ex(context, digest, &size) != 1) break;
        done += size == 32;
    }
out:
    EVP_MD_CTX_free(context);
    EVP_MD_free(md);
    return done;
}
