/* tls.h - TLS contexts for the listeners (OpenSSL 3), bytes not SMTP.
 * Owns: the SSL_CTX (TLS 1.2 and 1.3 only, a modern cipher list), loading
 * the certificate and key, the development self-signed certificate, and the
 * text that names a connection's TLS parameters.
 * A context is immutable once made; reload builds a new one (SSL objects keep
 * their own reference to the context they were made from). */
#ifndef POSTINO_NET_TLS_H
#define POSTINO_NET_TLS_H

#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;

/* Load cert (PEM chain) and key; NULL with err filled on failure. */
struct ssl_ctx_st *tls_server_ctx_new(const char *cert, const char *key, char *err, size_t errlen);
void tls_ctx_free(struct ssl_ctx_st *ctx);

/* Write a self-signed certificate and key for hostname (EC P-256, 1 year)
 * unless both files exist already. Returns 1 when it made new files, 0 when
 * they existed, -1 with err on failure. The key is written with mode 0600. */
int tls_ensure_self_signed(const char *cert, const char *key, const char *hostname, char *err,
    size_t errlen);

/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" (RFC 8314 7.4 style). */
void tls_describe(struct ssl_st *ssl, char *out, size_t outlen);

#endif
