// SPDX-License-Identifier: MIT
/*
 * config_xml: reading libvirt domain XML with libxml2, safely.
 *
 * The document is parsed with XML_PARSE_NONET and without XML_PARSE_NOENT /
 * XML_PARSE_DTDLOAD, and any <!DOCTYPE> stops the parser from its SAX
 * callback before an internal subset (and so any entity declaration) is read:
 * external entities, DTD loading and billion-laughs expansion never happen.
 * Input is capped at CONFIG_XML_MAX bytes and XML_MAX_ATTRS attributes per
 * element (counted before libxml2 runs); libxml2's own depth and text limits
 * stay on (no XML_PARSE_HUGE). libxml2's own error printing is off: every
 * failure is our one line.
 *
 * The tree is then walked with per-element tables of accepted children
 * (xml_walk) and accepted attributes (xml_check_attrs): anything else is an
 * error "FILE:LINE: <element>: ...". The element handlers live in
 * config_xml_domain.c and config_xml_devices.c.
 */
#include "config_xml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>

/* ---- messages ------------------------------------------------------------ */

/* Containers whose name is left out of a child's label. */
static bool label_stop(const xmlNode *n)
{
	static const char *const stops[] = { "domain", "devices", "features",
					     NULL };
	int i;

	if (!n || n->type != XML_ELEMENT_NODE)
		return true;
	for (i = 0; stops[i]; i++)
		if (!strcmp((const char *)n->name, stops[i]))
			return true;
	return false;
}

/* "<hyperv><vapic>", "<disk><driver>", "<memory>", "<qemu:commandline>". */
static const char *xml_label(struct xml_ctx *x, const xmlNode *n)
{
	const xmlNode *chain[4];
	int depth = 0, i;
	size_t len = 0;

	chain[depth++] = n;
	while (depth < 4 && n->parent && !label_stop(n->parent) &&
	       n->parent != xmlDocGetRootElement(n->doc)) {
		n = n->parent;
		chain[depth++] = n;
	}
	x->label[0] = '\0';
	for (i = depth - 1; i >= 0 && len < sizeof(x->label); i--) {
		const xmlNode *c = chain[i];
		int w;

		if (c->ns && c->ns->prefix)
			w = snprintf(x->label + len, sizeof(x->label) - len,
				     "<%s:%s>", (const char *)c->ns->prefix,
				     (const char *)c->name);
		else
			w = snprintf(x->label + len, sizeof(x->label) - len,
				     "<%s>", (const char *)c->name);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	return x->label;
}

int xml_fail(struct xml_ctx *x, const xmlNode *n, const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (x->nomem) {
		config_err(x->err, x->errlen, "%s: out of memory", x->name);
		return -ENOMEM;
	}
	return config_err(x->err, x->errlen, "%s:%ld: %s: %s", x->name,
			  xmlGetLineNo(n), xml_label(x, n), msg);
}

/* ---- strings: copies freed with the document ----------------------------- */

static const char *xml_keep(struct xml_ctx *x, xmlChar *s)
{
	xmlChar **strs;
	size_t cap;

	if (!s) {
		x->nomem = true;
		return NULL;
	}
	if (x->nr_strs == x->cap_strs) {
		cap = x->cap_strs ? x->cap_strs * 2 : 32;
		strs = realloc(x->strs, cap * sizeof(*strs));
		if (!strs) {
			xmlFree(s);
			x->nomem = true;
			return NULL;
		}
		x->strs = strs;
		x->cap_strs = cap;
	}
	x->strs[x->nr_strs++] = s;
	return (const char *)s;
}

static void xml_release(struct xml_ctx *x)
{
	size_t i;

	for (i = 0; i < x->nr_strs; i++)
		xmlFree(x->strs[i]);
	free(x->strs);
	x->strs = NULL;
	x->nr_strs = x->cap_strs = 0;
}

static bool is_blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

/* ---- accessors ----------------------------------------------------------- */

const char *xml_attr(struct xml_ctx *x, xmlNode *n, const char *name)
{
	xmlAttr *a;

	for (a = n->properties; a; a = a->next)
		if (!a->ns && !strcmp((const char *)a->name, name))
			return xml_keep(
				x,
				xmlNodeListGetString(n->doc, a->children, 1) ?:
					xmlStrdup((const xmlChar *)""));
	return NULL;
}

int xml_req_attr(struct xml_ctx *x, xmlNode *n, const char *name,
		 const char **out)
{
	*out = xml_attr(x, n, name);
	if (!*out)
		return xml_fail(x, n, "attribute '%s' missing", name);
	return 0;
}

int xml_check_attrs(struct xml_ctx *x, xmlNode *n, const char *const *allowed)
{
	const xmlAttr *a;
	int i;

	for (a = n->properties; a; a = a->next) {
		for (i = 0; !a->ns && allowed && allowed[i]; i++)
			if (!strcmp((const char *)a->name, allowed[i]))
				break;
		if (a->ns || !allowed || !allowed[i])
			return xml_fail(x, n, "attribute %s%s%s not supported",
					a->ns && a->ns->prefix ?
						(const char *)a->ns->prefix :
						"",
					a->ns && a->ns->prefix ? ":" : "",
					(const char *)a->name);
	}
	return 0;
}

int xml_enum(struct xml_ctx *x, xmlNode *n, const char *name,
	     const char *const *values, int dflt, int *out)
{
	char list[160] = "";
	const char *v = xml_attr(x, n, name);
	size_t len = 0;
	int i;

	if (!v) {
		if (dflt < 0)
			return xml_fail(x, n, "attribute '%s' missing", name);
		*out = dflt;
		return 0;
	}
	for (i = 0; values[i]; i++) {
		if (!strcmp(v, values[i])) {
			*out = i;
			return 0;
		}
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s", i ? ", " : "",
						values[i]);
	}
	return xml_fail(x, n, "%s='%.64s' not supported (%s)", name, v, list);
}

int xml_state(struct xml_ctx *x, xmlNode *n, bool *on)
{
	static const char *const onoff[] = { "off", "on", NULL };
	int v, ret;

	ret = xml_enum(x, n, "state", onoff, -1, &v);
	if (!ret)
		*on = v == 1;
	return ret;
}

int xml_text(struct xml_ctx *x, xmlNode *n, const char **out)
{
	const xmlNode *c;
	char *s, *end;

	for (c = n->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return xml_fail(x, c, "element not supported here");
		if (c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE &&
		    c->type != XML_COMMENT_NODE && c->type != XML_PI_NODE)
			return xml_fail(x, n, "unexpected XML node");
	}
	s = (char *)xml_keep(x, xmlNodeGetContent(n) ?:
					xmlStrdup((const xmlChar *)""));
	if (!s)
		return xml_fail(x, n, "out of memory");
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	*out = s;
	return 0;
}

/* Quote the first words of stray text, on the line where they are. */
static int xml_stray_text(struct xml_ctx *x, xmlNode *parent,
			  const xmlNode *text)
{
	const char *s = (const char *)text->content;
	long line = xmlGetLineNo(parent);
	const xmlNode *prev;
	size_t len;

	/* The text starts where the previous sibling (or the parent) does. */
	for (prev = text->prev; prev; prev = prev->prev)
		if (prev->type == XML_ELEMENT_NODE) {
			line = xmlGetLineNo(prev);
			break;
		}
	for (; *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'; s++)
		if (*s == '\n' && line > 0)
			line++;
	len = strcspn(s, "\r\n");
	return config_err(x->err, x->errlen,
			  "%s:%ld: %s: unexpected text '%.*s'", x->name, line,
			  xml_label(x, parent), (int)MIN(len, 32), s);
}

/* ---- the walk ------------------------------------------------------------ */

/* Line of the earlier sibling element of the same name as @n. */
static long xml_first_line(const xmlNode *n)
{
	const xmlNode *p;

	for (p = n->prev; p; p = p->prev)
		if (p->type == XML_ELEMENT_NODE && !p->ns &&
		    !strcmp((const char *)p->name, (const char *)n->name))
			return xmlGetLineNo(p);
	return 0;
}

int xml_walk(struct xml_ctx *x, xmlNode *parent, const struct xml_handler *tab)
{
	uint64_t seen = 0;
	xmlNode *c;
	int i, ret;

	for (c = parent->children; c; c = c->next) {
		switch (c->type) {
		case XML_ELEMENT_NODE:
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (c->content && !is_blank((const char *)c->content))
				return xml_stray_text(x, parent, c);
			continue;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			continue;
		default:
			return xml_fail(x, parent, "unexpected XML node");
		}
		for (i = 0; !c->ns && tab && tab[i].name && i < 64; i++)
			if (!strcmp((const char *)c->name, tab[i].name))
				break;
		if (c->ns || !tab || !tab[i].name || i >= 64)
			return xml_fail(x, c, "element not supported");
		if (!tab[i].multi && (seen & BIT(i)))
			return xml_fail(
				x, c, "element given twice (first on line %ld)",
				xml_first_line(c));
		seen |= BIT(i);
		if (!tab[i].fn)
			continue;
		ret = tab[i].fn(x, c);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- before libxml2: a cheap bound on attributes ------------------------- */

/*
 * libxml2 checks a start tag's attributes for duplicates pairwise: 100k
 * attributes on one element take minutes. One linear pass over the buffer
 * counts the attributes (the '=' outside quotes) of every start tag and
 * refuses more than XML_MAX_ATTRS before libxml2 sees the document. Comments,
 * CDATA sections, processing instructions and quoted values are skipped; the
 * count is an upper bound, libxml2 still judges well-formedness.
 */
#define XML_MAX_ATTRS 64

static const char *xml_skip_to(const char *p, const char *end, const char *pat,
			       long *line)
{
	size_t n = strlen(pat);

	for (; p + n <= end; p++) {
		if (!memcmp(p, pat, n))
			return p + n;
		if (*p == '\n')
			(*line)++;
	}
	return end;
}

/* Length of the element name at @p (at most 32 characters shown). */
static int xml_name_len(const char *p, const char *end)
{
	int n = 0;

	while (p + n < end && n < 32 && !strchr(" \t\r\n/>=", p[n]) && p[n])
		n++;
	return n;
}

static int xml_prescan(struct xml_ctx *x, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *name;
	long line = 1, tag_line;
	unsigned int attrs;
	char quote;

	while (p < end) {
		if (*p == '\n')
			line++;
		if (*p++ != '<')
			continue;
		if (end - p >= 3 && !memcmp(p, "!--", 3)) {
			p = xml_skip_to(p + 3, end, "-->", &line);
			continue;
		}
		if (end - p >= 8 && !memcmp(p, "![CDATA[", 8)) {
			p = xml_skip_to(p + 8, end, "]]>", &line);
			continue;
		}
		if (p < end && *p == '?') {
			p = xml_skip_to(p + 1, end, "?>", &line);
			continue;
		}
		/* A start tag (or an end tag or <!DOCTYPE>, which count 0). */
		name = p;
		tag_line = line;
		attrs = 0;
		quote = 0;
		for (; p < end && (quote || *p != '>'); p++) {
			if (*p == '\n')
				line++;
			if (quote) {
				if (*p == quote)
					quote = 0;
			} else if (*p == '"' || *p == '\'') {
				quote = *p;
			} else if (*p == '=' && ++attrs > XML_MAX_ATTRS) {
				return config_err(
					x->err, x->errlen,
					"%s:%ld: <%.*s>: more than %d attributes",
					x->name, tag_line,
					xml_name_len(name, end), name,
					XML_MAX_ATTRS);
			}
		}
	}
	return 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* SAX hook: a DOCTYPE stops the parser before its internal subset. */
static void xml_reject_doctype(void *ctx, const xmlChar *name,
			       const xmlChar *external_id,
			       const xmlChar *system_id)
{
	xmlParserCtxtPtr pctx = ctx;
	struct xml_ctx *x = pctx->_private;

	if (x && !x->doctype) {
		x->doctype = true;
		x->doctype_line = xmlSAX2GetLineNumber(pctx);
	}
	xmlStopParser(pctx);
}

static void xml_reject_entity(void *ctx, const xmlChar *name, int type,
			      const xmlChar *public_id,
			      const xmlChar *system_id, xmlChar *content)
{
	xml_reject_doctype(ctx, name, public_id, system_id);
}

/*
 * libxml2 reports encoding errors without a parser context, through its
 * process-wide handlers, which print to stderr even with XML_PARSE_NOERROR.
 * While we parse, they come here instead: the first conversion error is kept
 * for our one-line message, everything else is dropped.
 */
static void xml_quiet(void *ctx, const char *msg, ...)
{
}

static void xml_capture(void *ctx, xmlErrorPtr e)
{
	char *msg = ctx;

	if (!msg[0] && e && e->domain == XML_FROM_I18N && e->message)
		snprintf(msg, CONFIG_ERR_MAX, "%s", e->message);
}

static int xml_syntax_error(struct xml_ctx *x, xmlParserCtxtPtr pctx,
			    const char *enc_msg)
{
	const xmlError *e = xmlCtxtGetLastError(pctx);
	char msg[CONFIG_ERR_MAX] = "not well-formed";
	size_t len, i;

	if (x->doctype)
		return config_err(
			x->err, x->errlen,
			"%s:%ld: <!DOCTYPE>: DTDs and entity declarations are not accepted",
			x->name, x->doctype_line);
	if (enc_msg[0] || (e && e->message)) {
		snprintf(msg, sizeof(msg), "%s",
			 enc_msg[0] ? enc_msg : e->message);
		len = strlen(msg);
		while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			msg[--len] = '\0';
		/* One line: libxml2 sometimes adds the offending bytes. */
		for (i = 0; i < len; i++)
			if ((unsigned char)msg[i] < 0x20)
				msg[i] = ' ';
	}
	return config_err(x->err, x->errlen, "%s:%d: malformed XML: %s",
			  x->name, e ? e->line : 0, msg);
}

static int xml_parse_doc(struct xml_ctx *x, const char *buf, size_t len)
{
	xmlStructuredErrorFunc old_serror = xmlStructuredError;
	void *old_sctx = xmlStructuredErrorContext;
	xmlGenericErrorFunc old_error = xmlGenericError;
	void *old_ctx = xmlGenericErrorContext;
	char enc_msg[CONFIG_ERR_MAX] = "";
	xmlParserCtxtPtr pctx;
	xmlDocPtr doc;
	int ret;

	ret = xml_prescan(x, buf, len);
	if (ret)
		return ret;
	pctx = xmlCreateMemoryParserCtxt(buf, (int)len);
	if (!pctx)
		return config_err(x->err, x->errlen, "%s: out of memory",
				  x->name);
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	xmlSetStructuredErrorFunc(enc_msg, xml_capture);
	xmlCtxtUseOptions(pctx, XML_PARSE_NONET | XML_PARSE_NOERROR |
					XML_PARSE_NOWARNING |
					XML_PARSE_BIG_LINES |
					XML_PARSE_NOCDATA);
	pctx->sax->internalSubset = xml_reject_doctype;
	pctx->sax->externalSubset = xml_reject_doctype;
	pctx->sax->entityDecl = xml_reject_entity;
	pctx->_private = x;

	xmlParseDocument(pctx);
	xmlSetStructuredErrorFunc(old_sctx, old_serror);
	xmlSetGenericErrorFunc(old_ctx, old_error);
	doc = pctx->myDoc;
	pctx->myDoc = NULL;
	if (x->doctype || !pctx->wellFormed || !doc)
		ret = xml_syntax_error(x, pctx, enc_msg);
	else
		ret = xml_domain(x, xmlDocGetRootElement(doc));

	xml_release(x);
	if (doc)
		xmlFreeDoc(doc);
	xmlFreeParserCtxt(pctx);
	return ret;
}

int config_parse_buffer(struct vm_config *cfg, const char *buf, size_t len,
			const char *name, char *err, size_t errlen)
{
	struct xml_ctx x = {
		.cfg = cfg,
		.name = name ? name : "<buffer>",
		.err = err,
		.errlen = errlen,
	};

	if (err && errlen)
		err[0] = '\0';
	if (!buf || !len)
		return config_err(err, errlen,
				  "%s:1: malformed XML: empty document",
				  x.name);
	if (len > CONFIG_XML_MAX)
		return config_err(err, errlen,
				  "%s: larger than %d bytes, not a domain XML",
				  x.name, CONFIG_XML_MAX);
	xmlInitParser();
	return xml_parse_doc(&x, buf, len);
}

int config_parse_file(struct vm_config *cfg, const char *path, char *err,
		      size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		config_err(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFIG_XML_MAX) {
		config_err(err, errlen,
			   "%s: not a regular file of at most %d bytes", path,
			   CONFIG_XML_MAX);
		ret = -EINVAL;
		goto err_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		config_err(err, errlen, "%s: out of memory", path);
		goto err_close;
	}
	while (len < (size_t)st.st_size) {
		r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			config_err(err, errlen, "%s: read: %s", path,
				   strerror(-ret));
			goto err_free;
		}
		len += (size_t)r;
	}
	ret = config_parse_buffer(cfg, buf, len, path, err, errlen);
	if (!ret)
		ret = config_set_str(&cfg->source, path);
err_free:
	free(buf);
err_close:
	close(fd);
	return ret;
}
