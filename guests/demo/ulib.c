/* ulib.c: the demo program's tiny runtime (system calls, memory/string helpers, printf).
 * Not libc and not reentrant: one thread, one output buffer. */
#include "ulib.h"

/* ----------------------------- system calls ----------------------------- */

/* The clobbers are the ones demo-abi.h documents: the kernel saves only what C saves. */
static long syscall3(long nr, long a0, long a1, long a2)
{
	asm volatile("int $0x80"
		     : "+a"(nr), "+D"(a0), "+S"(a1), "+d"(a2)
		     :
		     : "rcx", "r8", "r9", "r10", "r11", "memory");
	return nr;
}

long sys_write(const void *buf, size_t len)
{
	return syscall3(SYS_WRITE, (long)buf, (long)len, 0);
}

void sys_exit(int code)
{
	syscall3(SYS_EXIT, code, 0, 0);
	__builtin_unreachable();
}

long sys_bootinfo(struct demo_bootinfo *dst)
{
	return syscall3(SYS_BOOTINFO, (long)dst, 0, 0);
}

void sys_idle(void)
{
	syscall3(SYS_IDLE, 0, 0, 0);
	__builtin_unreachable();
}

/* ------------------------------ memory ------------------------------ */

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* ------------------------------ output ------------------------------ */

static char outbuf[256];
static size_t outlen;

void uflush(void)
{
	if (outlen)
		sys_write(outbuf, outlen);
	outlen = 0;
}

static void out_char(char c)
{
	outbuf[outlen++] = c;
	if (outlen == sizeof(outbuf))
		uflush();
}

static void out_mem(const char *s, size_t n)
{
	while (n--)
		out_char(*s++);
}

static void out_u64(uint64_t v, unsigned base)
{
	char tmp[20];
	int i = 0;

	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i)
		out_char(tmp[--i]);
}

/*
 * Formats: %% %c %s %.*s %d %i %u %x, the integer ones with l, ll or z. No widths or flags:
 * nothing here needs them, and -Wformat checks every call against this subset.
 */
void uvprintf(const char *fmt, va_list ap)
{
	int newline = 0;

	for (; *fmt; fmt++) {
		int prec = -1, lng = 0;
		unsigned long long u;
		const char *s;
		size_t n;

		if (*fmt != '%') {
			newline |= *fmt == '\n';
			out_char(*fmt);
			continue;
		}
		fmt++;
		if (fmt[0] == '.' && fmt[1] == '*') {
			prec = va_arg(ap, int);
			fmt += 2;
		}
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng = 1;
		switch (*fmt) {
		case '%':
			out_char('%');
			break;
		case 'c':
			out_char((char)va_arg(ap, int));
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			for (n = 0; s[n] && (prec < 0 || n < (size_t)prec); n++)
				;
			out_mem(s, n);
			break;
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);

			if (v < 0)
				out_char('-');
			out_u64(v < 0 ? -(unsigned long long)v : (unsigned long long)v, 10);
			break;
		}
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			out_u64(u, *fmt == 'x' ? 16 : 10);
			break;
		case '\0':
			fmt--; /* a lone trailing '%': stop at the NUL */
			break;
		default:
			out_char('%');
			out_char(*fmt);
			break;
		}
	}
	if (newline)
		uflush();
}

void uprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	uvprintf(fmt, ap);
	va_end(ap);
}

void uexit(int code)
{
	uflush();
	sys_exit(code);
}

void uidle(void)
{
	uflush();
	sys_idle();
}
