/*
 * Fuzz the mail parser (fetcher/mail.c): any bytes give a message whose
 * strings are valid UTF-8 within their caps, and the header and date
 * decoders stand alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "fetcher/mail.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_str(const char *s, size_t max)
{
	size_t	n = strlen(s);

	if (n > max || !utf8_valid(s, n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mail_msg	 m;
	char		 date[MAIL_DATE_LEN], *s, *z;

	if (mail_parse((const char *)data, size, size, &m) != 0)
		abort();
	check_str(m.subject, MAIL_MAX_HEADER);
	check_str(m.from, MAIL_MAX_HEADER);
	check_str(m.to, MAIL_MAX_HEADER);
	check_str(m.date, MAIL_MAX_HEADER);
	check_str(m.message_id, MAIL_MAX_HEADER);
	if (m.text_len > MAIL_MAX_TEXT || strlen(m.text) != m.text_len ||
	    !utf8_valid(m.text, m.text_len))
		abort();
	if (m.updated_at[0] != '\0' && strlen(m.updated_at) != 20)
		abort();
	mail_free(&m);
	if (mail_parse((const char *)data, size, size ? size - 1 : 0, &m) !=
	    (size ? -1 : 0))
		abort();
	mail_free(&m);

	s = mail_header_decode((const char *)data, size);
	check_str(s, MAIL_MAX_HEADER);
	free(s);
	z = xstrndup((const char *)data, size < 256 ? size : 256);
	if (mail_date(z, date) == 0 && strlen(date) != 20)
		abort();
	free(z);
	return 0;
}
