/* SPDX-License-Identifier: MIT */
/*
 * tests/vtoken/vcard_log.c — VTOKEN_LOG: every command APDU as "> HEX"
 * and every response as "< HEX", one per line, uppercase, with the bytes
 * of secrets (PINs, PUKs, management-key material, printed information)
 * written as "**".
 */
#include "vcard_int.h"

#include <stdint.h>
#include <stdlib.h>

void
vl_open(struct vcard *c)
{
	const char *path = getenv("VTOKEN_LOG");

	if (path == NULL || *path == '\0')
		return;
	/* unbuffered: each line goes out in one write(2) on an O_APPEND
	 * file, so that cards in several processes do not mix lines */
	if ((c->log = fopen(path, "ae")) != NULL)
		setvbuf(c->log, NULL, _IONBF, 0);
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
	char *line;
	size_t i, k = 0;

	if (c->log == NULL || n > (SIZE_MAX - 3) / 2)
		return;
	if ((line = malloc(2 * n + 3)) == NULL)
		return;
	line[k++] = dir;
	line[k++] = ' ';
	for (i = 0; i < n; i++) {
		if (i >= red_off && i - red_off < red_len) {
			line[k++] = '*';
			line[k++] = '*';
			continue;
		}
		line[k++] = digits[p[i] >> 4];
		line[k++] = digits[p[i] & 0x0f];
	}
	line[k++] = '\n';
	(void)fwrite(line, 1, k, c->log);
	free(line);
}
