/* term.c - the terminal sanitiser (see term.h). */
#include "term.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s that is not a C1 control, or 0. */
static size_t utf8_ok(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	unsigned cp = c & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;    /* C1 controls: U+009B is CSI on many terminals */
	return n;
}

void term_clean(char *s)
{
	unsigned char *r = (unsigned char *)s, *w = r;
	while (*r) {
		size_t n = utf8_ok(r);
		if (n == 1 && ((*r < 0x20 && *r != '\t') || *r == 0x7f))
			n = 0;
		if (n == 0) {
			*w++ = '?';
			r++;
			/* a broken or C1 sequence: its continuation bytes go with it */
			while ((*r & 0xc0) == 0x80)
				r++;
			continue;
		}
		memmove(w, r, n);
		w += n;
		r += n;
	}
	*w = '\0';
}

void term_copy(char *out, size_t size, const char *in)
{
	if (size == 0)
		return;
	size_t n = strlen(in);
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
			n--;  /* do not cut a character in two */
	}
	memcpy(out, in, n);
	out[n] = '\0';
	term_clean(out);
}

int term_vfprintf(FILE *f, const char *fmt, va_list ap)
{
	char buf[4096];
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n < 0)
		return n;
	size_t len = strlen(buf);
	int nl = len > 0 && buf[len - 1] == '\n';
	if (nl)
		buf[len - 1] = '\0';
	term_clean(buf);
	return fprintf(f, nl ? "%s\n" : "%s", buf);
}

int term_fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = term_vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

int term_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = term_vfprintf(stdout, fmt, ap);
	va_end(ap);
	return n;
}

int term_eprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = term_vfprintf(stderr, fmt, ap);
	va_end(ap);
	return n;
}
