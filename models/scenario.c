/* scenario.c - the names of the scenario schema's enumerations, shared by
 * the loader (which parses them) and the results (which show them). */
#include "scenario.h"

#include <string.h>

const char *const scn_scope_names[] = { "mailbox", "tenant", "source", "connector", NULL };
const char *const scn_rate_mode_names[] = { "delay", "reject", "tarpit", NULL };
const char *const scn_conc_check_names[] = { "end_of_data", "auth", NULL };

const char *scn_scope_name(int scope)
{
	return scope >= 0 && scope <= SCOPE_CONNECTOR ? scn_scope_names[scope] : "";
}

const char *scn_rate_mode_name(int mode)
{
	return mode >= 0 && mode <= RATE_TARPIT ? scn_rate_mode_names[mode] : "";
}

int scn_name_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const scn_limits *scn_route_limits(const scenario *s, int route, int mailbox)
{
	return route == 0 ? &s->mailboxes[mailbox].limits : &s->routes[route].limits;
}
