/*
 * tests/vtoken/vcard_log.c — VTOKEN_LOG: every command APDU as "> HEX"
 * and every response as "< HEX", one per line, uppercase, with the bytes
 * of secrets (PINs, PUKs, management-key material, printed information)
 * written as "**".
 */
#include "vcard_int.h"

#include <stdlib.h>

void
vl_open(struct vcard *c)
{
	const char *path = getenv("VTOKEN_LOG");

	if (path == NULL || *path == '\0')
		return;
	c->log = fopen(path, "ae");
}

void
vl_close(struct vcard *c)
{
	if (c->log != NULL)
		fclose(c->log);
	c->log = NULL;
}

/* Bytes [red_off, red_off + red_len) of p are replaced by "**". */
void
vl_line(struct vcard *c, char dir, const uint8_t *p, size_t n,
    size_t red_off, size_t red_len)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t i;

	if (c->log == NULL)
		return;
	fputc(dir, c->log);
	fputc(' ', c->log);
	for (i = 0; i < n; i++) {
		if (i >= red_off && i - red_off < red_len) {
			fputs("**", c->log);
			continue;
		}
		fputc(digits[p[i] >> 4], c->log);
		fputc(digits[p[i] & 0x0f], c->log);
	}
	fputc('\n', c->log);
	fflush(c->log);
}
