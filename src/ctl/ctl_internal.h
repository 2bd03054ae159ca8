/* SPDX-License-Identifier: MIT */
/* ctl: what the client borrows from the protocol core. */
#ifndef HVKVM_CTL_INTERNAL_H
#define HVKVM_CTL_INTERNAL_H

/*
 * How `hvkvm ctl VM CMD key=value` converts value for @arg of @cmd:
 * 'u' integer, 's' string, 'p' KVP pool (name or number), 0 unknown
 * (sent as a string; the server then names the mistake).
 */
char ctl_arg_kind(const char *cmd, const char *arg);
/*
 * The name of @cmd's argument number @i, for `hvkvm ctl VM CMD VALUE...`
 * (e.g. "insert hdc FILE" = drive=hdc file=FILE); NULL past the last.
 */
const char *ctl_arg_positional(const char *cmd, unsigned int i);

#endif /* HVKVM_CTL_INTERNAL_H */
