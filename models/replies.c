/* replies.c - the reply catalog's table (see replies.h). */
#include "replies.h"

#include <string.h>

const rpl_class_info rpl_info[RC_COUNT] = {
#define X(ID, id, label, code, transient, drops, key, text) \
	[RC_##ID] = { id, label, code, transient, drops, key, text },
	SCN_REPLY_CLASSES(X)
#undef X
};

const rpl_class_info *rpl_class(int c)
{
	return c >= 0 && c < RC_COUNT ? &rpl_info[c] : NULL;
}

int rpl_class_by_id(const char *id)
{
	for (int c = 0; c < RC_COUNT; c++)
		if (strcmp(rpl_info[c].id, id) == 0)
			return c;
	return -1;
}

static const struct {
	int c;
	const char *name, *text;
} forms[] = {
#define X(ID, name, text) { RC_##ID, name, text },
	SCN_REPLY_FORMS(X)
#undef X
};

const char *rpl_form(int c, const char *name)
{
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
		if (forms[i].c == c && strcmp(forms[i].name, name) == 0)
			return forms[i].text;
	return NULL;
}
