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

#endif /* HVKVM_CTL_INTERNAL_H */
