/* tls.c - OpenSSL contexts and the self-signed development certificate (see tls.h). */
#include "net/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"

/* TLS 1.2 suites with forward secrecy and AEAD only; TLS 1.3 uses OpenSSL's defaults. */
#define TLS12_CIPHERS                                                                        \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                        \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"                        \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

static void
ssl_error(char *err, size_t errlen, const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown error";

	if (e)
		ERR_error_string_n(e, reason, sizeof reason);
	else if (errno)
		snprintf(reason, sizeof reason, "%s", strerror(errno));
	snprintf(err, errlen, "%s %s: %s", what, path ? path : "", reason);
	ERR_clear_error();
}

struct ssl_ctx_st *
tls_server_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_error(err, errlen, "cannot create TLS context", NULL);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  /* idle sessions stay small */
	if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		ssl_error(err, errlen, "cannot set cipher list", NULL);
		goto fail;
	}
	errno = 0;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_error(err, errlen, "cannot load certificate", cert);
		goto fail;
	}
	errno = 0;
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_error(err, errlen, "cannot load key", key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_error(err, errlen, "key does not match certificate", cert);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_ctx_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}

/* A self-signed X.509 v3 certificate for hostname over key. */
static X509 *
make_cert(EVP_PKEY *key, const char *hostname)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	char san[300];

	if (!x)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1, -1,
	    0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	snprintf(san, sizeof san, "DNS:%s", hostname);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (!ext || !X509_add_ext(x, ext, -1) || !X509_sign(x, key, EVP_sha256())) {
		X509_EXTENSION_free(ext);
		X509_free(x);
		return NULL;
	}
	X509_EXTENSION_free(ext);
	return x;
}

/* Write a PEM object to path with mode, through a temporary file and rename. */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
	char tmp[4096];
	FILE *f = NULL;
	int fd, ok;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
		 : PEM_write_X509(f, cert);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ok = 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The directories above path: 0755, as the key file itself is 0600 and the
 * daemon user must still reach the spool in ./var next to it. */
static int
make_parents(const char *path)
{
	return mkdir_parents(path, 0755);
}

int
tls_ensure_self_signed(const char *cert, const char *key, const char *hostname, char *err,
    size_t errlen)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	int rc = -1;

	if (access(cert, F_OK) == 0 && access(key, F_OK) == 0)
		return 0;
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!pk || !(x = make_cert(pk, hostname))) {
		ssl_error(err, errlen, "cannot make a self-signed certificate", NULL);
		goto out;
	}
	errno = 0;
	if (make_parents(key) < 0 || make_parents(cert) < 0 || write_pem(key, 0600, pk, NULL) < 0 ||
	    write_pem(cert, 0644, NULL, x) < 0) {
		ssl_error(err, errlen, "cannot write", cert);
		goto out;
	}
	rc = 1;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}

void
tls_describe(struct ssl_st *ssl, char *out, size_t outlen)
{
	int alg = 0, bits = SSL_get_cipher_bits(ssl, &alg);

	snprintf(out, outlen, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl), bits, alg);
}
