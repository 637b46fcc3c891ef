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
