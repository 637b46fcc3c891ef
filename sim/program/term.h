/* term.h - the one sanitiser for every line meant for a terminal.
 *
 * Names come from scenario files and results stores that anyone may have
 * written: a name holding ESC, BEL, CR or a C1 control (U+0080-U+009F,
 * which xterm-like terminals obey as CSI and friends) could move the
 * cursor, retitle the window or hide a line.  Every message, table and
 * listing the program prints to a terminal passes through term_clean()
 * or term_printf()/term_eprintf(): a control character, DEL, a C1 control
 * and every byte that is not part of valid UTF-8 becomes '?'.  Tab and the
 * final newline of a line are kept.  Printable UTF-8 passes unchanged.
 *
 * O(length).  Never allocates.
 */
#ifndef SIM_TERM_H
#define SIM_TERM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Sanitise s in place (the result is never longer). */
void term_clean(char *s);
/* Copy in to out (size >= 1), sanitised, cut on a character boundary. */
void term_copy(char *out, size_t size, const char *in);
/* printf to f, the formatted text sanitised as a whole (so %s arguments
 * cannot smuggle controls); a text longer than 4 KiB is cut there.
 * Returns what fprintf returns. */
int term_vfprintf(FILE *f, const char *fmt, va_list ap);
int term_fprintf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int term_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int term_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
