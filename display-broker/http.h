/* http.h: the broker's small HTTP/1.1 static file server for the noVNC web client, private to
 * display-broker/: the request parser (untrusted input; tests/fuzz/fuzz-http.c), the path and
 * content-type rules, and the server thread. GET and HEAD only; no request bodies. */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_REQUEST 8192 /* request line and headers together */
#define HTTP_MAX_PATH	 1024

struct http_request {
	bool head;	  /* HEAD rather than GET */
	bool keep_alive;  /* the connection may carry another request */
	char path[HTTP_MAX_PATH]; /* decoded, normalised, relative ("" is the root), no query */
	char query[HTTP_MAX_PATH]; /* as sent, without the '?' ("" if none) */
};

/* Parses one request from the len bytes at buf. Returns the length of its header (> 0) when
 * a whole one is there, 0 when more is needed (and len < HTTP_MAX_REQUEST), or a negative
 * HTTP status: -400 malformed, -405 a method other than GET/HEAD, -404 a path that may not
 * be served (traversal, hidden or odd characters), -411/-413 a request with a body, -414 a
 * target too long, -431 headers past HTTP_MAX_REQUEST, -505 not HTTP/1.x. Never reads past
 * buf + len. */
int http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Percent-decodes and normalises a request target's path (before any '?') into out (cap
 * bytes): no leading '/', empty and "." segments dropped; refuses ".." and any segment
 * starting with '.', NUL, control characters and backslashes. 0 or -1. */
int http_clean_path(const char *target, size_t len, char *out, size_t cap);

/* The Content-Type for a file name, by its extension (application/octet-stream if unknown). */
const char *http_content_type(const char *path);

/* The reason phrase for a status this server sends. */
const char *http_reason(int status);

struct web_server;
struct web_config {
	const char *addr;      /* numeric address */
	unsigned port;	       /* 0 picks a free one */
	const char *root;      /* the noVNC package folder (holds core/rfb.js) */
	const char *vnc_host;  /* the VNC address the page connects to; NULL: the page's host */
	unsigned vnc_port;
};

/* Checks that root holds noVNC (core/rfb.js). 0, or -1 with why in err. */
int web_check_root(const char *root, char *err, size_t errlen);
/* Listens and starts the server's thread. NULL with why in err. *port_out: the port. */
struct web_server *web_start(const struct web_config *cfg, unsigned *port_out, char *err,
			     size_t errlen);
void web_stop(struct web_server *w);

#endif
