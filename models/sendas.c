/* sendas.c - Send As grants and mailbox lookup by address (sendas.h). */
#include "sendas.h"

#include <string.h>

/* ASCII letters folded by hand: tolower() follows the C locale, and a
 * grant must match the same addresses whatever locale a program sets. */
static unsigned char fold(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static bool same_ci(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
	for (; *p && *q; p++, q++)
		if (fold(*p) != fold(*q))
			return false;
	return *p == *q;
}

bool scn_may_send_as(const scn_mailbox *mb, const char *addr)
{
	if (!mb || !addr || !addr[0])
		return false;
	if (same_ci(addr, mb->name))
		return true;
	/* The domain follows the last '@': a quoted local part may hold one. */
	const char *at = strrchr(addr, '@');
	for (size_t i = 0; i < mb->n_send_as; i++) {
		const char *g = mb->send_as[i];
		if (g[0] == '*' && g[1] == '\0')
			return true;
		if (g[0] == '*' && g[1] == '@') {
			if (at && at > addr && same_ci(at + 1, g + 2))
				return true;
		} else if (same_ci(addr, g)) {
			return true;
		}
	}
	return false;
}

int64_t scn_mailbox_find(const scenario *s, const char *addr)
{
	if (!s || !addr || !addr[0])
		return -1;
	int64_t first = -1;
	for (size_t i = 0; i < s->n_mailboxes; i++) {
		const char *name = s->mailboxes[i].name;
		if (!strcmp(name, addr))
			return (int64_t)i;
		if (first < 0 && same_ci(name, addr))
			first = (int64_t)i;
	}
	return first;
}
