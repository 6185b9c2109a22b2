/*
 * The TLS context, made from the certificate chain and key the parent
 * opened for us: at start-up while still privileged, and again on every
 * reload (the parent sends fresh fds; see front.c).  The PEM is read from the fds into
 * memory (we never open a path), the fds are closed and the key's bytes
 * wiped as soon as OpenSSL holds them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "ballastd/front.h"
#include "common/log.h"

#define TLS_PEM_MAX	(1024 * 1024)

/* TLS 1.2 only: forward secrecy and AEAD.  TLS 1.3's suites are all fine. */
#define TLS12_CIPHERS	"ECDHE-ECDSA-AES128-GCM-SHA256:" \
			"ECDHE-RSA-AES128-GCM-SHA256:" \
			"ECDHE-ECDSA-AES256-GCM-SHA384:" \
			"ECDHE-RSA-AES256-GCM-SHA384:" \
			"ECDHE-ECDSA-CHACHA20-POLY1305:" \
			"ECDHE-RSA-CHACHA20-POLY1305"

/* Our preference order; HTTP/1.0 clients (curl --http1.0) offer "http/1.0". */
static const unsigned char alpn_ours[] = "\x08http/1.1\x08http/1.0";

/* Log OpenSSL's reason; always -1. */
static int
tls_fail(const char *what)
{
	unsigned long	 e = ERR_peek_last_error();
	char		 buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	log_warnx("front_tls_ctx: %s: %s", what, e ? buf : "unknown error");
	ERR_clear_error();
	return -1;
}

/* Read a whole fd (at most TLS_PEM_MAX bytes) into *out; closes fd. */
static int
tls_slurp(int fd, const char *what, char **out, size_t *outlen)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;

	if (fd == -1) {
		log_warnx("front_tls_ctx: the parent sent no %s", what);
		return -1;
	}
	if ((buf = malloc(TLS_PEM_MAX)) == NULL)
		fatal("%s", __func__);
	for (;;) {
		n = read(fd, buf + len, TLS_PEM_MAX - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("%s: reading the %s", __func__, what);
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == TLS_PEM_MAX) {
			log_warnx("%s: %s larger than %d bytes", __func__,
			    what, TLS_PEM_MAX);
			n = -1;
			break;
		}
	}
	close(fd);
	if (n == -1) {
		freezero(buf, TLS_PEM_MAX);
		return -1;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int
tls_load_chain(SSL_CTX *ctx, int fd)
{
	BIO	*bio;
	X509	*x;
	char	*pem;
	size_t	 len;
	int	 rv = -1;

	if (tls_slurp(fd, "certificate", &pem, &len) == -1)
		return -1;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		free(pem);
		return tls_fail("BIO_new_mem_buf");
	}
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		tls_fail("no certificate in the certificate file");
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		tls_fail("SSL_CTX_use_certificate");
		goto out;
	}
	X509_free(x);
	/* The rest of the file is the chain, leaf's issuer first. */
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			tls_fail("SSL_CTX_add0_chain_cert");
			goto out;
		}
	ERR_clear_error();	/* the loop ends on "no start line" */
	rv = 0;
 out:
	BIO_free(bio);
	free(pem);
	return rv;
}

static int
tls_load_key(SSL_CTX *ctx, int fd)
{
	BIO		*bio;
	EVP_PKEY	*key;
	char		*pem;
	size_t		 len;
	int		 ok;

	if (tls_slurp(fd, "key", &pem, &len) == -1)
		return -1;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		freezero(pem, TLS_PEM_MAX);
		return tls_fail("BIO_new_mem_buf");
	}
	/* No passphrase callback: an encrypted key fails instead of asking. */
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	BIO_free(bio);
	freezero(pem, TLS_PEM_MAX);
	if (key == NULL)
		return tls_fail("cannot read the private key");
	ok = SSL_CTX_use_PrivateKey(ctx, key);
	EVP_PKEY_free(key);
	if (ok != 1)
		return tls_fail("SSL_CTX_use_PrivateKey");
	if (SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail("the key does not match the certificate");
	return 0;
}

/* Client certificates: trust the bundle's CAs, ask for and require one. */
static int
tls_load_client_ca(SSL_CTX *ctx, int fd)
{
	X509_STORE	*store = SSL_CTX_get_cert_store(ctx);
	BIO		*bio;
	X509		*x;
	char		*pem;
	size_t		 len;
	int		 n = 0;

	if (tls_slurp(fd, "client CA bundle", &pem, &len) == -1)
		return -1;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		free(pem);
		return tls_fail("BIO_new_mem_buf");
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) != 1 ||
		    SSL_CTX_add_client_CA(ctx, x) != 1) {
			X509_free(x);
			n = -1;
			break;
		}
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	free(pem);
	if (n <= 0)
		return tls_fail("no usable certificate in the client CA "
		    "bundle");
	ERR_clear_error();	/* the loop ends on "no start line" */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return 0;
}

/* ALPN: HTTP/1.x only; a client offering only others (h2) is refused. */
static int
tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char	*sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_ours,
	    sizeof(alpn_ours) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/*
 * A new context, or NULL (logged) when the certificate or the key is
 * broken; both fds are closed either way.  At start-up the caller makes
 * that fatal; on reload it keeps the context it has.
 */
SSL_CTX *
front_tls_ctx(int fd_cert, int fd_key, int fd_ca)
{
	SSL_CTX		*ctx;
	unsigned char	 seed[16];

	ERR_clear_error();	/* what is left from connections is not ours */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL) != 1 ||
	    (ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_fail("SSL_CTX_new");
		goto fail;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
		tls_fail("SSL_CTX settings");
		SSL_CTX_free(ctx);
		goto fail;
	}
	/*
	 * No session tickets: a ticket key that lives as long as the process
	 * would let whoever steals it decrypt every resumed TLS 1.2 session
	 * (testssl.sh flags it; tests/tls/testssl-summary.md).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_TICKET);
	/*
	 * Without tickets, TLS 1.3 resumption keeps each session in the
	 * server's cache: OpenSSL's default of 20,480 for two hours would
	 * let anyone grow the front by ~90 MB with handshakes (~4.5 KB a
	 * session, issue 12).  A thousand recent sessions for five minutes
	 * still spare returning clients a full handshake.
	 */
	SSL_CTX_sess_set_cache_size(ctx, 1024);
	SSL_CTX_set_timeout(ctx, 300);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn, NULL);
	/* Partial writes: bufferevent_openssl hands OpenSSL moving buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (fd_ca != -1) {
		int	 rv = tls_load_client_ca(ctx, fd_ca);

		fd_ca = -1;		/* closed */
		if (rv == -1) {
			SSL_CTX_free(ctx);
			goto fail;
		}
	}
	if (tls_load_chain(ctx, fd_cert) == -1) {
		fd_cert = -1;
		SSL_CTX_free(ctx);
		goto fail;
	}
	fd_cert = -1;
	if (tls_load_key(ctx, fd_key) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Seed the DRBG now: in the sandbox there is only getrandom(2). */
	if (RAND_bytes(seed, sizeof(seed)) != 1) {
		tls_fail("RAND_bytes");
		SSL_CTX_free(ctx);
		return NULL;
	}
	explicit_bzero(seed, sizeof(seed));
	return ctx;
 fail:
	if (fd_ca != -1)
		close(fd_ca);
	if (fd_cert != -1)
		close(fd_cert);
	if (fd_key != -1)
		close(fd_key);
	return NULL;
}
