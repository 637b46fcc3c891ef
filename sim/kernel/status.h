/* status.h - status codes shared by every throttlesim module.
 * Library functions return 0 or one of these (negative); only main prints. */
#ifndef SIM_STATUS_H
#define SIM_STATUS_H

enum sim_status {
	SIM_OK = 0,
	SIM_ENOMEM = -1,   /* an allocation failed */
	SIM_EPAST = -2,    /* an event scheduled before the current time */
	SIM_ERANGE = -3,   /* a time or count beyond what the engine can represent */
	SIM_EINVAL = -4,   /* an invalid argument */
	SIM_EIO = -5,      /* a file could not be read or written */
	SIM_ESCENARIO = -6,/* a scenario file is invalid */
	SIM_ESTORE = -7,   /* the results store failed */
	SIM_EINTR = -8,    /* interrupted by a signal */
};

const char *sim_strerror(int status);

#endif
