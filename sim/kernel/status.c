/* status.c - messages for the status codes of status.h. */
#include "status.h"

const char *sim_strerror(int status)
{
	switch (status) {
	case SIM_OK: return "success";
	case SIM_ENOMEM: return "out of memory";
	case SIM_EPAST: return "event scheduled before the current time";
	case SIM_ERANGE: return "time or count out of range";
	case SIM_EINVAL: return "invalid argument";
	case SIM_EIO: return "input/output error";
	case SIM_ESCENARIO: return "invalid scenario";
	case SIM_ESTORE: return "results store error";
	case SIM_EINTR: return "interrupted";
	}
	return "unknown error";
}
