#ifndef SERVERLPA_COPENSSL_SHIM_H
#define SERVERLPA_COPENSSL_SHIM_H
/*
 * Thin static-inline wrappers around OpenSSL function-like macros that Swift
 * cannot import. Each wrapper is a one-line forward; no logic lives here.
 */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/pem.h>
#include <openssl/evp.h>

static inline int lpa_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int lpa_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long lpa_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}
static inline long lpa_SSL_CTX_set_options(SSL_CTX *ctx, long options) {
    return (long)SSL_CTX_set_options(ctx, (uint64_t)options);
}
static inline long lpa_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long lpa_SSL_CTX_sess_set_cache_size(SSL_CTX *ctx, long size) {
    return SSL_CTX_sess_set_cache_size(ctx, size);
}
static inline int lpa_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return (int)SSL_CTX_set1_groups_list(ctx, list);
}
static inline int lpa_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline long lpa_BIO_pending(BIO *bio) {
    return (long)BIO_pending(bio);
}
static inline int lpa_BIO_set_mem_eof_return(BIO *bio, int v) {
    return (int)BIO_set_mem_eof_return(bio, v);
}
static inline long lpa_SSL_CTX_set_num_tickets(SSL_CTX *ctx, size_t n) {
    return (long)SSL_CTX_set_num_tickets(ctx, n);
}
static inline const char *lpa_SSL_get_group_name(SSL *ssl) {
    int nid = SSL_get_negotiated_group(ssl);
    if (nid == 0) return NULL;
    const char *name = SSL_group_to_name(ssl, nid);
    return name;
}
static inline int lpa_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *x509) {
    return (int)SSL_CTX_add1_chain_cert(ctx, x509);
}
static inline int lpa_SSL_add1_chain_cert(SSL *ssl, X509 *x509) {
    return (int)SSL_add1_chain_cert(ssl, x509);
}
/* SSL_OP_* constants are built by a macro Swift does not expand. */
static inline long lpa_SSL_OP_NO_COMPRESSION(void) { return (long)SSL_OP_NO_COMPRESSION; }
static inline long lpa_SSL_OP_NO_RENEGOTIATION(void) { return (long)SSL_OP_NO_RENEGOTIATION; }
static inline long lpa_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return (long)SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline long lpa_SSL_OP_NO_TICKET(void) { return (long)SSL_OP_NO_TICKET; }

/* Error-queue reading without macros: returns 0 when empty. */
static inline unsigned long lpa_ERR_get_error(void) { return ERR_get_error(); }
static inline void lpa_ERR_clear_error(void) { ERR_clear_error(); }

#endif
