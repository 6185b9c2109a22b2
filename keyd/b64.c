/*
 * Base64 (RFC 4648 section 4, padded) for the keyring file and base64url
 * (section 5, unpadded) for JWTs.  The decoders are strict so that every
 * byte string has exactly one accepted encoding: no whitespace, no mixing
 * of alphabets, '=' only as the standard form's final padding, and the
 * unused low bits of the last character must be zero.
 */
#include <string.h>

#include "keyd/crypto.h"

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Decode one character; -1 when it is not in the alphabet. */
static int
dec6(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

static int
encode(const uint8_t *in, size_t len, char *out, size_t outsz, int url)
{
	const char	*a = url ? url_alphabet : std_alphabet;
	size_t		 need, i, o = 0;
	uint32_t	 v;

	if (len > (SIZE_MAX / 4) - 3)
		return -1;
	need = url ? B64URL_ENCLEN(len) : B64_ENCLEN(len);
	if (need >= outsz)
		return -1;
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (!url) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		if (!url)
			out[o++] = '=';
	}
	out[o] = '\0';
	return 0;
}

/* Decode n characters of unpadded base64 (n % 4 != 1 checked by caller). */
static int
decode(const char *in, size_t n, int url, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	size_t		 rem = n % 4, need, i, o = 0, k;
	uint32_t	 v;
	int		 d;

	need = n / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	if (need > outsz)
		return -1;
	for (i = 0; i < n; i += 4) {
		k = n - i < 4 ? n - i : 4;
		v = 0;
		for (size_t j = 0; j < k; j++) {
			if ((d = dec6((unsigned char)in[i + j], url)) == -1)
				goto bad;
			v = v << 6 | (uint32_t)d;
		}
		if (k == 4) {
			out[o++] = v >> 16;
			out[o++] = (v >> 8) & 0xff;
			out[o++] = v & 0xff;
		} else if (k == 3) {
			/* 18 bits carry 2 bytes; the low 2 must be zero. */
			if (v & 3)
				goto bad;
			out[o++] = v >> 10;
			out[o++] = (v >> 2) & 0xff;
		} else {
			/* 12 bits carry 1 byte; the low 4 must be zero. */
			if (v & 15)
				goto bad;
			out[o++] = v >> 4;
		}
	}
	*outlen = o;
	return 0;
 bad:
	if (o > 0)
		explicit_bzero(out, o);
	return -1;
}

int
b64_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	return encode(in, len, out, outsz, 0);
}

int
b64url_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	return encode(in, len, out, outsz, 1);
}

int
b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	size_t	 pad = 0;

	if (len % 4 != 0)
		return -1;
	if (len > 0 && in[len - 1] == '=') {
		pad = 1;
		if (in[len - 2] == '=')
			pad = 2;
	}
	/* Any other '=' is rejected by dec6(). */
	return decode(in, len - pad, 0, out, outsz, outlen);
}

int
b64url_decode(const char *in, size_t len, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	if (len % 4 == 1)
		return -1;
	return decode(in, len, 1, out, outsz, outlen);
}
