#ifndef SERVERLPA_COPENSSL_CRYPTO_SHIM_H
#define SERVERLPA_COPENSSL_CRYPTO_SHIM_H
/* libcrypto helpers (keys, certificates, signatures) for the LPACrypto module. */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#endif
