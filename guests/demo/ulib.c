/* ulib.c: the demo program's tiny runtime (system calls, memory/string helpers, printf and
 * snprintf). Not libc and not reentrant: one thread, one output buffer. */
#include "ulib.h"

/* ----------------------------- system calls ----------------------------- */

/* The clobbers are the ones demo-abi.h documents: the kernel saves only what C saves. */
static long syscall5(long nr, long a0, long a1, long a2, long a3, long a4)
{
	register long r10 asm("r10") = a3;
	register long r8 asm("r8") = a4;

	asm volatile("int $0x80"
		     : "+a"(nr), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8)
		     :
		     : "rcx", "r9", "r11", "memory");
	return nr;
}

static long syscall3(long nr, long a0, long a1, long a2)
{
	return syscall5(nr, a0, a1, a2, 0, 0);
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

uint64_t sys_time_ns(int clock)
{
	return (uint64_t)syscall3(SYS_TIME_NS, clock, 0, 0);
}

long sys_sleep(uint64_t ms)
{
	return syscall3(SYS_SLEEP, (long)ms, 0, 0);
}

long sys_gpu_open(unsigned flags)
{
	return syscall3(SYS_GPU_OPEN, flags, 0, 0);
}

long sys_display_info(struct demo_display_info *info)
{
	return syscall3(SYS_DISPLAY_INFO, (long)info, 0, 0);
}

long sys_display_wait(uint64_t timeout_ms, struct demo_display_info *info)
{
	return syscall3(SYS_DISPLAY_WAIT, (long)timeout_ms, (long)info, 0);
}

long sys_surface_create(uint32_t w, uint32_t h, struct demo_surface_info *info)
{
	return syscall3(SYS_SURFACE_CREATE, w, h, (long)info);
}

long sys_surface_flush(uint32_t handle, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	return syscall5(SYS_SURFACE_FLUSH, handle, x, y, w, h);
}

long sys_surface_set_scanout(uint32_t handle, uint32_t head)
{
	return syscall3(SYS_SURFACE_SET_SCANOUT, handle, head, 0);
}

long sys_surface_destroy(uint32_t handle)
{
	return syscall3(SYS_SURFACE_DESTROY, handle, 0, 0);
}

long sys_mem_stats(struct demo_mem_stats *st)
{
	return syscall3(SYS_MEM_STATS, (long)st, 0, 0);
}

long sys_cursor_set(const uint32_t *pixels, uint32_t hot_x, uint32_t hot_y, uint32_t head)
{
	return syscall3(SYS_CURSOR_SET, (long)pixels, hot_x | hot_y << 16, head);
}

long sys_cursor_move(uint32_t head, uint32_t x, uint32_t y)
{
	return syscall3(SYS_CURSOR_MOVE, head, x, y);
}

long sys_input_open(void)
{
	return syscall3(SYS_INPUT_OPEN, 0, 0, 0);
}

long sys_input_read(struct demo_input_event *ev, uint32_t max, uint64_t timeout_ms)
{
	return syscall3(SYS_INPUT_READ, (long)ev, max, (long)timeout_ms);
}

long sys_memfill_map(uint64_t offset, uint64_t max)
{
	return syscall3(SYS_MEMFILL_MAP, (long)offset, (long)max, 0);
}

/* ------------------------------ memory ------------------------------ */

/* String instructions: the program runs natively (CPL3), where REP MOVSB/STOSB are the
 * fast way to move the megabytes a frame buffer has. */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	/* Backwards: DF set for the copy only (the ABI wants it clear everywhere else). */
	d += n - 1;
	s += n - 1;
	asm volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
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

/* Where formatted text goes: the console buffer (buf NULL) or a caller's string. */
struct sink {
	char *buf;
	size_t cap, len; /* len counts every character, even those that did not fit */
};

static void out_char(struct sink *k, char c)
{
	if (!k->buf) {
		outbuf[outlen++] = c;
		if (outlen == sizeof(outbuf))
			uflush();
	} else if (k->len + 1 < k->cap) {
		k->buf[k->len] = c;
	}
	k->len++;
}

static void out_mem(struct sink *k, const char *s, size_t n)
{
	while (n--)
		out_char(k, *s++);
}

static void out_u64(struct sink *k, uint64_t v, unsigned base, int width, char pad)
{
	char tmp[20];
	int i = 0;

	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	for (; width > i; width--)
		out_char(k, pad);
	while (i)
		out_char(k, tmp[--i]);
}

/*
 * Formats: %% %c %s %.*s %d %i %u %x, the integer ones with l, ll or z and an optional
 * width with optional 0 flag (%02u, %5u). -Wformat checks every call against this subset.
 */
static int format(struct sink *k, const char *fmt, va_list ap)
{
	int newline = 0;

	for (; *fmt; fmt++) {
		int prec = -1, lng = 0, width = 0;
		char pad = ' ';
		unsigned long long u;
		const char *s;
		size_t n;

		if (*fmt != '%') {
			newline |= *fmt == '\n';
			out_char(k, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		if (fmt[0] == '.' && fmt[1] == '*') {
			prec = va_arg(ap, int);
			fmt += 2;
		}
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng = 1;
		switch (*fmt) {
		case '%':
			out_char(k, '%');
			break;
		case 'c':
			out_char(k, (char)va_arg(ap, int));
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			for (n = 0; s[n] && (prec < 0 || n < (size_t)prec); n++)
				;
			for (; width > (int)n; width--)
				out_char(k, ' ');
			out_mem(k, s, n);
			break;
		case 'd':
		case 'i': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);

			if (v < 0) {
				out_char(k, '-');
				width--;
			}
			out_u64(k, v < 0 ? -(unsigned long long)v : (unsigned long long)v, 10, width,
				pad);
			break;
		}
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			out_u64(k, u, *fmt == 'x' ? 16 : 10, width, pad);
			break;
		case '\0':
			fmt--; /* a lone trailing '%': stop at the NUL */
			break;
		default:
			out_char(k, '%');
			out_char(k, *fmt);
			break;
		}
	}
	return newline;
}

void uvprintf(const char *fmt, va_list ap)
{
	struct sink k = {0, 0, 0};

	if (format(&k, fmt, ap))
		uflush();
}

void uprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	uvprintf(fmt, ap);
	va_end(ap);
}

int usnprintf(char *buf, size_t cap, const char *fmt, ...)
{
	struct sink k = {buf, cap, 0};
	va_list ap;

	va_start(ap, fmt);
	format(&k, fmt, ap);
	va_end(ap);
	if (cap)
		buf[k.len < cap ? k.len : cap - 1] = '\0';
	return (int)k.len;
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
