#ifndef SERVERLPA_COPENSSL_CRYPTO_SHIM_H
#define SERVERLPA_COPENSSL_CRYPTO_SHIM_H
/*
 * libcrypto helpers (keys, certificates, signatures) for the LPACrypto module.
 * Each wrapper forwards to an OpenSSL function-like macro that Swift cannot
 * import; no logic lives here. Names carry the `lpac_` prefix so they never
 * collide with the TLS-side wrappers in shim.h.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/pem.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

/* OPENSSL_malloc(size) */
static inline void *lpac_OPENSSL_malloc(size_t size) { return OPENSSL_malloc(size); }

/* OPENSSL_clear_free(addr, num) */
static inline void lpac_OPENSSL_clear_free(void *addr, size_t num) { OPENSSL_clear_free(addr, num); }

/* OPENSSL_free(addr) */
static inline void lpac_OPENSSL_free(void *addr) { OPENSSL_free(addr); }

/* BIO_get_mem_data(bio, &pointer): length of a memory BIO's contents. */
static inline long lpac_BIO_get_mem_data(BIO *bio, char **contents) {
    return BIO_get_mem_data(bio, contents);
}

/* EVP_PKEY_PUBLIC_KEY: the selection for EVP_PKEY_fromdata of a public key. */
static inline int lpac_EVP_PKEY_PUBLIC_KEY(void) { return EVP_PKEY_PUBLIC_KEY; }

#endif
