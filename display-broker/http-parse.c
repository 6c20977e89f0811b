/* http-parse.c: the web server's request parser and path rules: the part of the server that
 * reads what a client sent, kept free of I/O so that tests/fuzz/fuzz-http.c can drive it. Not
 * the server (web.c). */
#include <string.h>
#include <strings.h>

#include "hd-common.h"
#include "http.h"

static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int http_clean_path(const char *target, size_t len, char *out, size_t cap)
{
	size_t o = 0, seg = 0; /* seg: where the current segment starts in out */
	if (cap < 1)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c;
		bool end = i == len;
		if (end) {
			c = '/';
		} else {
			c = (unsigned char)target[i];
			if (c == '%') {
				if (i + 2 >= len)
					return -1;
				int h = hd_hex_digit((unsigned char)target[i + 1]);
				int l = hd_hex_digit((unsigned char)target[i + 2]);
				if (h < 0 || l < 0)
					return -1;
				c = (unsigned char)(h << 4 | l);
				i += 2;
				if (c == '/')
					return -1; /* an encoded separator: nothing here needs one */
			}
			if (c < 0x20 || c == 0x7f || c == '\\')
				return -1;
		}
		if (c != '/') {
			if (o == seg && c == '.') {
				/* "." alone is dropped below; "..", ".x" (hidden) are refused */
				bool dot_alone = false;
				if (end)
					dot_alone = true;
				else if (i + 1 == len || target[i + 1] == '/')
					dot_alone = true;
				if (!dot_alone)
					return -1;
				continue; /* the lone "." segment: skip it */
			}
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)c;
			continue;
		}
		/* a separator: end the segment (empty ones vanish) */
		if (o > seg) {
			if (o + 1 >= cap)
				return -1;
			out[o++] = '/';
			seg = o;
		}
	}
	if (o > 0 && out[o - 1] == '/')
		o--;
	out[o] = 0;
	return 0;
}

const char *http_content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".htm", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".jpg", "image/jpeg"},
		{".gif", "image/gif"},
		{".woff", "font/woff"},
		{".woff2", "font/woff2"},
		{".ttf", "font/ttf"},
		{".oga", "audio/ogg"},
		{".ogg", "audio/ogg"},
		{".mp3", "audio/mpeg"},
		{".wasm", "application/wasm"},
		{".txt", "text/plain; charset=utf-8"},
		{".md", "text/plain; charset=utf-8"},
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcasecmp(dot, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

/* Whether the comma-separated header value v (n bytes) holds token tok. */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && !strncasecmp(v + s, tok, tl))
			return true;
	}
	return false;
}

int http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	size_t lim = len < HTTP_MAX_REQUEST ? len : HTTP_MAX_REQUEST, hend = 0;
	for (size_t i = 0; i + 3 < lim; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
			hend = i + 4;
			break;
		}
	if (!hend) {
		/* A bad request line need not wait for the rest. */
		for (size_t i = 0; i < lim && buf[i] != '\r' && buf[i] != '\n'; i++)
			if (buf[i] == 0)
				return -400;
		return len >= HTTP_MAX_REQUEST ? -431 : 0;
	}
	memset(req, 0, sizeof(*req));

	/* Request line: METHOD SP TARGET SP HTTP/1.x CRLF */
	size_t p = 0, m = 0;
	while (p < hend && is_tchar((unsigned char)buf[p]))
		p++;
	m = p;
	if (m == 0 || buf[p] != ' ')
		return -400;
	bool get = m == 3 && !memcmp(buf, "GET", 3), head = m == 4 && !memcmp(buf, "HEAD", 4);
	p++;
	size_t t = p;
	while (p < hend && buf[p] != ' ' && buf[p] != '\r')
		p++;
	size_t tlen = p - t;
	if (buf[p] != ' ' || tlen == 0)
		return -400;
	p++;
	size_t v = p;
	while (p < hend && buf[p] != '\r')
		p++;
	if (buf[p] != '\r' || buf[p + 1] != '\n')
		return -400;
	size_t vlen = p - v;
	if (vlen != 8 || memcmp(buf + v, "HTTP/", 5) || buf[v + 6] != '.' || buf[v + 5] < '0' ||
	    buf[v + 5] > '9' || buf[v + 7] < '0' || buf[v + 7] > '9')
		return -400;
	if (buf[v + 5] != '1')
		return -505;
	req->keep_alive = buf[v + 7] != '0';
	p += 2;
	if (!get && !head)
		return -405;
	req->head = head;
	if (buf[t] != '/')
		return -400; /* only origin-form: no absolute URLs, no '*' */
	if (tlen >= HTTP_MAX_PATH)
		return -414;
	for (size_t i = t; i < t + tlen; i++)
		if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
			return -400;

	/* Headers */
	while (p < hend - 2) {
		size_t n = p;
		while (n < hend && is_tchar((unsigned char)buf[n]))
			n++;
		if (n == p || buf[n] != ':')
			return -400; /* also folded lines, which start with whitespace */
		size_t nlen = n - p, val = n + 1;
		while (val < hend && (buf[val] == ' ' || buf[val] == '\t'))
			val++;
		size_t e = val;
		while (e < hend && buf[e] != '\r')
			e++;
		if (e + 1 >= hend || buf[e + 1] != '\n')
			return -400;
		for (size_t i = val; i < e; i++)
			if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
				return -400;
		size_t vl = e - val;
		if (nlen == 10 && !strncasecmp(buf + p, "connection", 10)) {
			if (has_token(buf + val, vl, "close"))
				req->keep_alive = false;
			else if (has_token(buf + val, vl, "keep-alive"))
				req->keep_alive = true;
		} else if (nlen == 14 && !strncasecmp(buf + p, "content-length", 14)) {
			if (vl != 1 || buf[val] != '0')
				return -413;
		} else if (nlen == 17 && !strncasecmp(buf + p, "transfer-encoding", 17)) {
			return -413;
		}
		p = e + 2;
	}

	size_t plen = 0;
	while (plen < tlen && buf[t + plen] != '?' && buf[t + plen] != '#')
		plen++;
	if (http_clean_path(buf + t, plen, req->path, sizeof(req->path)) < 0)
		return -404;
	if (plen < tlen && buf[t + plen] == '?') {
		size_t q = t + plen + 1, ql = 0;
		while (q + ql < t + tlen && buf[q + ql] != '#')
			ql++;
		memcpy(req->query, buf + q, ql); /* ql < tlen < HTTP_MAX_PATH */
		req->query[ql] = 0;
	}
	return (int)hend;
}
