/* SPDX-License-Identifier: MIT */
/*
 * config_xml: the small toolkit the libvirt XML reader is built from, shared
 * by config_xml.c (domain, os, features, clock, metadata) and
 * config_xml_devices.c (<devices>). Only these files see libxml2.
 */
#ifndef HVKVM_CONFIG_XML_H
#define HVKVM_CONFIG_XML_H

#include <libxml/tree.h>

#include "config_priv.h"

/* Our namespace for knobs libvirt has no element for (under <metadata>). */
#define HVKVM_XML_NS "https://hvkvm.dev/xmlns/1"

/* Where <console> and <serial> came from, so they can alias each other. */
enum xml_serial_src { XML_SERIAL_UNSET, XML_SERIAL_CONSOLE, XML_SERIAL_SET };

struct xml_ctx {
	struct vm_config *cfg; /* what we fill */
	const char *name;      /* file name for messages */
	char *err;	       /* one-line message out */
	size_t errlen;
	xmlChar **strs; /* attribute/text copies to free */
	size_t nr_strs;
	size_t cap_strs;
	bool nomem;   /* a copy could not be kept */
	bool doctype; /* the document had a <!DOCTYPE> */
	long doctype_line;
	enum xml_serial_src serial_src; /* <serial>/<console> seen so far */
	char label[128];		/* scratch for xml_label() */
};

/* A child element we accept: fn NULL = accepted and ignored. */
struct xml_handler {
	const char *name;
	int (*fn)(struct xml_ctx *x, xmlNode *n);
	bool multi; /* may appear more than once */
};

/* "FILE:LINE: <parent><elem>: " + message; returns -EINVAL (or -ENOMEM). */
int xml_fail(struct xml_ctx *x, const xmlNode *n, const char *fmt, ...)
	PRINTF(3, 4);

/*
 * Walk @parent's children: elements go to their handler in @tab (NULL
 * terminated), unknown or repeated ones and stray text are errors.
 */
int xml_walk(struct xml_ctx *x, xmlNode *parent, const struct xml_handler *tab);

/* Fail on any attribute not in the NULL-terminated @allowed. */
int xml_check_attrs(struct xml_ctx *x, xmlNode *n, const char *const *allowed);

/* Attribute value or NULL when absent (or on allocation failure). */
const char *xml_attr(struct xml_ctx *x, xmlNode *n, const char *name);
int xml_req_attr(struct xml_ctx *x, xmlNode *n, const char *name,
		 const char **out);

/*
 * Attribute @name must be one of @values (NULL terminated): *@out = its
 * index. Absent: *@out = @dflt, or an error when @dflt < 0.
 */
int xml_enum(struct xml_ctx *x, xmlNode *n, const char *name,
	     const char *const *values, int dflt, int *out);

/* Text content with surrounding blanks trimmed; child elements are errors. */
int xml_text(struct xml_ctx *x, xmlNode *n, const char **out);

/* state='on|off' (required): *@on. */
int xml_state(struct xml_ctx *x, xmlNode *n, bool *on);

/* <domain> and its direct children (config_xml_domain.c). */
int xml_domain(struct xml_ctx *x, xmlNode *root);
/* <devices> (config_xml_devices.c). */
int xml_devices(struct xml_ctx *x, xmlNode *n);

#endif /* HVKVM_CONFIG_XML_H */
