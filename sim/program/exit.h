/* exit.h - the program's exit statuses, one list for every command (git
 * keeps usage errors and fatal errors apart; so do we).
 *
 *   0  success
 *   1  a failure while running (the simulation, the store, the disk)
 *   2  bad usage or bad input (an invalid scenario, an unknown option or
 *      run): nothing was run or written
 */
#ifndef SIM_EXIT_H
#define SIM_EXIT_H

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#endif
