/* rfile.h - open a file for reading only if it is a regular file.
 *
 * A FIFO named as an input would block open() until a writer comes (for
 * ever, for `check`), and a device such as /dev/zero never ends; so the
 * file is opened without blocking (O_NONBLOCK: open() of a FIFO returns at
 * once; O_NOCTTY: a terminal never becomes ours), its type is asked of
 * the open descriptor (fstat: no race between a check and the open), and
 * anything but a regular file is refused before a byte is read.  The
 * descriptor is then made blocking again, as an ordinary stream.
 *
 * Costs: two or three system calls.  No global state.
 */
#ifndef SIM_RFILE_H
#define SIM_RFILE_H

#include <stdio.h>

/* Open path for reading.  Returns a stream ("r"), or NULL with *err set:
 * the errno of the call that failed, or 0 when path is not a regular file
 * (a FIFO, a directory, a device, a socket).  The caller closes the
 * stream with fclose(). */
FILE *rfile_open(const char *path, int *err);

#endif
