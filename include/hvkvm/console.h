/* SPDX-License-Identifier: MIT */
/*
 * console: the host end of COM1. stdio (the terminal in raw mode, restored on
 * every exit path; Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A), a new pty, a
 * file (output only) or nothing. Input is read on the I/O thread and fed to
 * the UART with backpressure.
 */
#ifndef HVKVM_CONSOLE_H
#define HVKVM_CONSOLE_H

#include "hvkvm/config.h"

struct console;
struct evloop;
struct uart;

/* Opens the backend; the terminal goes raw only at console_attach(). */
int console_create(const struct vm_config *cfg, struct console **out, char *err,
		   size_t errlen);
void console_destroy(struct console *c);
/* fd the UART writes guest output to (-1: discard). */
int console_output_fd(struct console *c);
/*
 * Start feeding input to @uart from @loop. @quit is called (on the loop
 * thread) when the user types the escape sequence.
 */
int console_attach(struct console *c, struct evloop *loop, struct uart *uart,
		   void (*quit)(void *opaque), void *opaque);
/* Stop input before the UART goes away. */
void console_detach(struct console *c);
/* Restore the terminal (async-signal-safe; also registered with atexit). */
void console_restore_terminal(void);

#endif /* HVKVM_CONSOLE_H */
